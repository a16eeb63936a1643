/** `speech_interrupted` is an event about speech: it is emitted only when something was queued to be said. */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { NativeProjection } from '../native-protocol/native-projection.ts';
import { projectAgentEvents } from './agent-events.ts';

const interrupted = { sessionId: 's', turnId: 't1', reason: 'user_speaking' as const, heardText: '' };
const queued = { sessionId: 's', turnId: 't1', chunkId: 0, text: 'Hello there.' };

function agentEvents(wants: (name: string) => boolean = () => true) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const seen: Array<[string, unknown]> = [];
  projectAgentEvents(
    bus,
    (name, ...args) => seen.push([name, args[0]]),
    (r) => r,
    wants,
  );
  return { bus, seen, names: () => seen.map(([n]) => n) };
}

function nativeMessages() {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const sent: Array<{ type: string }> = [];
  new NativeProjection(bus, {
    send: (m) => sent.push(m as { type: string }),
    sessionInit: () => ({ type: 'session_init' }) as never,
  });
  return { bus, types: () => sent.map((m) => m.type), last: () => sent.at(-1) };
}

describe('speech_interrupted only when speech was queued', () => {
  it('VoiceAgent: no speech_interrupted for a turn that queued nothing', () => {
    const { bus, names } = agentEvents();
    bus.publish('speech.interrupted', interrupted);
    expect(names()).toEqual([]);
  });

  it('VoiceAgent: one speech_interrupted with the reason once a chunk was queued', () => {
    const { bus, seen } = agentEvents();
    bus.publish('speech.chunk.queued', queued);
    bus.publish('speech.interrupted', interrupted);
    bus.publish('speech.interrupted', interrupted);
    expect(seen).toEqual([
      ['speech_chunk_queued', { id: 0, text: 'Hello there.' }],
      ['speech_interrupted', { reason: 'user_speaking' }],
    ]);
  });

  it('VoiceAgent: speech queued by two turns: each turn’s interruption is told once, the first one’s too', () => {
    const { bus, seen } = agentEvents();
    bus.publish('speech.chunk.queued', queued);
    bus.publish('speech.chunk.queued', { ...queued, turnId: 't2', chunkId: 1, text: 'And more.' });
    bus.publish('speech.interrupted', interrupted);
    bus.publish('speech.interrupted', { ...interrupted, turnId: 't2', reason: 'client_request' as const });
    bus.publish('speech.interrupted', interrupted);
    expect(seen.filter(([n]) => n === 'speech_interrupted')).toEqual([
      ['speech_interrupted', { reason: 'user_speaking' }],
      ['speech_interrupted', { reason: 'client_request' }],
    ]);
  });

  it('VoiceAgent: a finished turn forgets its speech, so a later interruption of it is silent', () => {
    const { bus, names } = agentEvents();
    bus.publish('speech.chunk.queued', queued);
    bus.publish('turn.end', { sessionId: 's', turnId: 't1' });
    bus.publish('speech.interrupted', interrupted);
    expect(names()).toEqual(['speech_chunk_queued']);
  });

  it('native protocol: no speech_interrupted message for a turn that queued nothing; one after a queued chunk', () => {
    const { bus, types } = nativeMessages();
    bus.publish('speech.interrupted', interrupted);
    expect(types()).toEqual([]);
    bus.publish('speech.chunk.queued', queued);
    bus.publish('speech.interrupted', interrupted);
    expect(types().filter((t) => t === 'speech_interrupted')).toHaveLength(1);
  });
});

describe('payloads are built only for events someone listens to', () => {
  const chunk = {
    sessionId: 's',
    turnId: 't1',
    chunkId: 0,
    text: 'Hello there.',
    audio: new Uint8Array([1, 2, 3]),
    format: 'pcm16',
    sampleRate: 24000,
  };

  it('emits nothing for an event without listeners, and base64-encodes audio only for a listener', () => {
    const listening = new Set<string>(['text']);
    const { bus, seen } = agentEvents((name) => listening.has(name));
    bus.publish('speech.chunk', chunk);
    bus.publish('llm.text.delta', { sessionId: 's', turnId: 't1', id: 'x', text: 'Hel' });
    bus.publish('user.text', { sessionId: 's', turnId: 't1', text: 'hi', source: 'text' });
    expect(seen).toEqual([['text', { role: 'user', text: 'hi' }]]);
    listening.add('audio_chunk');
    bus.publish('speech.chunk', chunk);
    expect(seen[1]).toEqual([
      'audio_chunk',
      { chunkId: 0, data: 'AQID', format: 'pcm16', text: 'Hello there.', uint8Array: chunk.audio },
    ]);
  });

  it('keeps track of queued speech while nobody listens, so a later listener hears the interruption', () => {
    const listening = new Set<string>();
    const { bus, seen } = agentEvents((name) => listening.has(name));
    bus.publish('speech.chunk.queued', queued);
    listening.add('speech_interrupted');
    bus.publish('speech.interrupted', interrupted);
    expect(seen).toEqual([['speech_interrupted', { reason: 'user_speaking' }]]);
  });

  it('always emits errors (the agent reports one nobody listens to)', () => {
    const { bus, names } = agentEvents(() => false);
    bus.publish('error', {
      sessionId: 's',
      component: 'input',
      error: new Error('bad') as never,
      severity: 'warn',
    });
    expect(names()).toEqual(['error']);
  });
});

