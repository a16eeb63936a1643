/**
 * Per-client limits on a real server over loopback: a client over its rate of session starts or its
 * share of live sessions gets `429 {info, code}` with `Retry-After` (on `/connect` and on the `/ws`
 * upgrade); other clients go on as before. Clients are told apart by address: behind a trusted proxy
 * (`COLLOQUY_TRUST_PROXY`) by the `X-Forwarded-For` entry the proxy appended, otherwise by the
 * socket's address (a client cannot spoof its way to a fresh allowance).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { loadServerConfig } from '../../src/server/config.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { startServer } from '../../src/server/server.ts';
import { openRaw, type RawClient, startTestServer, until } from './helpers.ts';

const STREAM = { mode: 'stream' };

async function connectAs(server: RunningServer, address: string | undefined) {
  return fetch(`${server.url}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(address ? { 'x-forwarded-for': address } : {}) },
    body: '{}',
  });
}

/** `/connect`, then the WebSocket, both as `address`. */
async function sessionAs(server: RunningServer, address: string): Promise<RawClient> {
  const res = await connectAs(server, address);
  expect(res.status).toBe(200);
  const { ws_url } = (await res.json()) as { ws_url: string };
  return openRaw(ws_url, { 'x-forwarded-for': address });
}

/** The status of a refused WebSocket upgrade, with its body and Retry-After. */
async function refusedUpgrade(url: string, headers: Record<string, string>) {
  const ws = new WebSocket(url, { headers });
  return new Promise<{ status: number; retryAfter: string | undefined; body: any }>((resolve, reject) => {
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          body: JSON.parse(text),
        }),
      );
    });
    ws.on('error', () => {});
  });
}

describe('per-client limits behind a trusted proxy', () => {
  let server: RunningServer;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({
      file: STREAM,
      env: { COLLOQUY_TRUST_PROXY: 'true' },
      limits: { connectBurst: 4, connectsPerMinute: 1, maxSessionsPerClient: 2 },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
  });

  it('over its rate, a client gets 429 rate_limited with Retry-After; another client is unaffected', async () => {
    for (let i = 0; i < 4; i++) expect((await connectAs(server, '198.51.100.1')).status).toBe(200);
    const refused = await connectAs(server, '198.51.100.1');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { info: string; code: string };
    expect(body.code).toBe('rate_limited');
    expect(body.info).toMatch(/Too many session starts from your address \(1 per minute\)/);
    // A spoofed first entry does not make it another client: the proxy's (last) entry counts.
    expect((await connectAs(server, '203.0.113.5, 198.51.100.1')).status).toBe(429);
    // Another client: its own allowance, and a working session.
    const other = await sessionAs(server, '198.51.100.2');
    clients.push(other);
    expect((await other.ready()).type).toBe('bot-ready');
  });

  it('over its share of sessions, the upgrade gets 429 too_many_sessions; a session ending gives it back', async () => {
    const a = '198.51.100.3';
    const first = await sessionAs(server, a);
    const second = await sessionAs(server, a);
    clients.push(first, second);
    await first.ready();
    await second.ready();
    const res = await connectAs(server, a);
    const { ws_url } = (await res.json()) as { ws_url: string };
    const refused = await refusedUpgrade(ws_url, { 'x-forwarded-for': a });
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('5');
    expect(refused.body).toEqual({
      info: 'Too many sessions from your address (2); end one first',
      code: 'too_many_sessions',
    });
    // Other clients are not held back by this one.
    const other = await sessionAs(server, '198.51.100.4');
    clients.push(other);
    expect((await other.ready()).type).toBe('bot-ready');
    // One of the client's sessions ends: it may open another.
    first.close();
    await until('slot given back', () => (server.context.gate.sessionsOf(a) === 1 ? true : undefined));
    const again = await sessionAs(server, a);
    clients.push(again);
    expect((await again.ready()).type).toBe('bot-ready');
  });
});

describe('per-client limits without a trusted proxy', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ file: STREAM, limits: { connectBurst: 3, connectsPerMinute: 1 } });
  });
  afterAll(() => server?.close());

  it('X-Forwarded-For is ignored (the socket address is the client); a direct /ws upgrade counts too', async () => {
    expect((await connectAs(server, '198.51.100.10')).status).toBe(200);
    expect((await connectAs(server, '198.51.100.11')).status).toBe(200);
    // A session started without /connect (no one-time token) is the third start of 127.0.0.1.
    const direct = await openRaw(`${server.url.replace(/^http/, 'ws')}/ws`, {
      'x-forwarded-for': '192.0.2.1',
    });
    expect((await direct.ready()).type).toBe('bot-ready');
    expect(server.context.gate.sessionsOf('127.0.0.1')).toBe(1);
    direct.close();
    const refused = await connectAs(server, '198.51.100.12');
    expect(refused.status).toBe(429);
    const upgrade = await refusedUpgrade(`${server.url.replace(/^http/, 'ws')}/ws`, {});
    expect(upgrade.status).toBe(429);
    expect(upgrade.body.code).toBe('rate_limited');
  });
});

describe('limits are validated at start', () => {
  it('a bad limit refuses to start with invalid_limits, naming it', async () => {
    const config = loadServerConfig({ PORT: '0', HOST: '127.0.0.1', COLLOQUY_STORE: 'memory' });
    const start = startServer({ config, logger: silentLogger, limits: { maxSessionsPerClient: 0 } });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toMatchObject({ code: 'invalid_limits' });
    await expect(start).rejects.toThrow(/limits\.maxSessionsPerClient \(COLLOQUY_MAX_SESSIONS_PER_CLIENT\)/);
  });
});
