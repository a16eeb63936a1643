import { tool } from 'ai';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { InvalidInputError, SessionStateError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockStt } from '../testing/mock-stt.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { defineTool } from '../tools/define-tool.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

function makeSession(overrides: Partial<VoiceSessionOptions> = {}) {
  const session = new VoiceSession({
    sessionId: 's1',
    userId: 'u1',
    agents: [{ name: 'main', instructions: 'You are helpful.' }],
    model: mockLanguageModel(['Hello there.']),
    logger: silentLogger,
    ...overrides,
  });
  const rec = new EventRecorder(session.eventBus);
  return { session, rec };
}

describe('VoiceSession lifecycle', () => {
  it('start() walks created → connecting → active and publishes session.start then agent.enter', async () => {
    const { session, rec } = makeSession();
    await session.start();
    expect(rec.events.map((e) => [e.type, e.payload])).toEqual([
      ['session.stateChange', { sessionId: 's1', fromState: 'created', toState: 'connecting' }],
      ['session.stateChange', { sessionId: 's1', fromState: 'connecting', toState: 'active' }],
      ['session.start', { sessionId: 's1', userId: 'u1', agentName: 'main' }],
      ['agent.enter', { sessionId: 's1', agentName: 'main' }],
    ]);
    expect(session.state).toBe('active');
  });

  it('close() publishes stateChange → closed and session.close; later calls fail with session_closed', async () => {
    const onSessionEnd = vi.fn();
    const { session, rec } = makeSession({ hooks: { onSessionEnd } });
    await session.start();
    await session.close('user_left');
    expect(rec.payloads('session.close')).toEqual([{ sessionId: 's1', reason: 'user_left' }]);
    expect(rec.payloads('session.stateChange').at(-1)).toEqual({
      sessionId: 's1',
      fromState: 'active',
      toState: 'closed',
    });
    expect(onSessionEnd).toHaveBeenCalledWith(
      expect.objectContaining({ sessionId: 's1', reason: 'user_left' }),
    );
    expect(() => session.sendText('hi')).toThrow(SessionStateError);
    await session.close('again'); // idempotent
    expect(rec.payloads('session.close')).toHaveLength(1);
  });
});

describe('options refused when the session is made', () => {
  it('streaming user audio to an STT without a VAD: ConfigError vad_required', () => {
    expect(() =>
      makeSession({ audio: { stt: new MockStt(), tts: new MockTts(), output: { write: () => {} } } }),
    ).toThrow(
      expect.objectContaining({
        code: 'vad_required',
        message: 'Streaming user audio needs a VAD model (audio.vad) to find turns',
      }),
    );
  });
});

describe('a listener that throws', () => {
  it('is reported as a warn error naming the event, with what it threw as the cause; the turn goes on', async () => {
    const { session, rec } = makeSession();
    const boom = new Error('listener bug');
    session.eventBus.subscribe('turn.start', () => {
      throw boom;
    });
    expect((await session.sendText('Hi!')).text).toBe('Hello there.');
    const reported = rec.payloads('error').find((e) => e.component === 'event-bus');
    expect(reported).toMatchObject({ severity: 'warn' });
    expect(reported?.error).toMatchObject({
      code: 'handler_failed',
      message: 'A "turn.start" handler threw',
    });
    expect(reported?.error.cause).toBe(boom);
    await session.close();
  });
});

