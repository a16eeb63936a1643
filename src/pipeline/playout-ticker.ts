/**
 * One timer for the paced playout of every `SpeechOutput` in the process that runs on the default
 * monotonic clock. A Node timer per speaking session per frame costs a `Timeout` object (with its
 * async-hooks ids) every 20 ms per session; at 100 speaking sessions that is 5,000 timers a second,
 * most of them alive through a scavenge. The ticker is one interval timer of one frame period (the
 * same `Timeout` re-armed by Node, nothing allocated per tick): on each tick it calls every member,
 * and each member writes the frames that are due on its own drift-free schedule (a late tick is
 * caught up by the member, not by the ticker). Joining and leaving are O(1) (a `Set`); the interval
 * runs only while someone is a member.
 */
import type { TimerHandle } from './clock.ts';

/** Called on every tick while joined. It may leave, or make others join or leave, while called. */
export type PlayoutMember = () => void;

/** The ticker's time source: a monotonic `now` and interval timers (injected by tests). */
export interface IntervalClock {
  now(): number;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** `performance.now()` and the global interval timers, read at call time (fake timers apply). */
export const monotonicIntervalClock: IntervalClock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export class PlayoutTicker {
  readonly periodMs: number;
  private readonly clock: IntervalClock;
  private readonly members = new Set<PlayoutMember>();
  private handle: TimerHandle | undefined;
  /** When the interval last ticked (or was armed). */
  private lastTickAt = 0;
  private readonly onTimer = (): void => this.tick();

  constructor(periodMs: number, clock: IntervalClock = monotonicIntervalClock) {
    if (!(periodMs > 0)) throw new RangeError(`periodMs must be positive, got ${periodMs}`);
    this.periodMs = periodMs;
    this.clock = clock;
  }

  /** Members joined now. */
  get size(): number {
    return this.members.size;
  }

  /** True while the interval is armed (exactly when there is a member). */
  get running(): boolean {
    return this.handle !== undefined;
  }

  join(member: PlayoutMember): void {
    this.members.add(member);
    const now = this.clock.now();
    if (this.handle !== undefined) {
      // Armed and ticking: nothing to do. No tick for more than three periods means the interval
      // was lost (test fake timers uninstalled with members joined) or the loop was blocked:
      // re-arm, so a member never waits on a timer that will not fire.
      if (now - this.lastTickAt <= 3 * this.periodMs) return;
      this.clock.clearInterval(this.handle);
    }
    this.lastTickAt = now;
    this.handle = this.clock.setInterval(this.onTimer, this.periodMs);
  }

  leave(member: PlayoutMember): void {
    if (!this.members.delete(member) || this.members.size > 0 || this.handle === undefined) return;
    this.clock.clearInterval(this.handle);
    this.handle = undefined;
  }

  private tick(): void {
    this.lastTickAt = this.clock.now();
    // One member that throws (a sink's write) must not stop the others: the first error is thrown
    // after every member ran, from this timer callback, as a session's own timer threw it before.
    let failed = false;
    let error: unknown;
    for (const member of this.members) {
      try {
        member();
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
    if (failed) throw error;
  }
}

const shared = new Map<number, PlayoutTicker>();

/** The process's ticker for frames of `periodMs` (created on first use, on the monotonic clock). */
export function sharedPlayoutTicker(periodMs: number): PlayoutTicker {
  let ticker = shared.get(periodMs);
  if (ticker === undefined) {
    ticker = new PlayoutTicker(periodMs);
    shared.set(periodMs, ticker);
  }
  return ticker;
}
