/**
 * What the SmallWebRTC signalling routes answer, request by request: every refusal (status, `{info}`,
 * headers) and, for offers that get that far, the server's side of the connection only. The routes run
 * on a Hono app called through `app.request`; an offer that is answered builds one server peer
 * connection from a fixed offer (no client peer exists: nothing here completes ICE), and every test
 * closes what it opened (`closeAll`, awaited) in its teardown. The session a connection starts is a
 * stand-in unless the test is about the real one. Each test registers its routes itself (a mutation
 * run switches its mutant on per test: code run in a hook would run before it).
 * `webrtc-routes.test.ts` covers real client peers, candidates and RTVI sessions end to end.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OFFER_SDP } from '../../test/support/fixed-offer.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ResumeError } from '../session/resume-handles.ts';
import { SmallWebRtcPeer } from '../transports/small-webrtc/peer.ts';
import type { SmallWebRtcTransport } from '../transports/small-webrtc/webrtc-transport.ts';
import { ClientGate } from './client-gate.ts';
import { loadServerConfig, resolveProfile, type ServerConfig, type SessionProfile } from './config.ts';
import { ConnectTokens } from './connect-tokens.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import { SessionRegistry } from './session-registry.ts';
import { registerWebRtcRoutes, type WebRtcRoutes, type WebRtcRoutesDeps } from './webrtc-routes.ts';

const offer = (extra: Record<string, unknown> = {}) => ({ sdp: OFFER_SDP, type: 'offer', ...extra });

const baseConfig = (): ServerConfig => loadServerConfig({ COLLOQUY_VAD: 'energy' });

interface Logged {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** A stand-in for the RTVI session a connection starts: records its close. */
function standIn(id = 'stand-in') {
  const closes: string[] = [];
  const session = {
    id,
    state: 'waiting',
    closed: new Promise<string>(() => {}),
    close: async (reason: string) => {
      closes.push(reason);
    },
  } as unknown as RtviSession;
  return { session, closes };
}

const opened: WebRtcRoutes[] = [];
afterEach(async () => {
  for (const routes of opened.splice(0)) await routes.closeAll();
});

