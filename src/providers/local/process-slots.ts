/**
 * A bounded number of concurrent program runs (eSpeak NG utterances), with a bounded wait queue.
 * Runs past `maxRunning` wait for a slot in order of arrival; a waiting run whose `AbortSignal`
 * aborts leaves the queue at once (rejected with the signal's reason); past `maxWaiting` waiting
 * runs a new one is refused at once with the error `full()` makes. A released slot goes straight to
 * the first waiter, so the count of running programs never exceeds `maxRunning`.
 */
import { ConfigError } from '../../errors.ts';
import { abortReason } from './child-process.ts';

export interface ProcessSlotsOptions {
  /** Programs running at once (≥ 1). */
  maxRunning: number;
  /** Runs waiting for a slot (≥ 0); beyond it a run is refused. */
  maxWaiting: number;
  /** The error a run gets when the queue is full. */
  full: (slots: ProcessSlots) => Error;
}

interface Waiter {
  grant: (release: () => void) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class ProcessSlots {
  readonly maxRunning: number;
  readonly maxWaiting: number;
  private readonly full: ProcessSlotsOptions['full'];
  private active = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: ProcessSlotsOptions) {
    for (const [name, value, min] of [
      ['maxRunning', options.maxRunning, 1],
      ['maxWaiting', options.maxWaiting, 0],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) {
        throw new ConfigError('invalid_options', `${name} must be an integer ≥ ${min}, got ${value}`);
      }
    }
    this.maxRunning = options.maxRunning;
    this.maxWaiting = options.maxWaiting;
    this.full = options.full;
  }

  /** Programs running now. */
  get running(): number {
    return this.active;
  }

  /** Runs waiting for a slot now. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves with `release` (call it once the program has ended; later calls do nothing) when a
   * slot is free. Rejects with `signal`'s reason if it aborts first, or with `full()` when
   * `maxWaiting` runs already wait.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.maxRunning) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.queue.length >= this.maxWaiting) return Promise.reject(this.full(this));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (!next) {
        this.active--;
        return;
      }
      // The slot passes on: `active` stays the same.
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.grant(this.releaser());
    };
  }
}
