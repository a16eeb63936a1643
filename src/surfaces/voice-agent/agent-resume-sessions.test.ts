/**
 * `AgentResume` with real agents on loopback sockets (mock LLM, in-memory store): the handle every
 * attached socket gets (its expiry after `handleTtlMs`, 1 h by default), the default 60 s window, a
 * shutdown without a store, which stored sessions a new process picks up (native ones only), a stored
 * session that cannot be rebuilt (the client is told why, the session is closed in the store), and a
 * store that fails its writes (logged).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closedWith, openClient, startServer, until } from '../../../test/voice-agent/helpers.ts';
import type { Logger } from '../../logger.ts';
import { silentLogger } from '../../logger.ts';
import { hashHandle } from '../../session/resume-handles.ts';
import { InMemorySessionStore } from '../../store/memory-store.ts';
import type { ResumeSnapshot, SessionStore } from '../../store/types.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { until as eventually } from '../../testing/signals.ts';
import {
  AgentResume,
  type AgentResumeOptions,
  type CreateAgent,
  type RestoredAgent,
} from './agent-resume.ts';
import { VoiceAgent } from './voice-agent.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An AgentResume serving a loopback server; `create` by default makes a plain agent (recorded). */
async function serve(options: AgentResumeOptions, create?: CreateAgent) {
  const resume = new AgentResume({ logger: silentLogger, ...options });
  const agents: VoiceAgent[] = [];
  const restored: Array<RestoredAgent | undefined> = [];
  const make: CreateAgent =
    create ??
    ((r) => {
      restored.push(r);
      const agent = new VoiceAgent({ model: mockLanguageModel(['Hi.']), logger: silentLogger, ...r });
      agents.push(agent);
      return agent;
    });
  const server = await startServer((socket) => resume.accept(socket, make));
  cleanups.push(
    () => server.close(),
    () => resume.close(),
    () => {
      for (const a of agents) a.destroy();
    },
  );
  const open = async () => {
    const log = await openClient(server.url);
    cleanups.push(() => log.socket.terminate());
    return log;
  };
  return { resume, agents, restored, open };
}

