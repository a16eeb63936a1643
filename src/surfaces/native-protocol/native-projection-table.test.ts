/**
 * The native projection's table, row by row: bus events in → the exact messages on the wire (every
 * field, and no field that should not be there). The speech bracket has its own table
 * (`native-projection-speech.test.ts`); a turn over a real session is in `native-projection.test.ts`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap, EventType } from '../../bus/events.ts';
import { ColloquyError, ProviderError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { ClientChannels } from '../../session/client-channels.ts';
import { NativeProjection, type NativeProjectionOptions } from './native-projection.ts';
import type { ServerMessage } from './server-messages.ts';

type Step = { [K in EventType]: [K, EventMap[K]] }[EventType];
const S = 's';
const T = 't1';
const NOW = 1_700_000_000_123;

afterEach(() => {
  vi.restoreAllMocks();
});

function setup(options: Partial<NativeProjectionOptions> = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const sent: ServerMessage[] = [];
  const projection = new NativeProjection(bus, {
    send: (m) => sent.push(m),
    sessionInit: () => ({ type: 'session_init', sessionId: S, protocolVersion: 1 }),
    ...options,
  });
  const publish = (steps: Step[]) => {
    for (const [type, payload] of steps) bus.publish(type, payload as never);
  };
  return { bus, sent, projection, publish };
}

function run(steps: Step[], options: Partial<NativeProjectionOptions> = {}): ServerMessage[] {
  vi.spyOn(Date, 'now').mockReturnValue(NOW);
  const { sent, projection, publish } = setup(options);
  publish(steps);
  projection.dispose();
  return sent;
}

const llmStart: Step = ['llm.start', { sessionId: S, turnId: T, agentName: 'main' }];
const finish = (extra: Partial<EventMap['llm.end']> = {}): Step => [
  'llm.end',
  { sessionId: S, turnId: T, outcome: 'finish', finishReason: 'stop', usage: { outputTokens: 2 }, ...extra },
];
const audio = new Uint8Array([1, 2, 3, 4]);

/** One row per mapping: steps in → every message out, exactly. */
const rows: Array<[string, Step[], unknown[]]> = [
  ['llm.start opens the response', [llmStart], [{ type: 'stream_start', turnId: T }]],
  [
    'a second llm.start of the same turn (the next agent after a transfer) opens nothing',
    [llmStart, llmStart],
    [{ type: 'stream_start', turnId: T }],
  ],
  [
    'a turn forgotten at turn.end starts afresh when its id comes again',
    [llmStart, ['turn.end', { sessionId: S, turnId: T }], llmStart],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_start', turnId: T },
    ],
  ],
  [
    'a turn forgotten at turn.interrupted starts afresh when its id comes again',
    [llmStart, ['turn.interrupted', { sessionId: S, turnId: T, reason: 'user_speaking' }], llmStart],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_start', turnId: T },
    ],
  ],
  [
    'llm.step.start',
    [['llm.step.start', { sessionId: S, turnId: T, stepNumber: 1 }]],
    [{ type: 'step_start', turnId: T, warnings: [] }],
  ],
  [
    'text start, delta, end',
    [
      ['llm.text.start', { sessionId: S, turnId: T, id: 'x1' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x1', text: 'Hi' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x1', text: ' there' }],
      ['llm.text.end', { sessionId: S, turnId: T, id: 'x1', text: 'Hi there' }],
    ],
    [
      { type: 'text_start', turnId: T, id: 'x1' },
      { type: 'text_delta', turnId: T, id: 'x1', text: 'Hi' },
      { type: 'text_delta', turnId: T, id: 'x1', text: ' there' },
      { type: 'text_end', turnId: T, id: 'x1' },
    ],
  ],
  [
    'reasoning start, delta, end',
    [
      ['llm.reasoning.start', { sessionId: S, turnId: T, id: 'r1' }],
      ['llm.reasoning.delta', { sessionId: S, turnId: T, id: 'r1', text: 'hmm' }],
      ['llm.reasoning.end', { sessionId: S, turnId: T, id: 'r1', text: 'hmm' }],
    ],
    [
      { type: 'reasoning_start', turnId: T, id: 'r1' },
      { type: 'reasoning_delta', turnId: T, id: 'r1', text: 'hmm' },
      { type: 'reasoning_end', turnId: T, id: 'r1' },
    ],
  ],
  [
    'tool input start, delta, end',
    [
      ['llm.tool-input.start', { sessionId: S, turnId: T, id: 'c1', toolName: 'lookup' }],
      ['llm.tool-input.delta', { sessionId: S, turnId: T, id: 'c1', delta: '{"q":' }],
      ['llm.tool-input.end', { sessionId: S, turnId: T, id: 'c1' }],
    ],
    [
      { type: 'tool_input_start', turnId: T, id: 'c1', toolName: 'lookup' },
      { type: 'tool_input_delta', turnId: T, id: 'c1', delta: '{"q":' },
      { type: 'tool_input_end', turnId: T, id: 'c1' },
    ],
  ],
  [
    'a tool call of a turn, and one of no turn',
    [
      ['tool.call', { sessionId: S, agentName: 'main', id: 'c1', name: 'lookup', args: { q: 1 }, turnId: T }],
      ['tool.call', { sessionId: S, agentName: 'main', id: 'c2', name: 'bg', args: 'raw' }],
    ],
    [
      { type: 'tool_call', turnId: T, toolName: 'lookup', toolCallId: 'c1', input: { q: 1 } },
      { type: 'tool_call', turnId: undefined, toolName: 'bg', toolCallId: 'c2', input: 'raw' },
    ],
  ],
  [
    'tool results: success, an error with its code, a timeout, a failure without error, a cancellation (nothing)',
    [
      [
        'tool.result',
        { sessionId: S, toolCallId: 'c1', name: 'lookup', status: 'success', result: { n: 1 }, turnId: T },
      ],
      [
        'tool.result',
        {
          sessionId: S,
          toolCallId: 'c2',
          name: 'lookup',
          status: 'error',
          result: 'upstream body',
          error: new ColloquyError('http_status', 'Bad gateway: secret body'),
          turnId: T,
        },
      ],
      ['tool.result', { sessionId: S, toolCallId: 'c3', name: 'slow', status: 'timeout', result: null }],
      ['tool.result', { sessionId: S, toolCallId: 'c4', status: 'error', result: null }],
      [
        'tool.result',
        { sessionId: S, toolCallId: 'c5', name: 'x', status: 'cancelled', result: null, turnId: T },
      ],
    ],
    [
      { type: 'tool_result', turnId: T, toolName: 'lookup', toolCallId: 'c1', result: { n: 1 } },
      { type: 'tool_error', turnId: T, toolName: 'lookup', toolCallId: 'c2', error: 'http_status' },
      { type: 'tool_error', turnId: undefined, toolName: 'slow', toolCallId: 'c3', error: 'timeout' },
      { type: 'tool_error', turnId: undefined, toolName: '', toolCallId: 'c4', error: 'tool_failed' },
    ],
  ],
  [
    'an oversized tool result is omitted for the client',
    [
      [
        'tool.result',
        {
          sessionId: S,
          toolCallId: 'c1',
          name: 'dump',
          status: 'success',
          result: 'x'.repeat(20_000),
          turnId: T,
        },
      ],
    ],
    [
      {
        type: 'tool_result',
        turnId: T,
        toolName: 'dump',
        toolCallId: 'c1',
        result: { omitted: true, reason: 'too_large' },
      },
    ],
  ],
  [
    'a search response is a source',
    [['llm.search-response', { sessionId: S, turnId: T, response: { url: 'u' } }]],
    [{ type: 'source', turnId: T, source: { url: 'u' } }],
  ],
  [
    'llm.step.finish',
    [
      [
        'llm.step.finish',
        { sessionId: S, turnId: T, stepNumber: 1, finishReason: 'length', usage: { inputTokens: 3 } },
      ],
    ],
    [{ type: 'step_finish', turnId: T, finishReason: 'length', usage: { inputTokens: 3 } }],
  ],
  [
    'a finished stream: stream_finish, then response_complete with text, reasoning, calls, results and sources',
    [
      llmStart,
      ['llm.reasoning.delta', { sessionId: S, turnId: T, id: 'r', text: 'think' }],
      ['llm.reasoning.delta', { sessionId: S, turnId: T, id: 'r', text: 'ing' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'A' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'B' }],
      ['tool.call', { sessionId: S, agentName: 'main', id: 'c1', name: 'lookup', args: { q: 1 }, turnId: T }],
      [
        'tool.result',
        { sessionId: S, toolCallId: 'c1', name: 'lookup', status: 'success', result: 7, turnId: T },
      ],
      ['llm.search-response', { sessionId: S, turnId: T, response: 'src' }],
      finish(),
    ],
    [
      { type: 'stream_start', turnId: T },
      { type: 'reasoning_delta', turnId: T, id: 'r', text: 'think' },
      { type: 'reasoning_delta', turnId: T, id: 'r', text: 'ing' },
      { type: 'text_delta', turnId: T, id: 'x', text: 'A' },
      { type: 'text_delta', turnId: T, id: 'x', text: 'B' },
      { type: 'tool_call', turnId: T, toolName: 'lookup', toolCallId: 'c1', input: { q: 1 } },
      { type: 'tool_result', turnId: T, toolName: 'lookup', toolCallId: 'c1', result: 7 },
      { type: 'source', turnId: T, source: 'src' },
      { type: 'stream_finish', turnId: T, finishReason: 'stop', usage: { outputTokens: 2 } },
      {
        type: 'response_complete',
        turnId: T,
        text: 'AB',
        reasoning: 'thinking',
        toolCalls: [{ toolName: 'lookup', toolCallId: 'c1', input: { q: 1 } }],
        toolResults: [{ toolName: 'lookup', toolCallId: 'c1', output: 7 }],
        sources: ['src'],
      },
    ],
  ],
  [
    'a finish without reason or usage: stop and {}; a response with nothing in it lists no reasoning nor sources',
    [llmStart, ['llm.end', { sessionId: S, turnId: T, outcome: 'finish' }]],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_finish', turnId: T, finishReason: 'stop', usage: {} },
      { type: 'response_complete', turnId: T, text: '', toolCalls: [], toolResults: [] },
    ],
  ],
  [
    'a failed stream: stream_error with the redacted model error, then response_complete',
    [
      llmStart,
      [
        'llm.end',
        {
          sessionId: S,
          turnId: T,
          outcome: 'error',
          error: new ProviderError('llm_unavailable', 'sk-live-abcdefghijkl is over quota'),
        },
      ],
    ],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_error', turnId: T, error: 'llm failed (llm_unavailable)' },
      { type: 'response_complete', turnId: T, text: '', toolCalls: [], toolResults: [] },
    ],
  ],
  [
    'a failed stream without an error value',
    [llmStart, ['llm.end', { sessionId: S, turnId: T, outcome: 'error' }]],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_error', turnId: T, error: 'The model failed' },
      { type: 'response_complete', turnId: T, text: '', toolCalls: [], toolResults: [] },
    ],
  ],
  [
    'an aborted stream: stream_abort with the mapped reason (interrupted when none), no response_complete',
    [
      llmStart,
      ['llm.end', { sessionId: S, turnId: T, outcome: 'abort', reason: 'client_request' }],
      ['llm.end', { sessionId: 's', turnId: 't2', outcome: 'abort' }],
    ],
    [
      { type: 'stream_start', turnId: T },
      { type: 'stream_abort', turnId: T, reason: 'mapped:client_request' },
      { type: 'stream_abort', turnId: 't2', reason: 'mapped:interrupted' },
    ],
  ],
  [
    'a turn cut while it streams: response_complete marked interrupted with what was heard',
    [
      llmStart,
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'Hello there' }],
      ['assistant.text', { sessionId: S, turnId: T, agentName: 'main', text: 'Hello', interrupted: true }],
    ],
    [
      { type: 'stream_start', turnId: T },
      { type: 'text_delta', turnId: T, id: 'x', text: 'Hello there' },
      {
        type: 'response_complete',
        turnId: T,
        text: 'Hello there',
        toolCalls: [],
        toolResults: [],
        interrupted: true,
        spokenText: 'Hello',
      },
    ],
  ],
  [
    'a speech chunk that failed is an error message',
    [
      [
        'speech.chunk.error',
        {
          sessionId: S,
          turnId: T,
          chunkId: 1,
          text: 'Hi.',
          error: new ColloquyError('tts_failed', 'no voice'),
        },
      ],
    ],
    [{ type: 'error', error: 'no voice', code: 'tts_failed', retryable: false, messageType: undefined }],
  ],
  [
    'whole-utterance speech, with and without its sample rate',
    [
      ['speech.full', { sessionId: S, text: 'Hi', audio, format: 'pcm16', sampleRate: 16000 }],
      ['speech.full', { sessionId: S, text: 'Hi', audio, format: 'mp3' }],
    ],
    [
      { type: 'audio', format: 'pcm16', sampleRate: 16000, data: 'AQIDBA==' },
      { type: 'audio', format: 'mp3', data: 'AQIDBA==' },
    ],
  ],
  [
    'transcripts: final with and without language, interim, error',
    [
      ['transcription.final', { sessionId: S, text: 'hola', language: 'es', at: 1 }],
      ['transcription.final', { sessionId: S, text: 'hi', at: 1 }],
      ['transcription.interim', { sessionId: S, text: 'h', at: 1 }],
      ['transcription.error', { sessionId: S, error: new ColloquyError('stt_failed', 'deaf') }],
    ],
    [
      { type: 'transcription_result', text: 'hola', language: 'es' },
      { type: 'transcription_result', text: 'hi' },
      { type: 'transcription_interim', text: 'h' },
      { type: 'transcription_error', error: 'deaf', code: 'stt_failed' },
    ],
  ],
  [
    'user speech start and stop carry their own times',
    [
      ['user.speech.start', { sessionId: S, at: 1000 }],
      ['user.speech.stop', { sessionId: S, at: 2500, durationMs: 1500 }],
    ],
    [
      { type: 'user_speech_start', timestamp: 1000 },
      { type: 'user_speech_stop', timestamp: 2500, durationMs: 1500 },
    ],
  ],
  [
    'a video frame is acknowledged; a frame request asks for a capture (stamped now)',
    [
      [
        'video.frame',
        {
          sessionId: S,
          sequence: 7,
          timestamp: 1,
          triggerReason: 'timer',
          size: 10,
          dimensions: { width: 2, height: 2 },
        },
      ],
      ['video.frame.requested', { sessionId: S, reason: 'user_request' }],
    ],
    [
      { type: 'frame_ack', sequence: 7, timestamp: NOW },
      { type: 'capture_frame', reason: 'user_request', timestamp: NOW },
    ],
  ],
  [
    'client.ready is answered with the session_init of the options',
    [['client.ready', { sessionId: S, capabilities: {} }]],
    [{ type: 'session_init', sessionId: S, protocolVersion: 1 }],
  ],
  [
    'client events with and without their tool call and turn',
    [
      ['client.event', { sessionId: S, topic: 'map', payload: { z: 1 }, toolCallId: 'c1', turnId: T }],
      ['client.event', { sessionId: S, topic: 'map', payload: null }],
    ],
    [
      { type: 'client_event', topic: 'map', payload: { z: 1 }, toolCallId: 'c1', turnId: T },
      { type: 'client_event', topic: 'map', payload: null },
    ],
  ],
  [
    'gui updates and notifications with and without their turn',
    [
      ['gui.update', { sessionId: S, data: { a: 1 }, turnId: T }],
      ['gui.update', { sessionId: S, data: 2 }],
      ['gui.notification', { sessionId: S, message: 'hi', turnId: T }],
      ['gui.notification', { sessionId: S, message: 'yo' }],
    ],
    [
      { type: 'gui_update', data: { a: 1 }, turnId: T },
      { type: 'gui_update', data: 2 },
      { type: 'gui_notification', message: 'hi', turnId: T },
      { type: 'gui_notification', message: 'yo' },
    ],
  ],
  [
    "a subagent's question and its withdrawal",
    [
      [
        'subagent.ui.send',
        {
          sessionId: S,
          payload: { type: 'request', requestId: 'q1', subagentName: 'sub', prompt: 'Which?', expiresAt: 9 },
        },
      ],
      ['subagent.ui.send', { sessionId: S, payload: { type: 'cancel', requestId: 'q1', reason: 'timeout' } }],
    ],
    [
      { type: 'subagent_ui_request', requestId: 'q1', subagentName: 'sub', prompt: 'Which?', expiresAt: 9 },
      { type: 'subagent_ui_cancel', requestId: 'q1', reason: 'timeout' },
    ],
  ],
  [
    'errors: warnings of llm, event-bus, input, tts, stt and tools are held back; a fatal one of them is not',
    [
      ...(['llm', 'event-bus', 'input', 'tts', 'stt', 'tool:x'] as const).map(
        (component): Step => [
          'error',
          {
            sessionId: S,
            component,
            severity: 'warn',
            error: new ColloquyError('internal_error', component),
          },
        ],
      ),
      [
        'error',
        {
          sessionId: S,
          component: 'llm',
          severity: 'fatal',
          error: new ColloquyError('llm_auth_failed', 'down'),
        },
      ],
      [
        'error',
        {
          sessionId: S,
          component: 'memory',
          severity: 'warn',
          error: new ColloquyError('memory_failed', 'lost'),
        },
      ],
    ],
    [
      { type: 'error', error: 'down', code: 'llm_auth_failed', retryable: false, messageType: undefined },
      { type: 'error', error: 'lost', code: 'memory_failed', retryable: false, messageType: undefined },
    ],
  ],
];

