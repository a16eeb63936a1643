/**
 * What the LiveKit routes answer, request by request. `connection-details` is called through the
 * server's own Hono app (`app.request`: no socket), so a table of bodies is cheap: what a body may be,
 * LiveKit starter apps' `room_config`, the participant name and identity in the token, the bound on
 * pending rooms and how they expire. The `/rtc/v1` upgrade's refusals are read over loopback with their
 * status line and body. Each test builds its server and routes itself (a mutation run switches its
 * mutant on per test: code run in a hook would run before it) and closes them in teardown.
 */
import * as proto from '@livekit/protocol';
import type { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { joinParam, openSignal } from '../../test/e2e/livekit-signal.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import { type LiveKitRoutes, type LiveKitRoutesOptions, registerLiveKitRoutes } from './livekit-routes.ts';
import type { RunningServer } from './server.ts';

const keys = { apiKey: 'APIanswers', apiSecret: 'answers-secret-0123456789-0123456789' };
const token = (room: string, identity = 'alice') => mintLiveKitToken(keys, { identity, room });

const teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const step of teardown.splice(0).reverse()) await step();
});

/** A server with LiveKit routes (two agents, front first); the app to call, the routes. */
async function start(routesOptions: LiveKitRoutesOptions = {}, limits: Record<string, number> = {}) {
  let app!: Hono;
  let routes!: LiveKitRoutes;
  const server: RunningServer = await startTestServer({
    file: {
      agents: [
        { name: 'front', instructions: 'Greet.' },
        { name: 'concierge', instructions: 'Help.' },
      ],
      // Its speech recognition needs a key this server does not have.
      configurations: { broken: { models: { stt: 'deepgram:nova-3' } } },
    },
    // Every request of a table is a session start of the same client: no rate in the way.
    limits: { connectBurst: 10_000, connectsPerMinute: 10_000, ...limits },
    registerRoutes: (a, ctx) => {
      app = a as unknown as Hono;
      routes = registerLiveKitRoutes(a, ctx, { keys, room: { iceTimeoutMs: 60_000 }, ...routesOptions });
    },
  });
  teardown.push(async () => {
    await routes.closeAll();
    await server.close();
  });
  const details = (body: string) =>
    app.request('http://localhost/livekit/connection-details', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  return { server, routes, app, details };
}

/** The claims of a participant token. */
const claimsOf = (participantToken: string) =>
  JSON.parse(Buffer.from(participantToken.split('.')[1]!, 'base64url').toString()) as {
    sub: string;
    name: string;
    video: { room: string };
  };

describe('POST /livekit/connection-details, body by body', () => {
  it.each<[string, string, number, Record<string, unknown> | undefined]>([
    ['an empty body', '', 200, undefined],
    ['a blank body', '  \n ', 200, undefined],
    ['null', 'null', 200, undefined],
    ['an empty object', '{}', 200, undefined],
    ['keys it does not read (not judged)', '{"text_only":"yes","resume_handle":5}', 200, undefined],
    ['a number', '5', 400, { info: 'Request body must be a JSON object' }],
    ['a string', '"room"', 400, { info: 'Request body must be a JSON object' }],
    ['an array', '[{}]', 400, { info: 'Request body must be a JSON object' }],
    [
      'JSON cut short',
      '{"config":',
      400,
      { info: 'Request body must be a JSON object', code: 'json_malformed' },
    ],
    ['an unknown configuration', '{"config":"nope"}', 400, { info: 'No configuration named "nope"' }],
    ['an unknown agent', '{"agent":"nope"}', 400, { info: 'No agent named "nope"' }],
    [
      'a user_id with a space',
      '{"user_id":"a b"}',
      400,
      { info: 'Invalid request: user_id: user_id: 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
    ],
    // LiveKit's starter apps name the agent in room_config; an explicit `agent` wins.
    [
      "a starter app's unknown agent",
      '{"room_config":{"agents":[{"agent_name":"nope"}]}}',
      400,
      { info: 'No agent named "nope"' },
    ],
    [
      "a starter app's known agent",
      '{"room_config":{"agents":[{"agent_name":"concierge"}]}}',
      200,
      undefined,
    ],
    [
      'agent next to room_config',
      '{"agent":"front","room_config":{"agents":[{"agent_name":"nope"}]}}',
      200,
      undefined,
    ],
    ['an empty agent_name', '{"room_config":{"agents":[{"agent_name":""}]}}', 200, undefined],
    ['an agent_name that is not a string', '{"room_config":{"agents":[{"agent_name":7}]}}', 200, undefined],
    [
      'room_config agents that are not a list',
      '{"room_config":{"agents":{"agent_name":"nope"}}}',
      200,
      undefined,
    ],
    ['room_config without agents', '{"room_config":{"agents":[]}}', 200, undefined],
  ])('%s: %i', async (_what, body, status, answer) => {
    const { details } = await start();
    const res = await details(body);
    expect(res.status).toBe(status);
    if (answer) expect(await res.json()).toEqual(answer);
  });

  it('a body up to 16 KiB is read; one character more is 413', async () => {
    const { details } = await start();
    const padded = (chars: number) => `{"pad":"${'x'.repeat(chars - 10)}"}`;
    expect(padded(16 * 1024)).toHaveLength(16 * 1024);
    expect((await details(padded(16 * 1024))).status).toBe(200);
    const over = await details(padded(16 * 1024 + 1));
    expect({ status: over.status, body: await over.json() }).toEqual({
      status: 413,
      body: { info: 'Request body too large' },
    });
  });

  it('JSON up to 8 levels deep is read; 9 is refused with its code', async () => {
    const { details } = await start();
    const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect((await details(nested(8))).status).toBe(200);
    const deep = await details(nested(9));
    expect({ status: deep.status, body: await deep.json() }).toEqual({
      status: 400,
      body: { info: 'Request body JSON is nested deeper than 8 levels', code: 'json_too_deep' },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['participant_name, trimmed', { participant_name: '  Ada  ' }, 'Ada'],
    ['participantName', { participantName: 'Grace' }, 'Grace'],
    ['participant_name before participantName', { participant_name: 'Ada', participantName: 'Grace' }, 'Ada'],
    ['128 characters', { participant_name: 'n'.repeat(128) }, 'n'.repeat(128)],
    ['over 128 characters: the default', { participant_name: 'n'.repeat(129) }, 'user'],
    ['blank: the default', { participant_name: '   ' }, 'user'],
    ['not a string: the default', { participant_name: 42 }, 'user'],
    ['none: the default', {}, 'user'],
  ])('the participant name from %s', async (_what, body, name) => {
    const { details } = await start();
    const res = await details(JSON.stringify(body));
    const answer = (await res.json()) as { participantName: string; participantToken: string };
    expect(answer.participantName).toBe(name);
    expect(claimsOf(answer.participantToken).name).toBe(name);
  });

  it("the participant's identity is the user_id asked for, else a fresh one", async () => {
    const { details } = await start();
    const mine = (await (await details('{"user_id":"user-7"}')).json()) as { participantToken: string };
    expect(claimsOf(mine.participantToken).sub).toBe('user-7');
    const a = (await (await details('{}')).json()) as { participantToken: string; roomName: string };
    const b = (await (await details('{}')).json()) as { participantToken: string; roomName: string };
    expect(claimsOf(a.participantToken).sub).toMatch(/^user-[0-9a-f]{12}$/);
    expect(claimsOf(a.participantToken).sub).not.toBe(claimsOf(b.participantToken).sub);
    expect(a.roomName).not.toBe(b.roomName);
    expect(claimsOf(a.participantToken).video.room).toBe(a.roomName);
  });

  it('at most 1000 rooms wait for their client; they stop waiting when their token expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 });
    const { details } = await start({ tokenTtlMs: 60_000 });
    for (let i = 0; i < 1000; i++) {
      const res = await details('{}');
      if (res.status !== 200) throw new Error(`reservation ${i + 1}: ${res.status}`);
    }
    const full = await details('{}');
    expect({ status: full.status, body: await full.json() }).toEqual({
      status: 503,
      body: { info: 'Too many pending rooms' },
    });
    // Still waiting at the last millisecond of their tokens' lifetime; gone after it.
    vi.setSystemTime(1_700_000_000_000 + 60_000);
    expect((await details('{}')).status).toBe(503);
    vi.setSystemTime(1_700_000_000_000 + 60_001);
    expect((await details('{}')).status).toBe(200);
  });
});

describe('/rtc/v1 without an upgrade, and /rtc/v1/validate', () => {
  it('a plain GET of the signalling path: 426', async () => {
    const { app } = await start();
    const res = await app.request('http://localhost/rtc/v1');
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 426,
      body: { info: 'Upgrade to WebSocket (LiveKit signalling)' },
    });
  });
});

/** The answer to an upgrade the server refuses: status line and body. */
function refusal(origin: string, query: Record<string, string>) {
  const url = new URL('/rtc/v1', origin.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url);
  teardown.push(() => ws.terminate());
  return new Promise<{ status: number; text: string; body: unknown }>((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was taken')));
    ws.once('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: res.statusMessage ?? '', body: JSON.parse(text) }),
      );
    });
  });
}

