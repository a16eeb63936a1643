/**
 * The SmallWebRTC signalling routes on a real loopback HTTP server, with a wrtc "client" that behaves
 * like @pipecat-ai/small-webrtc-transport (offer without candidates, PATCHed candidates, `chat`
 * channel), and the server's real RTVI session (demo config, offline models).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import wrtc from '@roamhq/wrtc';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { until } from '../testing/signals.ts';
import { closePeerConnection } from '../transports/close-peer-connection.ts';
import { ClientGate } from './client-gate.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import { ModelCache } from './session-factory.ts';
import { registerWebRtcRoutes, smallWebRtcConnectAnswer, type WebRtcRoutes } from './webrtc-routes.ts';

interface Server {
  url: string;
  routes: WebRtcRoutes;
  close(): Promise<void>;
}

async function startServer(config: ServerConfig, maxPeers = 4, gate?: ClientGate): Promise<Server> {
  const app = new Hono();
  const routes = registerWebRtcRoutes(app, {
    config,
    logger: silentLogger,
    maxPeers,
    ...(gate ? { gate } : {}),
    models: new ModelCache(config.baseDir),
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/offer`,
    routes,
    async close() {
      await routes.closeAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Client {
  pc: RTCPeerConnection;
  chat: RTCDataChannel;
  received: Array<Record<string, unknown>>;
  candidates: Array<{ candidate: string; sdp_mid: string | null; sdp_mline_index: number | null }>;
  offer(): Promise<{ sdp: string; type: 'offer' }>;
  /** Closes `chat`, then the connection (never both at once: that can crash wrtc). */
  close(): Promise<void>;
}

const clients: Client[] = [];

/**
 * A peer connection shaped like the Pipecat client's (audio, video, `chat`); like it, the client
 * disconnects on `peerLeft`.
 */
async function newClient(): Promise<Client> {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  pc.addTransceiver('audio', { direction: 'sendrecv' });
  pc.addTransceiver('video', { direction: 'sendrecv' });
  const chat = pc.createDataChannel('chat', { ordered: true });
  const received: Array<Record<string, unknown>> = [];
  chat.onmessage = (e) => {
    const message = JSON.parse(e.data as string);
    received.push(message);
    if (message.type === 'signalling' && message.message?.type === 'peerLeft')
      setImmediate(() => void closePeerConnection(pc, [chat]));
  };
  const candidates: Client['candidates'] = [];
  pc.onicecandidate = (e) => {
    if (e.candidate) {
      candidates.push({
        candidate: e.candidate.candidate,
        sdp_mid: e.candidate.sdpMid,
        sdp_mline_index: e.candidate.sdpMLineIndex,
      });
    }
  };
  const client: Client = {
    pc,
    chat,
    received,
    candidates,
    async offer() {
      await pc.setLocalDescription(await pc.createOffer());
      return { sdp: pc.localDescription!.sdp, type: 'offer' };
    },
    close: () => closePeerConnection(pc, [chat]),
  };
  clients.push(client);
  return client;
}

const clientReady = (id: string) =>
  JSON.stringify({
    label: 'rtvi-ai',
    type: 'client-ready',
    id,
    data: { version: '2.1.0', about: { library: 'wrtc-test' } },
  });

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const patch = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Offer → answer → PATCH candidates → `chat` open. */
async function connect(url: string, client: Client, extra: Record<string, unknown> = {}) {
  const res = await post(url, { ...(await client.offer()), pc_id: null, restart_pc: false, ...extra });
  // A refusal names its reason (the answer's `info`) in the failure.
  expect(res.status, res.status === 200 ? '' : await res.clone().text()).toBe(200);
  const answer = (await res.json()) as { sdp: string; type: 'answer'; pc_id: string };
  await client.pc.setRemoteDescription(answer);
  await until('client candidates', () => (client.candidates.length ? true : undefined));
  const ok = await patch(url, { pc_id: answer.pc_id, candidates: client.candidates });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ status: 'success' });
  await until('chat open', () => (client.chat.readyState === 'open' ? true : undefined));
  return answer;
}

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

