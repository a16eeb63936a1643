import { describe, expect, it } from 'vitest';
import { SIGNAL_MAX_MESSAGE_BYTES, SignalBudget } from './signal-budget.ts';

describe('SignalBudget', () => {
  it('admits a burst of twice the message rate, then the rate; drops beyond and counts them', () => {
    let now = 0;
    const budget = new SignalBudget({ messagesPerSecond: 10, bytesPerSecond: 64 * 1024 }, () => now);
    const first = Array.from({ length: 25 }, () => budget.admit(10));
    expect(first.filter(Boolean)).toHaveLength(20);
    expect(budget.dropped).toBe(5);
    now += 500; // half a second: 5 more
    const later = Array.from({ length: 8 }, () => budget.admit(10));
    expect(later.filter(Boolean)).toHaveLength(5);
    expect(budget.dropped).toBe(8);
  });

  it('bounds bytes too: one largest message fits the burst, then the byte rate applies', () => {
    let now = 0;
    const budget = new SignalBudget({ messagesPerSecond: 1000, bytesPerSecond: 100 * 1024 }, () => now);
    expect(budget.admit(SIGNAL_MAX_MESSAGE_BYTES)).toBe(true);
    expect(budget.admit(200 * 1024)).toBe(false);
    now += 2000;
    expect(budget.admit(200 * 1024)).toBe(true);
    expect(budget.dropped).toBe(1);
  });

  it('pauses reading for about one message of budget', () => {
    expect(new SignalBudget({ messagesPerSecond: 50, bytesPerSecond: 1024 }).pauseMs).toBe(20);
    expect(new SignalBudget({ messagesPerSecond: 5, bytesPerSecond: 1024 }).pauseMs).toBe(200);
  });
});
