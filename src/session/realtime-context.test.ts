/**
 * The context of a realtime conversation near its budget: OpenAI Realtime deletes the oldest items
 * (`conversation.item.delete`) once a response's input tokens reach the trigger; Gemini Live
 * compresses with its sliding window unannounced, and the drop in its prompt token count is reported.
 * Both publish `context.compact {removedItems}`; the conversation goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { CompressionWatch } from '../providers/realtime/gemini-compression.ts';

afterEach(closeAll);

/** About 50 fake tokens of speech. */
const LONG = 'The spa opens at nine and closes at nine, and the pool is heated all year. '.repeat(3);

describe('realtime context near its budget', () => {
  it('OpenAI: past the trigger the oldest items are deleted, context.compact counts them, the next turn fits', async () => {
    const { server, model } = await openai(
      { replies: Array.from({ length: 12 }, () => ({ text: LONG, audioMs: 100 })) },
      { context: { maxTokens: 400, triggerRatio: 0.8, targetRatio: 0.4 } },
    );
    const { session, rec } = harness(model);
    await session.start();
    const inputTokens = () => rec.payloads('metrics.usage').map((p) => p.usage.inputTokens ?? 0);
    while (rec.payloads('context.compact').length === 0 && inputTokens().length < 10) {
      await session.sendText('tell me about the spa');
    }
    const [compact] = rec.payloads('context.compact');
    expect(compact).toBeDefined();
    const deleted = server.messages('conversation.item.delete').map((m) => m.item_id);
    expect(compact!.removedItems).toBe(deleted.length);
    expect(deleted.length).toBeGreaterThan(1);
    // The oldest first: the first question and the first answer are among them.
    expect(deleted.slice(0, 2)).toEqual(['item_1', 'item_3']);
    expect(server.deletions).toEqual(deleted); // the server accepted every one
    const trigger = 0.8 * 400;
    expect(inputTokens().at(-1)).toBeGreaterThanOrEqual(trigger);
    const next = await session.sendText('and the pool?');
    expect(next.text).toBe(LONG);
    expect(inputTokens().at(-1)).toBeLessThan(trigger);
    expect(rec.payloads('context.compact')).toHaveLength(1);
  });

  it('OpenAI: context false never deletes', async () => {
    const { server, model } = await openai(
      { replies: Array.from({ length: 7 }, () => ({ text: LONG, audioMs: 100 })) },
      { context: false },
    );
    const { session, rec } = harness(model);
    await session.start();
    for (let i = 0; i < 7; i++) await session.sendText('tell me about the spa');
    // Past the trigger a budget of 400 tokens would have (0.8 × 400).
    expect(Math.max(...rec.payloads('metrics.usage').map((p) => p.usage.inputTokens ?? 0))).toBeGreaterThan(
      320,
    );
    expect(server.messages('conversation.item.delete')).toEqual([]);
    expect(rec.payloads('context.compact')).toEqual([]);
  });

  it('OpenAI: a budget that cannot work is refused when the model is made', async () => {
    await expect(openai({}, { context: { triggerRatio: 0.5, targetRatio: 0.6 } })).rejects.toMatchObject({
      code: 'invalid_options',
    });
  });

  it('Gemini: the sliding window configured in the setup drops turns; the token drop is published as context.compact', async () => {
    const { server, model } = await gemini(
      { replies: Array.from({ length: 8 }, () => ({ text: LONG, audioMs: 100 })) },
      { compression: { triggerTokens: 300, targetTokens: 120 } },
    );
    const { session, rec } = harness(model);
    await session.start();
    expect(server.setups[0]!.contextWindowCompression).toEqual({
      triggerTokens: '300',
      slidingWindow: { targetTokens: '120' },
    });
    while (server.compressions === 0 && rec.payloads('turn.end').length < 8) {
      await session.sendText('tell me about the spa');
    }
    expect(server.compressions).toBe(1);
    const compact = await rec.waitFor('context.compact');
    expect(compact.removedTokens).toBeGreaterThan(0);
    expect(compact.removedItems).toBeGreaterThanOrEqual(2);
    const next = await session.sendText('and the pool?');
    expect(next.text).toBe(LONG);
  });
});

describe('CompressionWatch (Gemini prompt token counts)', () => {
  it('a growing context reports nothing; a smaller prompt is a compression of at least the difference', () => {
    const watch = new CompressionWatch();
    expect(watch.observe(100, 50)).toBeUndefined();
    expect(watch.observe(170, 50)).toBeUndefined(); // +70: one exchange
    expect(watch.observe(240, 50)).toBeUndefined(); // +70
    expect(watch.observe(undefined, 10)).toBeUndefined();
    const compact = watch.observe(120, 50);
    expect(compact).toEqual({ removedTokens: 240 + 50 - 120, removedItems: 4 }); // both exchanges seen
    expect(watch.observe(190, 50)).toBeUndefined();
  });
});
