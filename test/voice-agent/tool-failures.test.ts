/**
 * A tool that throws, one that times out and one whose arguments fail its schema: each call is seen
 * exactly once on every surface — the bus, the hooks, the VoiceAgent events, the native WebSocket
 * messages (a real `ws` client) and RTVI `llm-function-call-*` — with its real outcome.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { attachHooks, type SessionHooks } from '../../src/bus/hooks.ts';
import { silentLogger } from '../../src/logger.ts';
import type { RtviServerMessage } from '../../src/surfaces/rtvi/messages.ts';
import { RtviProjection } from '../../src/surfaces/rtvi/rtvi-projection.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { defineTool } from '../../src/tools/define-tool.ts';
import { openClient, recordEvents, startServer } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tools = {
  explode: defineTool({
    description: 'Always throws',
    inputSchema: z.object({}),
    execute: async (): Promise<string> => {
      throw new Error('kaboom');
    },
  }),
  slow: defineTool({
    description: 'Never answers in time',
    inputSchema: z.object({}),
    timeoutMs: 30,
    execute: (_args, { abortSignal }) =>
      new Promise<string>((_resolve, reject) =>
        abortSignal?.addEventListener('abort', () => reject(abortSignal.reason)),
      ),
  }),
  weather: defineTool({
    description: 'Weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => `sunny in ${city}`,
  }),
};

describe('failing tools are reported once on every surface', () => {
  it('throwing, timing-out and schema-failing calls: one call and one result each, with the real outcome', async () => {
    const model = mockLanguageModel([
      [
        { toolCall: { name: 'explode', args: {}, id: 'c-throw' } },
        { toolCall: { name: 'slow', args: {}, id: 'c-timeout' } },
        { toolCall: { name: 'weather', args: { city: 42 }, id: 'c-schema' } },
      ],
      'Sorry, none of that worked.',
    ]);
    const agent = new VoiceAgent({ model, tools, logger: silentLogger });
    cleanups.push(() => agent.destroy());
    const bus = new EventRecorder(agent.bus);
    const hookCalls: string[] = [];
    const hookResults: Array<[string, string]> = [];
    const hookErrors: string[] = [];
    const hooks: SessionHooks = {
      onToolCall: (e) => void hookCalls.push(e.toolCallId),
      onToolResult: (e) => void hookResults.push([e.toolCallId, e.status]),
      onError: (e) => void hookErrors.push(e.error.code),
    };
    attachHooks(agent.bus, hooks, silentLogger);
    const rtvi: RtviServerMessage[] = [];
    const projection = new RtviProjection(agent.bus, { send: (m) => rtvi.push(m) });
    cleanups.push(() => projection.dispose());
    const events = recordEvents(agent);
    agent.on('error', () => {});
    const server = await startServer((socket) => agent.handleSocket(socket));
    cleanups.push(() => server.close());
    const client = await openClient(server.url);
    cleanups.push(() => client.socket.terminate());

    client.send({ type: 'transcript', text: 'do all three' });
    await client.waitFor('response_complete');

    // Each surface sees each call once; a refused call may be reported before the ones that ran.
    const ids = ['c-schema', 'c-throw', 'c-timeout'];
    const sorted = <T>(xs: T[]) => [...xs].sort();
    // Bus.
    expect(sorted(bus.payloads('tool.call').map((p) => p.id))).toEqual(ids);
    expect(
      sorted(bus.payloads('tool.result').map((p) => [p.toolCallId, p.status, p.error?.code].join(' '))),
    ).toEqual([
      'c-schema error invalid_tool_args',
      'c-throw error tool_failed',
      'c-timeout timeout tool_timeout',
    ]);
    expect(
      bus.payloads('tool.result').find((p) => p.toolCallId === 'c-timeout')?.durationMs,
    ).toBeGreaterThanOrEqual(25);
    expect(
      bus
        .payloads('error')
        .filter((p) => p.component.startsWith('tool:'))
        .map((p) => p.error.code),
    ).toEqual(expect.arrayContaining(['tool_failed', 'tool_timeout', 'invalid_tool_args']));
    expect(bus.payloads('error').filter((p) => p.component.startsWith('tool:'))).toHaveLength(3);
    // Hooks.
    expect(sorted(hookCalls)).toEqual(ids);
    expect(sorted(hookResults.map((r) => r.join(' ')))).toEqual([
      'c-schema error',
      'c-throw error',
      'c-timeout timeout',
    ]);
    expect(sorted(hookErrors)).toEqual(['invalid_tool_args', 'tool_failed', 'tool_timeout']);
    // VoiceAgent events.
    const named = (n: string) =>
      events.filter((e) => e.name === n).map((e) => (e.args[0] as { toolCallId: string }).toolCallId);
    expect(sorted(named('chunk:tool_call'))).toEqual(ids);
    expect(sorted(named('tool_result'))).toEqual(ids);
    // Native WebSocket messages: one stream for the turn, though the model was asked twice.
    expect(client.of('stream_start')).toHaveLength(1);
    expect(sorted(client.of('tool_call').map((m) => m.toolCallId))).toEqual(ids);
    expect(sorted(client.of('tool_error').map((m) => m.toolCallId))).toEqual(ids);
    expect(client.of('tool_result')).toEqual([]);
    const complete = client.of('response_complete')[0] as unknown as {
      toolCalls: unknown[];
      toolResults: unknown[];
    };
    expect(complete.toolCalls).toHaveLength(3);
    expect(complete.toolResults).toHaveLength(3);
    // RTVI.
    const rtviIds = (type: string) =>
      sorted(
        rtvi
          .filter((m) => m.type === type)
          .map((m) => (m as { data?: { tool_call_id?: string } }).data?.tool_call_id),
      );
    expect(rtviIds('llm-function-call-in-progress')).toEqual(ids);
    expect(rtviIds('llm-function-call-stopped')).toEqual(ids);
    expect(rtvi.filter((m) => m.type === 'llm-function-call-started')).toHaveLength(3);
  });
});