describe('SmallWebRTC signalling routes', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer(loadServerConfig({ PORT: '0' }), 2);
  });
  afterAll(() => server.close());

  it('answers an offer, takes candidates, runs an RTVI session on chat, cleans up on client close', async () => {
    const client = await newClient();
    const answer = await connect(server.url, client);
    expect(answer.type).toBe('answer');
    expect(answer.pc_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.sdp).toMatch(/a=candidate:/);
    expect(server.routes.size).toBe(1);
    expect(server.routes.session(answer.pc_id)?.state).toBe('waiting');

    client.chat.send('ping: 1');
    client.chat.send(
      JSON.stringify({
        type: 'signalling',
        message: { type: 'trackStatus', receiver_index: 0, enabled: true },
      }),
    );
    client.chat.send(clientReady('cr000001'));
    const ready = await until('bot-ready', () => client.received.find((m) => m.type === 'bot-ready'));
    expect(ready).toMatchObject({ label: 'rtvi-ai', id: 'cr000001', data: { version: '2.1.0' } });
    expect(server.routes.get(answer.pc_id)?.trackEnabled(0)).toBe(true);
    expect(server.routes.session(answer.pc_id)?.state).toBe('ready');

    const session = server.routes.session(answer.pc_id)!;
    client.chat.close();
    client.close();
    expect(await session.closed).toBe('client_disconnected');
    await until('peer removed', () => (server.routes.size === 0 ? true : undefined));
    expect(server.routes.get(answer.pc_id)).toBeUndefined();
  });

  it('disconnect-bot ends the session: conversation-end, then peerLeft', async () => {
    const client = await newClient();
    const answer = await connect(server.url, client);
    client.chat.send(clientReady('cr000002'));
    await until('bot-ready', () => client.received.find((m) => m.type === 'bot-ready'));
    client.chat.send(JSON.stringify({ label: 'rtvi-ai', type: 'disconnect-bot', id: 'db000001', data: {} }));
    await until('peerLeft', () => client.received.find((m) => m.type === 'signalling'));
    // `peerLeft` is the last message; `conversation-end` came before it (what the closing session
    // still sends in between, e.g. the greeting it cut off, may come between them).
    expect(client.received.at(-1)).toEqual({ type: 'signalling', message: { type: 'peerLeft' } });
    const end = client.received.findIndex(
      (m) => m.type === 'server-message' && (m.data as { type?: string })?.type === 'conversation-end',
    );
    expect(client.received[end]).toEqual({
      label: 'rtvi-ai',
      type: 'server-message',
      data: { type: 'conversation-end', data: { reason: 'client_disconnected' } },
    });
    expect(end).toBeLessThan(client.received.length - 1);
    await until('peer removed', () => (server.routes.get(answer.pc_id) ? undefined : true));
  });

  it('restart_pc recreates the peer connection under the same pc_id and session', async () => {
    const first = await newClient();
    const answer = await connect(server.url, first);
    first.chat.send(clientReady('cr000003'));
    await until('bot-ready', () => first.received.find((m) => m.type === 'bot-ready'));
    const session = server.routes.session(answer.pc_id);

    const second = await newClient();
    const again = await connect(server.url, second, { pc_id: answer.pc_id, restart_pc: true });
    expect(again.pc_id).toBe(answer.pc_id);
    expect(server.routes.session(answer.pc_id)).toBe(session);
    expect(session?.state).toBe('ready');
    first.close();
    second.chat.send(
      JSON.stringify({
        label: 'rtvi-ai',
        type: 'client-message',
        id: 'cm000001',
        data: { t: 'ping', d: {} },
      }),
    );
    const reply = await until('server-response', () =>
      second.received.find((m) => m.type === 'server-response'),
    );
    expect(reply).toMatchObject({ id: 'cm000001', data: { t: 'ping' } });
    expect(session?.state).toBe('ready');
    second.close();
    await until('peer removed', () => (server.routes.get(answer.pc_id) ? undefined : true));
  });

  it('renegotiates an existing connection (same pc_id, restart_pc false) without a new session', async () => {
    const client = await newClient();
    const answer = await connect(server.url, client);
    const transport = server.routes.get(answer.pc_id);
    const session = server.routes.session(answer.pc_id);
    const res = await post(server.url, { ...(await client.offer()), pc_id: answer.pc_id, restart_pc: false });
    expect(res.status).toBe(200);
    const again = (await res.json()) as { sdp: string; type: 'answer'; pc_id: string };
    expect(again).toMatchObject({ type: 'answer', pc_id: answer.pc_id });
    await client.pc.setRemoteDescription(again);
    expect(client.pc.signalingState).toBe('stable');
    expect(server.routes.get(answer.pc_id)).toBe(transport);
    expect(server.routes.session(answer.pc_id)).toBe(session);
    expect(server.routes.size).toBe(1);
    client.chat.send(clientReady('cr000004'));
    await until('bot-ready', () => client.received.find((m) => m.type === 'bot-ready'));
    client.close();
    await until('peer removed', () => (server.routes.size === 0 ? true : undefined));
  });

  it('refuses bad input with 400/404 and {info}', async () => {
    const client = await newClient();
    const { sdp } = await client.offer();
    const cases: Array<[string, Response]> = [
      ['not JSON', await post(server.url, '{sdp')],
      ['missing sdp', await post(server.url, { type: 'offer' })],
      ['missing type', await post(server.url, { sdp })],
      ['answer instead of offer', await post(server.url, { sdp, type: 'answer' })],
      ['not an SDP', await post(server.url, { sdp: 'hello', type: 'offer' })],
      ['SDP wrtc refuses', await post(server.url, { sdp: 'v=0\r\nm=audio x\r\n', type: 'offer' })],
      [
        'unknown configuration',
        await post(server.url, { sdp, type: 'offer', requestData: { config: 'nope' } }),
      ],
      [
        'a text chat (WebSocket only)',
        await post(server.url, { sdp, type: 'offer', requestData: { text_only: true } }),
      ],
      ['PATCH without candidates', await patch(server.url, { pc_id: 'x' })],
    ];
    for (const [what, res] of cases) {
      expect(res.status, what).toBe(400);
      const body = (await res.json()) as { info: string };
      expect(typeof body.info, what).toBe('string');
      if (what.startsWith('a text chat'))
        expect(body.info).toMatch(/text_only is for the WebSocket transport/);
    }
    expect(server.routes.size).toBe(0);
    const unknown = await patch(server.url, {
      pc_id: 'no-such-pc',
      candidates: [
        { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdp_mid: '0', sdp_mline_index: 0 },
      ],
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ info: 'No peer connection "no-such-pc"' });
  });

  it('refuses an offer with an unknown media type (which segfaults wrtc) and keeps serving', async () => {
    const client = await newClient();
    const { sdp } = await client.offer();
    for (const bad of [sdp.replace('m=application', 'm=applicatiox'), sdp.replace('m=video', 'm=vide0')]) {
      const res = await post(server.url, { sdp: bad, type: 'offer' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { info: string }).info).toMatch(
        /^SDP refused: line \d+: unsupported media line/,
      );
    }
    // A renegotiation of a live connection is checked too (the peer's own guard).
    const answer = await connect(server.url, client);
    const renegotiate = await post(server.url, {
      sdp: sdp.replace('m=application', 'm=applicatiox'),
      type: 'offer',
      pc_id: answer.pc_id,
    });
    expect(renegotiate.status).toBe(400);
    expect(((await renegotiate.json()) as { info: string }).info).toMatch(/^SDP refused: /);
    // Still alive: the same process answers the next request.
    client.chat.send(clientReady('cr000009'));
    await until('bot-ready', () => client.received.find((m) => m.type === 'bot-ready'));
    client.close();
    await until('peer removed', () => (server.routes.size === 0 ? true : undefined));
  });

  it('bounds the number of peers (503 beyond maxPeers)', async () => {
    const a = await newClient();
    const b = await newClient();
    const c = await newClient();
    try {
      await connect(server.url, a);
      await connect(server.url, b);
      const res = await post(server.url, await c.offer());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(((await res.json()) as { info: string }).info).toMatch(/Too many connections/);
    } finally {
      // Also after a failed attempt, so that its retry starts with no peer counted.
      await Promise.all([a.close(), b.close(), c.close()]);
      await until('peers removed', () => (server.routes.size === 0 ? true : undefined));
    }
  });
});

