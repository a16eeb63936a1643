/**
 * `ServerResume` path by path, with stand-in RTVI sessions and a recording store writer: which
 * sessions a handle reaches (live, waiting, ended), adopting one stored session, attaching a
 * redeemed connection (to a live session, or rebuilding a stored one, and what a failed rebuild
 * leaves in the store), LiveKit rooms claimed once by their user, forgetting a user, disposing; and
 * `restoredProfile`, which refuses a damaged stored profile.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { hashHandle, ResumeError } from '../session/resume-handles.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { StoreError } from '../store/store-error.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import type { ResumeSnapshot } from '../store/types.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import { restoredProfile, ServerResume } from './session-resume.ts';

const snapshot = (id: string, extra: Partial<ResumeSnapshot> = {}): ResumeSnapshot => ({
  sessionId: id,
  userId: 'ana',
  agentName: 'front',
  profile: {},
  history: [{ role: 'user', content: `hello from ${id}` }],
  handleHash: hashHandle(`handle-${id}`),
  expiresAt: Date.now() + 60_000,
  updatedAt: Date.now(),
  ...extra,
});

interface FakeSession {
  session: RtviSession;
  attach: ReturnType<typeof vi.fn>;
  publish: ReturnType<typeof vi.fn>;
  end(): Promise<void>;
  setState(state: string): void;
}

/** A stand-in RTVI session: its id, state, `closed` (resolved by `end()`), `attach` and bus. */
function fakeSession(id: string): FakeSession {
  let end!: (reason: string) => void;
  const closed = new Promise<string>((r) => {
    end = r;
  });
  const attach = vi.fn();
  const publish = vi.fn();
  const session = { id, state: 'ready', closed, attach, session: { eventBus: { publish } } };
  return {
    session: session as unknown as RtviSession,
    attach,
    publish,
    end: async () => {
      end('client_disconnected');
      await closed;
      await Promise.resolve();
    },
    setState: (state) => {
      session.state = state;
    },
  };
}

/** A writer that records what is enqueued. */
function recordingWriter() {
  const writes: unknown[] = [];
  const writer = { enqueue: (w: unknown) => writes.push(w) } as unknown as StoreWriter;
  return { writer, writes };
}

const transport = { name: 'websocket' } as unknown as RtviTransport;

const resumes: ServerResume[] = [];
const newResume = (durable?: boolean) => {
  const r = new ServerResume({
    windowMs: 60_000,
    handleTtlMs: 30_000,
    ...(durable !== undefined ? { durable } : {}),
  });
  resumes.push(r);
  return r;
};
afterEach(() => {
  for (const r of resumes.splice(0)) r.dispose();
});

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

describe('ServerResume.sessionOptions', () => {
  it('the handles and every setting, for createRtviSession', () => {
    const r = newResume(true);
    expect(r.sessionOptions).toStrictEqual({
      handles: r.handles,
      windowMs: 60_000,
      handleTtlMs: 30_000,
      durable: true,
    });
    expect(newResume().sessionOptions).toStrictEqual({
      handles: resumes[1]!.handles,
      windowMs: 60_000,
      handleTtlMs: 30_000,
    });
  });
});

describe('ServerResume.track and redeem', () => {
  it('a tracked live session is redeemed by its handle; once it closed, its next handle is resume_gone', async () => {
    const r = newResume();
    const s = fakeSession('s1');
    r.track(s.session);
    expect(r.redeem(r.handles.issue('s1', 'ana', 30_000).handle, 'ana')).toBe('s1');
    await s.end();
    const err = thrown(() => r.redeem(r.handles.issue('s1', 'ana', 30_000).handle));
    expect(err).toBeInstanceOf(ResumeError);
    expect(err).toMatchObject({ code: 'resume_gone', message: 'The session has ended' });
  });

  it('a tracked session already in state `closed` (its `closed` not settled yet): resume_gone', () => {
    const r = newResume();
    const s = fakeSession('s1');
    r.track(s.session);
    s.setState('closed');
    expect(thrown(() => r.redeem(r.handles.issue('s1', 'ana', 30_000).handle))).toMatchObject({
      code: 'resume_gone',
      message: 'The session has ended',
    });
  });

  it('a session tracked again under the same id: the older one closing does not untrack the newer', async () => {
    const r = newResume();
    const older = fakeSession('s1');
    const newer = fakeSession('s1');
    r.track(older.session);
    r.track(newer.session);
    await older.end();
    expect(r.redeem(r.handles.issue('s1', 'ana', 30_000).handle)).toBe('s1');
    expect(r.attach('s1', transport, 'h')).toBe(newer.session);
    expect(newer.attach).toHaveBeenCalledWith(transport, 'h');
    expect(older.attach).not.toHaveBeenCalled();
  });
});

