import { describe, expect, it } from 'vitest';
import { ClientClock } from './client-clock.ts';

const SERVER = 1_800_000_000_000;

describe('ClientClock: client → backend transit from client timestamps, skew bounded by the round trip', () => {
  it('gives nothing before a round trip was measured (the skew would be unbounded)', () => {
    const clock = new ClientClock();
    expect(clock.transit(SERVER - 10, SERVER)).toBeUndefined();
  });

  it('removes any clock offset: transit = (d - fastest d) + half the fastest round trip', () => {
    for (const offset of [0, 90_000, -3_600_000]) {
      const clock = new ClientClock();
      clock.roundTrip(40);
      clock.roundTrip(20); // the smallest round trip is kept
      clock.roundTrip(60);
      // Client clock = server clock + offset; the first message took 10 ms, the second 250 ms.
      expect(clock.transit(SERVER - 10 + offset, SERVER)).toEqual({
        sentAt: SERVER - 10,
        receivedAt: SERVER,
      });
      const slow = clock.transit(SERVER + 1000 - 250 + offset, SERVER + 1000);
      expect(slow).toEqual({ sentAt: SERVER + 1000 - 250, receivedAt: SERVER + 1000 });
    }
  });

  it('ignores timestamps that are not a clock, and drops implausible transits', () => {
    const clock = new ClientClock({ maxTransitMs: 1000 });
    clock.roundTrip(4);
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '1700000000000',
      null,
      undefined,
      0,
      -1e15,
      1e20,
    ]) {
      expect(clock.transit(bad, SERVER)).toBeUndefined();
    }
    expect(clock.transit(SERVER - 5, SERVER)?.receivedAt).toBe(SERVER);
    // 5 s slower than the fastest message: the client stalled or its clock jumped.
    expect(clock.transit(SERVER - 5000, SERVER)).toBeUndefined();
  });

  it('forgets old samples (a corrected client clock ages out of the window)', () => {
    const clock = new ClientClock({ window: 2 });
    clock.roundTrip(0);
    clock.transit(SERVER + 10_000, SERVER); // the client clock was 10 s fast then
    clock.transit(SERVER - 5, SERVER);
    clock.transit(SERVER - 5, SERVER);
    expect(clock.transit(SERVER - 5, SERVER)).toEqual({ sentAt: SERVER, receivedAt: SERVER });
  });
});
