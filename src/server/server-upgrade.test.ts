/**
 * `startServer`'s WebSocket upgrade, refusal by refusal (each answered with a plain HTTP response read
 * whole off a raw socket: status line, headers, JSON body), and what a started, failed, resumed or
 * dropped session does with its client's session slot and the log. Each test starts its own server on
 * 127.0.0.1:0 (memory store, energy VAD) and closes it.
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openRaw, type RawClient, until } from '../../test/e2e/helpers.ts';
import { recordingLogger } from '../../test/support/recording-logger.ts';
import { ConfigError } from '../errors.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import type { RtviSession } from './rtvi-session.ts';
import { type RunningServer, type StartServerOptions, startServer } from './server.ts';

const servers: RunningServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
});

interface Started {
  server: RunningServer;
  lines: unknown[][];
  /** Sessions the server created, in order. */
  sessions: RtviSession[];
  ws: string;
}

async function start(
  env: Record<string, string> = {},
  options: Partial<StartServerOptions> = {},
  edit: (c: ServerConfig) => ServerConfig = (c) => c,
): Promise<Started> {
  const { logger, lines } = recordingLogger();
  const config = edit(
    loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_RESUME_WINDOW_MS: '0',
      COLLOQUY_VAD: 'energy',
      ...env,
    }),
  );
  const server = await startServer({ config, logger, ...options });
  servers.push(server);
  const sessions: RtviSession[] = [];
  const create = server.context.createSession;
  server.context.createSession = (transport, profile) => {
    const session = create(transport, profile);
    sessions.push(session);
    return session;
  };
  return { server, lines, sessions, ws: `${server.url.replace(/^http/, 'ws')}/ws` };
}

/** An upgrade request on a raw socket; resolves with everything the server answered before closing. */
function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}

/** The exact refusal: status line, JSON content type and length, `connection: close`, body. */
const refusal = (status: string, body: object, retryAfter?: number) => {
  const json = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n` +
    `${retryAfter !== undefined ? `retry-after: ${retryAfter}\r\n` : ''}connection: close\r\n\r\n${json}`
  );
};

type Upgrade = { opened: true } | { status: number; body: unknown };

const probes: WebSocket[] = [];
afterEach(() => {
  for (const ws of probes.splice(0)) ws.terminate();
});

/** Opens `url` (a session starts; it is cut off after the test), or the refusal's status and JSON body. */
function tryOpen(url: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  return new Promise<Upgrade>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    probes.push(ws);
    ws.once('open', () => resolve({ opened: true }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

async function open(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await openRaw(url, headers);
  clients.push(c);
  return c;
}

const connectToken = async (origin: string, body: object = {}, headers: Record<string, string> = {}) => {
  const res = await fetch(`${origin}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ws_url: string }).ws_url;
};

