/**
 * One provider tool call run against the session's tools (`runRealtimeToolCall`): its arguments
 * parsed and checked at the edge (size, depth, JSON, the tool's schema), what goes back to the model,
 * and the events of a call refused before the tool ran (`tool.call` + `tool.result {status:'error'}`
 * + a `tool:<name>` warning). And how tools are declared to the provider (`declareTools`).
 */
import { jsonSchema, type ToolSet, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { type ColloquyError, InvalidInputError, ToolError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { EventRecorder } from '../testing/recorder.ts';
import {
  declareTools,
  MAX_TOOL_ARGS_BYTES,
  MAX_TOOL_ARGS_DEPTH,
  runRealtimeToolCall,
} from './realtime-tools.ts';

function setup(tools: ToolSet, turn: string | null = 't1') {
  const turnId = turn ?? undefined;
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const rec = new EventRecorder(bus);
  const signal = new AbortController().signal;
  const run = (name: string, argumentsJson: string) =>
    runRealtimeToolCall(
      tools,
      { callId: 'c1', name, argumentsJson },
      { bus, sessionId: 's1', agentName: 'main', turnId },
      signal,
    );
  return { rec, run, signal };
}

/** Records the arguments each call ran with. */
function recording(inputSchema: unknown) {
  const seen: unknown[] = [];
  const t = tool({
    description: 'records',
    inputSchema: inputSchema as never,
    execute: async (args: unknown) => {
      seen.push(args);
      return 'ok';
    },
  });
  return { t, seen };
}

describe('a call refused before the tool runs', () => {
  it('an unknown tool: the model is told, tool.call + tool.result error + a warning, exactly', async () => {
    const { rec, run } = setup({});
    const result = await run('launch', '{"now":true}');
    const message = 'The model called an unknown tool "launch"';
    expect(result).toEqual({ error: message });
    const error = rec.first('tool.result')!.error as ColloquyError;
    expect(error).toBeInstanceOf(InvalidInputError);
    expect([error.code, error.message]).toEqual(['unknown_tool', message]);
    expect(rec.events.map((e) => [e.type, e.payload])).toEqual([
      [
        'tool.call',
        { sessionId: 's1', agentName: 'main', id: 'c1', name: 'launch', args: null, turnId: 't1' },
      ],
      [
        'tool.result',
        {
          sessionId: 's1',
          toolCallId: 'c1',
          status: 'error',
          result: { error: message },
          name: 'launch',
          turnId: 't1',
          durationMs: 0,
          error,
        },
      ],
      ['error', { sessionId: 's1', component: 'tool:launch', error, severity: 'warn' }],
    ]);
  });

  it('outside a turn the events carry no turnId', async () => {
    const { rec, run } = setup({}, null);
    await run('launch', '{}');
    expect(rec.first('tool.call')).not.toHaveProperty('turnId');
    expect(rec.first('tool.result')).not.toHaveProperty('turnId');
  });

  it('a tool without execute (provider-executed) is unknown here', async () => {
    const { run } = setup({ ext: { inputSchema: z.object({}) } as never });
    expect(await run('ext', '{}')).toEqual({ error: 'The model called an unknown tool "ext"' });
  });

  it(`arguments longer than ${MAX_TOOL_ARGS_BYTES} characters are refused; exactly that many are taken`, async () => {
    const { t, seen } = recording(z.object({ a: z.string() }));
    const { rec, run } = setup({ t });
    const exact = `{"a":"${'x'.repeat(MAX_TOOL_ARGS_BYTES - 8)}"}`;
    expect(exact.length).toBe(MAX_TOOL_ARGS_BYTES);
    expect(await run('t', exact)).toEqual({ output: 'ok' });
    expect(seen).toHaveLength(1);
    const over = `{"a":"${'x'.repeat(MAX_TOOL_ARGS_BYTES - 7)}"}`;
    expect(await run('t', over)).toEqual({ error: 'Tool "t" arguments exceed 65536 bytes' });
    expect(seen).toHaveLength(1);
    const error = rec.payloads('tool.result').find((p) => p.status === 'error')!.error as ColloquyError;
    expect(error.code).toBe('invalid_tool_args');
    expect(rec.first('tool.call')!.args).toBe(null);
  });

  it('arguments that are not JSON: the parse error is the cause', async () => {
    const { t } = recording(z.object({}));
    const { rec, run } = setup({ t });
    expect(await run('t', '{"a":')).toEqual({ error: 'Tool "t" arguments are not JSON' });
    const error = rec.first('tool.result')!.error as ColloquyError;
    expect(error.code).toBe('invalid_tool_args');
    expect((error.cause as { kind?: string }).kind).toBe('malformed');
  });

  it(`arguments nested deeper than ${MAX_TOOL_ARGS_DEPTH} levels are refused with the limit's message; ${MAX_TOOL_ARGS_DEPTH} are taken`, async () => {
    const { t, seen } = recording(jsonSchema({ type: 'object' }));
    const { run } = setup({ t });
    const nest = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
    expect(await run('t', nest(MAX_TOOL_ARGS_DEPTH))).toEqual({ output: 'ok' });
    expect(seen).toHaveLength(1);
    expect(await run('t', nest(MAX_TOOL_ARGS_DEPTH + 1))).toEqual({
      error: 'Tool "t" arguments are refused: JSON is nested deeper than 16 levels',
    });
  });

  it('multi-byte arguments within the characters but over the bytes are refused by the parser', async () => {
    const { t } = recording(jsonSchema({ type: 'object' }));
    const { run } = setup({ t });
    const text = `{"a":"${'é'.repeat(40_000)}"}`;
    expect(text.length).toBeLessThan(MAX_TOOL_ARGS_BYTES);
    expect(await run('t', text)).toEqual({
      error: 'Tool "t" arguments are refused: JSON is larger than 65536 bytes',
    });
  });

  it("arguments the tool's schema refuses: the schema's message, and tool.call carries the arguments sent", async () => {
    const { t, seen } = recording(z.object({ city: z.string() }));
    const { rec, run } = setup({ t });
    const result = (await run('t', '{"city":7}')) as { error: string };
    expect(result.error.startsWith('Tool "t" got invalid arguments: ')).toBe(true);
    expect(result.error).toContain('city');
    expect(seen).toEqual([]);
    expect(rec.first('tool.call')!.args).toEqual({ city: 7 });
    expect((rec.first('tool.result')!.error as ColloquyError).code).toBe('invalid_tool_args');
  });
});

describe('a call the tool runs', () => {
  it('empty or blank arguments are an empty object', async () => {
    const { t, seen } = recording(z.object({}));
    const { run } = setup({ t });
    expect(await run('t', '')).toEqual({ output: 'ok' });
    expect(await run('t', '  \n')).toEqual({ output: 'ok' });
    expect(seen).toEqual([{}, {}]);
  });

  it("the tool gets the schema's output (defaults, transforms), the call id, no messages and the signal", async () => {
    const got: unknown[] = [];
    const t = tool({
      inputSchema: z.object({
        city: z.string().transform((s) => s.toUpperCase()),
        days: z.number().default(3),
      }),
      execute: async (args, options) => {
        got.push(args, options);
        return { sky: 'sunny' };
      },
    });
    const { rec, run, signal } = setup({ t });
    expect(await run('t', '{"city":"paris"}')).toEqual({ output: { sky: 'sunny' } });
    expect(got).toEqual([
      { city: 'PARIS', days: 3 },
      { toolCallId: 'c1', messages: [], abortSignal: signal },
    ]);
    expect(rec.events).toEqual([]); // the wrapper of a session's tool publishes; a refusal only here
  });

  it('a schema without a validator passes the arguments as parsed', async () => {
    const { t, seen } = recording(jsonSchema({ type: 'object', properties: { n: { type: 'number' } } }));
    const { run } = setup({ t });
    expect(await run('t', '{"n":"not a number"}')).toEqual({ output: 'ok' });
    expect(seen).toEqual([{ n: 'not a number' }]);
  });

  it('a tool without a schema gets the parsed arguments', async () => {
    const seen: unknown[] = [];
    const plain = { execute: async (args: unknown) => void seen.push(args) } as never;
    const { run } = setup({ plain });
    expect(await run('plain', '{"x":[1,2]}')).toEqual({ output: undefined });
    expect(seen).toEqual([{ x: [1, 2] }]);
  });

  it('what the tool throws: a cancellation is "cancelled", anything else its message to the model', async () => {
    const throwing = (err: unknown) =>
      tool({
        inputSchema: z.object({}),
        execute: async (): Promise<string> => {
          throw err;
        },
      });
    const { run } = setup({
      cancelled: throwing(new ToolError('tool_cancelled', 'Cancelled')),
      timeout: throwing(new ToolError('tool_timeout', 'Tool "x" timed out after 10 ms')),
      plain: throwing(new Error('db down')),
      text: throwing('just a string'),
    });
    expect(await run('cancelled', '{}')).toBe('cancelled');
    expect(await run('timeout', '{}')).toEqual({ error: 'Tool "x" timed out after 10 ms' });
    expect(await run('plain', '{}')).toEqual({ error: 'db down' });
    expect(await run('text', '{}')).toEqual({ error: 'just a string' });
  });
});

describe('declareTools', () => {
  it('a tool without a schema takes an empty object; no description key without a description', async () => {
    const declared = await declareTools({ plain: { execute: async () => 1 } as never });
    expect(declared).toEqual([{ name: 'plain', parameters: { type: 'object', properties: {} } }]);
  });

  it('a JSON schema is declared as given, less its $schema', async () => {
    const declared = await declareTools({
      t: tool({
        description: 'd',
        inputSchema: jsonSchema({
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          properties: { n: { type: 'number' } },
          required: ['n'],
        }),
        execute: async () => 1,
      }),
    });
    expect(declared).toEqual([
      {
        name: 't',
        description: 'd',
        parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      },
    ]);
  });
});
