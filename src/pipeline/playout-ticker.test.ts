import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type IntervalClock,
  monotonicIntervalClock,
  PlayoutTicker,
  sharedPlayoutTicker,
} from './playout-ticker.ts';

/** Interval timers driven by hand: `tick()` runs the armed interval's callback once. */
function manualClock() {
  let now = 0;
  let armed: { fn: () => void; ms: number; id: number } | undefined;
  let created = 0;
  const clock: IntervalClock = {
    now: () => now,
    setInterval: (fn, ms) => {
      armed = { fn, ms, id: ++created };
      return armed.id;
    },
    clearInterval: (id) => {
      if (armed?.id === id) armed = undefined;
    },
  };
  return {
    clock,
    get armed() {
      return armed;
    },
    get created() {
      return created;
    },
    advance(ms: number) {
      now += ms;
    },
    tick() {
      now += armed!.ms;
      armed!.fn();
    },
  };
}

describe('PlayoutTicker', () => {
  it('ticks every member once per period on one interval, armed only while someone is joined', () => {
    const m = manualClock();
    const ticker = new PlayoutTicker(20, m.clock);
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    expect(ticker.running).toBe(false);
    ticker.join(a);
    m.advance(7);
    ticker.join(b);
    expect([ticker.size, m.created, m.armed?.ms]).toEqual([2, 1, 20]);
    m.tick();
    expect(calls).toEqual(['a', 'b']);
    ticker.leave(a);
    for (let i = 0; i < 10; i++) m.tick();
    expect(calls).toEqual(['a', 'b', ...Array(10).fill('b')]);
    expect(m.created).toBe(1); // the same timer for every tick
    ticker.leave(b);
    expect([ticker.size, ticker.running, m.armed]).toEqual([0, false, undefined]);
    ticker.join(a);
    expect([ticker.running, m.created]).toEqual([true, 2]);
    ticker.leave(a);
  });

  it('lets members leave and join while being ticked', () => {
    const m = manualClock();
    const ticker = new PlayoutTicker(20, m.clock);
    const calls: string[] = [];
    const c = () => calls.push('c');
    const b = () => calls.push('b');
    const a = () => {
      calls.push('a');
      ticker.leave(a);
      ticker.leave(b);
      ticker.join(c);
    };
    ticker.join(a);
    ticker.join(b);
    m.tick();
    expect(calls).toEqual(['a', 'c']);
    expect(ticker.size).toBe(1);
    ticker.leave(c);
    ticker.leave(c); // leaving twice is harmless
    expect([ticker.size, ticker.running]).toEqual([0, false]);
  });

  it('ticks the other members when one throws, then throws its error', () => {
    const m = manualClock();
    const ticker = new PlayoutTicker(20, m.clock);
    let ticks = 0;
    ticker.join(() => {
      throw new Error('sink exploded');
    });
    ticker.join(() => ticks++);
    expect(() => m.tick()).toThrow('sink exploded');
    expect(ticks).toBe(1);
    expect(ticker.running).toBe(true);
  });

  it('when several members throw, the first one’s error is the one thrown (the error itself)', () => {
    // Caught by hand: `toThrow('…')` also passes when `undefined` is thrown.
    const m = manualClock();
    const ticker = new PlayoutTicker(20, m.clock);
    const first = new Error('first sink');
    const second = new Error('second sink');
    let ticks = 0;
    ticker.join(() => {
      throw first;
    });
    ticker.join(() => ticks++);
    ticker.join(() => {
      throw second;
    });
    let thrown: unknown;
    try {
      m.tick();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(first);
    expect(ticks).toBe(1);
  });

  it('re-arms on join when it has not ticked for more than three periods (a lost timer)', () => {
    const m = manualClock();
    const ticker = new PlayoutTicker(20, m.clock);
    ticker.join(() => {});
    m.advance(50);
    ticker.join(() => {});
    expect(m.created).toBe(1);
    m.advance(200); // the interval never ran
    ticker.join(() => {});
    expect([m.created, ticker.size]).toEqual([2, 3]);
  });

  it('is one ticker per frame period in the process', () => {
    expect(sharedPlayoutTicker(20)).toBe(sharedPlayoutTicker(20));
    expect(sharedPlayoutTicker(10)).not.toBe(sharedPlayoutTicker(20));
    expect(() => new PlayoutTicker(0)).toThrow(RangeError);
  });
});

/** Interval timers driven by hand that keeps every armed interval (to count the live ones). */
function intervalsClock() {
  let now = 0;
  const live = new Map<number, { fn: () => void; ms: number }>();
  let created = 0;
  const clock: IntervalClock = {
    now: () => now,
    setInterval: (fn, ms) => {
      live.set(++created, { fn, ms });
      return created;
    },
    clearInterval: (id) => {
      live.delete(id as number);
    },
  };
  return {
    clock,
    live,
    get created() {
      return created;
    },
    advance(ms: number) {
      now += ms;
    },
    /** Advances one period of the (single) live interval and runs it. */
    tick() {
      const [only] = [...live.values()];
      now += only!.ms;
      only!.fn();
    },
  };
}

describe('PlayoutTicker, the lost-timer check', () => {
  it('re-arms only after more than three periods without a tick, counted from the arming or the last tick', () => {
    const table: [string, number, number][] = [
      // what, ms since the interval was armed (no tick since), intervals created after a second join
      ['right after arming', 0, 1],
      ['exactly three periods', 60, 1],
      ['one ms more', 61, 2],
    ];
    for (const [what, idle, created] of table) {
      const m = intervalsClock();
      m.advance(1000); // armed at 1000, not at 0
      const ticker = new PlayoutTicker(20, m.clock);
      ticker.join(() => {});
      m.advance(idle);
      ticker.join(() => {});
      expect([what, m.created, m.live.size]).toEqual([what, created, 1]);
    }
  });

  it('a ticking interval is kept however long it has run', () => {
    const m = intervalsClock();
    const ticker = new PlayoutTicker(20, m.clock);
    let ticks = 0;
    ticker.join(() => ticks++);
    for (let i = 0; i < 10; i++) m.tick(); // 200 ms, the last tick just now
    m.advance(60);
    ticker.join(() => {});
    expect([ticks, m.created, m.live.size]).toEqual([10, 1, 1]);
    m.advance(1);
    ticker.join(() => {});
    expect([m.created, m.live.size]).toEqual([2, 1]); // the lost one is cleared, not left beside the new one
  });

  it('refuses a period that is not positive, naming it', () => {
    for (const period of [0, -20, Number.NaN]) {
      expect(() => new PlayoutTicker(period)).toThrow(
        new RangeError(`periodMs must be positive, got ${period}`),
      );
    }
    expect(new PlayoutTicker(0.5).periodMs).toBe(0.5);
  });
});

describe('monotonicIntervalClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads performance.now() and runs the global interval timers until cleared', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    const start = monotonicIntervalClock.now();
    expect(start).toBe(performance.now());
    let calls = 0;
    const handle = monotonicIntervalClock.setInterval(() => calls++, 20);
    vi.advanceTimersByTime(60);
    expect([calls, monotonicIntervalClock.now() - start]).toEqual([3, 60]);
    monotonicIntervalClock.clearInterval(handle);
    vi.advanceTimersByTime(100);
    expect([calls, vi.getTimerCount()]).toEqual([3, 0]);
  });
});
