/**
 * Endpointing: after the user stops speaking, decides when their turn is over.
 *
 *   idle ──speechStopped──▶ waiting ──endpointingMs──▶ (no detector) ended
 *                              │                      (detector)   checking ──done──▶ ended
 *                              │                                       │ not done
 *                              │                                       ▼
 *                              │                                   extended ──maxEndpointingMs──▶ ended
 *   speechStarted from waiting | checking | extended ─▶ idle (the pending end is cancelled)
 *
 * `maxEndpointingMs` (from the stop) bounds the whole wait, including a slow detector. Timers come
 * from an injectable clock, so tests are deterministic.
 */
import type { EndOfTurnDetector } from '../../providers/types.ts';
import { type Clock, systemClock, type TimerHandle } from '../clock.ts';

export type EndpointingState = 'idle' | 'waiting' | 'checking' | 'extended';

export type EndOfTurnReason = 'silence' | 'detector' | 'max_wait';

export interface EndpointingOptions {
  /** Silence after speech-stop that ends the turn (default 500). */
  endpointingMs?: number;
  /** Upper bound when the detector says the user is not done (default 2000). */
  maxEndpointingMs?: number;
  endOfTurn?: EndOfTurnDetector;
  clock?: Clock;
}

export interface EndpointingCallbacks {
  /** The user's words so far in the turn (for the detector). */
  transcript: () => string;
  history?: () => ReadonlyArray<{ role: 'user' | 'assistant'; text: string }>;
  onEndOfTurn: (info: { reason: EndOfTurnReason; silenceMs: number }) => void;
  /** The detector failed; the turn then ends on silence alone. */
  onDetectorError?: (error: unknown) => void;
}

/**
 * Decides when the user's turn is over after they stop speaking: `endpointingMs` of silence, or an
 * end-of-turn detector, bounded by `maxEndpointingMs`. `VoiceSession` runs one per audio session.
 *
 * @example
 * ```ts
 * import { Endpointing } from 'colloquy';
 *
 * let words = '';
 * const endpointing = new Endpointing(
 *   { endpointingMs: 600, maxEndpointingMs: 2500 },
 *   {
 *     transcript: () => words,
 *     onEndOfTurn: ({ reason, silenceMs }) => console.log(`turn over (${reason}) after ${silenceMs} ms: ${words}`),
 *   },
 * );
 * // from your VAD:
 * words = 'book a table for two';
 * endpointing.speechStopped(); // the turn ends unless speechStarted() comes first
 * ```
 */
export class Endpointing {
  readonly endpointingMs: number;
  readonly maxEndpointingMs: number;
  private readonly detector: EndOfTurnDetector | undefined;
  private readonly clock: Clock;
  private readonly callbacks: EndpointingCallbacks;
  private state: EndpointingState = 'idle';
  private stoppedAt = 0;
  private timer: TimerHandle | undefined;
  private maxTimer: TimerHandle | undefined;
  private check: AbortController | undefined;

  constructor(options: EndpointingOptions, callbacks: EndpointingCallbacks) {
    this.endpointingMs = options.endpointingMs ?? 500;
    this.maxEndpointingMs = Math.max(this.endpointingMs, options.maxEndpointingMs ?? 2000);
    this.detector = options.endOfTurn;
    this.clock = options.clock ?? systemClock;
    this.callbacks = callbacks;
  }

  get currentState(): EndpointingState {
    return this.state;
  }

  /**
   * The user stopped speaking: start waiting for the end of the turn. `sinceMs`: how long ago the
   * audio that showed it arrived (a VAD that scores later, behind a queue or an inference, passes
   * that delay), so the silence is counted from when it was heard, not from when it was scored.
   */
  speechStopped(sinceMs = 0): void {
    this.cancel();
    const since = sinceMs > 0 ? Math.min(sinceMs, this.endpointingMs) : 0;
    this.state = 'waiting';
    this.stoppedAt = this.clock.now() - since;
    this.timer = this.clock.setTimeout(() => this.onSilence(), this.endpointingMs - since);
    if (this.detector)
      this.maxTimer = this.clock.setTimeout(() => this.end('max_wait'), this.maxEndpointingMs - since);
  }

  /** The user speaks again: the pending end is cancelled. */
  speechStarted(): void {
    this.cancel();
  }

  /** Stops any pending decision. */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.maxTimer !== undefined) this.clock.clearTimeout(this.maxTimer);
    this.timer = undefined;
    this.maxTimer = undefined;
    this.check?.abort();
    this.check = undefined;
    this.state = 'idle';
  }

  private onSilence(): void {
    this.timer = undefined;
    if (this.state !== 'waiting') return;
    const detector = this.detector;
    if (detector === undefined) {
      this.end('silence');
      return;
    }
    this.state = 'checking';
    const check = new AbortController();
    this.check = check;
    detector
      .predict({
        transcript: this.callbacks.transcript(),
        history: this.callbacks.history?.() ?? [],
        silenceMs: this.clock.now() - this.stoppedAt,
        abortSignal: check.signal,
      })
      .then(
        (p) => {
          if (this.check !== check || this.state !== 'checking') return;
          if (p >= (detector.threshold ?? 0.5)) this.end('detector');
          else this.state = 'extended';
        },
        (error) => {
          if (this.check !== check || this.state !== 'checking') return;
          this.callbacks.onDetectorError?.(error);
          this.end('silence');
        },
      );
  }

  private end(reason: EndOfTurnReason): void {
    if (this.state === 'idle') return;
    const silenceMs = this.clock.now() - this.stoppedAt;
    this.cancel();
    this.callbacks.onEndOfTurn({ reason, silenceMs });
  }
}