describe('a text turn', () => {
  it('streams through the bus in order: turn.start, user.text, llm.*, assistant.text, turn.latency, turn.end', async () => {
    const onTurnLatency = vi.fn();
    const { session, rec } = makeSession({ hooks: { onTurnLatency } });
    await session.start();
    rec.clear();
    const result = await session.sendText('  Hi!  ');
    expect(result).toMatchObject({ text: 'Hello there.', interrupted: false, agentName: 'main' });
    expect(rec.types()).toEqual([
      'turn.start',
      'user.text',
      'history.append',
      'llm.start',
      'llm.step.start',
      'llm.text.start',
      'llm.text.delta',
      'llm.text.delta',
      'llm.text.end',
      'llm.step.finish',
      'metrics.usage',
      'llm.end',
      'history.append',
      'assistant.text',
      'turn.latency',
      'turn.end',
    ]);
    const turnId = result.turnId;
    expect(rec.first('user.text')).toEqual({ sessionId: 's1', turnId, text: 'Hi!', source: 'text' });
    expect(rec.payloads('llm.text.delta').map((p) => p.text)).toEqual(['Hello', ' there.']);
    expect(rec.first('llm.end')).toMatchObject({
      turnId,
      outcome: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 10, outputTokens: 20 },
    });
    expect(rec.first('assistant.text')).toEqual({
      sessionId: 's1',
      turnId,
      agentName: 'main',
      text: 'Hello there.',
      interrupted: false,
    });
    // every event of the turn carries its turnId
    for (const e of rec.events) {
      if ('turnId' in e.payload) expect(e.payload.turnId).toBe(turnId);
    }
    expect(session.history).toEqual([
      { role: 'user', content: 'Hi!' },
      expect.objectContaining({ role: 'assistant' }),
    ]);
    expect(onTurnLatency).toHaveBeenCalledWith(
      expect.objectContaining({
        turnId,
        kind: 'text',
        segments: expect.objectContaining({ llmProcessingMs: expect.any(Number) }),
      }),
    );
  });

  it('a client connection reporting the turn’s text handed and written marks the text turn’s latency', async () => {
    const { session, rec } = makeSession();
    const off = session.eventBus.subscribe('llm.text.delta', (p) => {
      off();
      // What a projection does when it hands the first text to its connection, then sees it written.
      session.clientChannels.outputSent(p.turnId, 'handed');
      session.clientChannels.outputSent(p.turnId, 'written');
    });
    await session.sendText('Hi!');
    const { marks, segments } = await rec.waitFor('turn.latency');
    expect(marks).toMatchObject({
      firstTextHandedAt: expect.any(Number),
      firstTextOutAt: expect.any(Number),
    });
    expect(marks.firstTextOutAt).toBeGreaterThanOrEqual(marks.firstTextHandedAt!);
    // Without speech, the turn's total runs to the first text written out.
    expect(segments.totalE2EMs).toBeCloseTo(marks.firstTextOutAt! - marks.userTextAt!, 1);
    await session.close();
  });

  it('auto-starts a session that was not started', async () => {
    const { session, rec } = makeSession();
    await session.sendText('hello');
    expect(rec.types(['session.start', 'turn.start', 'turn.end'])).toEqual([
      'session.start',
      'turn.start',
      'turn.end',
    ]);
  });

  it.each([
    ['', 'empty_text', 'Text is empty'],
    ['    ', 'empty_text', 'Text is empty'],
    [42, 'invalid_text', 'Text must be a string'],
    [undefined, 'invalid_text', 'Text must be a string'],
    ['x'.repeat(8001), 'text_too_long', 'Text has 8001 characters; the limit is 8000'],
  ])('rejects bad text %j with InvalidInputError(%s) and stays usable', async (bad, code, message) => {
    const { session } = makeSession();
    await session.start();
    let caught: unknown;
    try {
      session.sendText(bad as string);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).code).toBe(code);
    expect((caught as InvalidInputError).message).toBe(message);
    await expect(session.sendText('ok')).resolves.toMatchObject({ text: 'Hello there.' });
  });

  it('a model stream that errors mid-way gives llm.end error, an error event, turn.end, and the session goes on', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'Partial answer' }, { error: new Error('upstream 500') }] },
      'Recovered.',
    ]);
    const onError = vi.fn();
    const { session, rec } = makeSession({ model, hooks: { onError } });
    const r1 = await session.sendText('first');
    expect(r1.error?.code).toBe('llm_stream_failed');
    expect(rec.first('llm.end')).toMatchObject({ outcome: 'error' });
    expect(rec.first('error')).toMatchObject({ component: 'llm', severity: 'error' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ component: 'llm', severity: 'error' }));
    expect(rec.types(['turn.end'])).toHaveLength(1);
    const r2 = await session.sendText('second');
    expect(r2.text).toBe('Recovered.');
    // the partial text stayed in history
    expect(session.history.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});

describe('bounded LLM calls', () => {
  it.each([
    [
      'nothing arrives',
      { parts: [{ text: 'late' }], initialDelayMs: 5000 },
      'llm_timeout',
      'LLM sent nothing for 100 ms',
    ],
    [
      'the stream stalls mid-way',
      { parts: [{ text: 'Hello' }, { delayMs: 5000 }, { text: 'world' }] },
      'llm_stalled',
      'LLM stream stalled for 100 ms',
    ],
  ])(
    '%s → a typed, retryable error, turn.end, and the session goes on',
    async (_what, response, code, message) => {
      const model = mockLanguageModel([response, 'Back again.']);
      const { session, rec } = makeSession({ model, llmFirstTokenTimeoutMs: 100, llmStallTimeoutMs: 100 });
      const r = await session.sendText('hi');
      expect(r.error?.code).toBe(code);
      expect(r.error?.message).toBe(message);
      expect(r.error?.retryable).toBe(true);
      expect(rec.first('llm.end')).toMatchObject({ outcome: 'error' });
      expect(rec.types(['turn.end'])).toHaveLength(1);
      expect((await session.sendText('again')).text).toBe('Back again.');
    },
  );

  it('a stall limit shorter than the first-token limit applies from the first part on', async () => {
    const model = mockLanguageModel([{ parts: [{ text: 'Hello' }, { delayMs: 60_000 }, { text: 'world' }] }]);
    // The first-token limit stays at its 30 s default.
    const { session } = makeSession({ model, llmStallTimeoutMs: 100 });
    const r = await session.sendText('hi');
    expect(r.error?.code).toBe('llm_stalled');
    expect(r.text).toBe('Hello');
  });

  it('a quiet stream while a tool runs is not a stall', async () => {
    const slow = tool({
      inputSchema: z.object({}),
      execute: () => new Promise<string>((r) => setTimeout(() => r('done'), 300)),
    });
    const model = mockLanguageModel([[{ toolCall: { name: 'slow', args: {}, id: 'c1' } }], 'Finished.']);
    const { session } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { slow } }],
      llmStallTimeoutMs: 100,
    });
    const r = await session.sendText('go');
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('Finished.');
  });
});

