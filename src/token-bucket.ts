/**
 * A token bucket: at most `burst` tokens, `perSecond` more every second. Bounds how much work one
 * client or session may ask for per unit of time (messages, bytes, seconds of audio), so that one
 * cannot take the event loop — and with it every other session's real-time audio.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.at = now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
  }

  /** Takes `amount` tokens when there are enough; false (nothing taken) otherwise. */
  take(amount = 1): boolean {
    this.refill();
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /**
   * Takes `amount` tokens whether or not there are enough (work already received must be paid
   * for); returns the milliseconds until the balance is back to zero (0 when it did not go below).
   */
  spend(amount: number): number {
    this.refill();
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}
