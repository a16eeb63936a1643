import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('gives the burst at once, then the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 100; // one token back
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now = 10_000; // never more than the burst
    expect(bucket.take(3)).toBe(true);
    expect(bucket.take(1)).toBe(false);
  });

  it('take(n) takes nothing when n is not there', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 100, () => now);
    expect(bucket.take(150)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    now = 50;
    expect(bucket.take(60)).toBe(false);
    expect(bucket.take(50)).toBe(true);
  });

  it('spend() goes into debt and says how long until it is paid back', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 500, () => now);
    expect(bucket.spend(400)).toBe(0);
    expect(bucket.spend(600)).toBe(500); // 500 in debt at 1000/s
    expect(bucket.take(1)).toBe(false);
    now = 500;
    expect(bucket.spend(0)).toBe(0);
    expect(bucket.take(1)).toBe(false); // exactly zero: nothing to take yet
    now = 501;
    expect(bucket.take(1)).toBe(true);
  });
});
