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

describe('ServerResume.pickUp: which stored sessions are its own', () => {
  let resume: ServerResume | undefined;
  afterEach(() => resume?.dispose());

  it("picks up RTVI and LiveKit sessions, never a native socket's (AgentResume's), nor one `accept` refuses", async () => {
    const store = new InMemorySessionStore();
    await store.saveSnapshot(snapshot(1)); // no carrier: RTVI
    await store.saveSnapshot({ ...snapshot(2), carrier: { kind: 'rtvi' as const } });
    await store.saveSnapshot({ ...snapshot(3), carrier: { kind: 'livekit' as const, room: 'room-3' } });
    await store.saveSnapshot({ ...snapshot(4), carrier: { kind: 'native' as const } });
    await store.saveSnapshot(snapshot(5));
    resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000, durable: true });
    const asked: string[] = [];
    const accept = (id: string) => {
      asked.push(id);
      return id !== 's5';
    };
    const restore = () => {
      throw new Error('not resumed in this test');
    };
    const writer = new StoreWriter(store);
    expect(await resume.pickUp(store, writer, restore, silentLogger, NOW, Infinity, accept)).toBe(3);
    expect(resume.pickedUp).toBe(3);
    // `accept` is asked about the server's own kinds only.
    expect(asked.sort()).toEqual(['s1', 's2', 's3', 's5']);
    expect(resume.handles.redeem('handle-1')).toEqual({ sessionId: 's1', userId: 'ana' });
    expect(resume.handles.redeem('handle-2')).toEqual({ sessionId: 's2', userId: 'ana' });
    // A LiveKit client comes back by rejoining its room, as its user.
    expect(resume.claimRoom('room-3', 'mallory')).toBe('foreign');
    expect(resume.claimRoom('room-3', 'ana')).toMatchObject({ sessionId: 's3' });
    // The native session's handle is left to AgentResume; the refused one is not honoured here.
    expect(() => resume!.handles.redeem('handle-4')).toThrow(ResumeError);
    expect(() => resume!.handles.redeem('handle-5')).toThrow(ResumeError);
  });
});

describe('ServerResume.redeem', () => {
  it('a valid handle of a session that is neither live here nor waiting: resume_gone, "The session has ended"', () => {
    const resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000 });
    const { handle } = resume.handles.issue('s-elsewhere', 'ana', 60_000);
    let thrown: unknown;
    try {
      resume.redeem(handle, 'ana');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ResumeError);
    expect(thrown).toMatchObject({ code: 'resume_gone', message: 'The session has ended' });
    resume.dispose();
  });
});