const line = (status: number, text: string) => ({ status, text, body: { info: text } });

describe('/rtc/v1 upgrades refused: status line and body', () => {
  const join = () => joinParam(new proto.JoinRequest({}));

  it.each<[string, () => Record<string, string>, ReturnType<typeof line>]>([
    ['no token', () => ({ join_request: join() }), line(401, 'Unauthorized')],
    ['no join_request', () => ({ access_token: token('r') }), line(400, 'Bad Request')],
    [
      'a join_request that is not one',
      () => ({ access_token: token('r'), join_request: '%%%' }),
      line(400, 'Bad Request'),
    ],
    [
      'a reconnect to no open room',
      () => ({
        access_token: token('r'),
        join_request: joinParam(new proto.JoinRequest({ reconnect: true })),
      }),
      line(404, 'Not Found'),
    ],
  ])('%s', async (_what, query, answer) => {
    const { server, routes } = await start();
    expect(await refusal(server.url, query())).toEqual(answer);
    expect(routes.size).toBe(0);
  });

  it('no room left (maxRooms): 503', async () => {
    const { server, routes } = await start({ maxRooms: 0 });
    expect(await refusal(server.url, { access_token: token('r'), join_request: join() })).toEqual(
      line(503, 'Service Unavailable'),
    );
    expect(routes.size).toBe(0);
  });

  it("another participant in an open room: 409; the room's own user may join again", async () => {
    const { server, routes } = await start();
    const alice = await openSignal(server.url, { access_token: token('room-a'), join_request: join() });
    if (typeof alice === 'number') throw new Error(`join refused: ${alice}`);
    teardown.push(() => alice.ws.terminate());
    await alice.next('join');
    expect(
      await refusal(server.url, { access_token: token('room-a', 'mallory'), join_request: join() }),
    ).toEqual(line(409, 'Conflict'));
    expect(routes.size).toBe(1);
    expect(routes.room('room-a')?.userIdentity).toBe('alice');
  });
});

