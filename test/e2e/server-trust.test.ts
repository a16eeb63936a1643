/**
 * What the server trusts, on loopback: page origins (CORS and the WebSocket upgrade), proxy headers,
 * auth before body validation on the WebRTC offer, one-time tokens instead of the server token, and
 * request bodies bounded while they stream in.
 */
import { request } from 'node:http';
import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../../src/logger.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
import { closePeerConnection } from '../../src/transports/close-peer-connection.ts';
import { startTestServer, withoutGreeting } from './helpers.ts';

const TOKEN = 'long-lived-server-token';
const auth = { authorization: `Bearer ${TOKEN}` };

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

async function wrtcOffer(): Promise<string> {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  pc.addTransceiver('audio', { direction: 'sendrecv' });
  const chat = pc.createDataChannel('chat');
  const sdp = (await pc.createOffer()).sdp ?? '';
  await closePeerConnection(pc, [chat]);
  return sdp;
}

describe('trust: origins, proxy headers, tokens', () => {
  let server: RunningServer;
  let proxied: RunningServer;
  let routes: WebRtcRoutes | undefined;
  beforeAll(async () => {
    [server, proxied] = await Promise.all([
      startTestServer({
        edit: withoutGreeting,
        env: { COLLOQUY_AUTH_TOKEN: TOKEN, COLLOQUY_ALLOWED_ORIGINS: 'https://app.example.test' },
        registerRoutes: (app, ctx) => {
          routes = registerWebRtcRoutes(app, {
            config: ctx.config,
            logger: silentLogger,
            models: ctx.models,
            registry: ctx.registry,
            tokens: ctx.tokens,
          });
        },
      }),
      startTestServer({ edit: withoutGreeting, env: { COLLOQUY_TRUST_PROXY: 'true' } }),
    ]);
  });
  afterAll(async () => {
    await routes?.closeAll();
    await Promise.all([server?.close(), proxied?.close()]);
  });

  const connect = (target: RunningServer, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${target.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth, ...headers },
      body: JSON.stringify(body),
    });

  it('a page of a foreign origin cannot call /connect or open /ws; allowed, loopback and no-Origin clients can', async () => {
    const foreign = await connect(server, {}, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    for (const origin of ['https://app.example.test', 'http://localhost:5173', 'http://127.0.0.1:9']) {
      const ok = await connect(server, {}, { origin });
      expect(ok.status, origin).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
    }
    expect((await connect(server, {})).status).toBe(200);
    const ws = `ws://127.0.0.1:${server.port}/ws`;
    expect(await upgradeStatus(ws, { ...auth, origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(ws, { ...auth, origin: 'https://app.example.test' })).toBe(101);
    expect(await upgradeStatus(ws, { ...auth, origin: `http://127.0.0.1:${server.port}` })).toBe(101);
    expect(await upgradeStatus(ws, auth)).toBe(101);
  });

  it('X-Forwarded-Host/-Proto are ignored unless COLLOQUY_TRUST_PROXY is set', async () => {
    const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const plain = (await (await connect(server, {}, forwarded)).json()) as { ws_url: string };
    expect(plain.ws_url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${server.port}/ws\\?token=`));
    const trusted = (await (await connect(proxied, {}, forwarded)).json()) as { ws_url: string };
    expect(trusted.ws_url).toMatch(/^wss:\/\/evil\.example\/ws\?token=/);
    const junk = (await (await connect(proxied, {}, { 'x-forwarded-host': 'a b/c' })).json()) as {
      ws_url: string;
    };
    expect(junk.ws_url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${proxied.port}/ws`));
  });

  it('/connect hands a WebRTC client a one-time token, which the offer redeems once', async () => {
    const answer = (await (await connect(server, { transport: 'webrtc' })).json()) as {
      webrtcRequestParams: { endpoint: string; requestData: { token: string } };
    };
    const { endpoint, requestData } = answer.webrtcRequestParams;
    expect(requestData.token).not.toBe(TOKEN);
    const offer = async () =>
      fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sdp: await wrtcOffer(), type: 'offer', requestData }),
      });
    const first = await offer();
    expect(first.status).toBe(200);
    const second = await offer();
    expect(second.status).toBe(401);
    await routes?.closeAll();
  });

  it('/api/offer checks auth before judging the body: no details for callers without a token', async () => {
    const url = `${server.url}/api/offer`;
    for (const body of ['{not json', '{"sdp":"v=0","type":"offer"}', JSON.stringify({ type: 'answer' })]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body).toBe(401);
      expect(await res.json()).toEqual({ info: 'Missing or wrong token' });
    }
    const authed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: '{not json',
    });
    expect(authed.status).toBe(400);
  });
});

describe('request bodies are bounded while they stream', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ edit: withoutGreeting });
  });
  afterAll(async () => server?.close());

  /** Streams `total` bytes (chunked, no content-length) and resolves with the status and bytes sent. */
  function streamBody(path: string, total: number): Promise<{ status: number; sent: number }> {
    return new Promise((resolve, reject) => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const req = request(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      let status = 0;
      req.on('response', (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        res.on('end', () => resolve({ status, sent }));
      });
      req.on('error', (err) => (status ? resolve({ status, sent }) : reject(err)));
      const pump = () => {
        while (sent < total && !status) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
  }

  it('a 200 MiB streamed /connect body is refused with 413 early; memory stays flat', async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const { status, sent } = await streamBody('/connect', 200 * 1024 * 1024);
    expect(status).toBe(413);
    expect(sent).toBeLessThan(50 * 1024 * 1024); // refused long before the end
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a declared oversized body is refused from its content-length', async () => {
    const res = await fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"pad":"${'x'.repeat(70 * 1024)}"}`,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ info: 'Request body too large' });
  });
});
