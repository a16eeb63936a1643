/**
 * A LiveKit room is one of the server's own sessions, built like the RTVI ones: stored in the session
 * store (transcript, tool calls, state) and served by the data API, with the user's long-term memory
 * (`user_id` at `connection-details` is the participant identity) and context compaction. The client
 * is a wrtc peer speaking LiveKit signalling and typing `lk.chat` text streams; the LLM is a local
 * OpenAI-compatible server speaking the real wire format.
 */
import { type LiveKitRoutes, registerLiveKitRoutes } from 'colloquy/livekit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { startTestServer, until } from './helpers.ts';
import { type JoinedPeer, joinWithPeer } from './livekit-signal.ts';

const TOKEN = 'livekit-session-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const SUMMARY = 'Guest Ana asked about rooms, breakfast and the pool.';
const SUMMARY_PROMPT = 'Summarise the hotel conversation in one line.';

const systemOf = (r: ChatRequest) => String(r.messages.find((m) => m.role === 'system')?.content ?? '');
const lastUser = (r: ChatRequest) => {
  const m = [...r.messages].reverse().find((x) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content);
};
const isChat = (r: ChatRequest) => r.model === 'chat-model' && !/Extract durable facts/.test(systemOf(r));

describe('LiveKit sessions are the server’s sessions: store, memory, compaction', () => {
  let llm: FakeOpenAiChat;
  let server: RunningServer;
  let routes: LiveKitRoutes;
  const peers: JoinedPeer[] = [];

  beforeAll(async () => {
    llm = await startFakeOpenAiChat((r) => {
      if (r.model === 'summarizer') return SUMMARY;
      // The memory extractor asks for a JSON array; the conversation gets short plain answers.
      if (/Extract durable facts/.test(systemOf(r))) {
        return /I am Ana/.test(JSON.stringify(r.messages)) ? '["Name is Ana", "Prefers the sea view"]' : '[]';
      }
      return 'Noted.';
    });
    server = await startTestServer({
      env: {
        COLLOQUY_AUTH_TOKEN: TOKEN,
        COLLOQUY_MEMORY: 'on',
        COLLOQUY_COMPACTION_MAX_CHARS: '600',
        COLLOQUY_COMPACTION_PROMPT: SUMMARY_PROMPT,
      },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
        compaction: { keepRecent: 2, model: `openai-compatible:summarizer@${llm.baseURL}` },
      },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys: { apiKey: 'APIsession', apiSecret: 'session-secret-0123456789-0123456789' },
        });
      },
    });
  });
  afterAll(async () => {
    for (const p of peers) p.close();
    await server?.close();
    await llm?.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: auth });
    return { status: res.status, body: (await res.json()) as any };
  };

  /** Joins a room for `userId` (connection-details, then signalling and ICE); returns the session. */
  const join = async (userId: string) => {
    const res = await fetch(`${server.url}/livekit/connection-details`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId }),
    });
    expect(res.status).toBe(200);
    const details = (await res.json()) as { roomName: string; participantToken: string };
    const peer = await joinWithPeer(server.url, details.participantToken);
    peers.push(peer);
    const [registered] = server.context.registry.liveOf(userId);
    expect(registered).toMatchObject({ transport: 'livekit', userId });
    const session = routes.session(details.roomName)!;
    expect(session.id).toBe(registered!.id);
    let turns = 0;
    session.session.eventBus.subscribe('turn.end', () => turns++);
    return { peer, id: session.id, turns: () => turns };
  };

  /** Types `text` as chat and waits for its turn to end (the answer spoken in full). */
  const say = async (room: { peer: JoinedPeer; turns(): number }, text: string) => {
    const before = room.turns();
    room.peer.sendText(text, 'lk.chat');
    await until(`answer to "${text}"`, () => (room.turns() > before ? true : undefined));
  };

  it('stores the conversation and keeps the user’s memory; the next LiveKit session’s instructions have it', async () => {
    const first = await join('ana');
    const join0 = first.peer.signal.received.find((m) => m.message.case === 'join')!;
    expect((join0.message.value as { participant?: { identity: string } }).participant?.identity).toBe('ana');
    await say(first, 'I am Ana and I like the sea view');
    first.peer.leave();
    await until('memory extracted', async () => {
      const { body } = await get('/users/ana/memory');
      return body.facts?.length === 2 ? body : undefined;
    });
    const list = await get('/sessions?user_id=ana');
    expect(list.body.sessions).toEqual([
      expect.objectContaining({ id: first.id, userId: 'ana', transport: 'livekit', state: 'closed' }),
    ]);
    const detail = await get(`/sessions/${first.id}`);
    expect(detail.body.session.closeReason).toBe('client_disconnected');
    expect(detail.body.transcript.map((t: any) => [t.role, t.text])).toEqual(
      expect.arrayContaining([
        ['user', 'I am Ana and I like the sea view'],
        ['assistant', 'Noted.'],
      ]),
    );

    const second = await join('ana');
    const n = llm.requests.length;
    await say(second, 'What do you know about me?');
    const chat = llm.requests.slice(n).find(isChat)!;
    expect(systemOf(chat)).toContain('You are the hotel concierge.');
    expect(systemOf(chat)).toContain('- Name is Ana');
    expect(systemOf(chat)).toContain('- Prefers the sea view');
    second.peer.leave();
  });

  it('compacts a long LiveKit conversation with the configured model and prompt; the summary is stored', async () => {
    const room = await join('bo');
    const { peer, id } = room;
    expect(server.context.compaction).toBeDefined();
    for (let i = 1; i <= 5; i++) {
      await say(
        room,
        `Question ${i}: could you tell me more about the rooms, the breakfast, the pool and the spa, please?`,
      );
    }
    const summaryCall = await until('summary request', () =>
      llm.requests.find((r) => r.model === 'summarizer'),
    );
    expect(systemOf(summaryCall)).toBe(SUMMARY_PROMPT);
    expect(lastUser(summaryCall)).toContain('Question 1:');
    const stored = await until('stored summary', async () => {
      const { body } = await get(`/sessions/${id}`);
      return body.summaries?.length ? body.summaries : undefined;
    });
    expect(stored[0]).toMatchObject({ summary: SUMMARY, removedItems: expect.any(Number) });
    const n = llm.requests.length;
    await say(room, 'And the spa?');
    const next = llm.requests.slice(n).find(isChat)!;
    expect(lastUser({ ...next, messages: next.messages.slice(0, 2) })).toContain(SUMMARY);
    expect(JSON.stringify(next.messages)).not.toContain('Question 1:');
    peer.leave();
  });
});