describe('/rtc/v1 joins: the room as the token and the reservation say', () => {
  /** Joins with `accessToken` (signalling only); the join response. */
  const enter = async (server: RunningServer, accessToken: string) => {
    const signal = await openSignal(server.url, {
      access_token: accessToken,
      join_request: joinParam(new proto.JoinRequest({})),
    });
    if (typeof signal === 'number') throw new Error(`join refused: ${signal}`);
    teardown.push(() => signal.ws.terminate());
    return (await signal.next('join')).message.value as proto.JoinResponse;
  };
  const permission = (p: proto.ParticipantInfo | undefined) => ({
    canPublish: p?.permission?.canPublish,
    canSubscribe: p?.permission?.canSubscribe,
    canPublishData: p?.permission?.canPublishData,
  });

  it.each<[string, Record<string, boolean>, Record<string, boolean>]>([
    ['everything', {}, { canPublish: true, canSubscribe: true, canPublishData: true }],
    ['no publishing', { canPublish: false }, { canPublish: false, canSubscribe: true, canPublishData: true }],
    [
      'no subscribing',
      { canSubscribe: false },
      { canPublish: true, canSubscribe: false, canPublishData: true },
    ],
    ['no data', { canPublishData: false }, { canPublish: true, canSubscribe: true, canPublishData: false }],
  ])('a token granting %s: the participant is permitted so', async (_what, grant, expected) => {
    const { server } = await start();
    const response = await enter(
      server,
      mintLiveKitToken(keys, { identity: 'alice', room: 'room-p', grant }),
    );
    expect(permission(response.participant)).toEqual(expected);
  });

  it("the participant is the token's name (else its identity); the agent is the profile's first", async () => {
    const { server } = await start();
    const named = await enter(
      server,
      mintLiveKitToken(keys, { identity: 'alice', name: 'Ada', room: 'room-n' }),
    );
    expect([named.participant?.identity, named.participant?.name]).toEqual(['alice', 'Ada']);
    expect(named.otherParticipants.map((p) => [p.identity, p.name])).toEqual([['front', 'front']]);
    const unnamed = await enter(server, mintLiveKitToken(keys, { identity: 'bob', room: 'room-u' }));
    expect([unnamed.participant?.identity, unnamed.participant?.name]).toEqual(['bob', 'bob']);
  });

  it('a room reserved by connection-details starts with the agent asked for there', async () => {
    const { server, details, routes } = await start();
    const answer = (await (await details('{"agent":"concierge","participant_name":"Ada"}')).json()) as {
      roomName: string;
      participantToken: string;
    };
    const response = await enter(server, answer.participantToken);
    expect(response.room?.name).toBe(answer.roomName);
    expect(response.participant?.name).toBe('Ada');
    expect(response.otherParticipants.map((p) => p.identity)).toEqual(['concierge']);
    expect(routes.session(answer.roomName)?.session.currentAgent).toBe('concierge');
  });
});

