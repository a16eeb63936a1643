/**
 * One LLM pass (`runLlmPass`) driven directly: every stream part's event and payload, the pass result,
 * refused tool calls, the failure mapping, a cut pass, and the watchdog's timer released.
 */
import { APICallError, type LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { type LanguageModelUsage, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../bus/event-bus.ts';
import { ProviderError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { type LlmPassOptions, runLlmPass, toUsage } from './turn.ts';

type Part = LanguageModelV3StreamPart;

const FINISH: Part = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: {
    inputTokens: { total: 7, noCache: 5, cacheRead: 2, cacheWrite: undefined },
    outputTokens: { total: 3, text: 3, reasoning: undefined },
  },
};

/** A model whose n-th call streams `calls[n]` (the last repeats); a part list may end with an `Error` the stream fails with. */
function scripted(calls: Array<Array<Part | Error>>, modelId = 'm-1') {
  let n = 0;
  return new MockLanguageModelV3({
    modelId,
    doStream: async () => {
      const parts = calls[Math.min(n++, calls.length - 1)];
      let i = 0;
      return {
        stream: new ReadableStream<Part>({
          // One part per read, so a failure comes after the parts before it were read.
          pull(c) {
            const p = parts[i++];
            if (p === undefined) c.close();
            else if (p instanceof Error) c.error(p);
            else c.enqueue(p);
          },
        }),
      };
    },
  });
}

function pass(model: MockLanguageModelV3, extra: Partial<LlmPassOptions> = {}) {
  const bus = new EventBus({ logger: silentLogger });
  const rec = new EventRecorder(bus);
  const pushed: string[] = [];
  const controller = new AbortController();
  const options: LlmPassOptions = {
    bus,
    sessionId: 's1',
    turnId: 't1',
    agentName: 'main',
    model,
    system: 'sys',
    messages: [{ role: 'user', content: 'hi' }],
    tools: {},
    stopWhen: stepCountIs(5),
    controller,
    cut: () => false,
    sink: { pushText: (d) => void pushed.push(d) },
    ...extra,
  };
  return { bus, rec, pushed, controller, run: () => runLlmPass(options) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('toUsage', () => {
  const cases: Array<[string, unknown, unknown]> = [
    ['no usage', undefined, {}],
    ['nothing set', { inputTokenDetails: {}, outputTokenDetails: {} }, {}],
    // A usage object without its detail objects (the AI SDK's older shape): no key, no TypeError.
    [
      'no detail objects',
      { inputTokens: 4, outputTokens: 2, totalTokens: 6 },
      { inputTokens: 4, outputTokens: 2, totalTokens: 6 },
    ],
    [
      'older names only',
      { reasoningTokens: 9, cachedInputTokens: 8 },
      { reasoningTokens: 9, cachedInputTokens: 8 },
    ],
    [
      'every field',
      {
        inputTokens: 10,
        inputTokenDetails: { noCacheTokens: 6, cacheReadTokens: 3, cacheWriteTokens: 1 },
        outputTokens: 5,
        outputTokenDetails: { textTokens: 4, reasoningTokens: 1 },
        totalTokens: 15,
        reasoningTokens: 99,
        cachedInputTokens: 98,
      },
      {
        inputTokens: 10,
        inputTokenDetails: { noCacheTokens: 6, cacheReadTokens: 3, cacheWriteTokens: 1 },
        outputTokens: 5,
        outputTokenDetails: { textTokens: 4, reasoningTokens: 1 },
        totalTokens: 15,
        // the detail wins over the older name
        reasoningTokens: 1,
        cachedInputTokens: 3,
      },
    ],
    [
      'one detail of each',
      { inputTokenDetails: { cacheWriteTokens: 2 }, outputTokenDetails: { textTokens: 0 } },
      { inputTokenDetails: { cacheWriteTokens: 2 }, outputTokenDetails: { textTokens: 0 } },
    ],
    [
      'zeros are kept',
      { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(toUsage(input as LanguageModelUsage | undefined)).toEqual(expected);
  });
});

describe('runLlmPass: the events of a pass', () => {
  it('a text answer: every event in order with its whole payload, the sink fed, empty deltas skipped', async () => {
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'Hello' },
        { type: 'text-delta', id: 'a', delta: '' },
        { type: 'text-delta', id: 'a', delta: ' there' },
        { type: 'text-end', id: 'a' },
        FINISH,
      ],
    ]);
    const { rec, pushed, run, controller } = pass(model);
    const result = await run();
    const usage = {
      inputTokens: 7,
      inputTokenDetails: { noCacheTokens: 5, cacheReadTokens: 2 },
      outputTokens: 3,
      outputTokenDetails: { textTokens: 3 },
      totalTokens: 10,
      cachedInputTokens: 2,
    };
    expect(rec.events.map((e) => [e.type, e.payload])).toEqual([
      ['llm.start', { sessionId: 's1', turnId: 't1', agentName: 'main' }],
      ['llm.step.start', { sessionId: 's1', turnId: 't1', stepNumber: 0 }],
      ['llm.text.start', { sessionId: 's1', turnId: 't1', id: 'a' }],
      ['llm.text.delta', { sessionId: 's1', turnId: 't1', id: 'a', text: 'Hello' }],
      ['llm.text.delta', { sessionId: 's1', turnId: 't1', id: 'a', text: ' there' }],
      ['llm.text.end', { sessionId: 's1', turnId: 't1', id: 'a', text: 'Hello there' }],
      ['llm.step.finish', { sessionId: 's1', turnId: 't1', stepNumber: 0, finishReason: 'stop', usage }],
      ['metrics.usage', { sessionId: 's1', turnId: 't1', agentName: 'main', model: 'm-1', usage }],
      ['llm.end', { sessionId: 's1', turnId: 't1', outcome: 'finish', finishReason: 'stop', usage }],
    ]);
    expect(pushed).toEqual(['Hello', ' there']);
    expect(result).toEqual({
      outcome: 'finish',
      text: 'Hello there',
      stepMessages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello there' }] }],
      finishReason: 'stop',
      usage,
    });
    expect(controller.signal.aborted).toBe(false);
  });

  it('two text parts of one step each end with their own text; reasoning is published, not spoken', async () => {
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'reasoning-start', id: 'r' },
        { type: 'reasoning-delta', id: 'r', delta: 'Think' },
        { type: 'reasoning-delta', id: 'r', delta: 'ing.' },
        { type: 'reasoning-end', id: 'r' },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'One.' },
        { type: 'text-end', id: 'a' },
        { type: 'text-start', id: 'b' },
        { type: 'text-delta', id: 'b', delta: 'Two.' },
        { type: 'text-end', id: 'b' },
        { type: 'text-end', id: 'a' },
        FINISH,
      ],
    ]);
    const { rec, pushed, run } = pass(model);
    const result = await run();
    expect(rec.payloads('llm.reasoning.start')).toEqual([{ sessionId: 's1', turnId: 't1', id: 'r' }]);
    expect(rec.payloads('llm.reasoning.delta')).toEqual([
      { sessionId: 's1', turnId: 't1', id: 'r', text: 'Think' },
      { sessionId: 's1', turnId: 't1', id: 'r', text: 'ing.' },
    ]);
    expect(rec.payloads('llm.reasoning.end')).toEqual([
      { sessionId: 's1', turnId: 't1', id: 'r', text: 'Thinking.' },
    ]);
    // A text part ended twice: its text was released at its first end.
    expect(rec.payloads('llm.text.end').map((e) => [e.id, e.text])).toEqual([
      ['a', 'One.'],
      ['b', 'Two.'],
      ['a', ''],
    ]);
    expect(pushed).toEqual(['One.', 'Two.']);
    expect(result.text).toBe('One.Two.');
  });

  it('a reasoning part ended twice ends the second time empty', async () => {
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'reasoning-start', id: 'r' },
        { type: 'reasoning-delta', id: 'r', delta: 'Hm.' },
        { type: 'reasoning-end', id: 'r' },
        { type: 'reasoning-end', id: 'r' },
        FINISH,
      ],
    ]);
    const { rec, run } = pass(model);
    await run();
    expect(rec.payloads('llm.reasoning.end').map((e) => e.text)).toEqual(['Hm.', '']);
  });

  it('a search source is published as llm.search-response', async () => {
    const source: Part = {
      type: 'source',
      sourceType: 'url',
      id: 'src-1',
      url: 'https://example.test/a',
      title: 'A',
    };
    const model = scripted([[{ type: 'stream-start', warnings: [] }, source, FINISH]]);
    const { rec, run } = pass(model);
    await run();
    expect(rec.payloads('llm.search-response')).toEqual([
      {
        sessionId: 's1',
        turnId: 't1',
        response: {
          type: 'source',
          sourceType: 'url',
          id: 'src-1',
          url: 'https://example.test/a',
          title: 'A',
        },
      },
    ]);
  });

  it('a tool step then an answer: tool input events, step numbers 0 then 1, the step messages of both steps', async () => {
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'tool-input-start', id: 'c1', toolName: 'add' },
        { type: 'tool-input-delta', id: 'c1', delta: '{"a":1}' },
        { type: 'tool-input-end', id: 'c1' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'add', input: '{"a":1}' },
        { ...FINISH, finishReason: { unified: 'tool-calls', raw: 'tool_calls' } } as Part,
      ],
      [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'x' },
        { type: 'text-delta', id: 'x', delta: 'Two.' },
        { type: 'text-end', id: 'x' },
        FINISH,
      ],
    ]);
    const tools = {
      add: tool({ inputSchema: z.object({ a: z.number() }), execute: async ({ a }) => a + 1 }),
    };
    const { rec, run } = pass(model, { tools });
    const result = await run();
    expect(
      rec.events.filter((e) => e.type.startsWith('llm.tool-input')).map((e) => [e.type, e.payload]),
    ).toEqual([
      ['llm.tool-input.start', { sessionId: 's1', turnId: 't1', id: 'c1', toolName: 'add' }],
      ['llm.tool-input.delta', { sessionId: 's1', turnId: 't1', id: 'c1', delta: '{"a":1}' }],
      ['llm.tool-input.end', { sessionId: 's1', turnId: 't1', id: 'c1' }],
    ]);
    expect(rec.payloads('llm.step.start').map((e) => e.stepNumber)).toEqual([0, 1]);
    expect(rec.payloads('llm.step.finish').map((e) => [e.stepNumber, e.finishReason])).toEqual([
      [0, 'tool-calls'],
      [1, 'stop'],
    ]);
    // A tool that ran is reported by the tool wrapper, not by the pass.
    expect(rec.types(['tool.call', 'tool.result', 'error'])).toEqual([]);
    expect(result.stepMessages.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
    expect(result.text).toBe('Two.');
  });
});

