import { describe, expect, it } from 'vitest';
import { MessageBudget } from './message-budget.ts';

const limits = { rtviMessagesPerSecond: 50, rtviBytesPerSecond: 256 * 1024, rtviMessageBytes: 1024 * 1024 };

describe('MessageBudget', () => {
  it('a burst of twice the rate, then the rate; the client is told once a second how many were dropped', () => {
    let now = 0;
    const budget = new MessageBudget(limits, () => now);
    const answers = Array.from({ length: 130 }, () => budget.admit(100));
    expect(answers.filter((a) => a.ok)).toHaveLength(100);
    const notices = answers.flatMap((a) => (!a.ok && a.notice ? [a.notice] : []));
    expect(notices).toEqual([
      'Too many messages: 1 dropped (a session may send 50 messages and 256 KiB per second); slow down',
    ]);
    expect(budget.dropped).toBe(30);
    now = 1000;
    const later = Array.from({ length: 60 }, () => budget.admit(100));
    expect(later.filter((a) => a.ok)).toHaveLength(50);
    expect(later.flatMap((a) => (!a.ok && a.notice ? [a.notice] : []))).toEqual([
      'Too many messages: 30 dropped (a session may send 50 messages and 256 KiB per second); slow down',
    ]);
  });

  it('bytes: one largest message fits, then 256 KiB per second', () => {
    let now = 0;
    const budget = new MessageBudget(limits, () => now);
    expect(budget.admit(1024 * 1024).ok).toBe(true);
    expect(budget.admit(1000).ok).toBe(false);
    now = 1000;
    expect(budget.admit(200 * 1024).ok).toBe(true);
    expect(budget.admit(100 * 1024).ok).toBe(false);
  });
});
