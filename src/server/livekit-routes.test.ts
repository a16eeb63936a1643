/**
 * LiveKit routes on a real server (127.0.0.1:0) with raw clients: `connection-details` (CORS, auth,
 * configuration), and every refusal of the `/rtc/v1` upgrade before a session starts; then, on a
 * joined socket, bad signal messages, the ICE timeout, and bad or flooding data from a wrtc peer.
 */
import * as proto from '@livekit/protocol';
import wrtc from '@roamhq/wrtc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, until } from '../../test/e2e/helpers.ts';
import { joinParam, joinWithPeer as joinPeer, openSignal } from '../../test/e2e/livekit-signal.ts';
import type { EventMap } from '../bus/events.ts';
import { closePeerConnection } from '../transports/close-peer-connection.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from './livekit-routes.ts';
import type { RunningServer } from './server.ts';

const keys = { apiKey: 'APIunit', apiSecret: 'unit-secret-0123456789-0123456789' };
/** Long enough for a socket test to finish on a loaded machine before its room gives up on ICE. */
const ICE_TIMEOUT_MS = 4000;

describe('LiveKit routes', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  const cleanups: Array<() => void> = [];
  const token = (
    room: string,
    identity = 'alice',
    extra: Partial<Parameters<typeof mintLiveKitToken>[1]> = {},
  ) => mintLiveKitToken(keys, { ...extra, identity, room });

  beforeAll(async () => {
    server = await startTestServer({
      env: { COLLOQUY_AUTH_TOKEN: 'bearer-secret', COLLOQUY_ALLOWED_ORIGINS: 'http://page.example' },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys,
          room: { iceTimeoutMs: ICE_TIMEOUT_MS, resumeWindowMs: 400 },
        });
      },
    });
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  afterAll(async () => {
    await routes?.closeAll();
    await server?.close();
  });

  const details = (
    body: unknown,
    headers: Record<string, string> = { authorization: 'Bearer bearer-secret' },
  ) =>
    fetch(`${server.url}/livekit/connection-details`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://page.example', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('POST /livekit/connection-details', () => {
    it('answers the CORS preflight for a page on another origin', async () => {
      const res = await fetch(`${server.url}/livekit/connection-details`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://page.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://page.example');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/content-type/);
      expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    });

    it('issues a LiveKit token for a new room, for the configuration asked for', async () => {
      const res = await details({ config: 'stream', participant_name: 'Ada' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://page.example');
      const body = (await res.json()) as Record<string, string>;
      expect(body).toEqual({
        serverUrl: server.url.replace(/^http/, 'ws'),
        roomName: expect.stringMatching(/^colloquy-[0-9a-f]{16}$/),
        participantName: 'Ada',
        participantToken: expect.any(String),
      });
      const claims = JSON.parse(Buffer.from(body.participantToken.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({
        iss: keys.apiKey,
        name: 'Ada',
        sub: expect.stringMatching(/^user-/),
        video: {
          roomJoin: true,
          room: body.roomName,
          canPublish: true,
          canSubscribe: true,
          canPublishData: true,
        },
      });
      // Valid from now for 15 minutes (the default lifetime).
      expect(claims.exp - claims.nbf).toBe(15 * 60);
    });

    it.each([
      ['no Bearer token', {}, {}, 401],
      ['a wrong Bearer token', {}, { authorization: 'Bearer nope' }, 401],
      ['an unknown configuration', { config: 'nope' }, undefined, 400],
      ['an unknown agent', { agent: 'nope' }, undefined, 400],
      ['a body that is not JSON', '{not json', undefined, 400],
      ['a JSON array body', '[1]', undefined, 400],
      ['a huge body', JSON.stringify({ pad: 'x'.repeat(20_000) }), undefined, 413],
    ])('refuses %s', async (_name, body, headers, status) => {
      const res = await details(body, headers as Record<string, string> | undefined);
      expect(res.status).toBe(status);
      const reply = (await res.json()) as Record<string, unknown>;
      expect(reply.info).toEqual(expect.any(String));
      // JSON refused by the bounded parser names its kind; other refusals carry only `info`.
      expect(Object.keys(reply).filter((k) => k !== 'info' && k !== 'code')).toEqual([]);
    });

    it('a body with two problems: the first is named', async () => {
      const res = await details({ mode: 'nope', user_id: 5 });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        info: 'Invalid request: mode: Invalid option: expected one of "agent"|"stream"',
      });
    });

    it('refuses deep JSON with a typed code, before anything walks it', async () => {
      const deep = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;
      const res = await details(deep);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        info: 'Request body JSON is nested deeper than 8 levels',
        code: 'json_too_deep',
      });
      const malformed = await details('{not json');
      expect(await malformed.json()).toEqual({
        info: 'Request body must be a JSON object',
        code: 'json_malformed',
      });
    });
  });

  describe('/rtc/v1 upgrade refusals (before any session starts)', () => {
    const goodJoin = () => joinParam(new proto.JoinRequest({}));
    it.each([
      ['no token', () => ({ join_request: goodJoin() }), 401],
      [
        'a forged token',
        () => ({
          access_token: mintLiveKitToken({ ...keys, apiSecret: 'x' }, { identity: 'a', room: 'r' }),
          join_request: goodJoin(),
        }),
        401,
      ],
      [
        'an expired token',
        () => ({
          access_token: token('r', 'a', {
            identity: 'a',
            room: 'r',
            ttlMs: 1000,
            nowMs: Date.now() - 60_000,
          }),
          join_request: goodJoin(),
        }),
        401,
      ],
      ['no join_request', () => ({ access_token: token('r') }), 400],
      [
        'a join_request that is not base64url',
        () => ({ access_token: token('r'), join_request: '%%%***' }),
        400,
      ],
      [
        'a join_request that is not protobuf',
        () => ({
          access_token: token('r'),
          join_request: Buffer.from('hello world, not protobuf at all').toString('base64url'),
        }),
        400,
      ],
      [
        'a join_request claiming gzip that is not',
        () => ({
          access_token: token('r'),
          join_request: Buffer.from(
            new proto.WrappedJoinRequest({
              compression: proto.WrappedJoinRequest_Compression.GZIP,
              joinRequest: new Uint8Array([1, 2, 3, 4]),
            }).toBinary(),
          ).toString('base64url'),
        }),
        400,
      ],
      [
        'a resume of a room that does not exist',
        () => ({
          access_token: token('ghost'),
          join_request: joinParam(new proto.JoinRequest({ reconnect: true })),
        }),
        404,
      ],
    ])('refuses %s', async (_name, query, status) => {
      const before = server.context.registry.activeCount;
      expect(await openSignal(server.url, query())).toBe(status);
      expect(server.context.registry.activeCount).toBe(before);
      expect(routes.size).toBe(0);
    });
  });

  /** A wrtc client that joins `room` with a publisher offer and a `_reliable` data channel, ICE connected. */
  const joinWithPeer = async (room: string) => {
    const joined = await joinPeer(server.url, token(room));
    cleanups.push(() => joined.close());
    // The answer puts the agent's track in a stream named `<agent sid>|<track sid>`.
    const answer = (await joined.signal.next('answer')).message.value as proto.SessionDescription;
    expect(answer.id).toBe(1);
    expect(answer.sdp).toMatch(/a=msid:PA_[^ |]+\|TR_/);
    return joined;
  };

  describe('a joined socket', () => {
    it('joins (agent in otherParticipants), ignores undecodable and unknown messages, answers pings', async () => {
      const signal = await openSignal(server.url, {
        access_token: token('room-ping'),
        join_request: joinParam(new proto.JoinRequest({ metadata: 'm' }), false),
      });
      if (typeof signal === 'number') throw new Error(`refused ${signal}`);
      cleanups.push(() => signal.ws.close());
      const join = (await signal.next('join')).message.value as proto.JoinResponse;
      expect(join.participant).toMatchObject({
        identity: 'alice',
        permission: { canPublish: true, canPublishData: true },
      });
      expect(join.otherParticipants).toHaveLength(1);
      expect(join.otherParticipants[0]).toMatchObject({
        identity: 'concierge', // the demo configuration's first agent
        kind: proto.ParticipantInfo_Kind.AGENT,
        tracks: [
          {
            type: proto.TrackType.AUDIO,
            source: proto.TrackSource.MICROPHONE,
            sid: expect.stringMatching(/^TR_/),
          },
        ],
      });
      expect(join.serverInfo?.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(join.pingInterval).toBeGreaterThan(0);
      // Garbage, an empty message and a message kind the server does not serve: logged, ignored.
      signal.ws.send(Buffer.from([0xff, 0xff, 0xff, 0x0f]));
      signal.send(new proto.SignalRequest({}));
      signal.send(
        new proto.SignalRequest({ message: { case: 'simulate', value: new proto.SimulateScenario({}) } }),
      );
      signal.send(
        new proto.SignalRequest({ message: { case: 'pingReq', value: new proto.Ping({ timestamp: 42n }) } }),
      );
      const pong = (await signal.next('pongResp')).message.value as proto.Pong;
      expect(pong.lastPingTimestamp).toBe(42n);
      signal.send(new proto.SignalRequest({ message: { case: 'ping', value: 7n } }));
      await signal.next('pong');
      expect(signal.ws.readyState).toBe(WebSocket.OPEN);
      // The room is taken: another identity with a token for it is refused.
      expect(
        await openSignal(server.url, {
          access_token: token('room-ping', 'mallory'),
          join_request: joinParam(new proto.JoinRequest({})),
        }),
      ).toBe(409);
    });

    it('a client that never completes ICE: the room closes at the timeout, the session is cleaned up', async () => {
      // A server of its own with a short ICE timeout (the other tests' rooms must outlive their ICE).
      let iceRoutes!: LiveKitRoutes;
      const iceServer = await startTestServer({
        registerRoutes: (app, ctx) => {
          iceRoutes = registerLiveKitRoutes(app, ctx, { keys, room: { iceTimeoutMs: 500 } });
        },
      });
      const { registry } = iceServer.context;
      const ended = new Promise<string>((resolve) => {
        registry.onChange((change) => {
          if (change.type === 'ended') resolve(change.id);
        });
      });
      try {
        const signal = await openSignal(iceServer.url, {
          access_token: token('room-ice'),
          join_request: joinParam(new proto.JoinRequest({})),
        });
        if (typeof signal === 'number') throw new Error(`refused ${signal}`);
        await signal.next('join');
        const record = registry.get(await ended);
        expect(record?.transport).toBe('livekit');
        expect(record?.closeReason).toBe('ice_timeout');
        const leave = (await signal.next('leave')).message.value as proto.LeaveRequest;
        expect(leave.action).toBe(proto.LeaveRequest_Action.DISCONNECT);
        await signal.closed;
        expect(iceRoutes.room('room-ice')).toBeUndefined();
      } finally {
        await iceRoutes.closeAll();
        await iceServer.close();
      }
    });

    it('an offer the WebRTC stack refuses ends the room instead of hanging', async () => {
      const signal = await openSignal(server.url, {
        access_token: token('room-sdp'),
        join_request: joinParam(
          new proto.JoinRequest({
            publisherOffer: new proto.SessionDescription({
              type: 'offer',
              sdp: 'v=0\r\nm=nonsense\r\n',
              id: 1,
            }),
          }),
        ),
      });
      if (typeof signal === 'number') throw new Error(`refused ${signal}`);
      const leave = (await signal.next('leave')).message.value as proto.LeaveRequest;
      expect(leave.canReconnect).toBe(false);
      await signal.closed;
      expect(signal.received.some((m) => m.message.case === 'answer')).toBe(false);
      expect(routes.room('room-sdp')).toBeUndefined();
    });

    it('a crash-class offer (an unknown media type, which segfaults wrtc) never reaches the WebRTC stack', async () => {
      const signal = await openSignal(server.url, {
        access_token: token('room-crash'),
        join_request: joinParam(new proto.JoinRequest({})),
      });
      if (typeof signal === 'number') throw new Error(`refused ${signal}`);
      cleanups.push(() => signal.ws.close());
      await signal.next('join');
      const errors: Array<{ code: string; message: string }> = [];
      routes
        .session('room-crash')!
        .session.eventBus.subscribe('error', (p) =>
          errors.push({ code: p.error.code, message: p.error.message }),
        );
      const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      const reliable = pc.createDataChannel('_reliable');
      cleanups.push(() => closePeerConnection(pc, [reliable]));
      const offer = await pc.createOffer();
      const crash = offer.sdp!.replace(/^m=application /m, 'm=applicatiox ');
      expect(crash).not.toBe(offer.sdp);
      signal.send(
        new proto.SignalRequest({
          message: {
            case: 'offer',
            value: new proto.SessionDescription({ type: 'offer', sdp: crash, id: 1 }),
          },
        }),
      );
      // Refused by the allowlist (had wrtc parsed it, this process would have died with a segfault).
      await until('refusal', () => errors.find((e) => e.code === 'livekit_bad_sdp'));
      expect(errors.find((e) => e.code === 'livekit_bad_sdp')?.message).toMatch(/unsupported media line/);
      expect(signal.received.some((m) => m.message.case === 'answer')).toBe(false);
      // A hostile trickle candidate is skipped the same way; the server keeps serving.
      signal.send(
        new proto.SignalRequest({
          message: {
            case: 'trickle',
            value: new proto.TrickleRequest({
              candidateInit: '{"candidate":"candidate:1 1 UDP 1 \\u0000 9 typ host"}',
            }),
          },
        }),
      );
      expect((await details({})).status).toBe(200);
    });

    it('data from the page: JSON becomes client.data, non-JSON an error event, a flood is bounded', async () => {
      const { reliable, signal } = await joinWithPeer('room-data');
      const bus = routes.session('room-data')!.session.eventBus;
      const got: Array<EventMap['client.data']> = [];
      const errors: string[] = [];
      bus.subscribe('client.data', (p) => got.push(p));
      bus.subscribe('error', (p) => errors.push(p.error.code));
      const packet = (payload: string | Uint8Array, topic: string) =>
        new proto.DataPacket({
          kind: proto.DataPacket_Kind.RELIABLE,
          value: {
            case: 'user',
            value: new proto.UserPacket({
              payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
              topic,
            }),
          },
        }).toBinary() as Uint8Array<ArrayBuffer>;
      reliable.send(packet('{"plan":"pro"}', 'custom.choice'));
      reliable.send(packet('not json', 'custom.choice'));
      reliable.send(packet(new Uint8Array([0xc3, 0x28]), 'custom.choice'));
      reliable.send(new Uint8Array([0xff, 0xff, 0xff]));
      await until('client.data', () => (got.length ? got : undefined));
      expect(got[0]).toEqual({
        sessionId: expect.any(String),
        transport: 'livekit',
        topic: 'custom.choice',
        payload: { plan: 'pro' },
      });
      await until('errors', () =>
        errors.filter((c) => c === 'invalid_client_data').length === 2 ? true : undefined,
      );
      // A flood: far more packets than the budget; most are dropped, reported once, nothing queued.
      for (let i = 0; i < 1000; i++) reliable.send(packet(`{"i":${i}}`, 'flood'));
      await until('rate drop reported', () => (errors.includes('livekit_data_rate') ? true : undefined));
      await new Promise((r) => setTimeout(r, 200));
      const flood = got.filter((p) => p.topic === 'flood').length;
      expect(flood).toBeGreaterThan(0);
      expect(flood).toBeLessThan(300);
      expect(errors.filter((c) => c === 'livekit_data_rate')).toHaveLength(1);
      expect(signal.ws.readyState).toBe(WebSocket.OPEN);
      // The malformed packet counts as malformed, not as data.
      expect(errors).toContain('livekit_data_malformed');
    });

    it('a connected client whose connection drops and does not resume in time: fatal transport_lost, transcript kept', async () => {
      const { signal } = await joinWithPeer('room-lost');
      const session = routes.session('room-lost')!;
      const fatal: Array<EventMap['error']> = [];
      session.session.eventBus.subscribe('error', (p) => {
        if (p.severity === 'fatal') fatal.push(p);
      });
      // A short answer (the demo's reply to thanks): the turn is over, spoken, before the socket drops.
      await session.session.sendText('thank you, remember the blue room');
      signal.ws.terminate(); // the signalling socket drops; no resume follows
      expect(await session.closed).toBe('fatal:transport_lost');
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ component: 'transport', severity: 'fatal' });
      expect(fatal[0]!.error).toMatchObject({
        code: 'transport_lost',
        message: 'The livekit connection to the client was lost and did not come back',
      });
      expect(session.session.history[0]).toEqual({
        role: 'user',
        content: 'thank you, remember the blue room',
      });
    });
  });
});
