/**
 * Context compaction configured on the server (config file section, env overrides): a long
 * conversation over a real RTVI socket is summarised by the configured model with the configured
 * prompt (a local OpenAI-compatible server speaking the real wire format), the next turn's prompt
 * starts with the summary, and the store keeps it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { connectRaw, type RawClient, startTestServer, until } from './helpers.ts';

const TOKEN = 'compaction-test-token';
const PROMPT = 'Summarise the hotel conversation in one line for the next agent.';
const systemOf = (r: ChatRequest) => String(r.messages.find((m) => m.role === 'system')?.content ?? '');
const textOf = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

describe('context compaction configured on the server', () => {
  let llm: FakeOpenAiChat;
  let server: RunningServer;
  let client: RawClient;

  beforeAll(async () => {
    llm = await startFakeOpenAiChat((r) =>
      r.model === 'summarizer' ? 'Guest Ana asked about rooms, breakfast and the pool.' : 'Noted, thank you.',
    );
    server = await startTestServer({
      env: {
        COLLOQUY_AUTH_TOKEN: TOKEN,
        // The env wins over the file's budget.
        COLLOQUY_COMPACTION_MAX_CHARS: '600',
        COLLOQUY_COMPACTION_PROMPT: PROMPT,
      },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
        compaction: {
          maxChars: 100_000,
          keepRecent: 2,
          model: `openai-compatible:summarizer@${llm.baseURL}`,
        },
      },
    });
  });
  afterAll(async () => {
    client?.ws.terminate();
    await server?.close();
    await llm?.close();
  });

  it('summarises older turns with the configured model and prompt; the next turn starts from the summary', async () => {
    client = await connectRaw(server.url, { user_id: 'ana' }, { authorization: `Bearer ${TOKEN}` });
    const ready = await client.ready();
    const sessionId = ready.data.about.session_id as string;
    const say = async (i: number) => {
      // Each answer is heard to its end before the next question.
      const before = client.messages.filter((m) => m.type === 'bot-stopped-speaking').length;
      client.send({
        label: 'rtvi-ai',
        type: 'send-text',
        data: {
          content: `Question ${i}: I am Ana, could you tell me more about the rooms, breakfast and the pool?`,
        },
      });
      await until(`answer ${i}`, () =>
        client.messages.filter((m) => m.type === 'bot-stopped-speaking').length > before ? true : undefined,
      );
    };
    for (let i = 1; i <= 5; i++) await say(i);
    const summaryCall = await until('summary request', () =>
      llm.requests.find((r) => r.model === 'summarizer'),
    );
    expect(systemOf(summaryCall)).toBe(PROMPT);
    expect(textOf(summaryCall.messages.at(-1)?.content)).toContain('user: Question 1: I am Ana');

    const stored = await until('stored summary', async () => {
      const res = await fetch(`${server.url}/sessions/${sessionId}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await res.json()) as { summaries?: Array<{ summary: string; removedItems: number }> };
      return body.summaries?.length ? body.summaries : undefined;
    });
    expect(stored[0]).toMatchObject({
      summary: 'Guest Ana asked about rooms, breakfast and the pool.',
      removedItems: expect.any(Number),
    });

    const n = llm.requests.length;
    await say(6);
    const next = llm.requests.slice(n).find((r) => r.model === 'chat-model')!;
    const firstTurn = next.messages.find((m) => m.role === 'user');
    expect(textOf(firstTurn?.content)).toBe(
      '[Summary of the earlier conversation]\nGuest Ana asked about rooms, breakfast and the pool.',
    );
    expect(JSON.stringify(next.messages)).not.toContain('Question 1:');
  });
});