describe('refused upgrades: the exact HTTP answer', () => {
  it('another path: 404 Not Found', async () => {
    const { server } = await start();
    expect(await rawUpgrade(server.port, '/socket')).toBe(refusal('404 Not Found', { info: 'Not Found' }));
  });

  it('a page of another origin: 403 Forbidden', async () => {
    const { server } = await start();
    expect(await rawUpgrade(server.port, '/ws', { Origin: 'https://evil.example' })).toBe(
      refusal('403 Forbidden', { info: 'Forbidden' }),
    );
  });

  it('an unknown one-time token: 401 Unauthorized (no auth configured)', async () => {
    const { server } = await start();
    expect(await rawUpgrade(server.port, '/ws?token=forged')).toBe(
      refusal('401 Unauthorized', { info: 'Unauthorized' }),
    );
  });

  it('an auth token configured: 401 without a bearer or a token; the bearer, or a token alone, admits', async () => {
    const { server, ws } = await start({ COLLOQUY_AUTH_TOKEN: 'secret-1' });
    expect(await rawUpgrade(server.port, '/ws')).toBe(refusal('401 Unauthorized', { info: 'Unauthorized' }));
    expect(await rawUpgrade(server.port, '/ws', { Authorization: 'Bearer wrong' })).toBe(
      refusal('401 Unauthorized', { info: 'Unauthorized' }),
    );
    expect(await rawUpgrade(server.port, '/ws?token=forged', { Authorization: 'Bearer wrong' })).toBe(
      refusal('401 Unauthorized', { info: 'Unauthorized' }),
    );
    expect(await tryOpen(ws, { authorization: 'Bearer secret-1' })).toHaveProperty('opened');
    const url = await connectToken(server.url, {}, { authorization: 'Bearer secret-1' });
    expect(await tryOpen(url)).toHaveProperty('opened');
  });

  it('a bearer header without an auth token configured: admitted (nothing to check)', async () => {
    const { ws } = await start();
    expect(await tryOpen(ws, { authorization: 'Bearer anything' })).toHaveProperty('opened');
  });

  it('over the live session limit: 503 Service Unavailable', async () => {
    const { server, ws } = await start({}, { limits: { maxSessions: 1 } });
    await open(ws);
    expect(await rawUpgrade(server.port, '/ws')).toBe(
      refusal('503 Service Unavailable', { info: 'Service Unavailable' }),
    );
  });

  it('with a connect hook, a plain upgrade: 403 Forbidden (every session goes through the hook)', async () => {
    const { server } = await start({}, { onConnect: async () => ({}) });
    expect(await rawUpgrade(server.port, '/ws')).toBe(refusal('403 Forbidden', { info: 'Forbidden' }));
    expect(server.context.connectRequired).toBe(true);
  });

  it('over the per-client rate: 429 with the limit’s message, code and Retry-After', async () => {
    const { server, ws } = await start({}, { limits: { connectBurst: 1, connectsPerMinute: 1 } });
    await open(ws);
    expect(await rawUpgrade(server.port, '/ws')).toBe(
      refusal(
        '429 Too Many Requests',
        {
          info: 'Too many session starts from your address (1 per minute); try again in 60 s',
          code: 'rate_limited',
        },
        60,
      ),
    );
  });

  it('a draining node: 503 node_draining for a new session; a token issued before the drain is honoured', async () => {
    const { server } = await start();
    const url = await connectToken(server.url);
    expect(server.context.isDraining?.()).toBe(false);
    await server.drain(0);
    expect(server.context.isDraining?.()).toBe(true);
    expect(await rawUpgrade(server.port, '/ws')).toBe(
      refusal('503 Service Unavailable', {
        info: 'This node is draining and starts no new session',
        code: 'node_draining',
      }),
    );
    expect(await tryOpen(url)).toHaveProperty('opened');
  });

  it('no default profile (the file names an agent it lacks): 500, logged', async () => {
    const { server, lines } = await start({}, {}, (c) => ({
      ...c,
      file: { ...c.file, initialAgent: 'ghost' },
    }));
    expect(await rawUpgrade(server.port, '/ws')).toBe(
      refusal('500 Internal Server Error', { info: 'Internal Server Error' }),
    );
    expect(lines.filter((l) => l[1] === 'ws: cannot resolve the default profile')).toEqual([
      ['error', 'ws: cannot resolve the default profile', expect.objectContaining({ code: 'unknown_agent' })],
    ]);
  });
});