describe('native projection: bus event → exact messages', () => {
  it.each(rows)('%s', (_name, steps, expected) => {
    expect(run(steps, { reasonFor: (reason) => `mapped:${reason}` })).toStrictEqual(expected);
  });
});

describe('native projection: options', () => {
  it('without reasonFor the bus reason is sent as is', () => {
    expect(
      run([
        ['llm.end', { sessionId: S, turnId: T, outcome: 'abort', reason: 'user_speaking' }],
        ['speech.chunk.queued', { sessionId: S, turnId: T, chunkId: 0, text: 'Hi.' }],
        ['speech.interrupted', { sessionId: S, turnId: T, reason: 'disconnected', heardText: '' }],
      ]),
    ).toStrictEqual([
      { type: 'stream_abort', turnId: T, reason: 'user_speaking' },
      { type: 'speech_interrupted', turnId: T, reason: 'disconnected', heardText: '' },
    ]);
  });

  it('responseExtras are added to response_complete; the fields of a cut turn come last', () => {
    const extras = {
      sessionId: 'vs_1',
      frameContext: { frameCount: 2, lastFrameSequence: 5 },
      spokenText: 'x',
    };
    const sent = run(
      [
        llmStart,
        ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'Hey' }],
        ['assistant.text', { sessionId: S, turnId: T, agentName: 'main', text: 'He', interrupted: true }],
      ],
      { responseExtras: () => extras },
    );
    expect(sent.at(-1)).toStrictEqual({
      type: 'response_complete',
      turnId: T,
      text: 'Hey',
      toolCalls: [],
      toolResults: [],
      sessionId: 'vs_1',
      frameContext: { frameCount: 2, lastFrameSequence: 5 },
      interrupted: true,
      spokenText: 'He',
    });
  });

  it("with the session's channels: registered as websocket until dispose; a turn's first text is timed when handed and when written", () => {
    const channels = new ClientChannels();
    const stages: Array<[string, string]> = [];
    channels.onOutput((turnId, stage) => stages.push([turnId, stage]));
    const written: Array<() => void> = [];
    const sent: ServerMessage[] = [];
    const { projection, publish } = setup({
      channels,
      send: (m, onWritten) => {
        sent.push(m);
        if (onWritten) written.push(onWritten);
      },
    });
    expect(channels.names()).toEqual(['websocket']);
    expect(['client.event', 'gui', 'ui.request'].map((k) => channels.names(k as never))).toEqual([
      ['websocket'],
      ['websocket'],
      ['websocket'],
    ]);
    publish([
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'A' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'B' }],
    ]);
    // Only the first text of the turn asks to hear when it was written.
    expect(sent).toStrictEqual([
      { type: 'text_delta', turnId: T, id: 'x', text: 'A' },
      { type: 'text_delta', turnId: T, id: 'x', text: 'B' },
    ]);
    expect(written).toHaveLength(1);
    expect(stages).toEqual([[T, 'handed']]);
    written[0]!();
    expect(stages).toEqual([
      [T, 'handed'],
      [T, 'written'],
    ]);
    projection.dispose();
    expect(channels.names()).toEqual([]);
  });

  it('without channels the first text is sent without a written callback', () => {
    const calls: Array<[string, boolean]> = [];
    const { projection, publish } = setup({
      send: (m, onWritten) => calls.push([m.type, onWritten !== undefined]),
    });
    publish([['llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'A' }]]);
    projection.dispose();
    expect(calls).toEqual([['text_delta', false]]);
  });

  it('after dispose nothing is projected, and a turn started before sends no response_complete', () => {
    const { sent, projection, publish } = setup();
    publish([llmStart]);
    projection.dispose();
    publish([finish(), ['user.speech.start', { sessionId: S, at: 1 }]]);
    expect(sent).toStrictEqual([{ type: 'stream_start', turnId: T }]);
    projection.complete(T);
    expect(sent).toHaveLength(1); // the turn's state went with dispose
  });
});
