/**
 * A LiveKit conversation outlives its server. With resume on and a SQLite store, a graceful shutdown
 * does not end the room's session: the client is told to rejoin (`leave {action: RECONNECT,
 * canReconnect: true, reason: SERVER_SHUTDOWN}`, what livekit-client answers with a full rejoin using
 * the same token), the snapshot stays, and a new server over the same file picks it up: the client's
 * rejoin of the room gets the same session back (same id, history; `session.resume` fires) and the
 * model's next prompt has the turns from before the restart. Another identity's token for that room
 * is refused. The client is a wrtc peer speaking LiveKit signalling; the LLM a local
 * OpenAI-compatible server speaking the real wire format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as proto from '@livekit/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LiveKitRoutes, registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { mintLiveKitToken } from '../../src/transports/livekit/access-token.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { startTestServer, until } from './helpers.ts';
import { type JoinedPeer, joinWithPeer } from './livekit-signal.ts';

const TOKEN = 'livekit-restart-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const KEYS = { apiKey: 'APIrestart', apiSecret: 'restart-secret-0123456789-0123456789' };
const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

describe('LiveKit resume across a server restart (SQLite store)', () => {
  let dir: string;
  let llm: FakeOpenAiChat;
  const servers: RunningServer[] = [];
  const peers: JoinedPeer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-livekit-restart-'));
    llm = await startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`);
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(async () => {
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    let routes!: LiveKitRoutes;
    const server = await startTestServer({
      env: {
        COLLOQUY_STORE: join(dir, 'livekit.db'),
        COLLOQUY_RESUME_WINDOW_MS: '20000',
        COLLOQUY_AUTH_TOKEN: TOKEN,
      },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        greeting: 'Hello.',
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, { keys: KEYS });
      },
    });
    servers.push(server);
    return { server, routes };
  };
  const connect = async (server: RunningServer, token: string) => {
    const peer = await joinWithPeer(server.url, token);
    peers.push(peer);
    return peer;
  };
  const answered = (routes: LiveKitRoutes, room: string, peer: JoinedPeer) => {
    const session = routes.session(room)!;
    let ended = 0;
    session.session.eventBus.subscribe('turn.end', () => ended++);
    return async (text: string) => {
      const before = ended;
      peer.sendText(text, 'lk.chat');
      await until(`answer to "${text}"`, () => (ended > before ? true : undefined));
    };
  };

  it('graceful shutdown: the client is told to rejoin; its rejoin of a new server gets the same session', async () => {
    const a = await start();
    const res = await fetch(`${a.server.url}/livekit/connection-details`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'ana' }),
    });
    const details = (await res.json()) as { roomName: string; participantToken: string };
    const peer = await connect(a.server, details.participantToken);
    const id = a.routes.session(details.roomName)!.id;
    await until('greeted', () =>
      a.routes.session(details.roomName)!.session.history.length > 0 ? true : undefined,
    );
    await answered(a.routes, details.roomName, peer)('My room is 214');

    await a.server.close();
    servers.splice(servers.indexOf(a.server), 1);
    const leave = await peer.signal.next('leave');
    expect(leave.message.value).toMatchObject({
      canReconnect: true,
      action: proto.LeaveRequest_Action.RECONNECT,
      reason: proto.DisconnectReason.SERVER_SHUTDOWN,
    });

    const b = await start();
    expect(b.server.context.resume?.pickedUp).toBe(1);
    // Another identity with a valid token for the room cannot take it.
    const mallory = mintLiveKitToken(KEYS, {
      identity: 'mallory',
      name: 'm',
      room: details.roomName,
      ttlMs: 60_000,
    });
    await expect(joinWithPeer(b.server.url, mallory)).rejects.toThrow(/join refused: 409/);
    // The client rejoins with its token (what livekit-client does on leave RECONNECT).
    const again = await connect(b.server, details.participantToken);
    const session = b.routes.session(details.roomName)!;
    expect(session.id).toBe(id);
    expect(b.server.context.resume?.pickedUp).toBe(0);
    const n = llm.requests.length;
    await answered(b.routes, details.roomName, again)('Which room did I say?');
    // The model's prompt has the turns from before the restart, and no second greeting.
    expect(userTexts(llm.requests[n]!)).toEqual(['My room is 214', 'Which room did I say?']);
    expect(llm.requests[n]!.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      'Hello.',
      'Noted: My room is 214',
    ]);
    const stored = await fetch(`${b.server.url}/sessions/${id}`, { headers: auth });
    expect(((await stored.json()) as { session: { transport: string } }).session.transport).toBe('livekit');
  });
});