describe('session slots of a client (limits.maxSessionsPerClient)', () => {
  const tooMany = {
    status: 429,
    body: { info: 'Too many sessions from your address (1); end one first', code: 'too_many_sessions' },
  };

  it('a started session holds its slot until it ends', async () => {
    const { server, ws, lines, sessions } = await start({}, { limits: { maxSessionsPerClient: 1 } });
    await open(ws);
    expect(await tryOpen(ws)).toEqual(tooMany);
    await server.context.registry.closeAll('test_over');
    await until('the slot to be given back', async () =>
      'opened' in (await tryOpen(ws)) ? true : undefined,
    );
    const id = sessions[0]!.id;
    expect(
      lines.filter((l) => typeof l[1] === 'string' && (l[1] as string).startsWith(`session ${id}`)),
    ).toEqual([
      ['info', `session ${id} started (websocket, agent mode)`],
      ['info', `session ${id} ended: test_over`],
    ]);
  });

  it('a started session waiting for its client to resume (socket dropped) still holds its slot', async () => {
    const { ws, sessions } = await start(
      { COLLOQUY_RESUME_WINDOW_MS: '60000' },
      { limits: { maxSessionsPerClient: 1 } },
    );
    const c = await open(ws);
    await c.ready();
    c.ws.terminate();
    await c.closed;
    await until('the session to wait for its client', () =>
      sessions[0]!.state === 'detached' ? true : undefined,
    );
    expect(await tryOpen(ws)).toEqual(tooMany);
  });

  it('a session that cannot start: the client is told (fatal error) and closed, the slot given back, logged', async () => {
    const { server, ws, lines } = await start({}, { limits: { maxSessionsPerClient: 1 } });
    server.context.createSession = () => {
      throw new ConfigError('unknown_agent', 'no such model');
    };
    const c = await open(ws);
    await c.closed;
    expect(c.messages).toEqual([
      {
        label: 'rtvi-ai',
        type: 'error',
        data: {
          error: 'Cannot start the session: no such model',
          message: 'Cannot start the session: no such model',
          fatal: true,
        },
      },
    ]);
    expect(lines.filter((l) => l[0] === 'error')).toEqual([
      [
        'error',
        'ws: cannot start a session',
        expect.objectContaining({ code: 'unknown_agent', message: 'no such model' }),
      ],
    ]);
    // The slot is free again: the next client is admitted (and fails the same way).
    const again = await tryOpen(ws);
    expect(again).toHaveProperty('opened');
  });

  it('a failure that is not a ColloquyError: reported as session_failed with its message', async () => {
    const { server, ws, lines } = await start();
    server.context.createSession = () => {
      throw new TypeError('boom');
    };
    const c = await open(ws);
    await c.closed;
    expect(c.messages.map((m) => m.data?.error)).toEqual(['Cannot start the session: boom']);
    expect(lines.filter((l) => l[0] === 'error')).toEqual([
      [
        'error',
        'ws: cannot start a session',
        expect.objectContaining({ code: 'session_failed', message: 'boom' }),
      ],
    ]);
  });

  it('an upgrade that never completes (handshake cut off) gives its slot back', async () => {
    const { server, ws } = await start({}, { limits: { maxSessionsPerClient: 1 } });
    // An upgrade request without the WebSocket key: ws refuses it after the slot was taken.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tcpConnect(server.port, '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d) => {
        text += d;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(server.context.registry.activeCount).toBe(0);
    await until('the slot to be given back', async () =>
      'opened' in (await tryOpen(ws)) ? true : undefined,
    );
  });
});

describe('the client of an upgrade', () => {
  it.each([
    // trust proxy, forwarded-for of the second upgrade, its answer
    [false, '203.0.113.2', 429],
    [true, '203.0.113.2', 101],
    [true, '203.0.113.1', 429],
  ])(
    'trustProxy %s: a second upgrade forwarded for %s → %i (one session per client)',
    async (trust, second, status) => {
      const { ws } = await start(trust ? { COLLOQUY_TRUST_PROXY: '1' } : {}, {
        limits: { maxSessionsPerClient: 1 },
      });
      expect(await tryOpen(ws, { 'x-forwarded-for': '203.0.113.1' })).toEqual({ opened: true });
      const answer = await tryOpen(ws, { 'x-forwarded-for': second });
      expect('opened' in answer ? 101 : answer.status).toBe(status);
    },
  );

  it('a session whose client never says client-ready ends at limits.readyTimeoutMs', async () => {
    const { ws, sessions } = await start({}, { limits: { readyTimeoutMs: 150 } });
    const c = await open(ws);
    expect(await sessions[0]!.closed).toBe('client_ready_timeout');
    await c.closed;
  });
});

