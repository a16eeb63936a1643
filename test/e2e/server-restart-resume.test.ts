/**
 * Conversations that outlive the server: a graceful shutdown offers resume (the client is told the
 * server is going away, with a fresh handle, and no `conversation-end`), and a new server over the
 * same SQLite file picks the stored session up: the client reconnects with its handle through `POST
 * /connect` and the model's next prompt has the turns from before the restart. A picked-up session
 * nobody claims closes within the window with its transcript stored. Real sockets on loopback; the
 * LLM is a local OpenAI-compatible server speaking the real wire format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { connectRaw, type RawClient, serverMessages, startTestServer, until } from './helpers.ts';

const TOKEN = 'restart-resume-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

describe('resume across a server restart (SQLite store)', () => {
  let dir: string;
  let llm: FakeOpenAiChat;
  const servers: RunningServer[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-restart-resume-'));
    llm = await startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(async () => {
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (db: string, windowMs = 20_000) => {
    const server = await startTestServer({
      env: {
        COLLOQUY_STORE: join(dir, db),
        COLLOQUY_RESUME_WINDOW_MS: String(windowMs),
        COLLOQUY_AUTH_TOKEN: TOKEN,
      },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        greeting: 'Hello.',
        agents: [
          { name: 'concierge', instructions: 'You are the hotel concierge.', transfers: ['billing'] },
          { name: 'billing', instructions: 'You handle the bill.' },
        ],
      },
    });
    servers.push(server);
    return server;
  };
  const connect = async (server: RunningServer, requestData: Record<string, unknown>) => {
    const c = await connectRaw(server.url, requestData, auth);
    clients.push(c);
    return c;
  };
  const spoken = (c: RawClient) => c.messages.filter((m) => m.type === 'bot-stopped-speaking').length;
  /** A turn, waited for until its answer was spoken whole (history keeps what the user heard). */
  const say = async (c: RawClient, text: string) => {
    const before = spoken(c);
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await until('answer spoken', () => (spoken(c) > before ? true : undefined));
  };
  /** The greeting, heard whole. */
  const greeted = (c: RawClient) => until('greeting spoken', () => (spoken(c) > 0 ? true : undefined));
  const stored = async (server: RunningServer, id: string) => {
    const res = await fetch(`${server.url}/sessions/${id}`, { headers: auth });
    return (await res.json()) as {
      session: { state: string; closeReason?: string };
      transcript: Array<{ role: string; text: string }>;
    };
  };

  it('graceful shutdown: the client is told to reconnect with a handle; a new server resumes the conversation', async () => {
    const first = await start('graceful.db');
    const c = await connect(first, { user_id: 'ana' });
    const ready = await c.ready();
    const id = ready.data.about.session_id as string;
    await greeted(c);
    await say(c, 'My room is 214');

    await first.close(); // what SIGTERM does
    servers.splice(servers.indexOf(first), 1);
    await c.closed;
    const notices = serverMessages(c);
    const notice = notices.find((m) => m.type === 'server-shutdown');
    expect(notice).toEqual({
      type: 'server-shutdown',
      data: {
        session_id: id,
        resume_handle: expect.stringMatching(/^[\w-]{43}$/),
        resume_expires_at: expect.any(Number),
        reconnect: true,
      },
    });
    // The conversation did not end: no conversation-end.
    expect(notices.map((m) => m.type)).not.toContain('conversation-end');
    const handle = (notice!.data as { resume_handle: string }).resume_handle;
    expect(handle).not.toBe(ready.data.about.resume_handle);

    const second = await start('graceful.db');
    expect(second.context.resume?.pickedUp).toBe(1);
    expect((await stored(second, id)).session.state).toBe('detached');
    // Another user's client cannot take it; the handle stays good for its owner.
    const foreign = await fetch(`${second.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ user_id: 'mallory', resume_handle: handle }),
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ code: 'resume_foreign' });

    const resumed = await connect(second, { user_id: 'ana', resume_handle: handle });
    const again = await resumed.ready();
    expect(again.data.about.session_id).toBe(id);
    expect(again.data.about.resume_handle).toMatch(/^[\w-]{43}$/);
    const n = llm.requests.length;
    await say(resumed, 'Which room did I say?');
    // The model's prompt has the turns from before the restart (and no second greeting).
    const prompt = llm.requests[n]!;
    expect(userTexts(prompt)).toEqual(['My room is 214', 'Which room did I say?']);
    expect(prompt.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      'Hello.',
      'Noted: My room is 214',
    ]);
    expect(second.context.resume?.pickedUp).toBe(0);
    const record = await until('the new turn stored', async () => {
      const r = await stored(second, id);
      return r.transcript.length === 5 ? r : undefined;
    });
    expect(record.session.state).toBe('active');
    expect(record.transcript.map((e) => `${e.role}: ${e.text}`)).toEqual([
      'assistant: Hello.',
      'user: My room is 214',
      'assistant: Noted: My room is 214',
      'user: Which room did I say?',
      'assistant: Noted: Which room did I say?',
    ]);

    // The handle the shutdown gave is spent now.
    const replay = await fetch(`${second.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ user_id: 'ana', resume_handle: handle }),
    });
    expect(replay.status).toBe(409);
  });

  it('a picked-up session nobody claims within the window closes, its transcript kept', async () => {
    const first = await start('unclaimed.db', 300);
    const c = await connect(first, { user_id: 'bo' });
    const id = (await c.ready()).data.about.session_id as string;
    await greeted(c);
    await say(c, 'Please wake me at seven');
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const handle = (
      serverMessages(c).find((m) => m.type === 'server-shutdown')!.data as { resume_handle: string }
    ).resume_handle;

    const second = await start('unclaimed.db', 300);
    expect(second.context.resume?.pickedUp).toBe(1);
    const record = await until('closed after the window', async () => {
      const r = await stored(second, id);
      return r.session.state === 'closed' ? r : undefined;
    });
    expect(record.session.closeReason).toBe('client_disconnected');
    expect(record.transcript.map((e) => e.text)).toEqual([
      'Hello.',
      'Please wake me at seven',
      'Noted: Please wake me at seven',
    ]);
    const late = await fetch(`${second.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ user_id: 'bo', resume_handle: handle }),
    });
    expect(late.status).toBe(410);
    expect(await late.json()).toMatchObject({ code: 'resume_gone' });
    // And a third start finds nothing to pick up.
    await second.close();
    servers.splice(servers.indexOf(second), 1);
    const third = await start('unclaimed.db', 300);
    expect(third.context.resume?.pickedUp).toBe(0);
  });
});
