/** Context compaction on a real VoiceSession (AI SDK mock models for the chat and the summariser). */
import { type ModelMessage, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { recordSession } from '../store/store-recorder.ts';
import { StoreWriter } from '../store/store-writer.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { cutPoint, DEFAULT_COMPACTION_PROMPT, SUMMARY_PREFIX } from './context-compaction.ts';
import { messageText } from './history.ts';
import { VoiceSession } from './voice-session.ts';

const call = (id: string): ModelMessage => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: 'lookup', input: {} }],
});
const result = (id: string): ModelMessage => ({
  role: 'tool',
  content: [{ type: 'tool-result', toolCallId: id, toolName: 'lookup', output: { type: 'json', value: 1 } }],
});
const user = (t: string): ModelMessage => ({ role: 'user', content: t });
const bot = (t: string): ModelMessage => ({ role: 'assistant', content: t });

/** Every tool result directly follows the assistant message that made its call. */
function pairsIntact(history: ModelMessage[]): boolean {
  return history.every((m, i) => {
    if (m.role !== 'tool') return true;
    const prev = history[i - 1];
    const id = (m.content[0] as { toolCallId: string }).toolCallId;
    return (
      prev?.role === 'assistant' &&
      Array.isArray(prev.content) &&
      prev.content.some((p) => p.type === 'tool-call' && p.toolCallId === id)
    );
  });
}

describe('cutPoint', () => {
  const h = [user('a'), call('1'), result('1'), bot('b'), user('c'), call('2'), result('2'), bot('d')];
  it('cuts at the start of a user turn, never between a tool call and its result', () => {
    expect(cutPoint(h, 2)).toBe(4); // index 6 is a tool result: back to the user message at 4
    expect(cutPoint(h, 3)).toBe(4);
    expect(cutPoint(h, 4)).toBe(4);
    expect(cutPoint(h, 5)).toBe(0); // nothing older than a whole turn
    expect(pairsIntact(h.slice(cutPoint(h, 2)))).toBe(true);
  });
  it('does not summarise a lone earlier summary again', () => {
    expect(cutPoint([user(`${SUMMARY_PREFIX}\nold`), user('q'), bot('a')], 2)).toBe(0);
  });
});

