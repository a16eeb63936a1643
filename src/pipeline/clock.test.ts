import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, monotonicClock, systemClock } from './clock.ts';

describe('the default clocks', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const table: [string, Clock, () => number][] = [
    ['systemClock reads Date.now()', systemClock, () => Date.now()],
    ['monotonicClock reads performance.now()', monotonicClock, () => performance.now()],
  ];
  for (const [what, clock, source] of table) {
    it(`${what} and runs the global timers (read at call time), until cleared`, () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 5000 });
      const start = clock.now();
      expect(start).toBe(source());
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('kept'), 30);
      const cleared = clock.setTimeout(() => fired.push('cleared'), 20);
      clock.clearTimeout(cleared);
      vi.advanceTimersByTime(29);
      expect([fired, clock.now() - start]).toEqual([[], 29]);
      vi.advanceTimersByTime(1);
      expect([fired, clock.now() - start, vi.getTimerCount()]).toEqual([['kept'], 30, 0]);
    });
  }
});
