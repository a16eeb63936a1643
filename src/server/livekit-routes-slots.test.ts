/**
 * What a LiveKit room leaves behind when it ends, on a server that keeps sessions across restarts (a
 * SQLite store, resume on) and on one that holds one session per client:
 *
 * | how the room's session ended                  | the same room joined again on this server    |
 * |-----------------------------------------------|----------------------------------------------|
 * | closed for another reason (`idle_timeout`)    | a new session starts (the join is answered)  |
 * | closed by this server's shutdown              | 503: the room waits for the next server      |
 *
 * | an upgrade to `/rtc/v1` that never became a session (bad `Sec-WebSocket-Key`) | the client's next join |
 * |-----------------------------------------------|----------------------------------------------|
 * | refused 400 by the WebSocket handshake        | answered: its session slot was given back    |
 *
 * Each test builds its server and routes itself and closes them in teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as proto from '@livekit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { joinParam, openSignal } from '../../test/e2e/livekit-signal.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from './livekit-routes.ts';
import { SERVER_SHUTDOWN } from './rtvi-session.ts';

const keys = { apiKey: 'APIslots', apiSecret: 'slots-secret-0123456789-0123456789' };
const teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

const joinQuery = (room: string) => ({
  access_token: mintLiveKitToken(keys, { identity: 'alice', room }),
  join_request: joinParam(new proto.JoinRequest({})),
});

async function start(options: { durable?: boolean; limits?: Record<string, number> } = {}) {
  const env: Record<string, string> = {};
  if (options.durable) {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-livekit-slots-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    env.COLLOQUY_STORE = join(dir, 'slots.db');
    env.COLLOQUY_RESUME_WINDOW_MS = '20000';
  }
  let routes!: LiveKitRoutes;
  const server = await startTestServer({
    env,
    limits: { connectBurst: 1000, connectsPerMinute: 1000, ...options.limits },
    registerRoutes: (app, ctx) => {
      routes = registerLiveKitRoutes(app, ctx, { keys, room: { iceTimeoutMs: 60_000 } });
    },
  });
  teardown.push(async () => {
    await routes.closeAll();
    await server.close();
  });
  /** Joins `room`: the signal once `join` is answered, or the refusal's status. */
  const joinRoom = async (room: string) => {
    const signal = await openSignal(server.url, joinQuery(room));
    if (typeof signal === 'number') return signal;
    teardown.push(() => signal.ws.terminate());
    await signal.next('join');
    return signal;
  };
  return { server, routes, joinRoom };
}

describe('a LiveKit room whose session ended, joined again on the same server (durable resume)', () => {
  it.each([
    { reason: 'idle_timeout', rejoin: 'answered' },
    { reason: SERVER_SHUTDOWN, rejoin: 503 },
  ])('closed for $reason: the rejoin is $rejoin', async ({ reason, rejoin }) => {
    const { routes, joinRoom } = await start({ durable: true });
    const first = await joinRoom('room-a');
    expect(typeof first).toBe('object');
    const session = routes.session('room-a')!;
    await session.close(reason);
    expect(await session.closed).toBe(reason);
    const again = await joinRoom('room-a');
    expect(typeof again === 'number' ? again : 'answered').toBe(rejoin);
  });
});

describe('an upgrade that never became a LiveKit session', () => {
  it('refused by the handshake (bad Sec-WebSocket-Key): its session slot is released', async () => {
    const { server, routes, joinRoom } = await start({ limits: { maxSessionsPerClient: 1 } });
    const query = new URLSearchParams(joinQuery('room-b')).toString();
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET /rtc/v1?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(routes.size).toBe(0);
    // The client holds no session: its one slot is free for a join.
    const joined = await joinRoom('room-b');
    expect(typeof joined).toBe('object');
    expect(routes.size).toBe(1);
  });
});
