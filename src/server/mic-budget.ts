/**
 * How fast one session's mic audio may arrive: `limits.micAudioSpeed` times real time, after a
 * burst of `MIC_BURST_MS` (a network hiccup delivers late audio at once). Speech detection and
 * recognition cost CPU per second of audio, so audio sent faster than that would let one client
 * take the event loop from every other session; beyond the budget it is dropped before any work.
 */
import { TokenBucket } from '../token-bucket.ts';

/** Seconds of audio a client may deliver at once before the speed limit applies. */
export const MIC_BURST_MS = 15_000;

export class MicBudget {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly speed: number,
    now?: () => number,
  ) {
    this.bucket = new TokenBucket(speed * 1000, MIC_BURST_MS, now);
  }

  /** Counts `samples` mono samples at `sampleRate`; false when they are over the budget (drop them). */
  admit(samples: number, sampleRate: number): boolean {
    if (!(sampleRate > 0)) return true; // a bad rate is refused by the session with its own code
    return this.bucket.take((samples * 1000) / sampleRate);
  }

  /** What a client over the budget is told. */
  refusal(): string {
    return `mic audio arrives faster than ${this.speed}× real time`;
  }
}
