/**
 * How many RTVI client messages, and how many bytes of them, one session may send per second
 * (`limits.rtviMessagesPerSecond`, `limits.rtviBytesPerSecond`). A message over the budget is dropped
 * before it is parsed (parsing is the expensive part), so a client flooding messages over any
 * transport cannot take the event loop from other sessions. The client hears of it at most once per
 * second (a non-fatal RTVI `error` naming how many were dropped); every drop is counted.
 */
import { TokenBucket } from '../token-bucket.ts';
import type { ServerLimits } from './limits.ts';

export type MessageBudgetLimits = Pick<
  ServerLimits,
  'rtviMessagesPerSecond' | 'rtviBytesPerSecond' | 'rtviMessageBytes'
>;

export type BudgetAnswer = { ok: true } | { ok: false; notice?: string };

export class MessageBudget {
  private readonly count: TokenBucket;
  private readonly bytes: TokenBucket;
  private lastNoticeAt = Number.NEGATIVE_INFINITY;
  private droppedSinceNotice = 0;
  /** Messages dropped over the budget, in all. */
  dropped = 0;

  constructor(
    private readonly limits: MessageBudgetLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.count = new TokenBucket(limits.rtviMessagesPerSecond, limits.rtviMessagesPerSecond * 2, now);
    // One largest message always fits the burst.
    this.bytes = new TokenBucket(
      limits.rtviBytesPerSecond,
      Math.max(limits.rtviMessageBytes, limits.rtviBytesPerSecond),
      now,
    );
  }

  /** Counts one message of `size` bytes: `ok`, or dropped with a `notice` for the client (once a second). */
  admit(size: number): BudgetAnswer {
    if (this.count.take(1) && this.bytes.take(size)) return { ok: true };
    this.dropped++;
    this.droppedSinceNotice++;
    const now = this.now();
    if (now - this.lastNoticeAt < 1000) return { ok: false };
    this.lastNoticeAt = now;
    const n = this.droppedSinceNotice;
    this.droppedSinceNotice = 0;
    const kib = Math.round(this.limits.rtviBytesPerSecond / 1024);
    return {
      ok: false,
      notice: `Too many messages: ${n} dropped (a session may send ${this.limits.rtviMessagesPerSecond} messages and ${kib} KiB per second); slow down`,
    };
  }
}