describe('ServerResume.attach', () => {
  it('a live session: the connection is attached to it with the handle', () => {
    const r = newResume();
    const s = fakeSession('s1');
    r.track(s.session);
    expect(r.attach('s1', transport, 'the-handle')).toBe(s.session);
    expect(s.attach).toHaveBeenCalledTimes(1);
    expect(s.attach).toHaveBeenCalledWith(transport, 'the-handle');
  });

  it('no such live session: ResumeError resume_gone', () => {
    const r = newResume();
    const err = thrown(() => r.attach('nobody', transport, 'h'));
    expect(err).toBeInstanceOf(ResumeError);
    expect(err).toMatchObject({ code: 'resume_gone', message: 'The session has ended' });
  });

  it('a waiting stored session is rebuilt on the transport, tracked, and told `session.resume`', () => {
    const r = newResume(true);
    const { writer } = recordingWriter();
    const built = fakeSession('s1');
    const restore = vi.fn(() => built.session);
    r.restoreWith(writer, restore);
    const stored = snapshot('s1');
    expect(r.adopt(stored)).toBe(true);
    expect(r.redeem('handle-s1', 'ana')).toBe('s1');
    expect(r.attach('s1', transport, 'handle-s1')).toBe(built.session);
    expect(restore).toHaveBeenCalledTimes(1);
    expect(restore).toHaveBeenCalledWith(transport, stored);
    expect(built.publish).toHaveBeenCalledTimes(1);
    expect(built.publish).toHaveBeenCalledWith('session.resume', { sessionId: 's1', handle: 'handle-s1' });
    expect(built.attach).not.toHaveBeenCalled();
    expect(r.pickedUp).toBe(0);
    // Tracked: the next connection attaches to the rebuilt session.
    expect(r.attach('s1', transport, 'next')).toBe(built.session);
    expect(built.attach).toHaveBeenCalledWith(transport, 'next');
  });

  it('a waiting session without a way to rebuild it (no restoreWith): left waiting, resume_gone', () => {
    const r = newResume(true);
    expect(r.adopt(snapshot('s1'))).toBe(true);
    expect(thrown(() => r.attach('s1', transport, 'h'))).toMatchObject({ code: 'resume_gone' });
    expect(r.pickedUp).toBe(1);
  });

  it.each([
    ['an Error', new Error('bad profile'), 'The stored session cannot be restored: bad profile'],
    ['a string', 'no models', 'The stored session cannot be restored: no models'],
  ])(
    'a rebuild that throws %s: resume_gone naming it; the stored session closes (restore_failed)',
    (_, failure, message) => {
      const r = newResume(true);
      const { writer, writes } = recordingWriter();
      r.restoreWith(writer, () => {
        throw failure;
      });
      const stored = snapshot('s1');
      r.adopt(stored);
      const err = thrown(() => r.attach('s1', transport, 'handle-s1'));
      expect(err).toBeInstanceOf(ResumeError);
      expect(err).toMatchObject({ code: 'resume_gone', message });
      expect(r.pickedUp).toBe(0);
      expect(writes).toEqual([
        { type: 'session.history', sessionId: 's1', history: stored.history, at: expect.any(Number) },
        { type: 'session.close', sessionId: 's1', reason: 'restore_failed', at: expect.any(Number) },
        { type: 'snapshot.delete', sessionId: 's1' },
      ]);
      // Not tracked: nothing to attach to.
      expect(thrown(() => r.attach('s1', transport, 'h'))).toMatchObject({ code: 'resume_gone' });
    },
  );
});

describe('ServerResume.adopt: one stored session (a cluster node adopting a gone node’s session)', () => {
  it('true the first time, its handle honoured; false when it waits already', () => {
    const r = newResume(true);
    expect(r.adopt(snapshot('s1'))).toBe(true);
    expect(r.pickedUp).toBe(1);
    expect(r.adopt(snapshot('s1'))).toBe(false);
    expect(r.pickedUp).toBe(1);
    expect(r.redeem('handle-s1', 'ana')).toBe('s1');
  });

  it('false for a session live here: it does not wait and its stored handle is not adopted', () => {
    const r = newResume(true);
    r.track(fakeSession('s1').session);
    expect(r.adopt(snapshot('s1'))).toBe(false);
    expect(r.pickedUp).toBe(0);
    expect(thrown(() => r.redeem('handle-s1'))).toMatchObject({ code: 'resume_unknown' });
  });

  it('a LiveKit session: claimed by rejoining its room (as its user), once', () => {
    const r = newResume(true);
    const stored = snapshot('s1', { carrier: { kind: 'livekit', room: 'room-1' } });
    expect(r.adopt(stored)).toBe(true);
    expect(r.claimRoom('room-2', 'ana')).toBeUndefined();
    expect(r.claimRoom('room-1', 'bo')).toBe('foreign');
    expect(r.claimRoom('room-1', 'ana')).toBe(stored);
    expect(r.pickedUp).toBe(0);
    expect(r.claimRoom('room-1', 'ana')).toBeUndefined();
  });
});

