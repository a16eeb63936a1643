/**
 * ServerResume across a restart: the stored snapshots a previous server left are picked up, the
 * newest first when there are more than the server may hold (each waits with its whole history).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { hashHandle, ResumeError } from '../session/resume-handles.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { StoreWriter } from '../store/store-writer.ts';
import { ServerResume } from './session-resume.ts';

const NOW = Date.now();
const snapshot = (n: number) => ({
  sessionId: `s${n}`,
  userId: 'ana',
  agentName: 'front',
  profile: {},
  history: [{ role: 'user' as const, content: `turn ${n}` }],
  handleHash: hashHandle(`handle-${n}`),
  expiresAt: NOW + 60_000,
  updatedAt: NOW - 100 + n,
});

describe('ServerResume.pickUp', () => {
  let resume: ServerResume | undefined;
  afterEach(() => resume?.dispose());

  it('picks up at most `max` stored sessions, the most recently updated; the others are not resumable', async () => {
    const store = new InMemorySessionStore();
    // Saved out of order: the newest updates are s3 and s1.
    for (const s of [{ ...snapshot(1), updatedAt: NOW - 1 }, snapshot(2), snapshot(3)])
      await store.saveSnapshot(s);
    resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000, durable: true });
    const restore = () => {
      throw new Error('not resumed in this test');
    };
    expect(await resume.pickUp(store, new StoreWriter(store), restore, silentLogger, NOW, 2)).toBe(2);
    expect(resume.pickedUp).toBe(2);
    expect(() => resume!.handles.redeem('handle-2')).toThrow(ResumeError);
    expect(resume.handles.redeem('handle-3')).toEqual({ sessionId: 's3', userId: 'ana' });
    expect(resume.handles.redeem('handle-1')).toEqual({ sessionId: 's1', userId: 'ana' });
  });

  it('without a bound, every unexpired snapshot is picked up', async () => {
    const store = new InMemorySessionStore();
    for (const n of [1, 2, 3]) await store.saveSnapshot(snapshot(n));
    await store.saveSnapshot({ ...snapshot(4), expiresAt: NOW - 1 });
    resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000, durable: true });
    expect(
      await resume.pickUp(store, new StoreWriter(store), () => undefined as never, silentLogger, NOW),
    ).toBe(3);
  });
});