describe('AgentResume: handles and the window', () => {
  it('every attached socket gets its session id and a fresh handle, valid handleTtlMs (default 1 h)', async () => {
    for (const [options, ttl] of [
      [{}, 3_600_000],
      [{ handleTtlMs: 5000 }, 5000],
    ] as const) {
      const { open, agents } = await serve(options);
      const log = await open();
      const before = Date.now();
      log.send({ type: 'client_ready' });
      const message = await log.waitFor('resume_handle');
      const after = Date.now();
      expect(message).toEqual({
        type: 'resume_handle',
        sessionId: agents[0]!.session.sessionId,
        handle: expect.stringMatching(/^[\w-]{43}$/),
        expiresAt: expect.any(Number),
      });
      const issuedAt = (message.expiresAt as number) - ttl;
      expect(issuedAt, `ttl ${ttl}`).toBeGreaterThanOrEqual(before);
      expect(issuedAt, `ttl ${ttl}`).toBeLessThanOrEqual(after);
    }
  });

  it('a dropped agent waits 60 s for its client by default, then is destroyed', async () => {
    const { open, agents, resume } = await serve({});
    const log = await open();
    log.send({ type: 'client_ready' });
    await log.waitFor('resume_handle');
    const agent = agents[0]!;
    // The window's timer is armed on `transport.disconnected` (AgentResume subscribed first), on a
    // fake clock that moves only when the test moves it.
    const dropped = new Promise<void>((resolve) =>
      agent.bus.subscribe('transport.disconnected', () => resolve()),
    );
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cleanups.push(() => vi.useRealTimers());
    log.socket.terminate();
    await dropped;
    vi.advanceTimersByTime(59_999);
    expect(agent.destroyed).toBe(false);
    expect(resume.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(agent.destroyed).toBe(true);
    vi.useRealTimers();
    await until(() => resume.size === 0);
  });

  it('without a store, close() ends every agent: no shutdown notice, nothing picked up', async () => {
    const { open, agents, resume } = await serve({});
    expect(await resume.ready).toBe(0);
    const log = await open();
    log.send({ type: 'client_ready' });
    await log.waitFor('resume_handle');
    const closed = closedWith(log);
    await resume.close();
    expect(agents[0]!.destroyed).toBe(true);
    expect(resume.size).toBe(0);
    expect(resume.pickedUp).toBe(0);
    expect((await closed)[0]).toBe(1000);
    expect(log.of('server_shutdown')).toEqual([]);
  });
});

/** A first "process" over `store`: one client talks, then the server shuts down; its handle. */
async function storedSession(
  store: SessionStore,
): Promise<{ handle: string; sessionId: string; userId: string }> {
  const first = await serve({ store });
  const log = await first.open();
  log.send({ type: 'transcript', text: 'Hello' });
  await log.waitFor('response_complete');
  await first.resume.close();
  const notice = log.of('server_shutdown')[0]!;
  return {
    handle: notice.handle as string,
    sessionId: notice.sessionId as string,
    userId: first.agents[0]!.session.userId,
  };
}

describe('AgentResume: stored sessions', () => {
  it('a new process picks up the stored native sessions only', async () => {
    const store = new InMemorySessionStore();
    const { sessionId } = await storedSession(store);
    const native = (await store.loadSnapshot(sessionId))!;
    for (const [id, carrier] of [
      ['s-rtvi', undefined],
      ['s-livekit', { kind: 'livekit', room: 'r' }],
    ] as const) {
      const other: ResumeSnapshot = { ...native, sessionId: id, ...(carrier ? { carrier } : {}) };
      if (!carrier) delete other.carrier;
      await store.saveSnapshot(other);
    }
    const second = await serve({ store });
    expect(await second.resume.ready).toBe(1);
    expect(second.resume.pickedUp).toBe(1);
  });

  it("the snapshot: the agent's name, no profile, the native carrier, the newest handle as soon as it is issued; gone when the session ends", async () => {
    const store = new InMemorySessionStore();
    const { open, agents } = await serve({ store });
    const first = await open();
    first.send({ type: 'transcript', text: 'Hello' });
    await first.waitFor('response_complete');
    const { handle } = await first.waitFor('resume_handle');
    first.socket.terminate();
    const agent = agents[0]!;
    await until(() => !agent.connected);
    const second = await open();
    second.send({ type: 'resume', handle });
    await second.waitFor('session_resumed');
    const fresh = (await second.waitFor('resume_handle')).handle as string;
    // No turn since: the handle reached the store when it was issued.
    const id = agent.session.sessionId;
    const snapshot = await eventually(
      'the snapshot with the fresh handle',
      async () => {
        const stored = await store.loadSnapshot(id);
        return stored?.handleHash === hashHandle(fresh) ? stored : undefined;
      },
      3000,
    );
    expect(agent.session.currentAgent).not.toBe('');
    expect(snapshot).toMatchObject({
      sessionId: id,
      userId: agent.session.userId,
      agentName: agent.session.currentAgent,
      profile: null,
      carrier: { kind: 'native' },
    });
    agent.destroy();
    await eventually(
      'the snapshot deleted',
      async () => ((await store.loadSnapshot(id)) ? undefined : true),
      3000,
    );
  });

  it('a client that dropped before the shutdown comes back to the next process with the handle it has', async () => {
    const store = new InMemorySessionStore();
    const first = await serve({ store });
    const log = await first.open();
    log.send({ type: 'transcript', text: 'Hello' });
    await log.waitFor('response_complete');
    const { handle, sessionId } = await log.waitFor('resume_handle');
    log.socket.terminate();
    await until(() => !first.agents[0]!.connected);
    await first.resume.close();
    expect(log.of('server_shutdown')).toEqual([]);
    // A process that picks it up and closes lets go of it (its window is no longer kept).
    const idle = await serve({ store });
    expect(await idle.resume.ready).toBe(1);
    await idle.resume.close();
    expect(idle.resume.pickedUp).toBe(0);
    const second = await serve({ store });
    expect(await second.resume.ready).toBe(1);
    const back = await second.open();
    back.send({ type: 'resume', handle });
    expect(await back.waitFor('session_resumed')).toEqual({ type: 'session_resumed', sessionId });
  });

  it('close() resolves once its told clients are closed, without waiting out its one-second bound', async () => {
    const store = new InMemorySessionStore();
    const { open, resume } = await serve({ store });
    const log = await open();
    log.send({ type: 'transcript', text: 'Hello' });
    await log.waitFor('response_complete');
    const closed = closedWith(log);
    // The bound's timer is fake and never runs: only the told client's closed socket ends the wait.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    cleanups.push(() => vi.useRealTimers());
    await resume.close();
    vi.useRealTimers();
    expect(await closed).toEqual([1012, 'server restarting']);
    expect(log.of('server_shutdown')).toHaveLength(1);
  });

  it('a rebuilt agent whose session fails to start: the failure is logged', async () => {
    const store = new InMemorySessionStore();
    const { handle, sessionId } = await storedSession(store);
    const errors: unknown[][] = [];
    const logger: Logger = { ...silentLogger, error: (...args: unknown[]) => errors.push(args) };
    const failure = new Error('cannot start');
    const made: VoiceAgent[] = [];
    cleanups.push(() => {
      for (const a of made) a.destroy();
    });
    const second = await serve({ store, logger }, (r) => {
      const agent = new VoiceAgent({ model: mockLanguageModel(['Hi.']), logger: silentLogger, ...r });
      vi.spyOn(agent.session, 'start').mockRejectedValue(failure);
      made.push(agent);
      return agent;
    });
    await second.resume.ready;
    const log = await second.open();
    log.send({ type: 'resume', handle });
    await log.waitFor('session_resumed');
    await until(() => errors.length > 0);
    expect(errors).toEqual([[`session ${sessionId}: start failed`, failure]]);
  });

  it('a new process picks up at most 1000 stored sessions by default, the newest', async () => {
    const store = new InMemorySessionStore();
    const { sessionId } = await storedSession(store);
    const native = (await store.loadSnapshot(sessionId))!;
    await store.deleteSnapshot(sessionId);
    for (let i = 0; i < 1001; i++) {
      await store.saveSnapshot({
        ...native,
        sessionId: `s${i}`,
        handleHash: `h${i}`,
        updatedAt: native.updatedAt + i,
      });
    }
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    const second = await serve({ store, logger });
    expect(await second.resume.ready).toBe(1000);
    expect(warnings).toEqual(['resume: 1001 stored sessions; only the newest 1000 are picked up']);
  });

  it('a stored session whose agent cannot be rebuilt: the client is told why, the session closes', async () => {
    const cases: Array<[string, (r?: RestoredAgent) => VoiceAgent, string]> = [
      [
        'another session id',
        () => new VoiceAgent({ model: mockLanguageModel(['Hi.']), logger: silentLogger }),
        'create(restored) must give the agent restored.sessionId',
      ],
      [
        'create throws',
        () => {
          throw new Error('no model today');
        },
        'no model today',
      ],
    ];
    for (const [name, make, why] of cases) {
      const store = new InMemorySessionStore();
      const { handle, sessionId, userId } = await storedSession(store);
      const made: VoiceAgent[] = [];
      const asked: Array<RestoredAgent | undefined> = [];
      const second = await serve({ store }, (r) => {
        asked.push(r);
        const agent = make(r);
        made.push(agent);
        return agent;
      });
      await second.resume.ready;
      const log = await second.open();
      const closed = closedWith(log);
      log.send({ type: 'resume', handle });
      expect(await closed, name).toEqual([1008, 'resume_gone']);
      expect(log.messages, name).toEqual([
        {
          type: 'error',
          error: `The stored session cannot be restored: ${why}`,
          code: 'resume_gone',
          messageType: 'resume',
        },
      ]);
      expect(asked, name).toEqual([{ sessionId, userId }]);
      expect(userId).not.toBe('');
      expect(
        made.every((a) => a.destroyed),
        name,
      ).toBe(true);
      expect(second.resume.pickedUp, name).toBe(0);
      expect(second.resume.size, name).toBe(0);
      await second.resume.close();
      expect((await store.getSession(sessionId))?.session, name).toMatchObject({
        state: 'closed',
        closeReason: 'restore_failed',
      });
      expect(await store.loadSnapshot(sessionId), name).toBeUndefined();
    }
  });

  it('a store that fails its writes: the failure is logged with the count of writes lost', async () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message: string) => errors.push(message) };
    const inner = new InMemorySessionStore();
    const store = new Proxy(inner, {
      get: (target, key) =>
        key === 'write'
          ? async () => {
              throw new Error('disk full');
            }
          : Reflect.get(target, key, target),
    });
    const { open, resume } = await serve({ store, logger });
    const log = await open();
    log.send({ type: 'client_ready' });
    await log.waitFor('resume_handle');
    await resume.close();
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/^session store: disk full \([1-9]\d* writes\)$/);
  });
});