describe('tool results', () => {
  it('a cancelled call is no tool_result for the agent or the native client; a finished one is', () => {
    const agent = agentEvents();
    const native = nativeMessages();
    native.bus.publish('llm.start', { sessionId: 's', turnId: 't1', agentName: 'main' });
    for (const bus of [agent.bus, native.bus]) {
      bus.publish('tool.call', {
        sessionId: 's',
        agentName: 'main',
        id: 'c1',
        name: 'slow',
        args: {},
        turnId: 't1',
      });
      bus.publish('tool.result', {
        sessionId: 's',
        toolCallId: 'c1',
        name: 'slow',
        status: 'cancelled',
        result: null,
        turnId: 't1',
      });
      bus.publish('tool.result', {
        sessionId: 's',
        toolCallId: 'c2',
        name: 'fast',
        status: 'success',
        result: { ok: true },
        turnId: 't1',
      });
    }
    expect(agent.seen.filter(([n]) => n === 'tool_result')).toEqual([
      ['tool_result', { name: 'fast', toolCallId: 'c2', result: { ok: true } }],
    ]);
    expect(native.types().filter((t) => t.startsWith('tool'))).toEqual(['tool_call', 'tool_result']);
    native.bus.publish('llm.end', {
      sessionId: 's',
      turnId: 't1',
      outcome: 'finish',
      finishReason: 'stop',
      usage: {},
    });
    expect(native.last()).toMatchObject({
      type: 'response_complete',
      toolResults: [{ toolName: 'fast', toolCallId: 'c2', output: { ok: true } }],
    });
  });
});

