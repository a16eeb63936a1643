/**
 * What one LiveKit client may make the room do through its signalling socket (`/rtc/v1`): at most
 * `messagesPerSecond` messages (after a burst of twice as many) and `bytesPerSecond` bytes (after a
 * burst of one largest message). A message over the budget is dropped before it is decoded —
 * decoding, SDP and ICE work are the expensive part — so a flooding client cannot take the event loop
 * from other sessions. The room reads that socket slower for a moment and reports the first drop;
 * every drop is counted.
 */
import { TokenBucket } from '../../token-bucket.ts';

export interface SignalBudgetLimits {
  messagesPerSecond: number;
  bytesPerSecond: number;
}

/** What a LiveKit client's signalling may cost by default (`livekit-client` sends a few messages a second). */
export const DEFAULT_SIGNAL_BUDGET: Readonly<SignalBudgetLimits> = Object.freeze({
  messagesPerSecond: 50,
  bytesPerSecond: 256 * 1024,
});

/** Largest signal message the server reads (the socket is closed with 1009 beyond). */
export const SIGNAL_MAX_MESSAGE_BYTES = 1024 * 1024;

export class SignalBudget {
  private readonly count: TokenBucket;
  private readonly bytes: TokenBucket;
  /** Messages dropped over the budget, in all. */
  dropped = 0;

  constructor(
    readonly limits: SignalBudgetLimits,
    now: () => number = () => performance.now(),
  ) {
    this.count = new TokenBucket(limits.messagesPerSecond, limits.messagesPerSecond * 2, now);
    this.bytes = new TokenBucket(
      limits.bytesPerSecond,
      Math.max(limits.bytesPerSecond, SIGNAL_MAX_MESSAGE_BYTES),
      now,
    );
  }

  /** Counts one message of `size` bytes: true when it may be handled, false when it is dropped. */
  admit(size: number): boolean {
    if (this.count.take(1) && this.bytes.take(size)) return true;
    this.dropped++;
    return false;
  }

  /** How long to stop reading a socket after a drop: about one message's worth of budget. */
  get pauseMs(): number {
    return Math.max(20, Math.ceil(1000 / this.limits.messagesPerSecond));
  }
}
