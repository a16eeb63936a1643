/**
 * The server's HTTP surface on loopback: /health, POST /connect (auth, CORS preflight, requestData
 * validation, the answers the Pipecat transports expect), and token checks on the WebSocket upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../src/server/server.ts';
import { openRaw, startTestServer, withoutGreeting } from './helpers.ts';

const TOKEN = 'test-secret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const APP_ORIGIN = 'https://app.example.test';

/** Status of a WebSocket upgrade attempt (101 when it opened). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

describe('server HTTP surface', () => {
  let open: RunningServer;
  let locked: RunningServer;
  const post = (server: RunningServer, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  beforeAll(async () => {
    [open, locked] = await Promise.all([
      startTestServer({ edit: withoutGreeting }),
      startTestServer({
        edit: withoutGreeting,
        env: { COLLOQUY_AUTH_TOKEN: TOKEN, COLLOQUY_ALLOWED_ORIGINS: APP_ORIGIN },
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), locked?.close()]);
  });

  it('GET /health reports the live sessions', async () => {
    const res = await fetch(`${open.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', sessions: 0 });
    const c = await openRaw((await (await post(open, '{}')).json()).ws_url);
    await c.ready();
    expect(await (await fetch(`${open.url}/health`)).json()).toEqual({ status: 'ok', sessions: 1 });
    c.ws.terminate();
    await c.closed;
  });

  it('answers the CORS preflight for /connect', async () => {
    const res = await fetch(`${locked.url}/connect`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/OPTIONS/);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/content-type/);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
  });

  it('POST /connect needs the Bearer token when one is configured', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      const res = await post(locked, '{}', { ...headers, origin: APP_ORIGIN });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ info: expect.stringMatching(/Unauthorized/) });
      expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    }
    const ok = await post(locked, '{}', auth);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { ws_url: string };
    expect(Object.keys(body)).toEqual(['ws_url']);
    expect(body.ws_url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${locked.port}/ws\\?token=[\\w-]{20,}$`));
  });

  it('the WebSocket upgrade redeems a one-time token (or a Bearer header)', async () => {
    const wsBase = `ws://127.0.0.1:${locked.port}/ws`;
    expect(await upgradeStatus(wsBase)).toBe(401);
    expect(await upgradeStatus(`${wsBase}?token=forged`)).toBe(401);
    const { ws_url } = (await (await post(locked, '{}', auth)).json()) as { ws_url: string };
    expect(await upgradeStatus(ws_url)).toBe(101);
    expect(await upgradeStatus(ws_url)).toBe(401); // used once already
    expect(await upgradeStatus(wsBase, auth)).toBe(101);
    expect(await upgradeStatus(`ws://127.0.0.1:${locked.port}/elsewhere`, auth)).toBe(404);
    // Transcripts need the token too.
    expect((await fetch(`${locked.url}/sessions/x/transcript`)).status).toBe(401);
    expect((await fetch(`${locked.url}/sessions/x/transcript`, { headers: auth })).status).toBe(404);
  });

  it('refuses bad requestData with 400 {info}', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /must be JSON/],
      ['{"mode":"shouting"}', /Invalid requestData: mode/],
      ['{"config":"missing"}', /No configuration named "missing"/],
      ['{"agent":"nobody"}', /No agent named "nobody"/],
      ['[1,2]', /Invalid requestData/],
    ];
    for (const [body, info] of cases) {
      const res = await post(open, body);
      expect(res.status, body).toBe(400);
      expect(await res.json()).toEqual({ info: expect.stringMatching(info) });
    }
  });

  it('answers a SmallWebRTC request with webrtcRequestParams pointing at /api/offer (a one-time token)', async () => {
    const res = await post(locked, JSON.stringify({ transport: 'webrtc', config: 'stream' }), auth);
    const body = await res.json();
    expect(body).toEqual({
      webrtcRequestParams: {
        endpoint: `http://127.0.0.1:${locked.port}/api/offer`,
        requestData: { transport: 'webrtc', config: 'stream', token: expect.stringMatching(/^[\w-]{32}$/) },
      },
    });
    expect(JSON.stringify(body)).not.toContain(TOKEN);
  });

  it('answers unknown routes with 404 JSON and a plain GET /ws with 426', async () => {
    expect((await fetch(`${open.url}/nope`)).status).toBe(404);
    expect((await fetch(`${open.url}/ws`)).status).toBe(426);
  });
});
