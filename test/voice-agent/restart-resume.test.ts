/**
 * Native-protocol sessions outlive their process: `AgentResume` over a SQLite file. A graceful
 * shutdown (`close()`) tells each client `server_shutdown` with a handle; a new `AgentResume` over the
 * same file picks the session up, and the client's `resume` gets it back — same id, history, user —
 * with the work that died with the first process reported: the subagent's question withdrawn
 * (`subagent_ui_cancel {reason: 'server_restarted'}`), the agent telling the user, `session.resume`
 * fired. Another user's, replayed and late handles are refused with their codes. Real `ws` sockets on
 * loopback; the LLM is the scripted model of the shared subagent scenario.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { createScriptedModel, parseScript } from '../../src/providers/scripted/scripted-model.ts';
import { interruptedSubagentNote } from '../../src/session/pending-work.ts';
import { SqliteSessionStore } from '../../src/store/sqlite-store.ts';
import type { SessionStore } from '../../src/store/types.ts';
import { AgentResume, type RestoredAgent } from '../../src/surfaces/voice-agent/agent-resume.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { until } from '../../src/testing/signals.ts';
import { ASKED_DESK, LEAVE_LATER, QUESTION, subagentScenario } from '../e2e/subagent-scenario.ts';
import { closedWith, type MessageLog, openClient, startServer } from './helpers.ts';

const SORRY = 'Sorry, the server restarted: I have to start that again.';
const script = parseScript(
  subagentScenario({
    rules: [
      { when: 'did not finish: the server restarted', say: SORRY },
      { when: 'room', say: 'Noted: your room.' },
    ],
  }).files['script.json'],
);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('native protocol: resume across a restart (AgentResume with a store)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-native-restart-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** One "process": a store over `db`, an AgentResume, a WebSocket server; `?user=` names the user. */
  async function start(db: string, windowMs = 20_000, maxPickedUp?: number, gate?: Promise<void>) {
    const store = SqliteSessionStore.open(join(dir, db));
    // With `gate`, the stored sessions are read only once it resolves (a slow store at startup).
    const read: SessionStore = gate
      ? new Proxy(store, {
          get: (target, key) =>
            key === 'listSnapshots'
              ? async (now: number) => {
                  await gate;
                  return target.listSnapshots(now);
                }
              : Reflect.get(target, key, target),
        })
      : store;
    const resume = new AgentResume({
      store: read,
      windowMs,
      logger: silentLogger,
      ...(maxPickedUp !== undefined ? { maxPickedUp } : {}),
    });
    const agents: VoiceAgent[] = [];
    const restored: RestoredAgent[] = [];
    const resumes: string[] = [];
    const server = await startServer((socket, request) => {
      const user = new URL(request.url ?? '/', 'http://x').searchParams.get('user') ?? 'ana';
      resume.accept(
        socket,
        (back) => {
          if (back) restored.push(back);
          const agent = new VoiceAgent({
            model: createScriptedModel(script),
            subagents: [{ name: 'desk', instructions: 'You run the front desk.' }],
            logger: silentLogger,
            userId: user,
            ...back,
          });
          agent.bus.subscribe('session.resume', (p) => resumes.push(p.sessionId));
          agents.push(agent);
          return agent;
        },
        { userId: user },
      );
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await resume.close();
      await server.close();
      await store.close();
    };
    cleanups.push(stop);
    const open = async (user = 'ana') => {
      const log = await openClient(`${server.url}/?user=${user}`);
      cleanups.push(() => log.socket.terminate());
      return log;
    };
    return { store, resume, agents, restored, resumes, open, stop };
  }

  it('a new process picks up at most maxPickedUp stored sessions', async () => {
    const first = await start('bounded.db');
    for (const user of ['ana', 'bob']) {
      const c = await first.open(user);
      c.send({ type: 'transcript', text: 'My room is 214' });
      await answered(c, 'Noted: your room.');
    }
    await first.stop();
    const bounded = await start('bounded.db', 20_000, 1);
    expect(await bounded.resume.ready).toBe(1);
    expect(bounded.resume.pickedUp).toBe(1);
    await bounded.stop();
    const unbounded = await start('bounded.db');
    expect(await unbounded.resume.ready).toBe(2);
  });

  const answered = (log: MessageLog, text: string) =>
    log.waitFor('response_complete', (m) => String(m.text).includes(text), 10_000);

  it('graceful shutdown: the client gets a handle, comes back to the next process, hears what did not finish', async () => {
    const first = await start('graceful.db');
    const c1 = await first.open();
    c1.send({ type: 'transcript', text: 'My room is 214' });
    await answered(c1, 'Noted: your room.');
    c1.send({ type: 'transcript', text: LEAVE_LATER });
    const asked = await c1.waitFor('subagent_ui_request', () => true, 10_000);
    expect(asked).toMatchObject({ subagentName: 'desk', prompt: QUESTION });
    await answered(c1, ASKED_DESK);
    const id = first.agents[0]!.session.sessionId;
    const firstHandle = (c1.of('resume_handle')[0] as unknown as { handle: string }).handle;

    const closed = closedWith(c1);
    await first.stop();
    expect(await closed).toEqual([1012, 'server restarting']);
    const notice = c1.of('server_shutdown');
    expect(notice).toEqual([
      {
        type: 'server_shutdown',
        sessionId: id,
        handle: expect.stringMatching(/^[\w-]{43}$/),
        expiresAt: expect.any(Number),
        reconnect: true,
      },
    ]);
    const handle = (notice[0] as unknown as { handle: string }).handle;
    expect(handle).not.toBe(firstHandle);

    const second = await start('graceful.db');
    expect(await second.resume.ready).toBe(1);
    expect((await second.store.getSession(id))?.session.state).toBe('detached');

    // Another user's socket cannot take it (the handle stays good); a forged one is unknown.
    const mallory = await second.open('mallory');
    mallory.send({ type: 'resume', handle });
    expect(await mallory.waitFor('error')).toMatchObject({ code: 'resume_foreign', messageType: 'resume' });
    const forger = await second.open();
    forger.send({ type: 'resume', handle: 'A'.repeat(43) });
    expect(await forger.waitFor('error')).toMatchObject({ code: 'resume_unknown' });
    // The handle the first process gave before the shutdown was replaced by the notice's.
    const stale = await second.open();
    stale.send({ type: 'resume', handle: firstHandle });
    expect((await stale.waitFor('error')).code).toMatch(/^resume_(unknown|used)$/);

    const c2 = await second.open();
    c2.send({ type: 'resume', handle });
    expect(await c2.waitFor('session_resumed')).toEqual({ type: 'session_resumed', sessionId: id });
    expect(await c2.waitFor('resume_handle')).toMatchObject({ sessionId: id });
    expect(second.restored).toEqual([{ sessionId: id, userId: 'ana' }]);
    expect(second.resumes).toEqual([id]);
    expect(second.resume.pickedUp).toBe(0);
    // The question the dead subagent asked is withdrawn; the agent tells the user.
    expect(await c2.waitFor('subagent_ui_cancel')).toEqual({
      type: 'subagent_ui_cancel',
      requestId: asked.requestId,
      reason: 'server_restarted',
    });
    await answered(c2, SORRY);
    // Same conversation: the history from before the restart, then the one note, then the apology.
    const history = second.agents[0]!.getHistory();
    const texts = history.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : '…'}`);
    expect(texts[0]).toBe('user: My room is 214');
    expect(texts).toContain(`user: ${LEAVE_LATER}`);
    const notes = history.filter(
      (m) => m.role === 'user' && typeof m.content === 'string' && m.content.includes('did not finish'),
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]!.content).toContain(interruptedSubagentNote('desk', [QUESTION]));
    expect(second.agents[0]!.session.currentAgent).toBe(first.agents[0]!.session.currentAgent);

    // The answer to the withdrawn question is refused; the session goes on.
    c2.send({ type: 'subagent_ui_response', requestId: asked.requestId, value: 'yes' });
    expect(await c2.waitFor('error')).toMatchObject({ code: 'ui_request_unknown' });
    // The handle is spent.
    const replay = await second.open();
    replay.send({ type: 'resume', handle });
    expect(await replay.waitFor('error')).toMatchObject({ code: 'resume_used' });

    // The store has the whole transcript of both processes, and the session is live again.
    const stored = await until('the apology stored', async () => {
      const r = await second.store.getSession(id);
      return r?.transcript.some((e) => e.text.includes(SORRY)) ? r : undefined;
    });
    expect(stored.session.state).toBe('active');
    expect(stored.session.transport).toBe('native');
    expect(
      stored.transcript
        .filter((e) => e.role === 'user')
        .map((e) => e.text)
        .slice(0, 2),
    ).toEqual(['My room is 214', LEAVE_LATER]);
  });

  /** A session of `db` stopped by a graceful shutdown after one turn; the handle its client got. */
  async function shutDownAfterOneTurn(db: string): Promise<{ id: string; handle: string }> {
    const first = await start(db);
    const c = await first.open();
    c.send({ type: 'transcript', text: 'My room is 214' });
    await answered(c, 'Noted: your room.');
    const closed = closedWith(c);
    await first.stop();
    expect(await closed).toEqual([1012, 'server restarting']);
    const handle = (c.of('server_shutdown')[0] as unknown as { handle: string }).handle;
    return { id: first.agents[0]!.session.sessionId, handle };
  }

  /** Resolves once the server has read every frame sent before it (a pong comes after them). */
  const delivered = (log: MessageLog) =>
    new Promise<void>((resolve) => {
      log.socket.once('pong', () => resolve());
      log.socket.ping();
    });

  it('what a client sends right behind its resume, while the store is still read, is served in order', async () => {
    const { id, handle } = await shutDownAfterOneTurn('held.db');
    let read!: () => void;
    const second = await start('held.db', 20_000, undefined, new Promise<void>((r) => (read = r)));
    const c = await second.open();
    c.send({ type: 'resume', handle });
    c.send({ type: 'transcript', text: 'My room is 215' });
    c.send({ type: 'transcript', text: 'Tell me about the room' });
    await delivered(c);
    expect(c.of('session_resumed')).toEqual([]);
    read();
    expect(await c.waitFor('session_resumed')).toEqual({ type: 'session_resumed', sessionId: id });
    await answered(c, 'Noted: your room.');
    await until('both held messages answered', () => c.of('response_complete').length >= 2 || undefined);
    const users = second.agents[0]!.getHistory()
      .filter((m) => m.role === 'user')
      .map((m) => m.content);
    expect(users).toEqual(['My room is 214', 'My room is 215', 'Tell me about the room']);
  });

  it('a client that sends more than 64 messages before its resume is served is closed (1008)', async () => {
    const { handle } = await shutDownAfterOneTurn('flood.db');
    let read!: () => void;
    const second = await start('flood.db', 20_000, undefined, new Promise<void>((r) => (read = r)));
    cleanups.push(() => read());
    const fits = await second.open();
    fits.send({ type: 'resume', handle });
    for (let i = 0; i < 64; i++) fits.send({ type: 'transcript', text: `hello ${i}` });
    await delivered(fits);
    expect(fits.socket.readyState).toBe(fits.socket.OPEN);
    const flood = await second.open();
    const closed = new Promise<[number, string]>((resolve) =>
      flood.socket.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    flood.send({ type: 'resume', handle });
    for (let i = 0; i < 65; i++) flood.send({ type: 'transcript', text: `hello ${i}` });
    expect(await closed).toEqual([1008, 'too much sent before resume']);
  });

  it('a client may send exactly 1 MiB behind its resume while the store is read; one byte more closes it (1008)', async () => {
    const { handle } = await shutDownAfterOneTurn('held-bytes.db');
    let read!: () => void;
    const second = await start('held-bytes.db', 20_000, undefined, new Promise<void>((r) => (read = r)));
    cleanups.push(() => read());
    const fits = await second.open();
    fits.send({ type: 'resume', handle });
    for (let i = 0; i < 16; i++) fits.socket.send(Buffer.alloc(65_536)); // 16 × 64 KiB = 1 MiB
    await delivered(fits);
    expect(fits.socket.readyState).toBe(fits.socket.OPEN);
    const over = await second.open();
    const closed = new Promise<[number, string]>((resolve) =>
      over.socket.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    over.send({ type: 'resume', handle });
    for (let i = 0; i < 16; i++) over.socket.send(Buffer.alloc(65_536));
    over.socket.send(Buffer.alloc(1));
    expect(await closed).toEqual([1008, 'too much sent before resume']);
  });

  it('close() waits at most about a second for a told client that does not answer its close', {
    timeout: 10_000,
  }, async () => {
    const first = await start('stuck.db');
    const c = await first.open();
    c.send({ type: 'transcript', text: 'My room is 214' });
    await answered(c, 'Noted: your room.');
    c.socket.pause(); // reads nothing more: the server's close frame is never answered
    await first.resume.close(); // without its bound, ws would wait 30 s for the closing handshake
    expect(c.socket.readyState).toBe(c.socket.OPEN);
    c.socket.resume();
  });

  it('a store that cannot be read picks nothing up: the failure is logged, new clients are served', async () => {
    const store = SqliteSessionStore.open(join(dir, 'unreadable.db'));
    const broken: SessionStore = new Proxy(store, {
      get: (target, key) =>
        key === 'listSnapshots'
          ? async () => {
              throw new Error('disk I/O error');
            }
          : Reflect.get(target, key, target),
    });
    const errors: unknown[][] = [];
    const logger = { ...silentLogger, error: (...args: unknown[]) => errors.push(args) };
    const resume = new AgentResume({ store: broken, logger });
    const server = await startServer((socket) =>
      resume.accept(
        socket,
        () => new VoiceAgent({ model: createScriptedModel(script), logger: silentLogger }),
      ),
    );
    cleanups.push(
      () => store.close(),
      () => server.close(),
      () => resume.close(),
    );
    expect(await resume.ready).toBe(0);
    expect(resume.pickedUp).toBe(0);
    expect(errors).toEqual([
      ['resume: cannot read the stored sessions; none is picked up', new Error('disk I/O error')],
    ]);
    const c = await openClient(server.url);
    cleanups.push(() => c.socket.terminate());
    c.send({ type: 'transcript', text: 'My room is 9' });
    await answered(c, 'Noted: your room.');
  });

  it('a picked-up session nobody claims within the window closes, its transcript kept', async () => {
    const first = await start('unclaimed.db');
    const c = await first.open('bo');
    c.send({ type: 'transcript', text: 'My room is 7' });
    await answered(c, 'Noted: your room.');
    const id = first.agents[0]!.session.sessionId;
    const closed = closedWith(c);
    await first.stop();
    expect(await closed).toEqual([1012, 'server restarting']);
    const handle = (c.of('server_shutdown')[0] as unknown as { handle: string }).handle;

    const second = await start('unclaimed.db', 300);
    expect(await second.resume.ready).toBe(1);
    const record = await until('closed after the window', async () => {
      const r = await second.store.getSession(id);
      return r?.session.state === 'closed' ? r : undefined;
    });
    expect(record.session.closeReason).toBe('client_disconnected');
    expect(record.transcript.map((e) => e.text)).toEqual(['My room is 7', 'Noted: your room.']);
    const late = await second.open('bo');
    late.send({ type: 'resume', handle });
    expect(await late.waitFor('error')).toMatchObject({ code: 'resume_gone' });
    await second.stop();
    const third = await start('unclaimed.db');
    expect(await third.resume.ready).toBe(0);
  });
});
