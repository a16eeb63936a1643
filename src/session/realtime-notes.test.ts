/**
 * What background work tells a realtime model, and what cutting a realtime turn cancels: against the
 * local fake OpenAI Realtime server (real WebSockets on loopback). A background tool's result and a
 * subagent's answer become a note: a user item in the provider's conversation (and in history) once no
 * turn runs. Cutting a turn cancels its inline tools only; its background tools go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, harness, openai } from '../../test/support/realtime-harness.ts';
import type { FakeOpenAIRealtimeServer } from '../testing/fake-openai-realtime-server.ts';
import { type MockResponseInput, mockLanguageModel } from '../testing/mock-llm.ts';
import { defineTool } from '../tools/define-tool.ts';

afterEach(closeAll);

/** A background tool whose result is `result`, given when the test calls its `release`. */
function held(result: unknown) {
  let release!: () => void;
  const started = new Promise<void>((resolve) => {
    release = resolve;
  });
  const t = defineTool({
    description: 'Slow work',
    inputSchema: z.object({}),
    execution: 'background',
    execute: async () => {
      await started;
      return result;
    },
  });
  return { tool: t, release: () => release() };
}

/** The text of the user message items the client created on the fake, in order. */
function userItems(server: FakeOpenAIRealtimeServer): string[] {
  return server
    .messages('conversation.item.create')
    .map((m) => m.item as { type: string; content?: Array<{ text?: string }> })
    .filter((item) => item.type === 'message')
    .map((item) => item.content?.map((c) => c.text).join('') ?? '');
}

/** Resolves once the client sent a user message item whose text starts with `prefix`. */
function noteSent(server: FakeOpenAIRealtimeServer, prefix: string): Promise<unknown> {
  return server.waitFor('conversation.item.create', (m) => {
    const item = m.item as { content?: Array<{ text?: string }> };
    return item.content?.some((c) => c.text?.startsWith(prefix)) ?? false;
  });
}

describe('a realtime model is told what background work found', () => {
  it('a background tool result is a note naming the tool and call: text as is, anything else as JSON', async () => {
    const { server, model } = await openai({
      replies: [
        { toolCall: { name: 'summary', args: {} }, text: 'Started.', audioMs: 100 },
        { toolCall: { name: 'count', args: {} }, text: 'Counting.', audioMs: 100 },
      ],
    });
    const summary = held('All quiet.');
    const count = held({ pages: 42 });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { summary: summary.tool, count: count.tool } }],
    });
    await session.start();
    await session.sendText('summarise');
    await session.sendText('count');
    const [first, second] = rec.payloads('tool.call');
    summary.release();
    await noteSent(server, '[Background tool "summary"');
    count.release();
    await noteSent(server, '[Background tool "count"');
    const notes = [
      `[Background tool "summary" (${first?.id}) finished with success: All quiet.]`,
      `[Background tool "count" (${second?.id}) finished with success: {"pages":42}]`,
    ];
    expect(userItems(server)).toEqual(['summarise', 'count', ...notes]);
    expect(session.history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'summarise',
      'count',
      ...notes,
    ]);
  });

  it('a subagent that finishes or fails is a note with its answer or its error', async () => {
    const run = async (researcherAnswer: MockResponseInput) => {
      const { server, model } = await openai({
        replies: [
          {
            toolCall: { name: 'handoff_to_researcher', args: { task: 'tides' } },
            text: 'I asked our researcher.',
            audioMs: 100,
          },
        ],
      });
      const { session } = harness(model, {
        agents: [
          { name: 'main', instructions: 'main', subagents: ['researcher'], transfers: [] },
          {
            name: 'researcher',
            instructions: 'research',
            model: mockLanguageModel([researcherAnswer]),
            transfers: [],
          },
        ],
      });
      await session.start();
      await session.sendText('why are there tides?');
      await noteSent(server, '[Subagent');
      return userItems(server).slice(1);
    };
    expect(await run('Tides follow the moon.')).toEqual([
      '[Subagent "researcher" finished: Tides follow the moon.]',
    ]);
    expect(await run([{ error: new Error('model down') }])).toEqual([
      '[Subagent "researcher" failed: model down]',
    ]);
  });
});

describe('cutting a realtime turn', () => {
  it('cancels its inline tools only: a background tool it started goes on and its result is told', async () => {
    const { server, model } = await openai({
      replies: [
        { toolCall: { name: 'watch', args: {} }, text: 'Watching now, this takes a while.', audioMs: 2000 },
      ],
    });
    const watch = held('Nothing moved.');
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { watch: watch.tool } }],
    });
    await session.start();
    const cut = session.sendText('watch the door');
    const call = await rec.waitFor('tool.call');
    await rec.waitFor('speech.start'); // the answer to the started tool is being spoken
    session.interrupt();
    expect(await cut).toMatchObject({ turnId: call.turnId, interrupted: true });
    expect(rec.types(['tool.cancel'])).toEqual([]);
    watch.release();
    expect(await rec.waitFor('tool.result', (p) => p.toolCallId === call.id)).toMatchObject({
      status: 'success',
      result: 'Nothing moved.',
    });
    await noteSent(server, '[Background tool "watch"');
    expect(rec.types(['tool.cancel'])).toEqual([]);
  });
});