describe('AGENT_EVENT_TABLE: each bus event → the agent event and its exact arguments', () => {
  const audio = new Uint8Array([1, 2, 3]);
  const frame = {
    sessionId: 's',
    sequence: 7,
    timestamp: 1234,
    triggerReason: 'timer' as const,
    size: 99,
    dimensions: { width: 640, height: 480 },
  };
  const request = {
    requestId: 'r1',
    subagentName: 'booker',
    prompt: 'Which day?',
    options: ['Mon', 'Tue'],
    expiresAt: 5000,
  };
  const rows: Array<{ bus: keyof EventMap; payload: unknown; out: Array<[string, unknown]> }> = [
    {
      bus: 'user.text',
      payload: { sessionId: 's', turnId: 't1', text: 'hi', source: 'text' },
      out: [['text', { role: 'user', text: 'hi' }]],
    },
    {
      bus: 'user.text',
      payload: { sessionId: 's', turnId: 't1', text: 'look', source: 'speech', hasImage: true },
      out: [['text', { role: 'user', text: 'look', hasImage: true }]],
    },
    {
      bus: 'user.text',
      payload: { sessionId: 's', turnId: 't1', text: 'plain', source: 'text', hasImage: false },
      out: [['text', { role: 'user', text: 'plain' }]],
    },
    {
      bus: 'llm.text.delta',
      payload: { sessionId: 's', turnId: 't1', id: 'd1', text: 'Hel' },
      out: [['chunk:text_delta', { id: 'd1', text: 'Hel' }]],
    },
    {
      bus: 'llm.reasoning.delta',
      payload: { sessionId: 's', turnId: 't1', id: 'r1', text: 'think' },
      out: [['chunk:reasoning_delta', { id: 'r1', text: 'think' }]],
    },
    {
      bus: 'tool.call',
      payload: { sessionId: 's', agentName: 'main', id: 'c1', name: 'lookup', args: { q: 1 }, turnId: 't1' },
      out: [['chunk:tool_call', { toolName: 'lookup', toolCallId: 'c1', input: { q: 1 } }]],
    },
    {
      bus: 'tool.result',
      payload: { sessionId: 's', toolCallId: 'c1', status: 'success', result: 42, name: 'lookup' },
      out: [['tool_result', { name: 'lookup', toolCallId: 'c1', result: 42 }]],
    },
    {
      bus: 'tool.result',
      payload: { sessionId: 's', toolCallId: 'c2', status: 'error', result: 'boom' },
      out: [['tool_result', { name: '', toolCallId: 'c2', result: 'boom' }]],
    },
    {
      bus: 'speech.chunk.queued',
      payload: { sessionId: 's', turnId: 't1', chunkId: 3, text: 'Hi.' },
      out: [['speech_chunk_queued', { id: 3, text: 'Hi.' }]],
    },
    {
      bus: 'speech.start',
      payload: { sessionId: 's', turnId: 't1', streaming: true },
      out: [['speech_start', { streaming: true }]],
    },
    {
      bus: 'speech.start',
      payload: { sessionId: 's', turnId: 't1', streaming: false },
      out: [['speech_start', { streaming: false }]],
    },
    {
      bus: 'speech.chunk',
      payload: { sessionId: 's', turnId: 't1', chunkId: 2, text: 'Yes.', audio, format: 'mp3' },
      out: [['audio_chunk', { chunkId: 2, data: 'AQID', format: 'mp3', text: 'Yes.', uint8Array: audio }]],
    },
    {
      bus: 'speech.complete',
      payload: { sessionId: 's', turnId: 't1', streaming: false },
      out: [['speech_complete', { streaming: false }]],
    },
    {
      bus: 'speech.complete',
      payload: { sessionId: 's', turnId: 't1', streaming: true },
      out: [['speech_complete', { streaming: true }]],
    },
    {
      bus: 'speech.full',
      payload: { sessionId: 's', text: 'All of it.', audio, format: 'opus' },
      out: [['audio', { data: 'AQID', format: 'opus', uint8Array: audio }]],
    },
    {
      bus: 'assistant.text',
      payload: { sessionId: 's', turnId: 't1', agentName: 'main', text: 'Done.', interrupted: false },
      out: [['text', { role: 'assistant', text: 'Done.' }]],
    },
    {
      bus: 'assistant.text',
      payload: { sessionId: 's', turnId: 't1', agentName: 'main', text: 'Do', interrupted: true },
      out: [],
    },
    {
      bus: 'transcription.final',
      payload: { sessionId: 's', text: 'hola', language: 'es', at: 1 },
      out: [['transcription', { text: 'hola', language: 'es' }]],
    },
    {
      bus: 'transcription.final',
      payload: { sessionId: 's', text: 'hi', at: 1 },
      out: [['transcription', { text: 'hi' }]],
    },
    {
      bus: 'audio.received',
      payload: { sessionId: 's', size: 321 },
      out: [['audio_received', { size: 321 }]],
    },
    { bus: 'history.cleared', payload: { sessionId: 's' }, out: [['history_cleared', undefined]] },
    {
      bus: 'history.trimmed',
      payload: { sessionId: 's', removedCount: 4, reason: 'max_chars' },
      out: [['history_trimmed', { removedCount: 4, reason: 'max_chars' }]],
    },
    {
      bus: 'transport.connected',
      payload: { sessionId: 's', transport: 'websocket' },
      out: [['connected', undefined]],
    },
    {
      bus: 'transport.disconnected',
      payload: { sessionId: 's', transport: 'websocket' },
      out: [['disconnected', undefined]],
    },
    {
      bus: 'video.frame',
      payload: frame,
      out: [
        [
          'frame_received',
          {
            sequence: 7,
            timestamp: 1234,
            triggerReason: 'timer',
            size: 99,
            dimensions: { width: 640, height: 480 },
          },
        ],
      ],
    },
    {
      bus: 'video.frame.requested',
      payload: { sessionId: 's', reason: 'scene_change' },
      out: [['frame_requested', { reason: 'scene_change' }]],
    },
    {
      bus: 'client.ready',
      payload: { sessionId: 's', capabilities: { audio: true } },
      out: [['client_ready', { audio: true }]],
    },
    {
      bus: 'client.event',
      payload: { sessionId: 's', topic: 'map', payload: { x: 1 }, toolCallId: 'c9', turnId: 't1' },
      out: [['client_event', { topic: 'map', payload: { x: 1 }, toolCallId: 'c9' }]],
    },
    {
      bus: 'client.event',
      payload: { sessionId: 's', topic: 'map', payload: 'raw' },
      out: [['client_event', { topic: 'map', payload: 'raw' }]],
    },
    {
      bus: 'gui.update',
      payload: { sessionId: 's', data: { page: 2 }, turnId: 't1' },
      out: [['gui_update', { data: { page: 2 } }]],
    },
    {
      bus: 'gui.notification',
      payload: { sessionId: 's', message: 'Saved', turnId: 't1' },
      out: [['gui_notification', { message: 'Saved' }]],
    },
    {
      bus: 'subagent.ui.send',
      payload: { sessionId: 's', payload: { type: 'request', ...request } },
      out: [['subagent_ui_request', request]],
    },
    {
      bus: 'subagent.ui.send',
      payload: { sessionId: 's', payload: { type: 'cancel', requestId: 'r1', reason: 'timeout' } },
      out: [['subagent_ui_cancel', { requestId: 'r1', reason: 'timeout' }]],
    },
    {
      bus: 'config.changed',
      payload: { sessionId: 's', config: { maxContextFrames: 3 } },
      out: [['config_changed', { maxContextFrames: 3 }]],
    },
    {
      bus: 'warning',
      payload: {
        sessionId: 's',
        component: 'input',
        code: 'empty_text',
        message: 'Text input cannot be empty',
      },
      out: [['warning', 'Text input cannot be empty']],
    },
  ];

  it.each(rows.map((r, i) => [i, r.bus, r] as const))('row %i: %s', (_i, _bus, row) => {
    const { bus, seen } = agentEvents();
    bus.publish(row.bus, row.payload as never);
    expect(seen).toEqual(row.out);
  });

  it.each(rows.map((r, i) => [i, r.bus, r] as const))(
    'row %i: %s with only its own listener',
    (_i, _bus, row) => {
      const names = new Set(row.out.map(([n]) => n));
      const { bus, seen } = agentEvents((name) => names.has(name));
      bus.publish(row.bus, row.payload as never);
      expect(seen).toEqual(row.out);
    },
  );

  it.each(rows.map((r, i) => [i, r.bus, r] as const))(
    'row %i: %s builds nothing without a listener',
    (_i, _bus, row) => {
      const asked: string[] = [];
      const { bus, seen } = agentEvents((name) => {
        asked.push(name);
        return false;
      });
      bus.publish(row.bus, row.payload as never);
      expect(seen).toEqual([]);
      expect(asked).toEqual(row.out.map(([n]) => n));
    },
  );

  it('a subagent question is emitted only to a request listener, a withdrawal only to a cancel listener', () => {
    const cancelOnly = agentEvents((name) => name === 'subagent_ui_cancel');
    cancelOnly.bus.publish('subagent.ui.send', { sessionId: 's', payload: { type: 'request', ...request } });
    expect(cancelOnly.seen).toEqual([]);
    const requestOnly = agentEvents((name) => name === 'subagent_ui_request');
    requestOnly.bus.publish('subagent.ui.send', {
      sessionId: 's',
      payload: { type: 'cancel', requestId: 'r1', reason: 'cancelled' },
    });
    expect(requestOnly.seen).toEqual([]);
  });

  it('an interrupted turn forgets its speech, so a later speech.interrupted of it is silent', () => {
    const { bus, names } = agentEvents();
    bus.publish('speech.chunk.queued', queued);
    bus.publish('turn.interrupted', { sessionId: 's', turnId: 't1', reason: 'user_speaking' });
    bus.publish('speech.interrupted', interrupted);
    expect(names()).toEqual(['speech_chunk_queued']);
  });

  it('forgetting one turn keeps another turn that queued speech', () => {
    const { bus, seen } = agentEvents();
    bus.publish('speech.chunk.queued', queued);
    bus.publish('speech.chunk.queued', { ...queued, turnId: 't2', chunkId: 1 });
    bus.publish('turn.end', { sessionId: 's', turnId: 't1' });
    bus.publish('turn.interrupted', { sessionId: 's', turnId: 't1' });
    bus.publish('speech.interrupted', interrupted);
    bus.publish('speech.interrupted', { ...interrupted, turnId: 't2', reason: 'client_request' });
    expect(seen.slice(2)).toEqual([['speech_interrupted', { reason: 'client_request' }]]);
  });

  it('speech_interrupted carries the reason as the agent words it (reasonFor)', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const seen: Array<[string, unknown]> = [];
    projectAgentEvents(
      bus,
      (name, ...args) => seen.push([name, args[0]]),
      (r) => `said:${r}`,
      () => true,
    );
    bus.publish('speech.chunk.queued', queued);
    bus.publish('speech.interrupted', interrupted);
    expect(seen.at(-1)).toEqual(['speech_interrupted', { reason: 'said:user_speaking' }]);
  });

  it('the unsubscribe it returns stops every projection', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const seen: string[] = [];
    const off = projectAgentEvents(
      bus,
      (name, ..._args) => {
        seen.push(name);
      },
      (r) => r,
      () => true,
    );
    bus.publish('history.cleared', { sessionId: 's' });
    off();
    bus.publish('history.cleared', { sessionId: 's' });
    bus.publish('error', {
      sessionId: 's',
      component: 'x',
      error: new Error('e') as never,
      severity: 'warn',
    });
    expect(seen).toEqual(['history_cleared']);
  });
});
