/**
 * The server process restarted between two sessions of one user: `colloquy start` as a child
 * process with a SQLite store and memory on; the first session's facts are extracted and stored; the
 * process ends (SIGTERM) and a new one starts over the same file; the user's next session gets the
 * facts in its instructions. The LLM is a local OpenAI-compatible server speaking the real wire format.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from '../e2e/fake-openai-chat.ts';
import { connectRaw, until } from '../e2e/helpers.ts';
import { type Running, startColloquy } from './run.ts';

const TOKEN = 'restart-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const systemOf = (r: ChatRequest) => String(r.messages.find((m) => m.role === 'system')?.content ?? '');
const lastUser = (r: ChatRequest) => {
  const m = [...r.messages].reverse().find((x) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content);
};

describe('memory across a server process restart', () => {
  let dir: string;
  let llm: FakeOpenAiChat;
  const runs: Running[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-restart-'));
    llm = await startFakeOpenAiChat((r) => {
      if (/Extract durable facts/.test(systemOf(r))) {
        return /Ana/.test(lastUser(r)) ? '["Name is Ana", "Prefers the sea view"]' : '[]';
      }
      return `You said: ${lastUser(r)}`;
    });
  });
  afterAll(async () => {
    for (const r of runs) r.child.kill('SIGKILL');
    await llm?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const started = await startColloquy({
      COLLOQUY_STORE: join(dir, 'colloquy.db'),
      COLLOQUY_MEMORY: 'on',
      COLLOQUY_AUTH_TOKEN: TOKEN,
      COLLOQUY_LLM: `openai-compatible:chat-model@${llm.baseURL}`,
    });
    runs.push(started.run);
    return started;
  };
  const talk = async (url: string, text: string) => {
    const c = await connectRaw(url, { user_id: 'ana' }, auth);
    await c.ready();
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await c.waitFor('answer', (m) => m.type === 'bot-llm-stopped');
    return c;
  };

  it("a new process over the same store: the user's facts reach the next session's instructions", async () => {
    const first = await start();
    const c = await talk(first.url, 'I am Ana and I like the sea view');
    // The user hangs up: the session ends (facts are extracted at its close).
    c.send({ label: 'rtvi-ai', type: 'disconnect-bot', data: {} });
    await until('memory stored', async () => {
      const res = await fetch(`${first.url}/users/ana/memory`, { headers: auth });
      const body = (await res.json()) as { facts: unknown[] };
      return body.facts.length === 2 ? body : undefined;
    });
    first.run.child.kill('SIGTERM');
    expect((await first.run.exited).code).toBe(0);

    const second = await start();
    const before = llm.requests.length;
    (await talk(second.url, 'What do you know about me?')).close();
    const chat = llm.requests.slice(before).find((r) => !/Extract durable facts/.test(systemOf(r)))!;
    expect(systemOf(chat)).toContain('- Name is Ana');
    expect(systemOf(chat)).toContain('- Prefers the sea view');
    second.run.child.kill('SIGTERM');
    expect((await second.run.exited).code).toBe(0);
  }, 120_000);
});
