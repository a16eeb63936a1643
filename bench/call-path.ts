/**
 * Call path: what the AI SDK's `streamText` costs per turn above calling the provider's `doStream`
 * directly, as the conversation grows. `streamText` validates the whole prompt on every call
 * (`standardizePrompt`: a zod parse of every history message) and runs the stream through its
 * transformations (steps, tool handling, telemetry spans, callbacks); `doStream` is the provider
 * interface underneath. Same mock model, same messages, batches alternated; process CPU time.
 *
 * This row decides whether a leaner call path through `doStream` is worth owning: it would have to
 * re-implement what `streamText` gives every provider (prompt conversion and validation, tool-call
 * parsing and repair, multi-step tool loops, `prepareStep`, retries, middleware and telemetry).
 */
import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { type ModelMessage, streamText } from 'ai';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { alternateBatches } from './cpu-batches.ts';
import { round } from './stats.ts';

const ANSWER =
  'The breakfast buffet opens at seven and closes at half past ten every single morning in the garden room.';
const SYSTEM = 'You are a hotel concierge.';

export interface CallPathRow {
  /** Messages in the history sent with the turn (user and assistant alternating). */
  historyMessages: number;
  streamTextMs: number;
  doStreamMs: number;
  /** `streamText` above `doStream`: what a leaner path could save at most. */
  differenceMs: number;
}

function history(n: number): ModelMessage[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? { role: 'user' as const, content: `Question number ${i}: what time does the pool open?` }
      : { role: 'assistant' as const, content: `Answer number ${i}: ${ANSWER}` },
  );
}

function asPrompt(messages: ModelMessage[]): LanguageModelV3Prompt {
  return [
    { role: 'system', content: SYSTEM },
    ...messages.map((m) =>
      m.role === 'user'
        ? { role: 'user' as const, content: [{ type: 'text' as const, text: String(m.content) }] }
        : { role: 'assistant' as const, content: [{ type: 'text' as const, text: String(m.content) }] },
    ),
  ];
}

export async function runCallPath(quick: boolean): Promise<CallPathRow[]> {
  const model = mockLanguageModel([ANSWER]);
  const turns = quick ? 40 : 100;
  const rounds = quick ? 3 : 5;
  const rows: CallPathRow[] = [];
  for (const n of [1, 21, 101]) {
    const messages = history(n);
    const prompt = asPrompt(messages);
    const viaStreamText = async () => {
      const r = streamText({ model, system: SYSTEM, messages });
      for await (const _ of r.fullStream);
    };
    const viaDoStream = async () => {
      const { stream } = await model.doStream({ prompt });
      const reader = stream.getReader();
      while (!(await reader.read()).done);
    };
    const m = await alternateBatches(viaDoStream, viaStreamText, {
      calls: turns,
      rounds,
      // The first row otherwise pays the JIT's warm-up (1 message read slower than 101).
      warm: quick ? 20 : 150,
      beforeBatch: () => {
        model.doStreamCalls.length = 0;
      },
    });
    rows.push({
      historyMessages: n,
      streamTextMs: round(m.b, 3),
      doStreamMs: round(m.a, 3),
      differenceMs: round(m.difference, 3),
    });
  }
  return rows;
}

export function printCallPath(rows: CallPathRow[]): void {
  console.log("\n## Call path: `streamText` above the provider's `doStream` (same mock model)\n");
  console.log('| history messages | streamText + consume | doStream + consume | difference |');
  console.log('|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.historyMessages} | ${r.streamTextMs} ms | ${r.doStreamMs} ms | ${r.differenceMs} ms |`,
    );
}

// Run alone: `node --import ./bench/loader/register.mjs bench/call-path.ts [--quick]`
if (import.meta.url === `file://${process.argv[1]}`) {
  printCallPath(await runCallPath(process.argv.includes('--quick')));
  process.exit(0);
}
