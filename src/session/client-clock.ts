/**
 * Client → backend transit time from the client's own timestamps, with the clock skew bounded.
 *
 * A client stamps a message with its wall clock (`timestamp`, ms since epoch); the backend notes when
 * the message arrived. Their difference `d = receivedAt - clientTime` is the transit time plus the
 * (unknown) offset between the two clocks. The clock keeps the smallest `d` of recent samples
 * (`dMin`: the fastest transit seen, plus the offset) and the smallest round trip measured on the
 * same connection (`rttMin`, e.g. a WebSocket ping/pong). Assuming the fastest transit took half the
 * fastest round trip (a symmetric path), a message's transit is
 *
 *   transit = (d - dMin) + rttMin / 2
 *
 * which no longer depends on the offset. The error is at most `rttMin / 2` (the fastest one-way trip
 * lies between 0 and `rttMin`). Without a measured round trip there is no bound, so no transit is
 * given; a timestamp that is not a finite number, or a transit above `maxTransitMs` (a client clock
 * that jumped, a stalled client), gives none either.
 *
 * ```ts
 * const clock = new ClientClock();
 * clock.roundTrip(12);                              // from a ping/pong
 * clock.transit(message.timestamp, Date.now());     // → { sentAt, receivedAt } in the server's clock
 * ```
 */

/** When a stamped client message left the client and reached the backend, both in the backend's clock (ms since epoch). */
export interface ClientTiming {
  sentAt: number;
  receivedAt: number;
}

export interface ClientClockOptions {
  /** How many recent samples `dMin` is taken over (a clock correction ages out). Default 32. */
  window?: number;
  /** A longer transit is implausible and dropped. Default 30 000 ms. */
  maxTransitMs?: number;
}

/** Client timestamps further than this from the backend's clock are not a clock at all (ms). */
const MAX_CLOCK_OFFSET_MS = 7 * 24 * 3600_000;

export class ClientClock {
  private readonly samples: number[] = [];
  private next = 0;
  private rtt: number | undefined;
  private readonly window: number;
  private readonly maxTransitMs: number;

  constructor(options: ClientClockOptions = {}) {
    this.window = Math.max(1, options.window ?? 32);
    this.maxTransitMs = options.maxTransitMs ?? 30_000;
  }

  /** A measured round trip on the connection (ms); the smallest one is kept. */
  roundTrip(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.rtt === undefined || ms < this.rtt) this.rtt = ms;
  }

  /** The smallest round trip measured so far (ms), if any. */
  get roundTripMs(): number | undefined {
    return this.rtt;
  }

  /**
   * Record a stamped message and estimate its transit. `clientTime` is the client's timestamp (not
   * trusted: anything but a plausible epoch time is ignored), `receivedAt` the backend's receipt time.
   */
  transit(clientTime: unknown, receivedAt: number): ClientTiming | undefined {
    if (typeof clientTime !== 'number' || !Number.isFinite(clientTime)) return undefined;
    const d = receivedAt - clientTime;
    if (Math.abs(d) > MAX_CLOCK_OFFSET_MS) return undefined;
    this.record(d);
    if (this.rtt === undefined) return undefined;
    let dMin = d;
    for (const s of this.samples) if (s < dMin) dMin = s;
    const transit = d - dMin + this.rtt / 2;
    if (transit > this.maxTransitMs) return undefined;
    return { sentAt: receivedAt - transit, receivedAt };
  }

  private record(d: number): void {
    if (this.samples.length < this.window) this.samples.push(d);
    else this.samples[this.next] = d;
    this.next = (this.next + 1) % this.window;
  }
}
