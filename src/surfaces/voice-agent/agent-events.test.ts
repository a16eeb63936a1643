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