describe('reasoning and usage of a pass', () => {
  it('reasoning streams as llm.reasoning.* with its whole text at the end; usage keeps only the details the provider gave', async () => {
    const model = mockLanguageModel([
      {
        parts: [{ reasoning: 'First think it over, then answer.' }, { text: 'Done.' }],
        usage: { inputTokens: 10, outputTokens: 5 },
      },
      {
        parts: [{ text: 'Again.' }],
        usage: { inputTokens: 12, outputTokens: 6, cacheReadTokens: 4, reasoningTokens: 2 },
      },
    ]);
    const { session, rec } = makeSession({ model });
    expect((await session.sendText('think')).text).toBe('Done.');
    const deltas = rec.payloads('llm.reasoning.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.text).join('')).toBe('First think it over, then answer.');
    expect(rec.payloads('llm.reasoning.end').map((e) => e.text)).toEqual([
      'First think it over, then answer.',
    ]);
    await session.sendText('again');
    expect(rec.payloads('metrics.usage').map((m) => m.usage)).toStrictEqual([
      { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      {
        inputTokens: 12,
        inputTokenDetails: { cacheReadTokens: 4 },
        outputTokens: 6,
        outputTokenDetails: { reasoningTokens: 2 },
        totalTokens: 18,
        reasoningTokens: 2,
        cachedInputTokens: 4,
      },
    ]);
    await session.close();
  });
});

describe('a session without audio output', () => {
  it('speak() says nothing aloud: the whole text counts as heard, not interrupted, and enters history', async () => {
    const { session, rec } = makeSession();
    const said = await session.speak('Welcome back.');
    expect(said).toEqual({ turnId: 'say_1', agentName: 'main', text: 'Welcome back.', interrupted: false });
    expect(rec.first('assistant.text')).toMatchObject({
      turnId: 'say_1',
      text: 'Welcome back.',
      interrupted: false,
    });
    expect(session.history).toEqual([{ role: 'assistant', content: 'Welcome back.' }]);
    await session.close();
  });
});

describe('publishClientEvent', () => {
  it('publishes client.event with its topic and payload; an empty or non-string topic is refused (invalid_topic)', async () => {
    const { session, rec } = makeSession();
    await session.start();
    expect(session.publishClientEvent('cart', { items: 2 })).toMatchObject({ delivered: false });
    expect(rec.payloads('client.event')).toEqual([{ sessionId: 's1', topic: 'cart', payload: { items: 2 } }]);
    for (const topic of ['', 7 as unknown as string]) {
      expect(() => session.publishClientEvent(topic, {})).toThrow(
        expect.objectContaining({ code: 'invalid_topic', message: 'A client event needs a non-empty topic' }),
      );
    }
    expect(rec.payloads('client.event')).toHaveLength(1);
    await session.close();
  });
});

describe('tools', () => {
  const weather = tool({
    description: 'Weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, tempC: 21 }),
  });

  it('publishes tool.call then tool.result {status: success}; the LLM sees the result and answers', async () => {
    const model = mockLanguageModel([
      [{ toolCall: { name: 'weather', args: { city: 'Paris' }, id: 'call_1' } }],
      'It is 21 degrees in Paris.',
    ]);
    const onToolCall = vi.fn();
    const onToolResult = vi.fn();
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { weather } }],
      hooks: { onToolCall, onToolResult },
    });
    const r = await session.sendText('weather in paris?');
    expect(r.text).toBe('It is 21 degrees in Paris.');
    expect(rec.first('tool.call')).toEqual({
      sessionId: 's1',
      agentName: 'main',
      id: 'call_1',
      name: 'weather',
      args: { city: 'Paris' },
      turnId: r.turnId,
      execution: 'inline',
    });
    expect(rec.first('tool.result')).toMatchObject({
      sessionId: 's1',
      toolCallId: 'call_1',
      status: 'success',
      result: { city: 'Paris', tempC: 21 },
      name: 'weather',
    });
    expect(rec.types(['tool.call', 'tool.result', 'llm.text.delta']).slice(0, 3)).toEqual([
      'tool.call',
      'tool.result',
      'llm.text.delta',
    ]);
    expect(onToolCall).toHaveBeenCalledWith({
      sessionId: 's1',
      toolCallId: 'call_1',
      toolName: 'weather',
      execution: 'inline',
      agentName: 'main',
    });
    expect(onToolResult).toHaveBeenCalledWith(
      expect.objectContaining({ toolCallId: 'call_1', status: 'success' }),
    );
    const secondPrompt = JSON.stringify(model.calls[1].prompt);
    expect(secondPrompt).toContain('"tempC":21');
    expect(session.history.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('a tool that throws yields an error result the LLM sees and an onError warn', async () => {
    const model = mockLanguageModel([[{ toolCall: { name: 'broken', args: {}, id: 'c1' } }], 'Sorry.']);
    const onError = vi.fn();
    const broken = tool({
      inputSchema: z.object({}),
      execute: async (): Promise<string> => {
        throw new Error('db down');
      },
    });
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { broken } }],
      hooks: { onError },
    });
    await session.sendText('go');
    expect(rec.first('tool.result')).toMatchObject({
      toolCallId: 'c1',
      status: 'error',
      result: { error: expect.stringContaining('db down') },
    });
    expect(rec.first('tool.result')?.error?.code).toBe('tool_failed');
    expect(onError).toHaveBeenCalledWith(
      expect.objectContaining({ component: 'tool:broken', severity: 'warn' }),
    );
    expect(JSON.stringify(model.calls[1].prompt)).toContain('db down');
  });

  it('a tool over its timeout is aborted and reported as status timeout', async () => {
    const model = mockLanguageModel([[{ toolCall: { name: 'slow', args: {}, id: 'c1' } }], 'Took too long.']);
    let aborted = false;
    const slow = defineTool({
      inputSchema: z.object({}),
      timeoutMs: 30,
      execute: (_i, { abortSignal }) =>
        new Promise((resolve) => {
          abortSignal?.addEventListener('abort', () => {
            aborted = true;
          });
          setTimeout(() => resolve('late'), 1000);
        }),
    });
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { slow } }],
    });
    await session.sendText('go');
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: 'c1', status: 'timeout' });
    expect(rec.first('tool.result')?.error?.code).toBe('tool_timeout');
    expect(aborted).toBe(true);
    expect(JSON.stringify(model.calls[1].prompt)).toContain('timed out');
  });

  it('arguments that fail the schema give tool.call + tool.result error (invalid_tool_args) without running the tool', async () => {
    const execute = vi.fn(async () => 'never');
    const strict = tool({ inputSchema: z.object({ count: z.number().int() }), execute });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'strict', args: { count: 'many' }, id: 'c9' } }],
      'Let me fix that.',
    ]);
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { strict } }],
    });
    const r = await session.sendText('go');
    expect(execute).not.toHaveBeenCalled();
    expect(rec.first('tool.call')).toMatchObject({ id: 'c9', name: 'strict', args: { count: 'many' } });
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: 'c9', status: 'error' });
    expect(rec.first('tool.result')?.error?.code).toBe('invalid_tool_args');
    expect(r.text).toBe('Let me fix that.');
  });

  it('a background tool returns at once; its result arrives later as a notification the agent announces', async () => {
    let finish!: (v: unknown) => void;
    const report = defineTool({
      inputSchema: z.object({}),
      execution: 'background',
      execute: () =>
        new Promise((r) => {
          finish = r;
        }),
    });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'report', args: {}, id: 'bg1' } }],
      'I started the report.',
      'Your report is ready: 42 pages.',
    ]);
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { report } }],
    });
    const r = await session.sendText('make a report');
    expect(r.text).toBe('I started the report.');
    expect(rec.first('tool.call')).toMatchObject({ id: 'bg1', execution: 'background' });
    expect(rec.payloads('tool.result')).toEqual([]);
    finish({ pages: 42 });
    await rec.waitFor('tool.result');
    expect(rec.first('tool.result')).toMatchObject({
      toolCallId: 'bg1',
      status: 'success',
      result: { pages: 42 },
    });
    await rec.waitFor('assistant.text', (p) => p.text.includes('42 pages'));
    expect(JSON.stringify(model.calls[2].prompt)).toContain('{\\"pages\\":42}');
  });
});