describe('SmallWebRTC signalling routes with a token', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer({ ...loadServerConfig({ PORT: '0' }), authToken: 's3cret' });
  });
  afterAll(() => server.close());

  it('accepts the token from the Authorization header, ?token= or requestData.token; refuses otherwise', async () => {
    const offer = async () => (await newClient()).offer();
    const none = await post(server.url, await offer());
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ info: 'Missing or wrong token' });
    const wrong = await post(server.url, await offer(), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const wrongInBody = await post(server.url, { ...(await offer()), requestData: { token: 'nope' } });
    expect(wrongInBody.status).toBe(401);

    const header = await post(server.url, await offer(), { authorization: 'Bearer s3cret' });
    expect(header.status).toBe(200);
    const query = await post(`${server.url}?token=s3cret`, await offer());
    expect(query.status).toBe(200);
    const body = await post(server.url, { ...(await offer()), requestData: { token: 's3cret' } });
    expect(body.status).toBe(200);
    const { pc_id } = (await body.json()) as { pc_id: string };

    // PATCH: the pc_id is the credential; a wrong token given anyway is refused.
    const candidates = [{ candidate: '', sdp_mid: '0', sdp_mline_index: 0 }];
    expect((await patch(server.url, { pc_id, candidates })).status).toBe(200);
    expect((await patch(server.url, { pc_id, candidates }, { authorization: 'Bearer nope' })).status).toBe(
      401,
    );
    expect((await patch(`${server.url}?token=s3cret`, { pc_id, candidates })).status).toBe(200);
    await server.routes.closeAll();
    await until('peers removed', () => (server.routes.size === 0 ? true : undefined));
  });

  it('smallWebRtcConnectAnswer builds what the client expects from /connect', () => {
    expect(smallWebRtcConnectAnswer('http://h/api/offer', { token: 't' })).toEqual({
      webrtcRequestParams: { endpoint: 'http://h/api/offer', requestData: { token: 't' } },
    });
    expect(smallWebRtcConnectAnswer('/api/offer')).toEqual({
      webrtcRequestParams: { endpoint: '/api/offer' },
    });
  });
});