describe('runLlmPass: tool calls the AI SDK refused', () => {
  const call = (toolName: string, input: string): Part[] => [
    { type: 'stream-start', warnings: [] },
    { type: 'tool-call', toolCallId: 'c9', toolName, input },
    { ...FINISH, finishReason: { unified: 'tool-calls', raw: 'tool_calls' } } as Part,
  ];
  const answer: Part[] = [{ type: 'stream-start', warnings: [] }, FINISH];
  const tools = { add: tool({ inputSchema: z.object({ a: z.number() }), execute: async () => 1 }) };

  it('an unknown tool: tool.call, an error tool.result and a warning, each once, with unknown_tool', async () => {
    const { rec, run } = pass(scripted([call('nope', '{}'), answer]), { tools });
    await run();
    expect(rec.payloads('tool.call')).toEqual([
      { sessionId: 's1', agentName: 'main', id: 'c9', name: 'nope', args: {}, turnId: 't1' },
    ]);
    const [result] = rec.payloads('tool.result');
    expect(rec.payloads('tool.result')).toHaveLength(1);
    expect(result).toMatchObject({
      sessionId: 's1',
      toolCallId: 'c9',
      status: 'error',
      result: { error: 'The model called an unknown tool "nope"' },
      name: 'nope',
      turnId: 't1',
      durationMs: 0,
    });
    expect(result.error).toMatchObject({
      code: 'unknown_tool',
      message: 'The model called an unknown tool "nope"',
    });
    expect(rec.payloads('error').map((e) => [e.component, e.severity, e.error.code])).toEqual([
      ['tool:nope', 'warn', 'unknown_tool'],
    ]);
  });

  it('arguments that fail the schema: invalid_tool_args naming the tool', async () => {
    const { rec, run } = pass(scripted([call('add', '{"a":"x"}'), answer]), { tools });
    await run();
    const [result] = rec.payloads('tool.result');
    expect(result.error?.code).toBe('invalid_tool_args');
    expect(result.error?.message).toMatch(/^Tool "add" got invalid arguments: ./);
    expect(result.result).toEqual({ error: result.error?.message });
    expect(rec.payloads('tool.call').map((e) => [e.name, e.args])).toEqual([['add', { a: 'x' }]]);
    expect(rec.payloads('error').map((e) => [e.component, e.severity, e.error.code])).toEqual([
      ['tool:add', 'warn', 'invalid_tool_args'],
    ]);
  });
});