describe('/rtc/v1: per-client limits and the client-driven resume', () => {
  const join = () => joinParam(new proto.JoinRequest({}));

  it('a client holding its share of sessions: 429 too_many_sessions with retry-after, no room opened', async () => {
    const { server, routes } = await start({}, { maxSessionsPerClient: 1 });
    const first = await openSignal(server.url, { access_token: token('room-1'), join_request: join() });
    if (typeof first === 'number') throw new Error(`join refused: ${first}`);
    teardown.push(() => first.ws.terminate());
    await first.next('join');
    expect(await refusal(server.url, { access_token: token('room-2'), join_request: join() })).toEqual({
      status: 429,
      text: 'Too Many Requests',
      body: { info: 'Too many sessions from your address (1); end one first', code: 'too_many_sessions' },
    });
    expect(routes.size).toBe(1);
  });

  it('a client over its rate: 429 rate_limited, before its token is read', async () => {
    const { server } = await start({}, { connectBurst: 1, connectsPerMinute: 1 });
    expect((await refusal(server.url, { join_request: join() })).status).toBe(401);
    expect(await refusal(server.url, { join_request: join() })).toEqual({
      status: 429,
      text: 'Too Many Requests',
      body: {
        info: expect.stringMatching(/^Too many session starts from your address/),
        code: 'rate_limited',
      },
    });
  });

  it("a reconnect naming the room's participant resumes its session (session.resume with the participant sid)", async () => {
    const { server, routes } = await start();
    const first = await openSignal(server.url, { access_token: token('room-r'), join_request: join() });
    if (typeof first === 'number') throw new Error(`join refused: ${first}`);
    teardown.push(() => first.ws.terminate());
    const sid = ((await first.next('join')).message.value as proto.JoinResponse).participant!.sid;
    const session = routes.session('room-r')!;
    const resumed: unknown[] = [];
    session.session.eventBus.subscribe('session.resume', (p) => resumed.push(p));
    const back = await openSignal(server.url, {
      access_token: token('room-r'),
      join_request: joinParam(new proto.JoinRequest({ reconnect: true, participantSid: sid })),
    });
    if (typeof back === 'number') throw new Error(`reconnect refused: ${back}`);
    teardown.push(() => back.ws.terminate());
    await back.next('reconnect');
    expect(resumed).toEqual([{ sessionId: session.id, handle: sid }]);
    expect(routes.session('room-r')).toBe(session);
  });
});

describe('connection-details: the per-client rate, and profiles that cannot be built', () => {
  it('a client over its rate: 429 rate_limited with retry-after, no room reserved', async () => {
    const { details } = await start({}, { connectBurst: 1, connectsPerMinute: 1 });
    expect((await details('{}')).status).toBe(200);
    const limited = await details('{}');
    expect({
      status: limited.status,
      retryAfter: limited.headers.get('retry-after'),
      body: await limited.json(),
    }).toEqual({
      status: 429,
      retryAfter: '60',
      body: {
        info: 'Too many session starts from your address (1 per minute); try again in 60 s',
        code: 'rate_limited',
      },
    });
  });

  it("a configuration whose models cannot be built: 500 naming why (not the client's fault)", async () => {
    const { details } = await start();
    const res = await details('{"config":"broken"}');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ info: 'Deepgram STT needs an API key: set DEEPGRAM_API_KEY' });
  });
});

describe('/rtc/v1: the user of an open room joining it again', () => {
  it('is taken into the same room and session', async () => {
    const { server, routes } = await start();
    const join = () => joinParam(new proto.JoinRequest({}));
    const first = await openSignal(server.url, { access_token: token('room-again'), join_request: join() });
    if (typeof first === 'number') throw new Error(`join refused: ${first}`);
    teardown.push(() => first.ws.terminate());
    await first.next('join');
    const session = routes.session('room-again');
    const again = await openSignal(server.url, { access_token: token('room-again'), join_request: join() });
    if (typeof again === 'number') throw new Error(`join refused: ${again}`);
    teardown.push(() => again.ws.terminate());
    const response = (await again.next('join')).message.value as proto.JoinResponse;
    expect(response.room?.name).toBe('room-again');
    expect(routes.size).toBe(1);
    expect(routes.session('room-again')).toBe(session);
  });
});
