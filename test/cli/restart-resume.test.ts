/**
 * A conversation outlives its server process: `colloquy start` as a child process over a SQLite
 * file. The server is killed without warning (SIGKILL) mid-session; a new process over the same file
 * picks the session up and the client resumes with the handle it got in `bot-ready`; then the server
 * stops gracefully (SIGTERM), telling the client to reconnect with a fresh handle, and a third process
 * resumes it again. Each time the model's prompt has every earlier turn. The LLM is a local
 * OpenAI-compatible server speaking the real wire format.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from '../e2e/fake-openai-chat.ts';
import { connectRaw, type RawClient, serverMessages, until } from '../e2e/helpers.ts';
import { type Running, startColloquy } from './run.ts';

const TOKEN = 'restart-resume-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

describe('resume across server processes (SIGKILL, then SIGTERM)', () => {
  let dir: string;
  let llm: FakeOpenAiChat;
  const runs: Running[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-restart-resume-'));
    llm = await startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      }),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const r of runs) r.child.kill('SIGKILL');
    await llm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const started = await startColloquy({
      COLLOQUY_CONFIG: join(dir, 'config.json'),
      COLLOQUY_STORE: join(dir, 'colloquy.db'),
      COLLOQUY_RESUME_WINDOW_MS: '60000',
      COLLOQUY_AUTH_TOKEN: TOKEN,
    });
    runs.push(started.run);
    return started;
  };
  const connect = async (url: string, requestData: Record<string, unknown>) => {
    const c = await connectRaw(url, requestData, auth);
    clients.push(c);
    return c;
  };
  const spoken = (c: RawClient) => c.messages.filter((m) => m.type === 'bot-stopped-speaking').length;
  /** A turn, waited for until its answer was spoken whole (history keeps what the user heard). */
  const say = async (c: RawClient, text: string) => {
    const before = spoken(c);
    const n = llm.requests.length;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await until('answer spoken', () => (spoken(c) > before ? true : undefined), 30_000);
    return llm.requests[n]!;
  };
  /** The stored session, through the data API. */
  const stored = async (url: string, id: string) => {
    const res = await fetch(`${url}/sessions/${id}`, { headers: auth });
    return (await res.json()) as { transcript: Array<{ role: string; text: string }> };
  };

  it('killed mid-session, then stopped gracefully: each new process resumes the same conversation', async () => {
    const first = await start();
    const c1 = await connect(first.url, { user_id: 'ana' });
    const ready = await c1.ready();
    const { session_id: id, resume_handle: handle } = ready.data.about as Record<string, string>;
    await say(c1, 'My room is 214');
    // The turn is on disk (the store writes a moment after the turn, off its path).
    await until('turn stored', async () =>
      (await stored(first.url, id!)).transcript.length === 2 ? true : undefined,
    );
    first.run.child.kill('SIGKILL');
    expect((await first.run.exited).signal).toBe('SIGKILL');
    await c1.closed;

    const second = await start();
    const c2 = await connect(second.url, { user_id: 'ana', resume_handle: handle });
    expect((await c2.ready()).data.about.session_id).toBe(id);
    const prompt2 = await say(c2, 'Which room did I say?');
    expect(userTexts(prompt2)).toEqual(['My room is 214', 'Which room did I say?']);
    expect(prompt2.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      'Noted: My room is 214',
    ]);

    second.run.child.kill('SIGTERM');
    await c2.closed;
    const done = await second.run.exited;
    expect(done.code).toBe(0);
    const notice = serverMessages(c2).find((m) => m.type === 'server-shutdown');
    expect(notice?.data).toMatchObject({ session_id: id, reconnect: true });
    expect(serverMessages(c2).map((m) => m.type)).not.toContain('conversation-end');

    const third = await start();
    const c3 = await connect(third.url, { user_id: 'ana', resume_handle: notice!.data.resume_handle });
    expect((await c3.ready()).data.about.session_id).toBe(id);
    const prompt3 = await say(c3, 'And my name?');
    expect(userTexts(prompt3)).toEqual(['My room is 214', 'Which room did I say?', 'And my name?']);
    third.run.child.kill('SIGTERM');
    expect((await third.run.exited).code).toBe(0);
  }, 180_000);
});
