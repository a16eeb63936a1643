/**
 * What the server admits, on a real server over loopback: the WebSocket upgrade stops at the live
 * session limit (`limits.maxSessions`, 503) and admits again once a session ends; `/connect` bodies
 * are bounded by `limits.connectBodyBytes` (413), below the general `limits.maxBodyBytes`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../logger.ts';
import { until } from '../testing/signals.ts';
import { loadServerConfig } from './config.ts';
import { type RunningServer, startServer } from './server.ts';

let server: RunningServer;
const sockets: WebSocket[] = [];
beforeAll(async () => {
  const config = loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    COLLOQUY_STORE: 'memory',
    COLLOQUY_RESUME_WINDOW_MS: '0',
    COLLOQUY_VAD: 'energy',
  });
  server = await startServer({
    config,
    logger: silentLogger,
    limits: { maxSessions: 1, connectBodyBytes: 1024, maxBodyBytes: 64 * 1024 },
  });
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await server?.close();
});

type Upgrade = { opened: WebSocket } | { status: number; body: unknown };

/** A WebSocket upgrade on `/ws`: the open socket, or the refusal's status and JSON body. */
function upgrade(): Promise<Upgrade> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`);
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: ws }));
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

const live = () => server.context.registry.activeCount;

describe('the WebSocket upgrade and the live session limit', () => {
  it('admits up to maxSessions, refuses the next with 503, admits again once a session ended', async () => {
    const first = await upgrade();
    expect(first).toHaveProperty('opened');
    expect(live()).toBe(1);
    // The live session's transcript is served.
    const [id] = server.context.registry.liveIds();
    const transcript = await fetch(`${server.url}/sessions/${id}/transcript`);
    expect(transcript.status).toBe(200);
    expect(await transcript.json()).toMatchObject({ id, transport: 'websocket' });
    expect(await upgrade()).toEqual({ status: 503, body: { info: 'Service Unavailable' } });
    expect(live()).toBe(1);
    if (!('opened' in first)) throw new Error('unreachable');
    first.opened.close();
    await until('the first session to end', () => (live() === 0 ? true : undefined));
    const again = await upgrade();
    expect(again).toHaveProperty('opened');
    expect(live()).toBe(1);
  });
});

describe('POST /connect body limit', () => {
  // `{}` padded with spaces: valid JSON of exactly `bytes` bytes.
  it.each([
    // bytes, status, body
    [1024, 200, { ws_url: expect.stringMatching(/\/ws\?token=/) }],
    [1025, 413, { info: 'Request body too large' }],
    [32 * 1024, 413, { info: 'Request body too large' }],
  ])('a %i-byte body → %i', async (bytes, status, body) => {
    const res = await fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{}${' '.repeat(bytes - 2)}`,
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
  });
});

describe('the per-client rate and the WebSocket upgrade', () => {
  // A burst of 2 session starts, then 1 a minute: a third start within the test is refused.
  let limited: RunningServer;
  beforeAll(async () => {
    const config = loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_RESUME_WINDOW_MS: '0',
      COLLOQUY_VAD: 'energy',
    });
    limited = await startServer({
      config,
      logger: silentLogger,
      limits: { connectBurst: 2, connectsPerMinute: 1 },
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  /** Opens `url`; the status of a refused upgrade, or 101 (the socket is closed again at once). */
  const upgradeStatus = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      sockets.push(ws);
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      ws.once('error', reject);
    });
  const connect = () =>
    fetch(`${limited.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

  it('a one-time token was counted at /connect: its upgrade is not counted again; a plain upgrade is', async () => {
    const first = await connect();
    expect(first.status).toBe(200);
    const { ws_url } = (await first.json()) as { ws_url: string };
    expect(await upgradeStatus(ws_url)).toBe(101);
    // One start so far (the token's upgrade was not one): the burst has one more.
    expect((await connect()).status).toBe(200);
    // Two starts: the burst is spent, for /connect and for a plain upgrade alike.
    const third = await connect();
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'rate_limited' });
    expect(await upgradeStatus(`${limited.url.replace(/^http/, 'ws')}/ws`)).toBe(429);
  });
});
