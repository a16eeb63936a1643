/**
 * `SessionRegistry`: live sessions and the records of closed ones (what `/sessions/:id/transcript`
 * serves), the bound on kept records (oldest dropped first), the change events a cluster node
 * follows, and `closeAll`. Fake clock, stand-in sessions.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RegisteredSession, type RegistryChange, SessionRegistry } from './session-registry.ts';

const session = (id: string, extra: Partial<RegisteredSession> = {}): RegisteredSession => ({
  id,
  transport: 'websocket',
  mode: 'agent',
  startedAt: 1000,
  transcript: () => [{ role: 'user', content: `said in ${id}` }],
  close: async () => {},
  ...extra,
});

beforeEach(() => {
  vi.useFakeTimers({ now: 50_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('live and closed sessions', () => {
  it('a live session: counted, listed, described without close fields', () => {
    const registry = new SessionRegistry();
    registry.add(session('a', { userId: 'ana' }));
    registry.add(session('b', { mode: 'stream', transport: 'livekit' }));
    expect(registry.activeCount).toBe(2);
    expect(registry.liveIds()).toEqual(['a', 'b']);
    expect(registry.isLive('a')).toBe(true);
    expect(registry.isLive('c')).toBe(false);
    expect(registry.get('b')).toStrictEqual({
      id: 'b',
      transport: 'livekit',
      mode: 'stream',
      startedAt: 1000,
      transcript: [{ role: 'user', content: 'said in b' }],
    });
    expect(registry.get('c')).toBeUndefined();
    expect(registry.liveOf('ana').map((s) => s.id)).toEqual(['a']);
    expect(registry.liveOf('bo')).toEqual([]);
  });

  it('markClosed: no longer live; its record keeps the transcript at close, when and why', () => {
    const registry = new SessionRegistry();
    let said = 'first words';
    registry.add(session('a', { userId: 'ana', transcript: () => [{ role: 'user', content: said }] }));
    vi.setSystemTime(61_000);
    registry.markClosed('a', 'client_disconnected');
    said = 'changed after the close';
    expect(registry.activeCount).toBe(0);
    expect(registry.isLive('a')).toBe(false);
    expect(registry.liveIds()).toEqual([]);
    expect(registry.liveOf('ana')).toEqual([]);
    expect(registry.get('a')).toStrictEqual({
      id: 'a',
      transport: 'websocket',
      mode: 'agent',
      startedAt: 1000,
      closedAt: 61_000,
      closeReason: 'client_disconnected',
      transcript: [{ role: 'user', content: 'first words' }],
    });
  });

  it('markClosed of an id that is not live: nothing happens, no event', () => {
    const registry = new SessionRegistry();
    const changes: RegistryChange[] = [];
    registry.onChange((c) => changes.push(c));
    registry.add(session('a'));
    registry.markClosed('a', 'one');
    registry.markClosed('a', 'twice');
    registry.markClosed('zzz', 'never');
    expect(changes).toEqual([
      { type: 'started', id: 'a' },
      { type: 'ended', id: 'a' },
    ]);
    expect(registry.get('a')?.closeReason).toBe('one');
    expect(registry.get('zzz')).toBeUndefined();
  });

  it.each([
    // keepClosed, sessions closed, records kept
    [2, 2, ['s1', 's2']],
    [2, 3, ['s2', 's3']],
    [2, 5, ['s4', 's5']],
    [1, 2, ['s2']],
  ])('keeps the records of the newest %i closed sessions (%i closed → %j)', (keep, closed, kept) => {
    const registry = new SessionRegistry(keep);
    for (let i = 1; i <= closed; i++) {
      registry.add(session(`s${i}`));
      registry.markClosed(`s${i}`, 'done');
    }
    const ids = Array.from({ length: closed }, (_, i) => `s${i + 1}`);
    expect(ids.filter((id) => registry.get(id) !== undefined)).toEqual(kept);
  });

  it('keeps 100 closed records by default', () => {
    const registry = new SessionRegistry();
    for (let i = 1; i <= 101; i++) {
      registry.add(session(`s${i}`));
      registry.markClosed(`s${i}`, 'done');
    }
    expect(registry.get('s1')).toBeUndefined();
    expect(registry.get('s2')).toMatchObject({ id: 's2', closeReason: 'done' });
    expect(registry.get('s101')).toMatchObject({ id: 's101', closeReason: 'done' });
  });
});

describe('change events', () => {
  it('every listener hears starts and ends in order; an unsubscribed one hears nothing more', () => {
    const registry = new SessionRegistry();
    const first: RegistryChange[] = [];
    const second: RegistryChange[] = [];
    const off = registry.onChange((c) => first.push(c));
    registry.onChange((c) => second.push(c));
    registry.add(session('a'));
    off();
    registry.add(session('b'));
    registry.markClosed('a', 'done');
    expect(first).toEqual([{ type: 'started', id: 'a' }]);
    expect(second).toEqual([
      { type: 'started', id: 'a' },
      { type: 'started', id: 'b' },
      { type: 'ended', id: 'a' },
    ]);
  });

  it('a session is live when its `started` is heard, and gone when its `ended` is', () => {
    const registry = new SessionRegistry();
    const seen: Array<[string, boolean, number]> = [];
    registry.onChange((c) => seen.push([c.type, registry.isLive(c.id), registry.activeCount]));
    registry.add(session('a'));
    registry.markClosed('a', 'done');
    expect(seen).toEqual([
      ['started', true, 1],
      ['ended', false, 0],
    ]);
  });

  it('whenEmpty stops listening once it resolved (by the last close, or by its bound)', async () => {
    const registry = new SessionRegistry();
    const listeners = () => (registry as unknown as { listeners: Set<unknown> }).listeners.size;
    registry.add(session('a'));
    const empty = registry.whenEmpty(60_000);
    expect(listeners()).toBe(1);
    registry.markClosed('a', 'done');
    await empty;
    expect(listeners()).toBe(0);
    registry.add(session('b'));
    const bounded = registry.whenEmpty(10);
    await vi.advanceTimersByTimeAsync(10);
    await bounded;
    expect(listeners()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('whenEmpty does not resolve when another session starts while one is live', async () => {
    const registry = new SessionRegistry();
    registry.add(session('a'));
    let done = false;
    void registry.whenEmpty(60_000).then(() => {
      done = true;
    });
    registry.add(session('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
  });
});

describe('closeAll', () => {
  it('asks every live session to close with the reason, even when one of them fails', async () => {
    const registry = new SessionRegistry();
    const asked: string[] = [];
    registry.add(
      session('a', {
        close: async (reason) => {
          asked.push(`a:${reason}`);
          throw new Error('cannot');
        },
      }),
    );
    registry.add(
      session('b', {
        close: async (reason) => {
          asked.push(`b:${reason}`);
        },
      }),
    );
    await expect(registry.closeAll('maintenance')).resolves.toBeUndefined();
    expect(asked).toEqual(['a:maintenance', 'b:maintenance']);
  });

  it('waits for every close to finish', async () => {
    const registry = new SessionRegistry();
    let finish!: () => void;
    registry.add(session('a', { close: () => new Promise<void>((r) => (finish = r)) }));
    let done = false;
    const all = registry.closeAll('x').then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    finish();
    await all;
    expect(done).toBe(true);
  });
});
