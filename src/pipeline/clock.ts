/**
 * The time source of the pipeline units. Injected so tests can script time (fake timers or a
 * hand-driven clock); the defaults read the global timers at call time, so `vi.useFakeTimers()`
 * installed after import still applies.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds; only differences are used except where a field says "since the epoch". */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Wall clock (ms since the epoch): for timestamps that leave the pipeline in events. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Monotonic clock: for pacing, where a wall-clock jump must not burst or stall audio. */
export const monotonicClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