describe('SmallWebRTC offers and per-client limits', () => {
  let server: Server;
  let gate: ClientGate;
  beforeAll(async () => {
    gate = new ClientGate({ connectBurst: 3, connectsPerMinute: 1, maxSessionsPerClient: 1 });
    server = await startServer({ ...loadServerConfig({ PORT: '0', COLLOQUY_TRUST_PROXY: 'true' }) }, 8, gate);
  });
  afterAll(() => server.close());

  it('a client over its share of connections or its rate gets 429; another client connects', async () => {
    const as = (address: string) => ({ 'x-forwarded-for': address });
    const a = await newClient();
    const first = await post(server.url, await a.offer(), as('198.51.100.1'));
    expect(first.status).toBe(200);
    const second = await post(server.url, await (await newClient()).offer(), as('198.51.100.1'));
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('5');
    expect(await second.json()).toEqual({
      info: 'Too many sessions from your address (1); end one first',
      code: 'too_many_sessions',
    });
    const b = await post(server.url, await (await newClient()).offer(), as('198.51.100.2'));
    expect(b.status).toBe(200);
    // The third offer of 198.51.100.1 is its last in the burst; the fourth is over the rate.
    await post(server.url, await (await newClient()).offer(), as('198.51.100.1'));
    const fourth = await post(server.url, await (await newClient()).offer(), as('198.51.100.1'));
    expect(fourth.status).toBe(429);
    expect(((await fourth.json()) as { code: string }).code).toBe('rate_limited');
    await server.routes.closeAll();
    await until('slots given back', () => (gate.sessionsOf('198.51.100.1') === 0 ? true : undefined));
  });
});
