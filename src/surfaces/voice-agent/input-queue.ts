/**
 * The agent's input queue: user inputs (texts, recordings) run one at a time in arrival order, each
 * only once the session has no turn running. Bounded: past `limit` waiting inputs a new one is
 * refused with `InputQueueFullError`, so a flood cannot grow memory.
 */
import { InputQueueFullError } from './errors.ts';

interface Item {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class InputQueue {
  private readonly items: Item[] = [];
  private draining = false;

  constructor(
    readonly limit: number,
    /** Resolves when the session is idle (no turn running). */
    private readonly waitIdle: () => Promise<void>,
  ) {}

  /** Inputs waiting (not counting the one running). */
  get size(): number {
    return this.items.length;
  }

  get busy(): boolean {
    return this.draining;
  }

  /** Queues `run`; settles with its outcome. Throws `InputQueueFullError` when full. */
  push<R>(run: () => Promise<R>): Promise<R> {
    if (this.items.length >= this.limit) throw new InputQueueFullError(this.limit);
    return new Promise<R>((resolve, reject) => {
      this.items.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Rejects every waiting input (the running one finishes on its own). */
  rejectAll(error: unknown): void {
    for (const item of this.items.splice(0)) item.reject(error);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        await this.waitIdle();
        const item = this.items.shift();
        if (item === undefined) return;
        try {
          item.resolve(await item.run());
        } catch (error) {
          item.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
