import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap, EventType } from '../../bus/events.ts';
import { ColloquyError, ProviderError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { ClientChannels } from '../../session/client-channels.ts';
import type { RtviServerMessage } from './messages.ts';
import { RtviProjection, type RtviProjectionOptions } from './rtvi-projection.ts';
import { conversationEndReason, RTVI_TABLE } from './rtvi-table.ts';

const S = 'sess-1';
const MASKED = `call to [url] failed: [redacted] ${'y'.repeat(400)}`.slice(0, 300) + '…';
const T = 'turn-1';
const AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

function setup(options: Partial<RtviProjectionOptions> = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const out: RtviServerMessage[] = [];
  const projection = new RtviProjection(bus, { send: (m) => out.push(m), ...options });
  const take = () => out.splice(0);
  return { bus, out, projection, take };
}

type Step = { [K in EventType]: [K, EventMap[K]] }[EventType];

const m = (type: string, data?: unknown) =>
  data === undefined ? { label: 'rtvi-ai', type } : { label: 'rtvi-ai', type, data };
const custom = (type: string, data: unknown) => m('server-message', { type, data });

/** Seed 002's tables, one row per bus event: event in → exact RTVI JSON out. */
const rows: Array<[string, Step[], unknown[]]> = [
  ['user starts speaking', [['user.speech.start', { sessionId: S, at: AT }]], [m('user-started-speaking')]],
  [
    'user stops speaking',
    [['user.speech.stop', { sessionId: S, at: AT, durationMs: 900 }]],
    [m('user-stopped-speaking')],
  ],
  ['user mutes', [['user.mute.start', { sessionId: S }]], [m('user-mute-started')]],
  ['user unmutes', [['user.mute.stop', { sessionId: S }]], [m('user-mute-stopped')]],
  [
    'interim transcript',
    [['transcription.interim', { sessionId: S, text: 'hel', at: AT }]],
    [
      m('user-transcription', {
        text: 'hel',
        final: false,
        timestamp: '2025-01-02T03:04:05.678Z',
        user_id: 'u-42',
      }),
    ],
  ],
  [
    'final transcript',
    [['transcription.final', { sessionId: S, text: 'hello', at: AT }]],
    [
      m('user-transcription', {
        text: 'hello',
        final: true,
        timestamp: '2025-01-02T03:04:05.678Z',
        user_id: 'u-42',
      }),
    ],
  ],
  [
    'speech that gave no transcript (the turn ends abandoned)',
    [['turn.end', { sessionId: S, turnId: T, abandoned: true }]],
    [custom('user-speech-unrecognized', {})],
  ],
  ['a turn ends', [['turn.end', { sessionId: S, turnId: T }]], []],
  [
    'user text sent to the LLM',
    [['user.text', { sessionId: S, turnId: T, text: 'hello', source: 'speech' }]],
    [m('user-llm-text', { text: 'hello' })],
  ],
  ['bot starts speaking', [['bot.speaking.start', { sessionId: S, turnId: T }]], [m('bot-started-speaking')]],
  [
    'bot stops speaking',
    [['bot.speaking.stop', { sessionId: S, turnId: T, interrupted: false }]],
    [m('bot-stopped-speaking')],
  ],
  ['TTS starts', [['speech.start', { sessionId: S, turnId: T, streaming: true }]], [m('bot-tts-started')]],
  [
    'TTS text being spoken (+ bot-output per chunk)',
    [['bot.tts.text', { sessionId: S, turnId: T, chunkId: 0, text: 'Hi there.' }]],
    [
      m('bot-tts-text', { text: 'Hi there.' }),
      m('bot-output', {
        text: 'Hi there.',
        spoken: true,
        aggregated_by: 'sentence',
        will_be_spoken: true,
        spoken_status: 'completed',
        segment_id: 0,
      }),
    ],
  ],
  [
    'a sentence that failed to synthesize (still shown, as unspoken output)',
    [
      [
        'speech.chunk.error',
        {
          sessionId: S,
          turnId: T,
          chunkId: 1,
          text: 'Breakfast is at seven.',
          error: new ProviderError('tts_failed', 'Speech failed'),
        },
      ],
    ],
    [
      m('bot-output', {
        text: 'Breakfast is at seven.',
        spoken: false,
        aggregated_by: 'sentence',
        will_be_spoken: false,
      }),
    ],
  ],
  [
    'a failed sentence of a turn already interrupted is not shown',
    [
      ['turn.interrupted', { sessionId: S, turnId: T, reason: 'user_speaking' }],
      [
        'speech.chunk.error',
        {
          sessionId: S,
          turnId: T,
          chunkId: 1,
          text: 'Breakfast is at seven.',
          error: new ProviderError('tts_failed', 'Speech failed'),
        },
      ],
    ],
    [m('bot-interrupted', { reason: 'user_speaking' })],
  ],
  [
    'TTS completes',
    [
      ['speech.start', { sessionId: S, turnId: T, streaming: true }],
      ['speech.complete', { sessionId: S, turnId: T, streaming: true }],
      ['speech.complete', { sessionId: S, turnId: T, streaming: true }],
    ],
    [m('bot-tts-started'), m('bot-tts-stopped')],
  ],
  ['LLM starts', [['llm.start', { sessionId: S, turnId: T, agentName: 'main' }]], [m('bot-llm-started')]],
  [
    'LLM token',
    [['llm.text.delta', { sessionId: S, turnId: T, id: 't0', text: 'Hel' }]],
    [m('bot-llm-text', { text: 'Hel' })],
  ],
  ['LLM ends', [['llm.end', { sessionId: S, turnId: T, outcome: 'finish' }]], [m('bot-llm-stopped')]],
  [
    'LLM search response',
    [
      [
        'llm.search-response',
        { sessionId: S, turnId: T, response: { origins: [{ site_uri: 'u', results: [] }] } },
      ],
    ],
    [
      m('bot-llm-search-response', {
        response: { origins: [{ site_uri: 'u', results: [] }] },
        origins: [{ site_uri: 'u', results: [] }],
      }),
    ],
  ],
  [
    'text-only turn: whole answer as unspoken output',
    [['assistant.text', { sessionId: S, turnId: T, agentName: 'main', text: 'Done.', interrupted: false }]],
    [m('bot-output', { text: 'Done.', spoken: false, aggregated_by: 'turn', will_be_spoken: false })],
  ],
  [
    'spoken turn: assistant.text is not repeated',
    [
      ['speech.start', { sessionId: S, turnId: T, streaming: true }],
      ['assistant.text', { sessionId: S, turnId: T, agentName: 'main', text: 'Done.', interrupted: false }],
    ],
    [m('bot-tts-started')],
  ],
  [
    'barge-in: one bot-interrupted, TTS stopped, late tokens dropped',
    [
      ['speech.start', { sessionId: S, turnId: T, streaming: true }],
      ['speech.interrupted', { sessionId: S, turnId: T, reason: 'user_speaking', heardText: 'Hi' }],
      ['turn.interrupted', { sessionId: S, turnId: T, reason: 'user_speaking' }],
      ['llm.text.delta', { sessionId: S, turnId: T, id: 't0', text: 'late' }],
      ['bot.tts.text', { sessionId: S, turnId: T, chunkId: 3, text: 'late' }],
    ],
    [m('bot-tts-started'), m('bot-tts-stopped'), m('bot-interrupted', { reason: 'user_speaking' })],
  ],
  [
    'conversation start (custom)',
    [['session.start', { sessionId: S, userId: 'u-42', agentName: 'main' }]],
    [custom('conversation-start', {})],
  ],
  [
    'conversation end: client disconnected (custom)',
    [['session.close', { sessionId: S, reason: 'client_disconnected' }]],
    [custom('conversation-end', { reason: 'client_disconnected' })],
  ],
  [
    'conversation end: idle timeout (custom)',
    [['session.close', { sessionId: S, reason: 'idle_timeout' }]],
    [custom('conversation-end', { reason: 'idle_timeout' })],
  ],
  [
    'recoverable pipeline error',
    [
      [
        'error',
        {
          sessionId: S,
          component: 'tts',
          error: new ProviderError('tts_failed', 'TTS 503'),
          severity: 'error',
        },
      ],
    ],
    [
      // A provider's own text stays in the server log (it may echo a key or the prompt).
      custom('pipeline-error', { processor: 'tts', error: 'tts failed (tts_failed)' }),
      m('error', { error: 'tts failed (tts_failed)', message: 'tts failed (tts_failed)', fatal: false }),
    ],
  ],
  [
    'fatal pipeline error: pipeline-error, then conversation-end when the session ends, then the fatal error (the client disconnects on it)',
    [
      [
        'error',
        {
          sessionId: S,
          component: 'llm',
          error: new ColloquyError('llm_stream_failed', 'LLM down'),
          severity: 'fatal',
        },
      ],
      ['session.close', { sessionId: S, reason: 'fatal:llm_stream_failed' }],
    ],
    [
      custom('pipeline-error', { processor: 'llm', error: 'llm failed (llm_stream_failed)' }),
      custom('conversation-end', { reason: 'fatal:llm_stream_failed' }),
      m('error', {
        error: 'llm failed (llm_stream_failed)',
        message: 'llm failed (llm_stream_failed)',
        fatal: true,
      }),
    ],
  ],
  [
    'other errors reach the client bounded (300 characters), with credentials and URLs masked',
    [
      [
        'error',
        {
          sessionId: S,
          component: 'session',
          error: new ColloquyError(
            'session_failed',
            `call to https://internal.example/v1?key=abc failed: api_key=sk-live-1234567890abcdef ${'y'.repeat(400)}`,
          ),
          severity: 'error',
        },
      ],
    ],
    [
      custom('pipeline-error', {
        processor: 'session',
        error: MASKED,
      }),
      m('error', {
        error: MASKED,
        message: MASKED,
        fatal: false,
      }),
    ],
  ],
  [
    'a skipped TTS sentence (warn) is a pipeline-error only',
    [
      [
        'error',
        {
          sessionId: S,
          component: 'tts',
          error: new ProviderError('tts_failed', 'TTS 503'),
          severity: 'warn',
        },
      ],
    ],
    [custom('pipeline-error', { processor: 'tts', error: 'tts failed (tts_failed)' })],
  ],
  [
    'warnings are not RTVI errors',
    [
      [
        'error',
        {
          sessionId: S,
          component: 'vad',
          error: new ColloquyError('internal_error', 'meh'),
          severity: 'warn',
        },
      ],
    ],
    [],
  ],
  [
    'gui.update → server-message gui-update {data}',
    [['gui.update', { sessionId: S, data: { cart: ['tea'] } }]],
    [custom('gui-update', { data: { cart: ['tea'] } })],
  ],
  [
    'gui.notification → server-message gui-notification {message}',
    [['gui.notification', { sessionId: S, message: 'Saved' }]],
    [custom('gui-notification', { message: 'Saved' })],
  ],
  [
    'client_event tool → custom server message on its topic',
    [['client.event', { sessionId: S, topic: 'show-map', payload: { lat: 1 } }]],
    [custom('show-map', { lat: 1 })],
  ],
  [
    'subagent.ui.send request → server-message subagent-ui-request {requestId, prompt, options}',
    [
      [
        'subagent.ui.send',
        {
          sessionId: S,
          payload: {
            type: 'request',
            requestId: 'ui_1',
            subagentName: 'desk',
            prompt: 'Book it?',
            options: ['yes', 'no'],
            expiresAt: 5,
          },
        },
      ],
    ],
    [
      custom('subagent-ui-request', {
        type: 'request',
        requestId: 'ui_1',
        subagentName: 'desk',
        prompt: 'Book it?',
        options: ['yes', 'no'],
        expiresAt: 5,
      }),
    ],
  ],
  [
    'subagent.ui.send cancel → server-message subagent-ui-cancel {requestId, reason}',
    [
      [
        'subagent.ui.send',
        { sessionId: S, payload: { type: 'cancel', requestId: 'ui_1', reason: 'timeout' } },
      ],
    ],
    [custom('subagent-ui-cancel', { type: 'cancel', requestId: 'ui_1', reason: 'timeout' })],
  ],
  ['audio levels are off by default', [['audio.level', { sessionId: S, source: 'user', level: 0.5 }]], []],
];

describe('RtviProjection: bus event → RTVI message', () => {
  it.each(rows)('%s', (_name, steps, expected) => {
    const { bus, take } = setup({ userId: 'u-42' });
    for (const [type, payload] of steps) bus.publish(type, payload as never);
    const sent = take();
    expect(JSON.parse(JSON.stringify(sent))).toEqual(expected);
    // The objects handed to `send` carry no key JSON would drop (an `undefined` field).
    expect(sent).toStrictEqual(expected);
  });
});

describe('function calls', () => {
  const call = (id: string, name: string, args: unknown): Step => [
    'tool.call',
    { sessionId: S, agentName: 'main', id, name, args, turnId: T },
  ];
  const result = (id: string, value: unknown, status: 'success' | 'cancelled' = 'success'): Step => [
    'tool.result',
    { sessionId: S, toolCallId: id, status, result: value, name: 'x', turnId: T },
  ];

  it('started → in-progress → stopped with arguments, result and transition_to null', () => {
    const { bus, take } = setup();
    for (const [t, p] of [call('c1', 'get_weather', { city: 'Paris' }), result('c1', { temp: 21 })])
      bus.publish(t, p as never);
    expect(take()).toStrictEqual([
      m('llm-function-call-started', { function_name: 'get_weather' }),
      m('llm-function-call-in-progress', {
        tool_call_id: 'c1',
        function_name: 'get_weather',
        arguments: { city: 'Paris' },
      }),
      m('llm-function-call-stopped', {
        tool_call_id: 'c1',
        function_name: 'get_weather',
        arguments: { city: 'Paris' },
        cancelled: false,
        result: { temp: 21 },
        transition_to: null,
      }),
    ]);
  });

  it('arguments that are not an object (a string, an array, a number, null) are sent as {}', () => {
    for (const args of ['{"city":"Paris"}', ['Paris'], 7, null]) {
      const { bus, take } = setup();
      bus.publish(...(call('c1', 'get_weather', args) as ['tool.call', EventMap['tool.call']]));
      expect(take()[1], JSON.stringify(args)).toStrictEqual(
        m('llm-function-call-in-progress', {
          tool_call_id: 'c1',
          function_name: 'get_weather',
          arguments: {},
        }),
      );
    }
  });

  it('started is sent when the LLM begins the call, once', () => {
    const { bus, take } = setup();
    bus.publish('llm.tool-input.start', { sessionId: S, turnId: T, id: 'c1', toolName: 'book' });
    expect(take()).toStrictEqual([m('llm-function-call-started', { function_name: 'book' })]);
    bus.publish(...(call('c1', 'book', { day: 'mon' }) as ['tool.call', EventMap['tool.call']]));
    expect(take().map((x) => x.type)).toStrictEqual(['llm-function-call-in-progress']);
  });

  it('cancellation stops each running call once: at the tool.cancel, not again at its cancelled result', () => {
    const { bus, take } = setup();
    bus.publish(...(call('c1', 'slow', {}) as ['tool.call', EventMap['tool.call']]));
    take();
    bus.publish('tool.cancel', { sessionId: S, toolCallIds: ['c1'], turnId: T });
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c1',
        function_name: 'slow',
        arguments: {},
        cancelled: true,
        transition_to: null,
      }),
    ]);
    bus.publish(...(result('c1', null, 'cancelled') as ['tool.result', EventMap['tool.result']]));
    expect(take()).toStrictEqual([]);
  });

  it('a held transfer stop is kept when another call is cancelled, and released when the turn ends', () => {
    const { bus, take } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish(...(call('c2', 'slow', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    take();
    bus.publish('tool.cancel', { sessionId: S, toolCallIds: ['c2'], turnId: T });
    expect(take().map((x) => (x as { data: { tool_call_id: string } }).data.tool_call_id)).toStrictEqual([
      'c2',
    ]);
    bus.publish('turn.end', { sessionId: S, turnId: T });
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: false,
        result: 'ok',
        transition_to: null,
      }),
    ]);
  });

  it('a transfer call is not held when its transfer is already known, nor when it was cancelled', () => {
    const { bus, take } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish('agent.transfer', { sessionId: S, fromAgent: 'main', toAgent: 'sales' });
    take();
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: false,
        result: 'ok',
        transition_to: 'sales',
      }),
    ]);
    bus.publish(...(call('c10', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    take();
    bus.publish(...(result('c10', null, 'cancelled') as ['tool.result', EventMap['tool.result']]));
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c10',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: true,
        transition_to: null,
      }),
    ]);
  });

  it('transition_to is the agent an agent.transfer during the call moved to', () => {
    const { bus, take } = setup();
    bus.publish(
      ...(call('c9', 'transfer_to_agent', { agent: 'billing' }) as ['tool.call', EventMap['tool.call']]),
    );
    bus.publish('agent.transfer', { sessionId: S, fromAgent: 'main', toAgent: 'billing' });
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    expect(take().at(-1)).toStrictEqual(
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: { agent: 'billing' },
        cancelled: false,
        result: 'ok',
        transition_to: 'billing',
      }),
    );
  });

  it('with transferToolName the stopped message waits for the agent.transfer that follows the result', () => {
    const { bus, take } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    take();
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    expect(take()).toStrictEqual([]);
    bus.publish('agent.transfer', { sessionId: S, fromAgent: 'main', toAgent: 'sales' });
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: false,
        result: 'ok',
        transition_to: 'sales',
      }),
    ]);
  });

  it('with transferToolName the transfer target goes to the transfer call, not to a later call of another tool', () => {
    const { bus, take } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish(...(call('c2', 'lookup', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish('agent.transfer', { sessionId: S, fromAgent: 'main', toAgent: 'sales' });
    take();
    bus.publish(...(result('c2', 'found') as ['tool.result', EventMap['tool.result']]));
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    expect(take().map((x) => (x as { data: { transition_to: unknown } }).data.transition_to)).toEqual([
      null,
      'sales',
    ]);
  });

  it('a held transfer stop is released with transition_to null when the turn ends without a transfer', () => {
    const { bus, take } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish(...(result('c9', 'refused') as ['tool.result', EventMap['tool.result']]));
    take();
    bus.publish('turn.end', { sessionId: S, turnId: T });
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: false,
        result: 'refused',
        transition_to: null,
      }),
    ]);
  });

  it('dispose releases a held transfer stop with transition_to null, once; nothing more is projected', () => {
    const { bus, take, projection } = setup({ transferToolName: 'transfer_to_agent' });
    bus.publish(...(call('c9', 'transfer_to_agent', {}) as ['tool.call', EventMap['tool.call']]));
    bus.publish(...(result('c9', 'ok') as ['tool.result', EventMap['tool.result']]));
    take();
    projection.dispose();
    expect(take()).toStrictEqual([
      m('llm-function-call-stopped', {
        tool_call_id: 'c9',
        function_name: 'transfer_to_agent',
        arguments: {},
        cancelled: false,
        result: 'ok',
        transition_to: null,
      }),
    ]);
    bus.publish('agent.transfer', { sessionId: S, fromAgent: 'main', toAgent: 'sales' });
    projection.dispose();
    expect(take()).toStrictEqual([]);
  });
});

