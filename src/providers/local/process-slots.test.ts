/**
 * | runs asked for                          | what happens                                              |
 * |-----------------------------------------|-----------------------------------------------------------|
 * | up to `maxRunning`                      | each gets a slot at once                                  |
 * | more, up to `maxWaiting` waiting        | they wait, and get the slots as they are released, in order |
 * | one more                                | refused at once with the `full()` error                    |
 * | a waiting run whose signal aborts       | leaves the queue, rejected with the signal's reason; the slot goes to the next |
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, ProviderError } from '../../errors.ts';
import { ProcessSlots } from './process-slots.ts';

const slots = (maxRunning: number, maxWaiting: number) =>
  new ProcessSlots({
    maxRunning,
    maxWaiting,
    full: (s) => new ProviderError('tts_busy', `busy: ${s.running} running, ${s.waiting} waiting`),
  });

/** Records the order in which runs got their slot. */
function track(pool: ProcessSlots) {
  const granted: string[] = [];
  const releases = new Map<string, () => void>();
  const ask = (name: string, signal?: AbortSignal) =>
    pool.acquire(signal).then((release) => {
      granted.push(name);
      releases.set(name, release);
    });
  const release = (name: string) => releases.get(name)!();
  return { granted, ask, release };
}

describe('ProcessSlots', () => {
  it('runs up to maxRunning at once; the others wait and get slots in order of arrival', async () => {
    const pool = slots(2, 10);
    const t = track(pool);
    const asked = ['a', 'b', 'c', 'd', 'e'].map((n) => t.ask(n));
    await Promise.all(asked.slice(0, 2));
    expect(t.granted).toEqual(['a', 'b']);
    expect([pool.running, pool.waiting]).toEqual([2, 3]);
    t.release('b');
    await asked[2];
    expect(t.granted).toEqual(['a', 'b', 'c']);
    expect([pool.running, pool.waiting]).toEqual([2, 2]);
    t.release('b'); // a second release of the same slot frees nothing more
    expect([pool.running, pool.waiting]).toEqual([2, 2]);
    t.release('a');
    t.release('c');
    await Promise.all(asked);
    expect(t.granted).toEqual(['a', 'b', 'c', 'd', 'e']);
    t.release('d');
    t.release('e');
    expect([pool.running, pool.waiting]).toEqual([0, 0]);
  });

  it('a full queue refuses at once with the full() error; room again once one is granted', async () => {
    const pool = slots(1, 2);
    const t = track(pool);
    const first = t.ask('a');
    const waiting = [t.ask('b'), t.ask('c')];
    await first;
    const refused = pool.acquire();
    await expect(refused).rejects.toBeInstanceOf(ProviderError);
    await expect(refused).rejects.toMatchObject({ code: 'tts_busy', message: 'busy: 1 running, 2 waiting' });
    t.release('a');
    await waiting[0];
    expect(pool.waiting).toBe(1);
    const later = t.ask('d'); // the queue has room again
    t.release('b');
    await waiting[1];
    t.release('c');
    await later;
    expect(t.granted).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a waiting run whose signal aborts leaves the queue with the reason; the slot goes to the next', async () => {
    const pool = slots(1, 5);
    const t = track(pool);
    await t.ask('a');
    const controller = new AbortController();
    const cancelled = t.ask('b', controller.signal);
    const next = t.ask('c');
    expect(pool.waiting).toBe(2);
    const reason = new Error('the turn was interrupted');
    controller.abort(reason);
    await expect(cancelled).rejects.toBe(reason);
    expect(pool.waiting).toBe(1);
    t.release('a');
    await next;
    expect(t.granted).toEqual(['a', 'c']);
    expect([pool.running, pool.waiting]).toEqual([1, 0]);
    // An aborted signal gets no slot, even a free one.
    t.release('c');
    const aborted = AbortSignal.abort(reason);
    await expect(pool.acquire(aborted)).rejects.toBe(reason);
    expect(pool.running).toBe(0);
  });

  it('a granted run forgets its signal: a later abort does not free or take anything', async () => {
    const pool = slots(1, 5);
    const t = track(pool);
    await t.ask('a');
    const controller = new AbortController();
    const b = t.ask('b', controller.signal);
    t.release('a');
    await b;
    controller.abort();
    expect([pool.running, pool.waiting]).toEqual([1, 0]);
    const c = t.ask('c');
    expect(pool.waiting).toBe(1);
    t.release('b');
    await c;
    expect(t.granted).toEqual(['a', 'b', 'c']);
  });

  it('refuses bounds that are not integers in range', () => {
    for (const [maxRunning, maxWaiting] of [
      [0, 1],
      [1.5, 1],
      [Number.NaN, 1],
      [1, -1],
      [1, Number.POSITIVE_INFINITY],
    ]) {
      expect(() => slots(maxRunning!, maxWaiting!)).toThrow(ConfigError);
    }
    expect(slots(1, 0).maxWaiting).toBe(0);
  });
});