describe('runLlmPass: failures', () => {
  const unauthorized = () =>
    new APICallError({
      message: 'Incorrect API key provided',
      url: 'https://api.example.test/v1',
      requestBodyValues: {},
      statusCode: 401,
      isRetryable: false,
    });

  it('an error part: llm_stream_failed (retryable, with its cause), llm.end error, an error event; the text so far kept', async () => {
    const boom = new Error('upstream 502');
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'Par' },
        { type: 'error', error: boom },
        FINISH,
      ],
    ]);
    const { rec, run } = pass(model);
    const result = await run();
    expect(result.outcome).toBe('error');
    expect(result.text).toBe('Par');
    expect(result.error).toBeInstanceOf(ProviderError);
    expect(result.error).toMatchObject({
      code: 'llm_stream_failed',
      message: 'LLM stream failed: upstream 502',
      retryable: true,
    });
    expect(result.error?.cause).toBe(boom);
    expect(rec.payloads('llm.end')).toEqual([
      { sessionId: 's1', turnId: 't1', outcome: 'error', error: result.error },
    ]);
    expect(rec.payloads('error')).toEqual([
      { sessionId: 's1', component: 'llm', error: result.error, severity: 'error' },
    ]);
  });

  it('a ProviderError from the stream is passed on as it is', async () => {
    const own = new ProviderError('llm_timeout', 'slow down', { retryable: false });
    const { rec, run } = pass(
      scripted([[{ type: 'stream-start', warnings: [] }, { type: 'error', error: own }, FINISH]]),
    );
    const result = await run();
    expect(result.error).toBe(own);
    expect(rec.payloads('error').map((e) => [e.error, e.severity])).toEqual([[own, 'error']]);
  });

  it('the credentials refused (401) mid-stream: fatal llm_auth_failed naming the status, the refusal its cause', async () => {
    const refusal = unauthorized();
    const { rec, run } = pass(scripted([[{ type: 'stream-start', warnings: [] }, refusal]]));
    const result = await run();
    expect(result.error).toMatchObject({
      code: 'llm_auth_failed',
      message: 'The language model provider refused the credentials (HTTP 401)',
    });
    expect(result.error?.cause).toBe(refusal);
    expect(rec.payloads('error').map((e) => [e.component, e.severity, e.error.code])).toEqual([
      ['llm', 'fatal', 'llm_auth_failed'],
    ]);
  });

  it('the first error wins: an error part, then the stream failing', async () => {
    const first = new Error('first');
    const model = scripted([
      [{ type: 'stream-start', warnings: [] }, { type: 'error', error: first }, new Error('second')],
    ]);
    const { run } = pass(model);
    const result = await run();
    expect(result.error?.cause).toBe(first);
  });
});