describe('resuming over the WebSocket', () => {
  it('a redeemed handle attaches the new connection to the waiting session (logged)', async () => {
    const { server, ws, lines, sessions } = await start({ COLLOQUY_RESUME_WINDOW_MS: '60000' });
    const c = await open(ws);
    const ready = await c.ready();
    const id = ready.data.about.session_id as string;
    c.ws.terminate();
    await c.closed;
    await until('the session to wait', () => (sessions[0]!.state === 'detached' ? true : undefined));
    const url = await connectToken(server.url, { resume_handle: ready.data.about.resume_handle });
    const back = await open(url);
    expect((await back.ready()).data.about.session_id).toBe(id);
    expect(sessions).toHaveLength(1);
    expect(lines).toContainEqual(['info', `session ${id} resumed (websocket)`]);
  });

  it('the session ended between redeeming and connecting: a fatal error naming why, then closed', async () => {
    const { server, ws, sessions } = await start({ COLLOQUY_RESUME_WINDOW_MS: '60000' });
    const c = await open(ws);
    const ready = await c.ready();
    const url = await connectToken(server.url, { resume_handle: ready.data.about.resume_handle });
    await server.context.registry.closeAll('gone');
    await sessions[0]!.closed;
    const back = await open(url);
    await back.closed;
    expect(back.messages).toEqual([
      {
        label: 'rtvi-ai',
        type: 'error',
        data: {
          error: 'Cannot resume the session: The session has ended',
          message: 'Cannot resume the session: The session has ended',
          fatal: true,
        },
      },
    ]);
    expect(sessions).toHaveLength(1);
  });
});

describe('close and drain', () => {
  it('close(): every session ends with server_shutdown by default; the port stops answering; twice is once', async () => {
    const { server, ws } = await start();
    const c = await open(ws);
    await c.ready();
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await c.closed;
    expect(
      c.messages
        .filter((m) => m.type === 'server-message' && m.data.type === 'conversation-end')
        .map((m) => m.data),
    ).toEqual([{ type: 'conversation-end', data: { reason: 'server_shutdown' } }]);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('close(reason): the sessions end with that reason', async () => {
    const { server, ws } = await start();
    const c = await open(ws);
    await c.ready();
    await server.close('maintenance');
    await c.closed;
    expect(
      c.messages
        .filter((m) => m.type === 'server-message' && m.data.type === 'conversation-end')
        .map((m) => m.data),
    ).toEqual([{ type: 'conversation-end', data: { reason: 'maintenance' } }]);
  });

  it('drain(): logs what may finish and within what bound (30 s by default), and what it ends', async () => {
    const idle = await start();
    await idle.server.drain();
    expect(idle.lines.filter((l) => String(l[1]).startsWith('drain:'))).toEqual([
      ['info', 'drain: 0 session(s) may finish within 30000 ms'],
    ]);
    const busy = await start();
    const c = await open(busy.ws);
    await c.ready();
    const drained = busy.server.drain(0);
    expect(busy.server.drain(5)).toBe(drained);
    await drained;
    await c.closed;
    expect(busy.lines.filter((l) => String(l[1]).startsWith('drain:'))).toEqual([
      ['info', 'drain: 1 session(s) may finish within 0 ms'],
      ['info', 'drain: ending 1 session(s)'],
    ]);
    expect(
      c.messages
        .filter((m) => m.type === 'server-message' && m.data.type === 'conversation-end')
        .map((m) => m.data),
    ).toEqual([{ type: 'conversation-end', data: { reason: 'server_drain' } }]);
    expect(busy.server.context.registry.activeCount).toBe(0);
  });
});

describe('what the server is built with', () => {
  it('resume off (window 0): no ServerResume; on: its window, an hour of handle life, not durable in memory', async () => {
    const off = await start();
    expect(off.server.context.resume).toBeUndefined();
    const on = await start({ COLLOQUY_RESUME_WINDOW_MS: '45000' });
    expect(on.server.context.resume?.settings).toEqual({
      windowMs: 45_000,
      handleTtlMs: 3_600_000,
      durable: false,
    });
    expect(on.server.context.connectRequired).toBeUndefined();
    expect(on.server.context.cluster).toBeUndefined();
  });

  it('a port in use: startServer rejects with the listen error', async () => {
    const first = await start();
    const { logger } = recordingLogger();
    const config = loadServerConfig({
      PORT: String(first.server.port),
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_VAD: 'energy',
    });
    await expect(startServer({ config, logger })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('bound to every IPv6 address (::): reached at localhost', async () => {
    const { server } = await start({ HOST: '::' });
    expect(server.url).toBe(`http://localhost:${server.port}`);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('bound to ::1: the url brackets the address', async () => {
    const { server } = await start({ HOST: '::1' });
    expect(server.url).toBe(`http://[::1]:${server.port}`);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
