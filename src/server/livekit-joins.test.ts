/**
 * LiveKit routes on a server each test builds for itself (127.0.0.1:0), with raw signalling clients:
 * what a page, or someone holding a token, sees at the edges of a room's life. The default token
 * lifetime, the widget script's headers, a reconnect naming another participant, a rejoin while the
 * last session of the room is still closing, a session that cannot start, and a stored room whose
 * session cannot be restored.
 *
 * Each test builds its routes inside the test, not in a `beforeAll`: what runs in a hook runs before
 * a mutation run switches its mutant on (Stryker activates mutants per test), so a check of code that
 * runs only at registration (the default token lifetime) must register in the test itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as proto from '@livekit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { joinParam, openSignal, type Signal } from '../../test/e2e/livekit-signal.ts';
import type { MemoryStore } from '../agents/memory.ts';
import type { Logger } from '../logger.ts';
import { hashHandle } from '../session/resume-handles.ts';
import { SqliteSessionStore } from '../store/sqlite-store.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import type { ServerContext } from './app.ts';
import { type LiveKitRoutes, type LiveKitRoutesOptions, registerLiveKitRoutes } from './livekit-routes.ts';
import type { RunningServer } from './server.ts';

const keys = { apiKey: 'APIjoins', apiSecret: 'joins-secret-0123456789-0123456789' };
const token = (room: string, identity = 'alice') => mintLiveKitToken(keys, { identity, room });

describe('LiveKit joins on a server of their own', () => {
  const teardown: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of teardown.splice(0).reverse()) await step();
  });

  /** A server with LiveKit routes; `context` edits what the routes are given (memory, logger). */
  const start = async (
    options: {
      env?: Record<string, string>;
      routes?: LiveKitRoutesOptions;
      context?: (ctx: ServerContext) => ServerContext;
    } = {},
  ) => {
    let routes!: LiveKitRoutes;
    const server: RunningServer = await startTestServer({
      ...(options.env ? { env: options.env } : {}),
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, options.context ? options.context(ctx) : ctx, {
          keys,
          // Long enough that no room of these tests closes on its own (none completes ICE).
          room: { iceTimeoutMs: 60_000 },
          ...options.routes,
        });
      },
    });
    teardown.push(async () => {
      await routes.closeAll();
      await server.close();
    });
    return { server, routes };
  };

  /** Joins `room` as `identity` (signalling only); resolves once the join response came. */
  const enter = async (server: RunningServer, room: string, identity = 'alice') => {
    const signal = await openSignal(server.url, {
      access_token: token(room, identity),
      join_request: joinParam(new proto.JoinRequest({})),
    });
    if (typeof signal === 'number') throw new Error(`join refused: ${signal}`);
    teardown.push(() => signal.ws.terminate());
    const response = await joined(signal);
    return { signal, response };
  };

  /** The join response, or a failure naming the close code if the server closes the socket instead. */
  const joined = (signal: Signal) =>
    Promise.race([
      signal.next('join').then((m) => m.message.value as proto.JoinResponse),
      signal.closed.then((code) => {
        throw new Error(`the server closed the socket (${code}) instead of answering the join`);
      }),
    ]);

  it('issues tokens valid for 15 minutes by default', async () => {
    const { server } = await start({ env: { COLLOQUY_AUTH_TOKEN: 'bearer-secret' } });
    const res = await fetch(`${server.url}/livekit/connection-details`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bearer-secret' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const { participantToken } = (await res.json()) as { participantToken: string };
    const claims = JSON.parse(Buffer.from(participantToken.split('.')[1]!, 'base64url').toString());
    expect(claims.exp - claims.nbf).toBe(15 * 60);
  });

  it('serves the widget script as cacheable JavaScript, and 503 while it is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-widget-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'widget.js');
    writeFileSync(file, 'window.colloquyWidget = 1;\n');
    const { server } = await start({ routes: { widgetFile: file } });
    const res = await fetch(`${server.url}/livekit/widget.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await res.text()).toBe('window.colloquyWidget = 1;\n');

    const { server: unbuilt } = await start({ routes: { widgetFile: join(dir, 'missing.js') } });
    const missing = await fetch(`${unbuilt.url}/livekit/widget.js`);
    expect(missing.status).toBe(503);
    expect(await missing.text()).toBe('The widget is not built: run `npm run build`');
  });

  it('refuses a reconnect that names another participant; the room keeps its own socket', async () => {
    const { server } = await start();
    const { signal, response } = await enter(server, 'room-sid');
    const sid = response.participant!.sid;
    expect(sid).toMatch(/^PA_/);
    const reconnect = (participantSid: string) =>
      openSignal(server.url, {
        access_token: token('room-sid'),
        join_request: joinParam(new proto.JoinRequest({ reconnect: true, participantSid })),
      });
    expect(await reconnect('PA_someoneelse')).toBe(404);
    // The joined client is untouched: its socket still answers.
    signal.send(new proto.SignalRequest({ message: { case: 'ping', value: 7n } }));
    await signal.next('pong');
    // Naming its own participant, the same user's reconnect is taken.
    const back = await reconnect(sid);
    if (typeof back === 'number') throw new Error(`reconnect refused: ${back}`);
    teardown.push(() => back.ws.terminate());
    await back.next('reconnect');
  });

  it('a rejoin while the room’s last session is still closing starts a new session', async () => {
    // The closing session's memory write waits on the test: the room is closed, its session not yet.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let saving!: () => void;
    const saveStarted = new Promise<void>((resolve) => {
      saving = resolve;
    });
    const store: MemoryStore = {
      load: async () => [],
      save: () => {
        saving();
        return held;
      },
    };
    teardown.push(() => release());
    const { server, routes } = await start({ context: (ctx) => ({ ...ctx, memory: { store } }) });
    const first = await enter(server, 'room-again');
    const closing = routes.session('room-again')!;
    first.signal.send(
      new proto.SignalRequest({
        message: {
          case: 'leave',
          value: new proto.LeaveRequest({ reason: proto.DisconnectReason.CLIENT_INITIATED }),
        },
      }),
    );
    await saveStarted;
    expect(routes.room('room-again')?.roomState).toBe('closed');

    const again = await enter(server, 'room-again');
    expect(again.response.participant?.identity).toBe('alice');
    const fresh = routes.session('room-again')!;
    expect(fresh.id).not.toBe(closing.id);
    expect(routes.room('room-again')?.roomState).not.toBe('closed');
    // The old session finishes closing; the room stays the new session's.
    release();
    await closing.closed;
    expect(routes.session('room-again')).toBe(fresh);
    expect(routes.size).toBe(1);
  });

  it('a stored room whose session is damaged: its client gets a new session, the log names the room', async () => {
    // What a previous server left in the store: room-stored's session, its profile damaged.
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-livekit-stored-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sessions.db');
    const store = SqliteSessionStore.open(file);
    await store.saveSnapshot({
      sessionId: 'lk-stored',
      userId: 'alice',
      agentName: 'concierge',
      profile: { mode: 'agent' }, // no models, agents or tools
      history: [{ role: 'user', content: 'before the restart' }],
      handleHash: hashHandle('unused'),
      expiresAt: Date.now() + 3_600_000,
      updatedAt: Date.now(),
      carrier: { kind: 'livekit', room: 'room-stored' },
    });
    await store.close();
    const errors: string[] = [];
    const capture = (ctx: ServerContext): Logger => ({
      ...ctx.logger,
      error: (message: string) => errors.push(message),
    });
    const { server, routes } = await start({
      env: { COLLOQUY_STORE: file, COLLOQUY_RESUME_WINDOW_MS: '60000' },
      context: (ctx) => ({ ...ctx, logger: capture(ctx) }),
    });
    expect(server.context.resume?.pickedUp).toBe(1);
    const { response } = await enter(server, 'room-stored');
    expect(response.participant?.identity).toBe('alice');
    const session = routes.session('room-stored')!;
    expect(session.id).not.toBe('lk-stored');
    expect(session.session.history).toEqual([]);
    expect(errors).toEqual(['livekit: the stored session of room room-stored cannot be restored']);
  });

  it('a room whose session ends with the server shutting down is suspended: a rejoin here gets 503; closeAll() ends rooms so by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-livekit-suspend-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    const { server, routes } = await start({
      env: { COLLOQUY_STORE: join(dir, 'sessions.db'), COLLOQUY_RESUME_WINDOW_MS: '60000' },
    });
    await enter(server, 'room-kept');
    await routes.session('room-kept')!.close('server_shutdown');
    // The room is the next server's to pick up from the store, not this one's.
    const rejoin = await openSignal(server.url, {
      access_token: token('room-kept'),
      join_request: joinParam(new proto.JoinRequest({})),
    });
    if (typeof rejoin !== 'number') rejoin.ws.terminate();
    expect(rejoin).toBe(503);
    await enter(server, 'room-other');
    const other = routes.session('room-other')!;
    await routes.closeAll();
    expect(await other.closed).toBe('server_shutdown');
    expect(routes.size).toBe(0);
  });

  it('GET /rtc/v1/validate: a valid token gets "success", another a 401 naming why', async () => {
    const { server } = await start();
    const ok = await fetch(`${server.url}/rtc/v1/validate?access_token=${token('room-v')}`);
    expect([ok.status, await ok.text()]).toEqual([200, 'success']);
    const bad = await fetch(`${server.url}/rtc/v1/validate?access_token=nope`);
    expect(bad.status).toBe(401);
    expect((await bad.text()).length).toBeGreaterThan(0);
  });

  it('a session that cannot start closes the socket 1011 and leaves nothing open', async () => {
    // Valid configuration, but the default TTS cannot be built (no base URL): a join with a token
    // minted elsewhere (no connection-details, which would have checked the models) meets it first.
    const { server, routes } = await start({ env: { COLLOQUY_TTS: 'openai-compatible:tts-1' } });
    const signal = await openSignal(server.url, {
      access_token: token('room-broken'),
      join_request: joinParam(new proto.JoinRequest({})),
    });
    if (typeof signal === 'number') throw new Error(`join refused: ${signal}`);
    teardown.push(() => signal.ws.terminate());
    const reason = new Promise<string>((resolve) =>
      signal.ws.once('close', (_code, why) => resolve(why.toString())),
    );
    expect(await signal.closed).toBe(1011);
    expect(await reason).toBe('Cannot start the session');
    expect(signal.received.some((m) => m.message.case === 'join')).toBe(false);
    expect(routes.size).toBe(0);
    expect(server.context.registry.activeCount).toBe(0);
  });
});
