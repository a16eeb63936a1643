/**
 * Adopting a stored session whose node is gone or draining (`serverCluster`'s `host.adopt`), against
 * the in-memory store: the node that handed out the handle may still be writing its last snapshot.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { hashHandle } from '../session/resume-handles.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import type { ResumeSnapshot, SessionStore } from '../store/types.ts';
import { serverCluster } from './server-cluster.ts';
import { ServerResume } from './session-resume.ts';

const snapshot = (handle: string, expiresAt = Date.now() + 60_000): ResumeSnapshot => ({
  sessionId: 's1',
  userId: 'bo',
  agentName: 'main',
  profile: {},
  history: [{ role: 'user', content: 'I am in room 9' }],
  handleHash: hashHandle(handle),
  expiresAt,
  updatedAt: Date.now(),
});

/** A store whose reads run `afterRead` once, after the first read has answered (a write landing then). */
function storeWithLateWrite(afterRead: (store: InMemorySessionStore) => Promise<void>) {
  const store = new InMemorySessionStore();
  let reads = 0;
  const late: SessionStore = Object.assign(Object.create(store) as SessionStore, {
    loadSnapshot: async (id: string) => {
      const found = await store.loadSnapshot(id);
      if (++reads === 1) await afterRead(store);
      return found;
    },
  });
  return { late, reads: () => reads };
}

function adopter(store: SessionStore) {
  const resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000 });
  const cluster = serverCluster({
    cluster: {} as never,
    host: '127.0.0.1',
    capacity: 5,
    logger: silentLogger,
    registry: {} as never,
    data: { store } as never,
    resume,
    auth: {} as never,
    gate: undefined as never,
    trustProxy: false,
    maxBodyBytes: 1024,
    isDraining: () => false,
  });
  return { resume, adopt: cluster.host.adopt };
}

describe('adopting a session handed over by a draining node', () => {
  it('its snapshot not stored yet when first read: the node waits for it and adopts it', async () => {
    const { late, reads } = storeWithLateWrite((store) => store.saveSnapshot(snapshot('h-drain')));
    const { resume, adopt } = adopter(late);
    expect(await adopt('s1', hashHandle('h-drain'))).toBeUndefined();
    expect(reads()).toBe(2);
    expect(resume.pickedUp).toBe(1);
  });

  it('an older snapshot first (another handle): the node waits for the one of this handle', async () => {
    const { late } = storeWithLateWrite((store) => store.saveSnapshot(snapshot('h-drain')));
    await late.saveSnapshot(snapshot('h-before'));
    const { resume, adopt } = adopter(late);
    expect(await adopt('s1', hashHandle('h-drain'))).toBeUndefined();
    expect(resume.pickedUp).toBe(1);
  });

  it('no handle to wait for and nothing stored: 410 resume_gone at once', async () => {
    const { late, reads } = storeWithLateWrite(async () => {});
    const { resume, adopt } = adopter(late);
    expect(await adopt('s1', undefined)).toEqual({
      status: 410,
      info: 'The session has ended',
      code: 'resume_gone',
    });
    expect(reads()).toBe(1);
    expect(resume.pickedUp).toBe(0);
  });

  it('an expired snapshot: 410 resume_gone', async () => {
    const store = new InMemorySessionStore();
    await store.saveSnapshot(snapshot('h-drain', Date.now() - 1));
    const { adopt } = adopter(store);
    expect(await adopt('s1', hashHandle('h-drain'))).toMatchObject({ status: 410, code: 'resume_gone' });
  });
});
