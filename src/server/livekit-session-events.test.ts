/**
 * A LiveKit room's session, event by event: how each way a room closes ends the session (reason,
 * events, registry), what data from the page becomes (client.data, a refused answer to a subagent,
 * the errors of bad data), the room's refusals and backlogs, media connecting (once), the session's
 * user and registry entry, and resume snapshots (saved when media connects, dropped when the session
 * ends, kept and the session left waiting when a started session is closed by a server shutdown).
 * The room is a stand-in with the interface the session uses; the models are the offline demo's
 * (energy VAD); the store is a stand-in that records what is written.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stubRoom } from '../../test/support/livekit-room-stub.ts';
import type { BusEvent } from '../bus/events.ts';
import { InvalidInputError, TransportError } from '../errors.ts';
import { type Logger, silentLogger } from '../logger.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import { RTVI_MAX_JSON_DEPTH } from '../surfaces/rtvi/messages.ts';
import type { IncomingData, RoomCloseReason } from '../transports/livekit/room-options.ts';
import { loadServerConfig, resolveProfile, type SessionProfile } from './config.ts';
import { CHAT_TOPIC, createLiveKitSession, liveKitRoomKey } from './livekit-session.ts';
import { SERVER_SHUTDOWN } from './rtvi-session.ts';
import { ModelCache } from './session-factory.ts';
import { SessionRegistry } from './session-registry.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Options {
  profile?: (p: SessionProfile) => SessionProfile;
  store?: boolean;
  resume?: { handleTtlMs: number };
  logger?: Logger;
}

/** A session on a stand-in room ('room-1', user 'guest'); media not connected yet. */
function start(options: Options = {}) {
  const roomCloses: string[] = [];
  const published: Array<{ topic: string | undefined; json: unknown }> = [];
  const { room, handlers } = stubRoom('room-1', {
    close: (reason) => {
      roomCloses.push(reason);
    },
    publishData: (payload, { topic }) => {
      published.push({ topic, json: JSON.parse(new TextDecoder().decode(payload)) });
      return true;
    },
  });
  const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
  const base = resolveProfile(config);
  delete base.greeting;
  const profile = options.profile ? options.profile(base) : base;
  const writes: Array<Record<string, unknown>> = [];
  const store = { enqueue: (w: Record<string, unknown>) => writes.push(w) } as unknown as StoreWriter;
  const registry = new SessionRegistry();
  const lk = createLiveKitSession({
    room,
    profile,
    config,
    logger: options.logger ?? silentLogger,
    models: new ModelCache(config.baseDir),
    registry,
    sessionId: 'lk-events-1',
    ...(options.store ? { store } : {}),
    ...(options.resume ? { resume: options.resume } : {}),
  });
  cleanup.push(() => lk.close('test_done'));
  const events: BusEvent[] = [];
  lk.session.eventBus.subscribeAll((e) => events.push(e));
  const ofType = (type: string) => events.filter((e) => e.type === type).map((e) => e.payload);
  /** The errors published, as [component, severity, code, message]. */
  const errors = () =>
    ofType('error').map((p) => {
      const { component, severity, error } = p as {
        component: string;
        severity: string;
        error: { code: string; message: string };
      };
      return [component, severity, error.code, error.message];
    });
  /** Writes of the resume snapshot and session state (not the transcript's). */
  const resumeWrites = () =>
    writes.filter((w) => ['snapshot.save', 'snapshot.delete', 'session.state'].includes(w.type as string));
  return {
    lk,
    handlers,
    events,
    ofType,
    errors,
    roomCloses,
    published,
    writes,
    resumeWrites,
    registry,
    profile,
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
/** A data packet from the page. */
const packet = (topic: string | undefined, payload: Uint8Array): IncomingData => ({
  type: 'data',
  topic,
  payload,
  reliable: true,
});

describe('LiveKit session: how the room closes is how the session ends', () => {
  it.each<[RoomCloseReason, string]>([
    ['client_left', 'client_disconnected'],
    ['resume_timeout', 'fatal:transport_lost'],
    ['ice_timeout', 'ice_timeout'],
    ['replaced', 'replaced'],
    ['server_closed', 'server_closed'],
    ['server_restarting', SERVER_SHUTDOWN],
    ['protocol_error', 'protocol_error'],
  ])('%s: the session ends with %s', async (roomReason, reason) => {
    const { lk, handlers, ofType, errors, registry, roomCloses } = start();
    handlers.mediaConnected!();
    handlers.closed!(roomReason);
    expect(await lk.closed).toBe(reason);
    expect(ofType('transport.disconnected')).toEqual([
      { sessionId: 'lk-events-1', transport: 'livekit', reason },
    ]);
    expect(registry.get('lk-events-1')?.closeReason).toBe(reason);
    expect(registry.isLive('lk-events-1')).toBe(false);
    // Only a room whose client did not come back in time is a failure of the session.
    expect(errors()).toEqual(
      roomReason === 'resume_timeout'
        ? [
            [
              'transport',
              'fatal',
              'transport_lost',
              'The livekit connection to the client was lost and did not come back',
            ],
          ]
        : [],
    );
    // The room closed itself: it is not closed again.
    expect(roomCloses).toEqual([]);
    // The page's channels are gone with it.
    expect(lk.session.clientChannels.names()).toEqual([]);
  });

  it('close() ends the session with its reason, then closes the room (server_closed); a second close does nothing more', async () => {
    const { lk, handlers, ofType, roomCloses, registry } = start();
    handlers.mediaConnected!();
    await lk.close('admin_closed');
    expect(await lk.closed).toBe('admin_closed');
    expect(ofType('transport.disconnected')).toEqual([
      { sessionId: 'lk-events-1', transport: 'livekit', reason: 'admin_closed' },
    ]);
    expect(roomCloses).toEqual(['server_closed']);
    expect(registry.get('lk-events-1')?.closeReason).toBe('admin_closed');
    // The room then reports its own close: the session has ended already.
    handlers.closed!('server_closed');
    await lk.close('again');
    expect(ofType('transport.disconnected')).toHaveLength(1);
  });

  it('a session whose close fails still ends: the failure is logged as a warning', async () => {
    const warned: unknown[][] = [];
    const logger: Logger = { ...silentLogger, warn: (...args: unknown[]) => warned.push(args) };
    const { lk, registry } = start({ logger });
    const failure = new Error('flush failed');
    vi.spyOn(lk.session, 'close').mockRejectedValueOnce(failure);
    await lk.close('admin_closed');
    expect(await lk.closed).toBe('admin_closed');
    expect(warned).toEqual([['session lk-events-1: close failed', failure]]);
    expect(registry.get('lk-events-1')?.closeReason).toBe('admin_closed');
  });
});

describe('LiveKit session: data from the page', () => {
  it.each<[string, IncomingData, unknown]>([
    [
      'text on a topic of its own',
      { type: 'text', topic: 'my.topic', text: ' as typed ' } as never,
      { sessionId: 'lk-events-1', transport: 'livekit', topic: 'my.topic', payload: ' as typed ' },
    ],
    [
      'JSON bytes on a topic',
      packet('order', bytes('{"id":7,"items":["tea"]}')),
      { sessionId: 'lk-events-1', transport: 'livekit', topic: 'order', payload: { id: 7, items: ['tea'] } },
    ],
    [
      'JSON bytes without a topic',
      packet(undefined, bytes('[1,2]')),
      { sessionId: 'lk-events-1', transport: 'livekit', payload: [1, 2] },
    ],
  ])('%s becomes client.data', (_what, data, payload) => {
    const { handlers, ofType, errors } = start();
    handlers.data!(data, 'guest');
    expect(ofType('client.data')).toEqual([payload]);
    expect(errors()).toEqual([]);
  });

  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  it.each<[string, Uint8Array, string]>([
    [
      'bytes that are not UTF-8',
      new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      'Data from the page must be UTF-8 JSON',
    ],
    ['text that is not JSON', bytes('{"id":'), 'Data from the page must be UTF-8 JSON'],
    [
      'JSON nested too deep',
      bytes(nested(RTVI_MAX_JSON_DEPTH + 1)),
      `Data from the page refused: JSON is nested deeper than ${RTVI_MAX_JSON_DEPTH} levels`,
    ],
  ])('%s: a livekit warning, invalid_client_data, nothing else', (_what, payload, message) => {
    const { handlers, ofType, errors } = start();
    handlers.data!(packet('order', payload), 'guest');
    expect(errors()).toEqual([['livekit', 'warn', 'invalid_client_data', message]]);
    expect(ofType('client.data')).toEqual([]);
  });

  it('JSON at the depth limit is taken', () => {
    const { handlers, ofType, errors } = start();
    handlers.data!(packet('order', bytes(nested(RTVI_MAX_JSON_DEPTH))), 'guest');
    expect(errors()).toEqual([]);
    expect(ofType('client.data')).toHaveLength(1);
  });

  it('an answer to no waiting subagent question: refused on the UI topic and reported', () => {
    const { handlers, published, errors } = start();
    const requestId = 'r'.repeat(100);
    handlers.data!(
      packet('colloquy.subagent.ui.response', bytes(JSON.stringify({ requestId, declined: true }))),
      'guest',
    );
    const message = `No UI request "${'r'.repeat(100)}" in this session`;
    expect(published.filter((p) => p.topic === 'colloquy.subagent.ui')).toEqual([
      {
        topic: 'colloquy.subagent.ui',
        json: { type: 'error', requestId, code: 'ui_request_unknown', message },
      },
    ]);
    expect(errors()).toEqual([['livekit', 'warn', 'ui_request_unknown', message]]);
  });

  it('an answer whose requestId is too long: refused, naming its first 100 characters', () => {
    const { handlers, published } = start();
    const requestId = `${'r'.repeat(100)}${'s'.repeat(50)}`;
    handlers.data!(
      packet('colloquy.subagent.ui.response', bytes(JSON.stringify({ requestId, declined: true }))),
      'guest',
    );
    expect(published.filter((p) => p.topic === 'colloquy.subagent.ui').map((p) => p.json)).toEqual([
      {
        type: 'error',
        requestId: 'r'.repeat(100),
        code: 'ui_invalid_response',
        message: expect.stringMatching(/^Invalid UI response: requestId: /),
      },
    ]);
  });

  it('an answer that is not one: refused without a requestId', () => {
    const { handlers, published, errors } = start();
    handlers.data!(packet('colloquy.subagent.ui.response', bytes('7')), 'guest');
    const refusal = published.filter((p) => p.topic === 'colloquy.subagent.ui');
    expect(refusal).toEqual([
      {
        topic: 'colloquy.subagent.ui',
        json: {
          type: 'error',
          code: 'ui_invalid_response',
          message: expect.stringMatching(/^Invalid UI response: /),
        },
      },
    ]);
    expect(errors()).toEqual([
      ['livekit', 'warn', 'ui_invalid_response', (refusal[0]!.json as { message: string }).message],
    ]);
  });

  it('nothing from the page is taken once the session has ended', async () => {
    const { lk, handlers, ofType, errors } = start();
    handlers.mediaConnected!();
    await lk.close('admin_closed');
    handlers.data!({ type: 'text', topic: 'my.topic', text: 'late' } as never, 'guest');
    handlers.data!(packet('order', bytes('{not json')), 'guest');
    handlers.data!({ type: 'text', topic: CHAT_TOPIC, text: 'hello?' } as never, 'guest');
    expect(ofType('client.data')).toEqual([]);
    expect(errors()).toEqual([]);
    expect(lk.session.history).toEqual([]);
  });
});

describe('LiveKit session: what the room reports', () => {
  it('a refusal is a livekit warning of invalid input, a backlog one of the transport', () => {
    const { handlers, events } = start();
    handlers.refused!('livekit_bad_sdp', 'The offer has no audio');
    handlers.backlog!('livekit_data_backlog', 'The page did not read its data channel');
    const errors = events.filter((e) => e.type === 'error').map((e) => e.payload as Record<string, unknown>);
    expect(errors.map((e) => [e.sessionId, e.component, e.severity])).toEqual([
      ['lk-events-1', 'livekit', 'warn'],
      ['lk-events-1', 'livekit', 'warn'],
    ]);
    expect(errors[0]?.error).toBeInstanceOf(InvalidInputError);
    expect(errors[0]?.error).toMatchObject({
      code: 'livekit_bad_sdp',
      message: 'The offer has no audio',
    });
    expect(errors[1]?.error).toBeInstanceOf(TransportError);
    expect(errors[1]?.error).toMatchObject({
      code: 'livekit_data_backlog',
      message: 'The page did not read its data channel',
    });
  });

  it('media connecting starts the session once and registers the page for client events, GUI and UI requests', async () => {
    const { lk, handlers, ofType } = start();
    expect(lk.session.clientChannels.names()).toEqual([]);
    handlers.mediaConnected!();
    handlers.mediaConnected!();
    expect(ofType('transport.connected')).toEqual([{ sessionId: 'lk-events-1', transport: 'livekit' }]);
    for (const kind of ['client.event', 'gui', 'ui.request'] as const) {
      expect(lk.session.clientChannels.names(kind)).toEqual(['livekit']);
    }
    await expect.poll(() => ofType('session.start')).toHaveLength(1);
  });

  it('media connecting after the session ended starts nothing', async () => {
    const { lk, handlers, ofType } = start();
    await lk.close('admin_closed');
    handlers.mediaConnected!();
    expect(ofType('transport.connected')).toEqual([]);
    expect(lk.session.clientChannels.names()).toEqual([]);
  });

  it('the microphone is heard only between media connecting and the end of the session', async () => {
    const { lk, handlers, ofType } = start();
    const frame = () => new Int16Array(320).fill(3000);
    handlers.micAudio!(frame(), 16000);
    await lk.session.audioIdle();
    expect(ofType('audio.level')).toEqual([]);
    handlers.mediaConnected!();
    handlers.micAudio!(frame(), 16000);
    await expect.poll(() => ofType('audio.level').length).toBeGreaterThan(0);
    await lk.close('admin_closed');
    const heard = ofType('audio.level').length;
    handlers.micAudio!(frame(), 16000);
    expect(ofType('audio.level')).toHaveLength(heard);
  });

  it('the microphone muted and unmuted in the room mutes the user in the session', () => {
    const { handlers, ofType } = start();
    handlers.mediaConnected!();
    handlers.micMuted!(true);
    handlers.micMuted!(false);
    expect([ofType('user.mute.start'), ofType('user.mute.stop')]).toEqual([
      [{ sessionId: 'lk-events-1' }],
      [{ sessionId: 'lk-events-1' }],
    ]);
  });
});

describe('LiveKit session: its user and its registry entry', () => {
  it("the user is the profile's, else the room's user identity", async () => {
    expect(start().lk.session.userId).toBe('guest');
    expect(start({ profile: (p) => ({ ...p, userId: 'user-7' }) }).lk.session.userId).toBe('user-7');
  });

  it('is listed while live (transport livekit, its mode and user); the registry can close it', async () => {
    const { lk, registry, roomCloses } = start({ profile: (p) => ({ ...p, mode: 'stream' }) });
    expect(registry.liveIds()).toEqual(['lk-events-1']);
    expect(registry.get('lk-events-1')).toMatchObject({
      id: 'lk-events-1',
      transport: 'livekit',
      mode: 'stream',
    });
    expect(registry.liveOf('guest').map((s) => s.id)).toEqual(['lk-events-1']);
    await registry.liveOf('guest')[0]?.close('admin_closed');
    expect(await lk.closed).toBe('admin_closed');
    expect(roomCloses).toEqual(['server_closed']);
  });
});

describe('LiveKit session: resume snapshots', () => {
  const ttl = 60_000;
  const key = createHash('sha256').update('livekit\0room-1').digest('base64url');

  it('the room key is a hash of the room name', () => {
    expect(liveKitRoomKey('room-1')).toBe(key);
    expect(liveKitRoomKey('room-2')).not.toBe(key);
  });

  it('media connecting saves a snapshot the client can come back to with its room', () => {
    const { handlers, resumeWrites, profile } = start({ store: true, resume: { handleTtlMs: ttl } });
    expect(resumeWrites()).toEqual([]);
    const before = Date.now();
    handlers.mediaConnected!();
    const after = Date.now();
    const [write] = resumeWrites() as Array<{ type: string; snapshot: Record<string, unknown> }>;
    expect(resumeWrites()).toHaveLength(1);
    expect(write).toEqual({
      type: 'snapshot.save',
      snapshot: {
        sessionId: 'lk-events-1',
        userId: 'guest',
        agentName: profile.agents[0]?.name,
        profile,
        history: [],
        handleHash: key,
        expiresAt: expect.any(Number),
        updatedAt: expect.any(Number),
        carrier: { kind: 'livekit', room: 'room-1' },
      },
    });
    expect(write!.snapshot.expiresAt).toBeGreaterThanOrEqual(before + ttl);
    expect(write!.snapshot.expiresAt).toBeLessThanOrEqual(after + ttl);
  });

  it('a session that ends drops its snapshot', async () => {
    const { lk, handlers, resumeWrites, roomCloses } = start({ store: true, resume: { handleTtlMs: ttl } });
    handlers.mediaConnected!();
    await lk.close(SERVER_SHUTDOWN.replace('shutdown', 'drain'));
    expect(resumeWrites().map((w) => w.type)).toEqual(['snapshot.save', 'snapshot.delete']);
    expect(resumeWrites()[1]).toEqual({ type: 'snapshot.delete', sessionId: 'lk-events-1' });
    expect(roomCloses).toEqual(['server_closed']);
  });

  it('a started session closed by a server shutdown is suspended: snapshot kept, state detached, the client told to rejoin', async () => {
    const { lk, handlers, resumeWrites, roomCloses, ofType } = start({
      store: true,
      resume: { handleTtlMs: ttl },
    });
    handlers.mediaConnected!();
    const before = Date.now();
    await lk.close(SERVER_SHUTDOWN);
    expect(await lk.closed).toBe(SERVER_SHUTDOWN);
    expect(resumeWrites().map((w) => w.type)).toEqual(['snapshot.save', 'snapshot.save', 'session.state']);
    expect(resumeWrites()[2]).toEqual({
      type: 'session.state',
      sessionId: 'lk-events-1',
      state: 'detached',
      at: expect.any(Number),
    });
    expect(resumeWrites()[2]!.at as number).toBeGreaterThanOrEqual(before);
    expect(roomCloses).toEqual(['server_restarting']);
    expect(ofType('transport.disconnected')).toEqual([
      { sessionId: 'lk-events-1', transport: 'livekit', reason: SERVER_SHUTDOWN },
    ]);
  });

  it.each<[string, Options, boolean]>([
    ['media never connected', { store: true, resume: { handleTtlMs: ttl } }, false],
    ['no resume', { store: true }, true],
    ['no store', { resume: { handleTtlMs: ttl } }, true],
  ])('a server shutdown ends the session instead when %s', async (_what, options, connect) => {
    const { lk, handlers, resumeWrites, roomCloses } = start(options);
    if (connect) handlers.mediaConnected!();
    await lk.close(SERVER_SHUTDOWN);
    expect(await lk.closed).toBe(SERVER_SHUTDOWN);
    expect(roomCloses).toEqual(['server_closed']);
    expect(resumeWrites().filter((w) => w.type !== 'snapshot.delete')).toEqual([]);
  });

  it('a server shutdown after the room closed itself suspends nothing', async () => {
    const { lk, handlers, resumeWrites, roomCloses } = start({ store: true, resume: { handleTtlMs: ttl } });
    handlers.mediaConnected!();
    handlers.closed!('client_left');
    await lk.close(SERVER_SHUTDOWN);
    expect(await lk.closed).toBe('client_disconnected');
    expect(resumeWrites().map((w) => w.type)).toEqual(['snapshot.save', 'snapshot.delete']);
    expect(roomCloses).toEqual(['server_closed']);
  });
});