describe('context compaction', () => {
  const lookup = tool({
    description: 'Look up a booking',
    inputSchema: z.object({ ref: z.string() }),
    execute: async ({ ref }) => ({ ref, room: 214 }),
  });
  const chat = () => {
    let n = 0;
    return mockLanguageModel([
      () =>
        n++ % 2 === 0
          ? [{ toolCall: { name: 'lookup', args: { ref: `R${n}` } } }]
          : `Booking ${n} is in room two fourteen, anything else I can help you with today?`,
    ]);
  };

  it('summarises older turns near the budget, keeps tool pairs whole, publishes context.compact, stores the summary', async () => {
    const summariser = mockLanguageModel(['Ana asked about bookings R1 and R3; both are in room 214.']);
    const store = new InMemorySessionStore();
    const writer = new StoreWriter(store, { flushDelayMs: 60_000 });
    const session = new VoiceSession({
      sessionId: 'cmp-1',
      userId: 'ana',
      agents: [{ name: 'desk', instructions: 'Help.', tools: { lookup } }],
      model: chat(),
      logger: silentLogger,
      compaction: { maxChars: 600, keepRecent: 4, model: summariser },
    });
    recordSession(session.eventBus, writer);
    const rec = new EventRecorder(session.eventBus);
    for (let i = 0; i < 3; i++) await session.sendText(`Where is my booking number ${i}, please?`);
    const before = session.history;
    await vi.waitFor(() => expect(rec.payloads('context.compact')).toHaveLength(1));
    const event = rec.first('context.compact')!;
    const after = session.history;
    expect(after[0]).toEqual({ role: 'user', content: `${SUMMARY_PREFIX}\n${event.summary}` });
    expect(event).toEqual({
      sessionId: 'cmp-1',
      removedItems: before.length - (after.length - 1),
      summary: 'Ana asked about bookings R1 and R3; both are in room 214.',
    });
    expect(after.slice(1)).toEqual(before.slice(event.removedItems));
    expect(after[1]?.role).toBe('user');
    expect(pairsIntact(after)).toBe(true);
    // The summariser saw the removed turns, with the tool traffic.
    // With no prompt configured, the summariser is told what to do by the default one.
    expect(summariser.doGenerateCalls[0]?.prompt[0]).toEqual({
      role: 'system',
      content: DEFAULT_COMPACTION_PROMPT,
    });
    const prompt = JSON.stringify(summariser.doGenerateCalls[0]?.prompt);
    expect(prompt).toContain('Where is my booking number 0, please?');
    expect(prompt).toContain('room');
    // The next turn's model call gets the summary instead of the old turns.
    await session.sendText('Thanks!');
    await session.close();
    await writer.close();
    expect((await store.getSession('cmp-1'))?.summaries).toEqual([
      expect.objectContaining({ removedItems: event.removedItems, summary: event.summary }),
    ]);
  });

  it('a failing summary leaves the history as it was and publishes a warn', async () => {
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'desk', instructions: 'Help.', tools: { lookup } }],
      model: chat(),
      logger: silentLogger,
      compaction: {
        maxChars: 400,
        keepRecent: 2,
        model: mockLanguageModel([[{ error: new Error('summariser down') }]]),
      },
    });
    const rec = new EventRecorder(session.eventBus);
    for (let i = 0; i < 2; i++) await session.sendText(`Where is my booking number ${i}, please?`);
    await vi.waitFor(() => expect(rec.payloads('error')).toHaveLength(1));
    expect(rec.first('error')).toMatchObject({ component: 'compaction', severity: 'warn' });
    expect(rec.first('error')?.error).toMatchObject({ code: 'compaction_failed', retryable: true });
    expect(rec.payloads('context.compact')).toEqual([]);
    expect(session.history[0]).toEqual({ role: 'user', content: 'Where is my booking number 0, please?' });
    await session.close();
  });

  it('the trigger is reached at exactly its share of the budget', async () => {
    const summariser = mockLanguageModel(['They said hello twice.']);
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'desk', instructions: 'Help.' }],
      model: mockLanguageModel(['Fine.']),
      logger: silentLogger,
      // Two turns of 'hello' / 'Fine.' make 20 characters: exactly the trigger.
      compaction: { maxChars: 25, triggerRatio: 0.8, keepRecent: 2, model: summariser },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('hello');
    await session.sendText('hello');
    await vi.waitFor(() => expect(rec.payloads('context.compact')).toHaveLength(1));
    expect(rec.first('context.compact')).toMatchObject({
      removedItems: 2,
      summary: 'They said hello twice.',
    });
    await session.close();
  });

  it('a summary that outlasts timeoutMs is aborted: compaction_failed (warn), the history kept', async () => {
    const seen: AbortSignal[] = [];
    const summariser = new MockLanguageModelV3({
      // Answers only when aborted, with the abort's reason.
      doGenerate: ({ abortSignal }) =>
        new Promise((_resolve, reject) => {
          seen.push(abortSignal!);
          abortSignal!.addEventListener('abort', () => reject(abortSignal!.reason));
        }),
    });
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'desk', instructions: 'Help.' }],
      model: mockLanguageModel(['Fine.']),
      logger: silentLogger,
      compaction: { maxChars: 25, keepRecent: 2, model: summariser, timeoutMs: 50 },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('hello');
    await session.sendText('hello');
    const error = await rec.waitFor('error');
    expect(error).toMatchObject({ component: 'compaction', severity: 'warn' });
    expect(error.error).toMatchObject({ code: 'compaction_failed', retryable: true });
    expect((error.error.cause as Error).name).toBe('TimeoutError');
    expect(seen).toHaveLength(1);
    expect(session.history.map((m) => messageText(m))).toEqual(['hello', 'Fine.', 'hello', 'Fine.']);
    await session.close();
  });

  it('closing the session aborts a summary under way; nothing is reported', async () => {
    const seen: AbortSignal[] = [];
    const summariser = new MockLanguageModelV3({
      doGenerate: ({ abortSignal }) =>
        new Promise((_resolve, reject) => {
          seen.push(abortSignal!);
          abortSignal!.addEventListener('abort', () => reject(abortSignal!.reason));
        }),
    });
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'desk', instructions: 'Help.' }],
      model: mockLanguageModel(['Fine.']),
      logger: silentLogger,
      compaction: { maxChars: 25, keepRecent: 2, model: summariser },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('hello');
    await session.sendText('hello');
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]!.aborted).toBe(false);
    await session.close();
    expect(seen[0]!.aborted).toBe(true);
    expect(rec.payloads('error')).toEqual([]);
  });

  it('below the budget nothing happens', async () => {
    const summariser = mockLanguageModel(['never']);
    const session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'desk', instructions: 'Help.' }],
      model: mockLanguageModel(['Fine.']),
      logger: silentLogger,
      compaction: { maxTokens: 10_000, model: summariser },
    });
    for (let i = 0; i < 4; i++) await session.sendText('hello');
    await session.close();
    expect(summariser.doGenerateCalls).toHaveLength(0);
  });
});
