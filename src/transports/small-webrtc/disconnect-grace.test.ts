import { afterEach, describe, expect, it } from 'vitest';
import { DisconnectGrace } from './disconnect-grace.ts';

const graces: DisconnectGrace[] = [];
afterEach(() => {
  for (const g of graces.splice(0)) g.cancel();
});

function watch(graceMs: number) {
  const ends: Array<{ reason: string; at: number }> = [];
  let resolve!: () => void;
  const ended = new Promise<void>((r) => {
    resolve = r;
  });
  const grace = new DisconnectGrace(graceMs, (reason) => {
    ends.push({ reason, at: Date.now() });
    resolve();
  });
  graces.push(grace);
  return { grace, ends, ended };
}

describe('DisconnectGrace: when a WebRTC connection is lost for good', () => {
  it('failed and closed end at once', () => {
    const a = watch(10_000);
    a.grace.update('failed');
    const b = watch(10_000);
    b.grace.update('closed');
    expect([a.ends.map((e) => e.reason), b.ends.map((e) => e.reason)]).toEqual([['failed'], ['closed']]);
  });

  it('disconnected ends as failed once it lasted the grace', async () => {
    const w = watch(120);
    const since = Date.now();
    w.grace.update('connected');
    w.grace.update('disconnected');
    w.grace.update('disconnected'); // repeated reports do not restart the wait
    await w.ended;
    expect(w.ends).toHaveLength(1);
    expect(w.ends[0]!.reason).toBe('failed');
    expect(w.ends[0]!.at - since).toBeGreaterThanOrEqual(110);
  });

  it('a connection back within the grace is not ended', async () => {
    const back = watch(60);
    back.grace.update('disconnected');
    back.grace.update('connected');
    // A second connection that stays disconnected ends after the same grace: by then the first would have too.
    const gone = watch(60);
    gone.grace.update('disconnected');
    await gone.ended;
    expect(back.ends).toEqual([]);
  });
});