describe('runLlmPass: a cut pass', () => {
  it('cut before the stream: abort, the text so far, no llm.end, no step or text events', async () => {
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'Never' },
        { type: 'text-end', id: 'a' },
        FINISH,
      ],
    ]);
    const { rec, pushed, run } = pass(model, { cut: () => true });
    const result = await run();
    expect(result).toEqual({ outcome: 'abort', text: '', stepMessages: [] });
    expect(rec.types()).toEqual(['llm.start']);
    expect(pushed).toEqual([]);
  });

  it('cut after the first delta: the rest is not published, and a failure after the cut is not reported', async () => {
    let cut = false;
    const model = scripted([
      [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'a' },
        { type: 'text-delta', id: 'a', delta: 'Kept' },
        { type: 'text-delta', id: 'a', delta: ' dropped' },
        new Error('late'),
      ],
    ]);
    const h = pass(model, { cut: () => cut });
    h.bus.subscribe('llm.text.delta', () => {
      cut = true;
    });
    const result = await h.run();
    expect(result).toEqual({ outcome: 'abort', text: 'Kept', stepMessages: [] });
    expect(h.rec.types()).toEqual(['llm.start', 'llm.step.start', 'llm.text.start', 'llm.text.delta']);
  });
});

describe('runLlmPass: the watchdog', () => {
  it('a pass that finishes leaves no timer behind: the controller is never aborted later', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const model = scripted([
      [{ type: 'stream-start', warnings: [] }, { type: 'text-start', id: 'a' }, FINISH],
    ]);
    const { run, controller } = pass(model, { firstTokenTimeoutMs: 1000, stallTimeoutMs: 500 });
    const result = await run();
    expect(result.outcome).toBe('finish');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(controller.signal.aborted).toBe(false);
  });

  it('a pass that fails leaves no timer behind either', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const model = scripted([[{ type: 'stream-start', warnings: [] }, new Error('x')]]);
    const { run } = pass(model, { firstTokenTimeoutMs: 1000 });
    expect((await run()).outcome).toBe('error');
    expect(vi.getTimerCount()).toBe(0);
  });
});