/** Routes on a fresh app; `deps` override the defaults (a stand-in session, a recording logger). */
function routesOn(deps: Partial<WebRtcRoutesDeps> = {}) {
  const app = new Hono();
  const logged: Logged[] = [];
  const logger: Logger = {
    debug() {},
    info: (message) => logged.push({ level: 'info', message }),
    warn: (message) => logged.push({ level: 'warn', message }),
    error: (message) => logged.push({ level: 'error', message }),
  };
  const started: Array<{ transport: RtviTransport; profile: SessionProfile }> = [];
  const stand = standIn();
  const routes = registerWebRtcRoutes(app, {
    config: baseConfig(),
    logger,
    createSession: (transport, profile) => {
      started.push({ transport, profile });
      return stand.session;
    },
    ...deps,
  });
  opened.push(routes);
  const send = (method: 'POST' | 'PATCH', body: unknown, headers: Record<string, string> = {}, query = '') =>
    app.request(`http://localhost${routes.path}${query}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    app,
    routes,
    logged,
    started,
    stand,
    post: (body: unknown, headers?: Record<string, string>, query?: string) =>
      send('POST', body, headers, query),
    patch: (body: unknown, headers?: Record<string, string>, query?: string) =>
      send('PATCH', body, headers, query),
  };
}

/** Status, body and `retry-after` of an answer. */
async function answerOf(res: Response) {
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

const refused = (status: number, info: string, retryAfter: string | null = null) => ({
  status,
  body: { info },
  retryAfter,
});

describe('SmallWebRTC offers refused before any peer connection exists', () => {
  it.each<[string, unknown, number, string]>([
    ['a body that is not JSON', '{sdp', 400, 'Body must be JSON'],
    [
      'JSON nested too deep',
      `${'{"a":'.repeat(20)}1${'}'.repeat(20)}`,
      400,
      'JSON is nested deeper than 16 levels',
    ],
    [
      'no sdp',
      { type: 'offer' },
      400,
      'Invalid offer: sdp: Invalid input: expected string, received undefined',
    ],
    [
      'an empty sdp',
      offer({ sdp: '' }),
      400,
      'Invalid offer: sdp: Too small: expected string to have >=1 characters; sdp: not an SDP (expected "v=0" and at least one "m=" line)',
    ],
    [
      'an sdp over 128 KiB',
      offer({ sdp: `v=0\r\nm=audio 9 x\r\n${'a'.repeat(128 * 1024)}` }),
      400,
      'Invalid offer: sdp: Too big: expected string to have <=131072 characters',
    ],
    [
      'an sdp without "v=0"',
      offer({ sdp: 'o=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' }),
      400,
      'Invalid offer: sdp: not an SDP (expected "v=0" and at least one "m=" line)',
    ],
    [
      'an sdp without an "m=" line',
      offer({ sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }),
      400,
      'Invalid offer: sdp: not an SDP (expected "v=0" and at least one "m=" line)',
    ],
    [
      'an "m=" that does not start a line',
      offer({ sdp: 'v=0 m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' }),
      400,
      'Invalid offer: sdp: not an SDP (expected "v=0" and at least one "m=" line)',
    ],
    ['no type', { sdp: OFFER_SDP }, 400, 'Invalid offer: type: Invalid input: expected "offer"'],
    ['an answer', offer({ type: 'answer' }), 400, 'Invalid offer: type: Invalid input: expected "offer"'],
    [
      'an empty pc_id',
      offer({ pc_id: '' }),
      400,
      'Invalid offer: pc_id: Too small: expected string to have >=1 characters',
    ],
    [
      'a pc_id over 128 characters',
      offer({ pc_id: 'p'.repeat(129) }),
      400,
      'Invalid offer: pc_id: Too big: expected string to have <=128 characters',
    ],
    [
      'restart_pc not a boolean',
      offer({ restart_pc: 'yes' }),
      400,
      'Invalid offer: restart_pc: Invalid input: expected boolean, received string',
    ],
    [
      'requestData not an object',
      offer({ requestData: 'x' }),
      400,
      'Invalid offer: requestData: Invalid input: expected record, received string',
    ],
    [
      'an unknown configuration',
      offer({ requestData: { config: 'nope' } }),
      400,
      'No configuration named "nope"',
    ],
    ['an unknown agent', offer({ requestData: { agent: 'nope' } }), 400, 'No agent named "nope"'],
    [
      'a mode that does not exist',
      offer({ requestData: { mode: 'loud' } }),
      400,
      'Invalid requestData: mode: Invalid option: expected one of "agent"|"stream"',
    ],
    [
      'a text chat',
      offer({ requestData: { text_only: true } }),
      400,
      'Invalid requestData: text_only is for the WebSocket transport',
    ],
    [
      'a media line the route reads as unsupported',
      offer({ sdp: 'v=0\r\nm=audio x\r\n' }),
      400,
      'SDP refused: line 2: unsupported media line',
    ],
    [
      'a media type the WebRTC stack would crash on',
      offer({ sdp: OFFER_SDP.replace('m=application', 'm=applicatiox') }),
      400,
      'SDP refused: line 19: unsupported media line',
    ],
  ])('%s', async (_what, body, status, info) => {
    const { post, routes, started, logged } = routesOn();
    expect(await answerOf(await post(body))).toEqual(refused(status, info));
    expect(routes.size).toBe(0);
    expect(started).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('a body over the configured limit: 413 naming the limit', async () => {
    const config = baseConfig();
    const { post, started } = routesOn({
      config: { ...config, limits: { ...config.limits, offerBodyBytes: 800 } },
    });
    expect(await answerOf(await post(offer()))).toEqual(refused(413, 'Body larger than 800 bytes'));
    expect(started).toEqual([]);
  });

  it('no room for another connection: 503, retry after 5 s, naming the bound (maxPeers, else the limits)', async () => {
    const byDeps = routesOn({ maxPeers: 0 });
    expect(await answerOf(await byDeps.post(offer()))).toEqual(
      refused(503, 'Too many connections (0); try again later', '5'),
    );
    const config = baseConfig();
    const byLimits = routesOn({ config: { ...config, limits: { ...config.limits, maxWebRtcPeers: 0 } } });
    expect(await answerOf(await byLimits.post(offer()))).toEqual(
      refused(503, 'Too many connections (0); try again later', '5'),
    );
    // maxPeers wins over the limits.
    const both = routesOn({
      maxPeers: 0,
      config: { ...config, limits: { ...config.limits, maxWebRtcPeers: 5 } },
    });
    expect((await both.post(offer())).status).toBe(503);
    expect([byDeps.started, byLimits.started, both.started]).toEqual([[], [], []]);
  });

  it('a server that starts sessions only through a connect path: 403 for a plain offer', async () => {
    const { post, started } = routesOn({ connectRequired: true });
    expect(await answerOf(await post(offer()))).toEqual(
      refused(403, 'Start the session through a connect path'),
    );
    expect(started).toEqual([]);
  });
});

describe('SmallWebRTC offer auth: the token before the body', () => {
  const withToken = () => routesOn({ config: { ...baseConfig(), authToken: 's3cret' } });
  // An invalid offer: past the auth check it answers 400, so no peer is built.
  const invalid = { sdp: 'hello', type: 'offer' };
  const notAnSdp = refused(400, 'Invalid offer: sdp: not an SDP (expected "v=0" and at least one "m=" line)');
  const denied = refused(401, 'Missing or wrong token');

  it.each<[string, Record<string, unknown>, Record<string, string>, string, 'denied' | 'past']>([
    ['no token', invalid, {}, '', 'denied'],
    ['a wrong bearer token', invalid, { authorization: 'Bearer nope' }, '', 'denied'],
    ['a wrong ?token=', invalid, {}, '?token=nope', 'denied'],
    ['a wrong requestData.token', { ...invalid, requestData: { token: 'nope' } }, {}, '', 'denied'],
    ['a requestData.token that is not a string', { ...invalid, requestData: { token: 5 } }, {}, '', 'denied'],
    ['the bearer token', invalid, { authorization: 'Bearer s3cret' }, '', 'past'],
    ['?token=', invalid, {}, '?token=s3cret', 'past'],
    ['requestData.token', { ...invalid, requestData: { token: 's3cret' } }, {}, '', 'past'],
    // A token presented in the request is the one judged, whatever the body holds.
    [
      'a wrong bearer token with the right requestData.token',
      { ...invalid, requestData: { token: 's3cret' } },
      { authorization: 'Bearer nope' },
      '',
      'denied',
    ],
    [
      'the bearer token with a wrong requestData.token',
      { ...invalid, requestData: { token: 'nope' } },
      { authorization: 'Bearer s3cret' },
      '',
      'past',
    ],
  ])('%s', async (_what, body, headers, query, outcome) => {
    const { post } = withToken();
    expect(await answerOf(await post(body, headers, query))).toEqual(
      outcome === 'denied' ? denied : notAnSdp,
    );
  });

  it('a body that is not JSON is refused 401 without a token, 400 with it', async () => {
    const { post } = withToken();
    expect(await answerOf(await post('{sdp'))).toEqual(denied);
    expect(await answerOf(await post('{sdp', { authorization: 'Bearer s3cret' }))).toEqual(
      refused(400, 'Body must be JSON'),
    );
  });

  it('a one-time token from /connect lets its offer in once, with the profile chosen there', async () => {
    const tokens = new ConnectTokens();
    const config = { ...baseConfig(), authToken: 's3cret' };
    const { post } = routesOn({ config, tokens, connectRequired: true });
    // The profile picked at /connect is a text chat: refused here, which shows it was the one used.
    const profile = { ...resolveProfile(config), textOnly: true };
    const token = tokens.issue(profile, {});
    expect(await answerOf(await post(offer({ requestData: { token } })))).toEqual(
      refused(400, 'Invalid requestData: text_only is for the WebSocket transport'),
    );
    // Used up.
    expect(await answerOf(await post(offer({ requestData: { token } })))).toEqual(denied);
    // An invalid body does not use it up (only an offer that gets as far as its session does).
    const second = tokens.issue(profile, {});
    expect((await post({ ...invalid, requestData: { token: second } })).status).toBe(400);
    expect(tokens.peek(second)).toBeDefined();
  });
});

describe('SmallWebRTC offers and the per-client gate', () => {
  const xff = (address: string) => ({ 'x-forwarded-for': address });

  it('every plain offer counts against its client rate: 429 with retry-after past it', async () => {
    const gate = new ClientGate({ connectBurst: 1, connectsPerMinute: 1, maxSessionsPerClient: 5 });
    const { post } = routesOn({ gate, config: { ...baseConfig(), trustProxy: true } });
    expect((await post({ type: 'offer' }, xff('198.51.100.1'))).status).toBe(400);
    expect(await answerOf(await post({ type: 'offer' }, xff('198.51.100.1')))).toEqual({
      status: 429,
      body: {
        info: 'Too many session starts from your address (1 per minute); try again in 60 s',
        code: 'rate_limited',
      },
      retryAfter: '60',
    });
    // Another address (the proxy is trusted) has its own rate.
    expect((await post({ type: 'offer' }, xff('198.51.100.2'))).status).toBe(400);
  });

  it('without a trusted proxy, x-forwarded-for does not make another client', async () => {
    const gate = new ClientGate({ connectBurst: 1, connectsPerMinute: 1, maxSessionsPerClient: 5 });
    const { post } = routesOn({ gate, config: { ...baseConfig(), trustProxy: false } });
    expect((await post({ type: 'offer' }, xff('198.51.100.1'))).status).toBe(400);
    expect((await post({ type: 'offer' }, xff('198.51.100.2'))).status).toBe(429);
  });

  it('an offer with a one-time token was counted at /connect: not counted again', async () => {
    const gate = new ClientGate({ connectBurst: 1, connectsPerMinute: 1, maxSessionsPerClient: 5 });
    const tokens = new ConnectTokens();
    const { post } = routesOn({ gate, tokens, config: { ...baseConfig(), trustProxy: true } });
    const profile = resolveProfile(baseConfig());
    expect((await post({ type: 'offer' }, xff('198.51.100.1'))).status).toBe(400);
    for (let i = 0; i < 3; i++) {
      const token = tokens.issue(profile, {});
      expect((await post({ type: 'offer', requestData: { token } }, xff('198.51.100.1'))).status).toBe(400);
    }
  });

  it('a client holding its share of sessions: 429 too_many_sessions, and no peer connection built', async () => {
    const gate = new ClientGate({ connectBurst: 5, connectsPerMinute: 60, maxSessionsPerClient: 0 });
    const { post, routes, started } = routesOn({ gate, config: { ...baseConfig(), trustProxy: true } });
    expect(await answerOf(await post(offer(), xff('198.51.100.1')))).toEqual({
      status: 429,
      body: { info: 'Too many sessions from your address (0); end one first', code: 'too_many_sessions' },
      retryAfter: '5',
    });
    expect(routes.size).toBe(0);
    expect(started).toEqual([]);
  });
});

describe('SmallWebRTC candidates (PATCH) refused', () => {
  const candidate = {
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
    sdp_mid: '0',
    sdp_mline_index: 0,
  };

  it.each<[string, unknown, string]>([
    ['a body that is not JSON', '{pc_id', 'Body must be JSON'],
    [
      'no candidates',
      { pc_id: 'x' },
      'Invalid candidates: candidates: Invalid input: expected array, received undefined',
    ],
    [
      'no pc_id',
      { candidates: [] },
      'Invalid candidates: pc_id: Invalid input: expected string, received undefined',
    ],
    [
      'an empty pc_id',
      { pc_id: '', candidates: [] },
      'Invalid candidates: pc_id: Too small: expected string to have >=1 characters',
    ],
    [
      'a pc_id over 128 characters',
      { pc_id: 'p'.repeat(129), candidates: [] },
      'Invalid candidates: pc_id: Too big: expected string to have <=128 characters',
    ],
    [
      'more than 256 candidates',
      { pc_id: 'x', candidates: Array.from({ length: 257 }, () => candidate) },
      'Invalid candidates: candidates: Too big: expected array to have <=256 items',
    ],
    [
      'a candidate over 1024 characters',
      { pc_id: 'x', candidates: [{ ...candidate, candidate: 'c'.repeat(1025) }] },
      'Invalid candidates: candidates.0.candidate: Too big: expected string to have <=1024 characters',
    ],
    [
      'an sdp_mid over 64 characters',
      { pc_id: 'x', candidates: [{ ...candidate, sdp_mid: 'm'.repeat(65) }] },
      'Invalid candidates: candidates.0.sdp_mid: Too big: expected string to have <=64 characters',
    ],
    [
      'an sdp_mline_index over 64',
      { pc_id: 'x', candidates: [{ ...candidate, sdp_mline_index: 65 }] },
      'Invalid candidates: candidates.0.sdp_mline_index: Too big: expected number to be <=64',
    ],
    [
      'a negative sdp_mline_index',
      { pc_id: 'x', candidates: [{ ...candidate, sdp_mline_index: -1 }] },
      'Invalid candidates: candidates.0.sdp_mline_index: Too small: expected number to be >=0',
    ],
    [
      'a fractional sdp_mline_index',
      { pc_id: 'x', candidates: [{ ...candidate, sdp_mline_index: 0.5 }] },
      'Invalid candidates: candidates.0.sdp_mline_index: Invalid input: expected int, received number',
    ],
  ])('%s', async (_what, body, info) => {
    const { patch } = routesOn();
    expect(await answerOf(await patch(body))).toEqual(refused(400, info));
  });

  it('an unknown pc_id: 404 naming it (at the bounds of what is accepted)', async () => {
    const { patch } = routesOn();
    const longest = 'p'.repeat(128);
    expect(
      await answerOf(
        await patch({
          pc_id: longest,
          candidates: [
            { candidate: 'c'.repeat(1024), sdp_mid: 'm'.repeat(64), sdp_mline_index: 64 },
            { candidate: '', sdp_mid: null, sdp_mline_index: null },
            { candidate: '' },
          ],
        }),
      ),
    ).toEqual(refused(404, `No peer connection "${longest}"`));
    expect(
      await answerOf(await patch({ pc_id: 'x', candidates: Array.from({ length: 256 }, () => candidate) })),
    ).toEqual(refused(404, 'No peer connection "x"'));
  });

  it('the pc_id is the credential: no token is needed, a wrong one given anyway is refused', async () => {
    const { patch } = routesOn({ config: { ...baseConfig(), authToken: 's3cret' } });
    const body = { pc_id: 'x', candidates: [] };
    expect(await answerOf(await patch(body))).toEqual(refused(404, 'No peer connection "x"'));
    expect(await answerOf(await patch(body, { authorization: 'Bearer s3cret' }))).toEqual(
      refused(404, 'No peer connection "x"'),
    );
    expect(await answerOf(await patch(body, {}, '?token=s3cret'))).toEqual(
      refused(404, 'No peer connection "x"'),
    );
    expect(await answerOf(await patch(body, { authorization: 'Bearer nope' }))).toEqual(
      refused(401, 'Wrong token'),
    );
    expect(await answerOf(await patch(body, {}, '?token=nope'))).toEqual(refused(401, 'Wrong token'));
    // The token is judged before the body.
    expect(await answerOf(await patch('{pc_id', { authorization: 'Bearer nope' }))).toEqual(
      refused(401, 'Wrong token'),
    );
  });
});

/** The body of a 200 answer. */
interface Answer {
  sdp: string;
  type: 'answer';
  pc_id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Passes the route's checks but not the WebRTC stack's: `createAnswer` fails. */
const WRTC_REFUSES = OFFER_SDP.replace('a=mid:0', 'a=mid:7');
const WRTC_REFUSAL = refused(
  400,
  "SDP refused: Failed to set remote offer sdp: A BUNDLE group contains a MID='0' matching no m= section.",
);

/** The connection's wire ends (ICE failed) while the session is being started on it. */
const failWire = (transport: RtviTransport) =>
  ((transport as SmallWebRtcTransport).peer as unknown as { end(reason: string): void }).end('failed');

describe('SmallWebRTC offers answered (a server peer connection, no client)', () => {
  const xff = { 'x-forwarded-for': '198.51.100.7' };
  const gated = () => {
    const gate = new ClientGate({ connectBurst: 10, connectsPerMinute: 60, maxSessionsPerClient: 3 });
    return { gate, config: { ...baseConfig(), trustProxy: true } };
  };

  it('answers with every server candidate, keeps the connection and its session under the pc_id; closeAll ends both', async () => {
    const { gate, config } = gated();
    const { post, routes, started, stand, logged } = routesOn({ gate, config });
    const res = await post(offer({ requestData: { mode: 'stream' } }), xff);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Answer;
    expect(answer).toEqual({
      sdp: expect.stringMatching(/^v=0\r\n/),
      type: 'answer',
      pc_id: expect.stringMatching(UUID),
    });
    expect(answer.sdp).toMatch(/\r\na=candidate:/);
    const transport = routes.get(answer.pc_id);
    expect(transport?.pcId).toBe(answer.pc_id);
    expect(routes.size).toBe(1);
    expect(routes.session(answer.pc_id)).toBe(stand.session);
    // The session runs on that transport, with the profile requestData picked.
    expect(started).toEqual([{ transport, profile: resolveProfile(config, { mode: 'stream' }) }]);
    expect(gate.sessionsOf('198.51.100.7')).toBe(1);
    expect(logged).toEqual([{ level: 'info', message: `webrtc: ${answer.pc_id} answered (1 open)` }]);

    await routes.closeAll();
    expect(stand.closes).toEqual(['server_shutdown']);
    expect(transport?.closed).toBe(true);
    expect(routes.size).toBe(0);
    expect(routes.get(answer.pc_id)).toBeUndefined();
    expect(routes.session(answer.pc_id)).toBeUndefined();
    expect(gate.sessionsOf('198.51.100.7')).toBe(0);
    expect(logged.at(-1)).toEqual({ level: 'info', message: `webrtc: ${answer.pc_id} closed (0 open)` });
  });

  it('closeAll passes its reason to every session', async () => {
    const { post, routes, stand } = routesOn();
    expect((await post(offer())).status).toBe(200);
    await routes.closeAll('maintenance');
    expect(stand.closes).toEqual(['maintenance']);
  });

  it('an offer being answered holds a place: a second one at the same time is over maxPeers = 1', async () => {
    const { post, routes } = routesOn({ maxPeers: 1 });
    const [first, second] = await Promise.all([post(offer()), post(offer())]);
    expect(first.status).toBe(200);
    expect(await answerOf(second)).toEqual(refused(503, 'Too many connections (1); try again later', '5'));
    expect(routes.size).toBe(1);
  });

  it('an offer the WebRTC stack refuses: 400, its place and the client slot given back', async () => {
    const { gate, config } = gated();
    const { post, routes, started } = routesOn({ gate, config });
    const res = await answerOf(await post(offer({ sdp: WRTC_REFUSES }), xff));
    expect(res).toEqual(WRTC_REFUSAL);
    expect(routes.size).toBe(0);
    expect(gate.sessionsOf('198.51.100.7')).toBe(0);
    expect(started).toEqual([]);
  });

  it.each<[string, unknown, number, string, string]>([
    ['an error', new Error('boom'), 500, 'The session could not start', 'boom'],
    ['a value that is not an Error', 'no models', 500, 'The session could not start', 'no models'],
    [
      'a configuration error',
      new ConfigError('invalid_config', 'No model "x"'),
      400,
      'No model "x"',
      'No model "x"',
    ],
  ])(
    'a session that fails to start (%s): answered, its connection closed and its slot given back',
    async (_what, thrown, status, info, logged) => {
      const { gate, config } = gated();
      const seen: SmallWebRtcTransport[] = [];
      const routes = routesOn({
        gate,
        config,
        createSession: (transport) => {
          seen.push(transport as SmallWebRtcTransport);
          throw thrown;
        },
      });
      expect(await answerOf(await routes.post(offer(), xff))).toEqual(refused(status, info));
      const [transport] = seen;
      expect(transport?.closed).toBe(true);
      expect(routes.routes.session(transport!.pcId)).toBeUndefined();
      await transport!.released;
      expect(routes.routes.size).toBe(0);
      expect(routes.routes.get(transport!.pcId)).toBeUndefined();
      expect(gate.sessionsOf('198.51.100.7')).toBe(0);
      expect(routes.logged).toEqual([
        { level: 'error', message: `webrtc: session for ${transport!.pcId} failed to start: ${logged}` },
        { level: 'info', message: `webrtc: ${transport!.pcId} closed (0 open)` },
      ]);
    },
  );

  it('a session that closes its transport as it starts is not kept for the pc_id', async () => {
    const stand = standIn();
    const { post, routes } = routesOn({
      createSession: (transport) => {
        transport.close();
        return stand.session;
      },
    });
    const res = await post(offer());
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    expect(routes.session(pc_id)).toBeUndefined();
  });

  it('a connection whose wire fails while its session starts: neither it nor its session is kept', async () => {
    const stand = standIn();
    const { post, routes } = routesOn({
      createSession: (transport) => {
        failWire(transport);
        return stand.session;
      },
    });
    const res = await post(offer());
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    expect(routes.session(pc_id)).toBeUndefined();
    expect(routes.get(pc_id)).toBeUndefined();
    expect(routes.size).toBe(0);
  });

  it('a connection whose chat channel does not open within connectTimeoutMs is dropped', async () => {
    const { post, routes, logged } = routesOn({ connectTimeoutMs: 1 });
    const res = await post(offer());
    const { pc_id } = (await res.json()) as Answer;
    await expect.poll(() => routes.size, { timeout: 4000 }).toBe(0);
    expect(routes.get(pc_id)).toBeUndefined();
    expect(logged.at(-1)).toEqual({ level: 'info', message: `webrtc: ${pc_id} closed (0 open)` });
  });

  it('without createSession, an RTVI session of its own starts, listed in the registry', async () => {
    const registry = new SessionRegistry();
    const { post, routes } = routesOn({ createSession: undefined, registry });
    const res = await post(offer());
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    const session = routes.session(pc_id);
    expect(session?.state).toBe('waiting');
    expect(registry.liveIds()).toEqual([session?.id]);
    expect(registry.get(session!.id)).toMatchObject({ transport: 'small-webrtc', mode: 'agent' });
    await routes.closeAll();
    expect(await session?.closed).toBe('server_shutdown');
    expect(registry.get(session!.id)?.closeReason).toBe('server_shutdown');
  });
});

describe('SmallWebRTC offers that resume a session (a one-time token carrying a redeemed handle)', () => {
  const resuming = () => {
    const tokens = new ConnectTokens();
    const token = tokens.issue(resolveProfile(baseConfig()), {}, { sessionId: 'sess-1', handle: 'handle-1' });
    return { tokens, body: offer({ requestData: { token } }) };
  };

  it('attaches the connection to the waiting session: the answer, the session kept under the pc_id', async () => {
    const { tokens, body } = resuming();
    const back = standIn('sess-1');
    const attached: unknown[][] = [];
    const { post, routes, started, logged } = routesOn({
      tokens,
      resume: {
        attach: (...args: unknown[]) => {
          attached.push(args);
          return back.session;
        },
      } as WebRtcRoutesDeps['resume'],
    });
    const res = await post(body);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ type: 'answer', pc_id: expect.stringMatching(UUID) });
    expect(attached).toEqual([['sess-1', routes.get(answer.pc_id), 'handle-1']]);
    expect(routes.session(answer.pc_id)).toBe(back.session);
    expect(started).toEqual([]);
    expect(logged).toEqual([{ level: 'info', message: `session sess-1 resumed (webrtc ${answer.pc_id})` }]);
    await routes.closeAll();
    expect(back.closes).toEqual(['server_shutdown']);
  });

  it('a session that closes the connection as it attaches is not kept', async () => {
    const { tokens, body } = resuming();
    const back = standIn('sess-1');
    const { post, routes } = routesOn({
      tokens,
      resume: {
        attach: (_id: string, transport: RtviTransport) => {
          transport.close();
          return back.session;
        },
      } as WebRtcRoutesDeps['resume'],
    });
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(routes.session(((await res.json()) as Answer).pc_id)).toBeUndefined();
  });

  it('a connection whose wire fails as it attaches: neither it nor the session is kept', async () => {
    const { tokens, body } = resuming();
    const back = standIn('sess-1');
    const { post, routes } = routesOn({
      tokens,
      resume: {
        attach: (_id: string, transport: RtviTransport) => {
          failWire(transport);
          return back.session;
        },
      } as WebRtcRoutesDeps['resume'],
    });
    const res = await post(body);
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    expect(routes.session(pc_id)).toBeUndefined();
    expect(routes.size).toBe(0);
  });

  it.each<[string, WebRtcRoutesDeps['resume'] | undefined, number, Record<string, string>]>([
    [
      'resume is off on this server',
      undefined,
      410,
      { info: 'Cannot resume the session: Resume is off on this server', code: 'resume_gone' },
    ],
    [
      'the handle was used meanwhile',
      {
        attach: () => {
          throw new ResumeError('resume_used', 'That handle was used already');
        },
      },
      409,
      { info: 'Cannot resume the session: That handle was used already', code: 'resume_used' },
    ],
    [
      'attaching fails',
      {
        attach: () => {
          throw new Error('store unavailable');
        },
      },
      410,
      { info: 'Cannot resume the session: store unavailable', code: 'resume_gone' },
    ],
  ])('refused when %s: the connection closed, no session started', async (_what, resume, status, body) => {
    const { tokens, body: request } = resuming();
    const seen: SmallWebRtcTransport[] = [];
    const { post, routes, started } = routesOn({
      tokens,
      ...(resume
        ? {
            resume: {
              attach: (id, transport, handle) => {
                seen.push(transport as SmallWebRtcTransport);
                return resume.attach(id, transport, handle);
              },
            },
          }
        : {}),
    });
    const res = await post(request);
    expect({ status: res.status, body: await res.json() }).toEqual({ status, body });
    expect(started).toEqual([]);
    if (resume) expect(seen[0]?.closed).toBe(true);
    await routes.closeAll();
    expect(routes.size).toBe(0);
  });
});

describe('SmallWebRTC re-offers for a live pc_id', () => {
  /** One answered connection; its pc_id and transport. */
  const live = async () => {
    const r = routesOn();
    const res = await r.post(offer());
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    return { ...r, pcId: pc_id, transport: routes(r, pc_id) };
  };
  const routes = (r: ReturnType<typeof routesOn>, pcId: string) => r.routes.get(pcId)!;

  it('restart_pc false renegotiates the same peer: same pc_id, no new session', async () => {
    const r = await live();
    const peer = r.transport.peer;
    const res = await r.post(offer({ pc_id: r.pcId, restart_pc: false }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sdp: expect.stringMatching(/^v=0\r\n/),
      type: 'answer',
      pc_id: r.pcId,
    });
    expect(r.routes.get(r.pcId)).toBe(r.transport);
    expect(r.transport.peer).toBe(peer);
    expect(r.routes.size).toBe(1);
    expect(r.started).toHaveLength(1);
  });

  it('restart_pc true: a new peer connection under the same pc_id and transport, the old one closed', async () => {
    const r = await live();
    const old = r.transport.peer;
    const res = await r.post(offer({ pc_id: r.pcId, restart_pc: true }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sdp: expect.stringMatching(/^v=0\r\n/),
      type: 'answer',
      pc_id: r.pcId,
    });
    expect(r.routes.get(r.pcId)).toBe(r.transport);
    expect(r.transport.peer).not.toBe(old);
    expect(r.transport.peer.pcId).toBe(r.pcId);
    expect(old.connectionState).toBe('closed');
    expect(r.routes.size).toBe(1);
    expect(r.started).toHaveLength(1);
    expect(r.logged.at(-1)).toEqual({
      level: 'info',
      message: `webrtc: ${r.pcId} restarted its peer connection`,
    });
  });

  it.each<[boolean, string]>([
    // The same peer: its previous offer's m-lines were 0 and 1.
    [
      false,
      "Failed to set remote offer sdp: The order of m-lines in subsequent offer doesn't match order from previous offer/answer.",
    ],
    [true, "Failed to set remote offer sdp: A BUNDLE group contains a MID='0' matching no m= section."],
  ])(
    'an SDP the WebRTC stack refuses (restart_pc %s): 400, the connection keeps its peer',
    async (restart, why) => {
      const r = await live();
      const peer = r.transport.peer;
      const res = await answerOf(
        await r.post(offer({ sdp: WRTC_REFUSES, pc_id: r.pcId, restart_pc: restart })),
      );
      expect(res).toEqual(refused(400, `SDP refused: ${why}`));
      expect(r.transport.peer).toBe(peer);
      expect(r.transport.closed).toBe(false);
      expect(r.routes.size).toBe(1);
    },
  );

  it('a pc_id no live connection has: a new connection with a pc_id of its own', async () => {
    const r = routesOn();
    const res = await r.post(offer({ pc_id: 'gone-1', restart_pc: true }));
    expect(res.status).toBe(200);
    const { pc_id } = (await res.json()) as Answer;
    expect(pc_id).toMatch(UUID);
    expect(r.routes.get('gone-1')).toBeUndefined();
    expect(r.started).toHaveLength(1);
  });
});

describe('SmallWebRTC candidates for a live connection', () => {
  it('are added to its peer connection (empty ones skipped): 200 with the count added', async () => {
    const r = routesOn();
    const { pc_id } = (await (await r.post(offer())).json()) as Answer;
    const res = await r.patch({
      pc_id,
      candidates: [
        {
          candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
          sdp_mid: '0',
          sdp_mline_index: 0,
        },
        { candidate: '', sdp_mid: '0', sdp_mline_index: 0 },
      ],
    });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 200,
      body: { status: 'success', added: 1 },
    });
  });

  it('of a connection that has closed: 404', async () => {
    const r = routesOn();
    const { pc_id } = (await (await r.post(offer())).json()) as Answer;
    await r.routes.closeAll();
    expect(await answerOf(await r.patch({ pc_id, candidates: [] }))).toEqual(
      refused(404, `No peer connection "${pc_id}"`),
    );
  });
});

describe('SmallWebRTC restart_pc racing the connection closing', () => {
  it('a connection that closes while its new peer connection is answered: 404, the new one closed', async () => {
    const r = routesOn();
    const { pc_id } = (await (await r.post(offer())).json()) as Answer;
    const transport = r.routes.get(pc_id)!;
    const old = transport.peer;
    const answer = SmallWebRtcPeer.prototype.createAnswer;
    const made: SmallWebRtcPeer[] = [];
    const spy = vi.spyOn(SmallWebRtcPeer.prototype, 'createAnswer').mockImplementationOnce(async function (
      this: SmallWebRtcPeer,
      sdp,
    ) {
      made.push(this);
      const result = await answer.call(this, sdp);
      transport.close(); // the client went away meanwhile
      return result;
    });
    try {
      expect(await answerOf(await r.post(offer({ pc_id, restart_pc: true })))).toEqual(
        refused(404, `No peer connection "${pc_id}"`),
      );
    } finally {
      spy.mockRestore();
    }
    expect(made).toHaveLength(1);
    expect(made[0]).not.toBe(old);
    expect(made[0]?.connectionState).toBe('closed');
    expect(transport.peer).toBe(old);
  });
});
