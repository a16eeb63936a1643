/**
 * `SessionRegistry.whenEmpty`: what a drain waits for. Resolves at once with no live session, when
 * the last live one closes, or after its bound; fake timers, nothing real-time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RegisteredSession, SessionRegistry } from './session-registry.ts';

const session = (id: string): RegisteredSession => ({
  id,
  transport: 'websocket',
  mode: 'agent',
  startedAt: 0,
  transcript: () => [],
  close: async () => {},
});

/** Whether `p` has settled once pending microtasks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SessionRegistry.whenEmpty', () => {
  it('resolves at once when no session is live', async () => {
    expect(await settled(new SessionRegistry().whenEmpty(60_000))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits for the last live session to close, then leaves no timer behind', async () => {
    const registry = new SessionRegistry();
    registry.add(session('a'));
    registry.add(session('b'));
    const empty = registry.whenEmpty(60_000);
    expect(await settled(empty)).toBe(false);
    registry.markClosed('a', 'client_left');
    expect(await settled(empty)).toBe(false);
    registry.markClosed('b', 'client_left');
    expect(await settled(empty)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up after its bound while a session stays live', async () => {
    const registry = new SessionRegistry();
    registry.add(session('a'));
    const empty = registry.whenEmpty(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(empty)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(empty)).toBe(true);
    expect(registry.activeCount).toBe(1);
  });
});
