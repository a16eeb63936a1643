/**
 * RTVI sessions at a graceful shutdown and at the end of a drain, with resume on a durable store
 * (SQLite): a ready session is suspended, not ended. Its client gets a fresh handle (`server-shutdown`,
 * or `conversation-end {reason: 'server_drain'}` with the handle), the stored session stays
 * `detached`, and the next server over the same file picks it up and lets the client back in. A
 * session whose client never sent `client-ready` has nothing to resume: it ends.
 * Real server and sockets on loopback, the energy VAD, no greeting (nothing is spoken).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRaw,
  type RawClient,
  serverMessages,
  startTestServer,
  until,
  withoutGreeting,
} from '../../test/e2e/helpers.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RunningServer } from './server.ts';

const TOKEN = 'suspend-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('RTVI sessions suspended at shutdown and drain', () => {
  let dir: string;
  const servers: RunningServer[] = [];
  const clients: RawClient[] = [];
  /** The RTVI sessions the servers created, by id. */
  const live = new Map<string, RtviSession>();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-suspend-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (db: string) => {
    const server = await startTestServer({
      env: {
        COLLOQUY_STORE: join(dir, db),
        COLLOQUY_RESUME_WINDOW_MS: '20000',
        COLLOQUY_AUTH_TOKEN: TOKEN,
        COLLOQUY_VAD: 'energy',
      },
      edit: withoutGreeting,
    });
    servers.push(server);
    const create = server.context.createSession;
    server.context.createSession = (transport, profile) => {
      const session = create(transport, profile);
      live.set(session.id, session);
      return session;
    };
    return server;
  };
  const stop = async (server: RunningServer) => {
    servers.splice(servers.indexOf(server), 1);
    await server.close();
  };
  const connect = async (
    server: RunningServer,
    requestData: Record<string, unknown> = { user_id: 'ana' },
  ) => {
    const c = await connectRaw(server.url, requestData, auth);
    clients.push(c);
    return c;
  };
  const stateOf = async (server: RunningServer, id: string) => {
    const res = await fetch(`${server.url}/sessions/${id}`, { headers: auth });
    return ((await res.json()) as { session: { state: string } }).session.state;
  };
  /** The next server over `db` picked up only `id`, and its client comes back with `handle`. */
  const resumesOn = async (db: string, id: string, handle: string) => {
    const next = await start(db);
    expect(next.context.resume?.pickedUp).toBe(1);
    expect(await stateOf(next, id)).toBe('detached');
    const back = await connect(next, { user_id: 'ana', resume_handle: handle });
    expect((await back.ready()).data.about.session_id).toBe(id);
  };

  it('graceful shutdown: a ready session is told to reconnect with a new handle and resumes on the next server; one never ready ends', async () => {
    const first = await start('shutdown.db');
    const c = await connect(first);
    const ready = await c.ready();
    const id = ready.data.about.session_id as string;
    // Connected, never ready: nothing to resume.
    const waiting = await connect(first, { user_id: 'ben' });
    await stop(first);
    await c.closed;
    await waiting.closed;
    // After the handshake, one notice: no `conversation-end` (the conversation goes on).
    const notices = serverMessages(c).slice(2);
    expect(
      serverMessages(c)
        .slice(0, 2)
        .map((m) => m.type),
    ).toEqual(['bot-ready', 'conversation-start']);
    expect(notices).toEqual([
      {
        type: 'server-shutdown',
        data: {
          session_id: id,
          resume_handle: expect.stringMatching(/^[\w-]{43}$/),
          resume_expires_at: expect.any(Number),
          reconnect: true,
        },
      },
    ]);
    const handle = notices[0]!.data.resume_handle as string;
    expect(handle).not.toBe(ready.data.about.resume_handle);
    // The client that never got ready: its session ended.
    expect(serverMessages(waiting)).toEqual([
      { type: 'conversation-end', data: { reason: 'server_shutdown' } },
    ]);
    await resumesOn('shutdown.db', id, handle);
  });

  it('graceful shutdown while a client is away (within its resume window): its own handle resumes on the next server', async () => {
    const first = await start('away.db');
    const c = await connect(first);
    const ready = await c.ready();
    const id = ready.data.about.session_id as string;
    c.ws.terminate();
    await c.closed;
    await until('the session to wait for its client', () =>
      live.get(id)?.state === 'detached' ? true : undefined,
    );
    await stop(first);
    // Nobody to tell; the handle the client holds stays the one to come back with.
    await resumesOn('away.db', id, ready.data.about.resume_handle as string);
  });

  it('drain: the conversation ends on this node with a handle to go on elsewhere', async () => {
    const first = await start('drain.db');
    const c = await connect(first);
    const id = (await c.ready()).data.about.session_id as string;
    await first.drain(0);
    await c.closed;
    const notices = serverMessages(c).slice(2);
    expect(notices).toEqual([
      {
        type: 'conversation-end',
        data: {
          reason: 'server_drain',
          session_id: id,
          resume_handle: expect.stringMatching(/^[\w-]{43}$/),
          resume_expires_at: expect.any(Number),
          reconnect: true,
        },
      },
    ]);
    const handle = notices[0]!.data.resume_handle as string;
    await stop(first);
    await resumesOn('drain.db', id, handle);
  });
});