describe('metrics', () => {
  it('a turn reports Pipecat arrays (seconds) and the seed flat fields (ms), with the turn tokens', () => {
    const { bus, take } = setup();
    bus.publish('metrics.usage', {
      sessionId: S,
      turnId: T,
      agentName: 'main',
      model: 'gpt-4o-mini',
      usage: { inputTokens: 120, outputTokens: 30 },
    });
    expect(take()).toStrictEqual([
      m('metrics', {
        tokens: [
          {
            processor: 'llm',
            model: 'gpt-4o-mini',
            prompt_tokens: 120,
            completion_tokens: 30,
            total_tokens: 150,
          },
        ],
      }),
    ]);
    // A provider that reports one side only: the total is that side (another turn's usage).
    bus.publish('metrics.usage', {
      sessionId: S,
      turnId: 'other',
      agentName: 'main',
      model: 'gpt-4o-mini',
      usage: { inputTokens: 120 },
    });
    expect(take()).toStrictEqual([
      m('metrics', {
        tokens: [{ processor: 'llm', model: 'gpt-4o-mini', prompt_tokens: 120, total_tokens: 120 }],
      }),
    ]);
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: T,
      kind: 'cascade',
      segments: { sttMs: 210, llmProcessingMs: 340, ttsMs: 120, totalE2EMs: 800 },
      marks: {},
    });
    expect(take()).toStrictEqual([
      m('metrics', {
        processing: [
          { processor: 'stt', value: 0.21 },
          { processor: 'turn', value: 0.8 },
        ],
        ttfb: [
          { processor: 'llm', value: 0.34 },
          { processor: 'tts', value: 0.12 },
        ],
        stt_latency_ms: 210,
        llm_ttfb_ms: 340,
        tts_ttfb_ms: 120,
        total_latency_ms: 800,
        llm_tokens: 150,
      }),
    ]);
  });

  it('a realtime turn: the model and transport segments are sent in ms beside the summary', () => {
    const { bus, take } = setup();
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: T,
      kind: 'realtime',
      segments: {
        clientToBackendMs: 12,
        backendToLLMMs: 3,
        llmProcessingMs: 240,
        llmToBackendMs: 0,
        backendToClientMs: 2,
        totalE2EMs: 245,
      },
      marks: {},
    });
    expect(take()).toStrictEqual([
      m('metrics', {
        processing: [{ processor: 'turn', value: 0.245 }],
        ttfb: [{ processor: 'llm', value: 0.24 }],
        llm_ttfb_ms: 240,
        total_latency_ms: 245,
        client_to_backend_ms: 12,
        backend_to_llm_ms: 3,
        llm_to_backend_ms: 0,
        backend_to_client_ms: 2,
      }),
    ]);
  });

  it('a summary without STT or total time sends no processing list; without model or TTS times, no ttfb list', () => {
    const { bus, take } = setup();
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: 't-typed',
      kind: 'text',
      segments: { llmProcessingMs: 300, ttsMs: 50 },
      marks: {},
    });
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: 't-unanswered',
      kind: 'cascade',
      segments: { sttMs: 200, totalE2EMs: 900 },
      marks: {},
    });
    expect(take()).toStrictEqual([
      m('metrics', {
        ttfb: [
          { processor: 'llm', value: 0.3 },
          { processor: 'tts', value: 0.05 },
        ],
        llm_ttfb_ms: 300,
        tts_ttfb_ms: 50,
      }),
      m('metrics', {
        processing: [
          { processor: 'stt', value: 0.2 },
          { processor: 'turn', value: 0.9 },
        ],
        stt_latency_ms: 200,
        total_latency_ms: 900,
      }),
    ]);
  });

  it('provider TTFBs are sent as they happen and not repeated in the turn summary', () => {
    const { bus, take } = setup();
    bus.publish('metrics.ttfb', {
      sessionId: S,
      turnId: T,
      processor: 'openai-llm',
      model: 'gpt-4o',
      valueMs: 312,
    });
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: T,
      kind: 'text',
      segments: { llmProcessingMs: 312, totalE2EMs: 400 },
      marks: {},
    });
    expect(take()).toStrictEqual([
      m('metrics', { ttfb: [{ processor: 'openai-llm', value: 0.312, model: 'gpt-4o' }] }),
      m('metrics', {
        processing: [{ processor: 'turn', value: 0.4 }],
        llm_ttfb_ms: 312,
        total_latency_ms: 400,
      }),
    ]);
  });

  it('a provider TTFB without model or turn: no model key, and a later turn summary keeps its own ttfb list', () => {
    const { bus, take } = setup();
    bus.publish('metrics.ttfb', { sessionId: S, processor: 'tts', valueMs: 80.4 });
    bus.publish('turn.latency', {
      sessionId: S,
      turnId: T,
      kind: 'text',
      segments: { ttsMs: 80 },
      marks: {},
    });
    expect(take()).toStrictEqual([
      m('metrics', { ttfb: [{ processor: 'tts', value: 0.08 }] }),
      m('metrics', { ttfb: [{ processor: 'tts', value: 0.08 }], tts_ttfb_ms: 80 }),
    ]);
  });
});