describe('ServerResume.pickUp', () => {
  it('a stored session live here already is not picked up; the count includes those adopted before', async () => {
    const store = new InMemorySessionStore();
    for (const id of ['s1', 's2']) await store.saveSnapshot(snapshot(id));
    const r = newResume(true);
    r.adopt(snapshot('s0'));
    r.track(fakeSession('s2').session);
    const { writer } = recordingWriter();
    expect(await r.pickUp(store, writer, () => fakeSession('x').session, silentLogger)).toBe(2);
    expect(r.redeem('handle-s1')).toBe('s1');
    expect(thrown(() => r.redeem('handle-s2'))).toMatchObject({ code: 'resume_unknown' });
  });

  it('sets how stored sessions are rebuilt and where an unclaimed one is written', async () => {
    const store = new InMemorySessionStore();
    await store.saveSnapshot(snapshot('s1', { carrier: { kind: 'livekit', room: 'room-1' } }));
    await store.saveSnapshot(snapshot('s2'));
    const r = newResume(true);
    const { writer, writes } = recordingWriter();
    const built = fakeSession('s2');
    expect(await r.pickUp(store, writer, () => built.session, silentLogger)).toBe(2);
    expect(r.attach('s2', transport, 'handle-s2')).toBe(built.session);
    r.restoreWith(writer, () => {
      throw new Error('x');
    });
    // The LiveKit room of a picked-up session is known.
    expect(r.claimRoom('room-1', 'ana')).toMatchObject({ sessionId: 's1' });
    expect(writes).toEqual([]);
  });
});

describe('ServerResume.forgetUser and dispose', () => {
  it("forgetUser: the user's waiting sessions stop waiting and their handles stop working; others stay", () => {
    const r = newResume(true);
    r.adopt(snapshot('s1'));
    r.adopt(snapshot('s2', { userId: 'bo', handleHash: hashHandle('handle-s2') }));
    r.forgetUser('ana');
    expect(r.pickedUp).toBe(1);
    expect(thrown(() => r.redeem('handle-s1'))).toBeInstanceOf(ResumeError);
    expect(r.redeem('handle-s2', 'bo')).toBe('s2');
  });

  it('dispose: nothing waits any more and no room is claimable', () => {
    vi.useFakeTimers();
    try {
      const r = newResume(true);
      r.adopt(snapshot('s1', { carrier: { kind: 'livekit', room: 'room-1' } }));
      r.adopt(snapshot('s2'));
      expect(vi.getTimerCount()).toBe(2);
      r.dispose();
      expect(r.pickedUp).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      expect(r.claimRoom('room-1', 'ana')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('restoredProfile', () => {
  const good = {
    mode: 'agent',
    models: { llm: 'scripted:a.json', stt: 'pocketsphinx', tts: 'espeak', vad: 'energy' },
    agents: [{ name: 'front', instructions: 'Hi.' }],
    tools: [],
    greeting: 'Hello!',
    initialAgent: 'other',
  };

  it('the stored profile without its greeting, starting at the agent the session had reached', () => {
    expect(restoredProfile(snapshot('s1', { profile: good, agentName: 'desk' }))).toStrictEqual({
      mode: 'agent',
      models: good.models,
      agents: good.agents,
      tools: [],
      initialAgent: 'desk',
    });
    expect(restoredProfile(snapshot('s1', { profile: { ...good, mode: 'stream' } })).mode).toBe('stream');
  });

  it.each([
    ['null', null],
    ['a string', 'agent'],
    ['no mode', { ...good, mode: undefined }],
    ['another mode', { ...good, mode: 'chat' }],
    ['no models', { ...good, models: undefined }],
    ['models null', { ...good, models: null }],
    ['models a string', { ...good, models: 'scripted' }],
    ['no llm', { ...good, models: { ...good.models, llm: undefined } }],
    ['no stt', { ...good, models: { ...good.models, stt: undefined } }],
    ['no tts', { ...good, models: { ...good.models, tts: 1 } }],
    ['no vad', { ...good, models: { ...good.models, vad: undefined } }],
    ['agents not a list', { ...good, agents: {} }],
    ['tools not a list', { ...good, tools: 'none' }],
  ])('%s: StoreError store_corrupt naming the session', (_, profile) => {
    const err = thrown(() => restoredProfile(snapshot('s-9', { profile })));
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({
      code: 'store_corrupt',
      message: 'The stored profile of session s-9 is damaged',
    });
  });
});