describe('options', () => {
  it('registers as a client channel for client events, GUI events and subagent UI requests while enabled, until dispose', () => {
    const channels = new ClientChannels();
    const { projection } = setup({ channels });
    expect(channels.names('client.event')).toEqual(['rtvi']);
    expect(channels.canDeliver('gui')).toBe(true);
    expect(channels.canDeliver('ui.request')).toBe(true);
    projection.dispose();
    expect(channels.size).toBe(0);
    // Events switched off: the client can receive none of them.
    setup({ channels, enabled: false });
    expect(channels.canDeliver('client.event')).toBe(false);
  });

  it('enabled: false projects nothing but still answers client-ready with bot-ready', () => {
    const { bus, take, projection } = setup({ enabled: false });
    bus.publish('user.speech.start', { sessionId: S, at: AT });
    bus.publish('session.start', { sessionId: S, userId: 'u', agentName: 'main' });
    expect(take()).toStrictEqual([]);
    expect(bus.hasSubscribers('user.speech.start')).toBe(false);
    projection.botReady('abcd1234');
    expect(take()).toStrictEqual([
      { label: 'rtvi-ai', type: 'bot-ready', id: 'abcd1234', data: { version: '2.1.0' } },
    ]);
  });

  it('bot-ready answers client-ready and is mirrored as the seed custom message', () => {
    const { take, projection } = setup();
    projection.botReady('abcd1234', { library: 'colloquy' });
    expect(take()).toStrictEqual([
      {
        label: 'rtvi-ai',
        type: 'bot-ready',
        id: 'abcd1234',
        data: { version: '2.1.0', about: { library: 'colloquy' } },
      },
      custom('bot-ready', { version: '2.1.0', about: { library: 'colloquy' } }),
    ]);
  });

  it('project() maps one event as the bus subscription does (an event without a mapping sends nothing); nothing when disabled', () => {
    const { take, projection } = setup();
    projection.project('turn.start', { sessionId: S, turnId: T });
    projection.project('user.speech.start', { sessionId: S, at: AT });
    expect(take()).toStrictEqual([m('user-started-speaking')]);
    const disabled = setup({ enabled: false });
    disabled.projection.project('user.speech.start', { sessionId: S, at: AT });
    expect(disabled.take()).toEqual([]);
  });

  it('a user_id given to the projection is kept: session.start does not replace it', () => {
    const { bus, take } = setup({ userId: 'client-9' });
    bus.publish('session.start', { sessionId: S, userId: 'lead-7', agentName: 'main' });
    bus.publish('transcription.final', { sessionId: S, text: 'yes', at: AT });
    expect((take()[1] as { data: { user_id: string } }).data.user_id).toBe('client-9');
  });

  it('user_id comes from session.start when not given', () => {
    const { bus, take } = setup();
    bus.publish('session.start', { sessionId: S, userId: 'lead-7', agentName: 'main' });
    bus.publish('transcription.final', { sessionId: S, text: 'yes', at: AT });
    expect((take()[1] as { data: { user_id: string } }).data.user_id).toBe('lead-7');
  });

  it('audioLevels: true sends Pipecat level messages', () => {
    const { bus, take } = setup({ audioLevels: true });
    bus.publish('audio.level', { sessionId: S, source: 'user', level: 0.25 });
    bus.publish('audio.level', { sessionId: S, source: 'bot', level: 0.5 });
    expect(take()).toStrictEqual([
      m('user-audio-level', { value: 0.25 }),
      m('bot-audio-level', { value: 0.5 }),
    ]);
  });

  it('per-frame events without a mapping have no subscriber; dispose unsubscribes everything', () => {
    const { bus, projection } = setup();
    expect(bus.hasSubscribers('speech.chunk')).toBe(false);
    expect(bus.hasSubscribers('audio.level')).toBe(false);
    expect(bus.hasSubscribers('bot.tts.text')).toBe(true);
    projection.dispose();
    expect(bus.hasSubscribers('bot.tts.text')).toBe(false);
  });

  it('every catalogue event has a decided fate in the table, and the table names no other event', () => {
    // The catalogue's event names, read from the EventMap interface itself.
    const source = readFileSync(fileURLToPath(new URL('../../bus/events.ts', import.meta.url)), 'utf8');
    const body = source.slice(source.indexOf('export interface EventMap {'));
    const catalogue = [...body.slice(0, body.indexOf('\n}\n')).matchAll(/^ {2}'?([\w.-]+)'?: /gm)].map(
      (m) => m[1],
    );
    expect(catalogue).toContain('turn.start');
    expect(catalogue).toContain('error');
    expect(Object.keys(RTVI_TABLE).sort()).toEqual([...catalogue].sort());
  });

  it.each([
    ['client_disconnected', 'client_disconnected'],
    ['client_disconnect', 'client_disconnected'],
    ['disconnected', 'client_disconnected'],
    ['transport_closed', 'client_disconnected'],
    ['client_left', 'client_disconnected'],
    ['idle_timeout', 'idle_timeout'],
    ['idle', 'idle_timeout'],
    ['timeout', 'idle_timeout'],
    ['agent_ended_call', 'agent_ended_call'],
  ])('maps the close reason %s onto the seed reason %s', (reason, seed) => {
    expect(conversationEndReason(reason)).toBe(seed);
  });
});
