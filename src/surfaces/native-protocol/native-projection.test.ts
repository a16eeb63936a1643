/**
 * The native projection over a real session: a turn is one response on the wire (one `stream_start`,
 * one `stream_finish`, then `response_complete` last, with all of the turn's text and tool calls),
 * also when a transfer between agents runs the LLM again inside it (each pass publishes its own
 * `llm.start` and `llm.end`).
 */
import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../agents/agent.ts';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { ColloquyError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { MockTts } from '../../testing/mock-tts.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { NativeProjection } from './native-projection.ts';
import type { ServerMessage } from './server-messages.ts';

const transferTo = (agent: string) => [{ toolCall: { name: 'transfer_to_agent', args: { agent } } }];

/** One text turn of a session of `agents`, and every message the native projection sent for it. */
async function turnOnTheWire(agents: AgentDefinition[], text: string, spoken = false) {
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents,
    model: agents[0]!.model!,
    logger: silentLogger,
    ...(spoken
      ? {
          audio: {
            tts: new MockTts({ sampleRate: 24000, msPerChar: 1 }),
            outputSampleRate: 24000,
            output: { write: () => {} },
          },
        }
      : {}),
  });
  const rec = new EventRecorder(session.eventBus);
  const sent: ServerMessage[] = [];
  const projection = new NativeProjection(session.eventBus, {
    send: (message) => sent.push(message),
    sessionInit: () => ({ type: 'session_init' }) as never,
  });
  await session.sendText(text);
  projection.dispose();
  await session.close();
  const turnId = rec.payloads('turn.start')[0]!.turnId;
  return { rec, sent, turnId, types: sent.map((m) => m.type) };
}

const bracket = (types: string[]) =>
  types.filter((t) => t.startsWith('stream_') || t === 'response_complete');

describe('native projection: one response per turn', () => {
  it('a spoken turn whose agent transfers the user: one stream, then response_complete with the answer', async () => {
    const front = mockLanguageModel([transferTo('billing')]);
    const billing = mockLanguageModel(['Your invoice is on its way.']);
    const { rec, sent, turnId, types } = await turnOnTheWire(
      [
        { name: 'front', instructions: 'You greet.', description: 'greets', model: front },
        { name: 'billing', instructions: 'You bill.', description: 'invoices', model: billing },
      ],
      'Where is my invoice?',
      true,
    );
    // Two LLM passes in one turn: the front agent's, which asked for the transfer, and billing's.
    expect(rec.payloads('llm.start').map((p) => p.turnId)).toEqual([turnId, turnId]);
    expect(rec.payloads('llm.end').map((p) => p.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(rec.payloads('agent.transfer').map((p) => [p.fromAgent, p.toAgent])).toEqual([
      ['front', 'billing'],
    ]);

    expect(bracket(types)).toEqual(['stream_start', 'stream_finish', 'response_complete']);
    expect(sent.find((m) => m.type === 'stream_start')).toEqual({ type: 'stream_start', turnId });
    expect(sent.find((m) => m.type === 'stream_finish')).toMatchObject({ turnId, finishReason: 'stop' });
    // The response ends when the answer's LLM stream does, not when its speech does.
    expect(types.indexOf('stream_finish')).toBeGreaterThan(types.lastIndexOf('text_delta'));
    expect(types.indexOf('response_complete')).toBe(types.indexOf('stream_finish') + 1);
    expect(types.indexOf('response_complete')).toBeLessThan(types.indexOf('speech_stream_end'));
    const [call] = rec.payloads('tool.call');
    expect(sent.find((m) => m.type === 'response_complete')).toEqual({
      type: 'response_complete',
      turnId,
      text: 'Your invoice is on its way.',
      toolCalls: [{ toolName: 'transfer_to_agent', toolCallId: call!.id, input: { agent: 'billing' } }],
      toolResults: [
        {
          toolName: 'transfer_to_agent',
          toolCallId: call!.id,
          output: { transferred: true, to: 'billing' },
        },
      ],
    });
  });

  it('a transfer asked for but not carried out (the fourth in one turn) ends the response', async () => {
    const front = mockLanguageModel([transferTo('billing')]);
    const billing = mockLanguageModel([transferTo('front')]);
    const { rec, sent, turnId, types } = await turnOnTheWire(
      [
        { name: 'front', instructions: 'You greet.', description: 'greets', model: front },
        { name: 'billing', instructions: 'You bill.', description: 'invoices', model: billing },
      ],
      'pass me around',
    );
    expect(rec.payloads('llm.start')).toHaveLength(4);
    expect(rec.payloads('agent.transfer')).toHaveLength(3);

    expect(bracket(types)).toEqual(['stream_start', 'stream_finish', 'response_complete']);
    expect(sent.find((m) => m.type === 'stream_finish')).toMatchObject({
      turnId,
      finishReason: 'tool-calls',
    });
    expect(types.at(-1)).toBe('response_complete');
    const complete = sent.at(-1) as Extract<ServerMessage, { type: 'response_complete' }>;
    expect(complete.toolCalls.map((c) => (c.input as { agent: string }).agent)).toEqual([
      'billing',
      'front',
      'billing',
      'front',
    ]);
    expect(complete.text).toBe('');
  });
});

describe('native projection: only a transfer holds the stream_finish', () => {
  it('a pass whose tool is not a transfer, or whose transfer failed, finishes the response at its llm.end', () => {
    for (const [name, status] of [
      ['lookup', 'success'],
      ['transfer_to_agent', 'error'],
    ] as const) {
      const bus = new EventBus<EventMap>({ logger: silentLogger });
      const sent: ServerMessage[] = [];
      new NativeProjection(bus, {
        send: (m) => sent.push(m),
        sessionInit: () => ({ type: 'session_init' }) as never,
      });
      bus.publish('llm.start', { sessionId: 's', turnId: 't', agentName: 'main' });
      bus.publish('tool.call', { sessionId: 's', agentName: 'main', id: 'c1', name, args: {}, turnId: 't' });
      bus.publish('tool.result', {
        sessionId: 's',
        toolCallId: 'c1',
        name,
        status,
        result: status === 'success' ? { ok: true } : null,
        ...(status === 'error' ? { error: new ColloquyError('tool_failed', 'no such agent') } : {}),
        turnId: 't',
      });
      bus.publish('llm.end', {
        sessionId: 's',
        turnId: 't',
        outcome: 'finish',
        finishReason: 'stop',
        usage: {},
      });
      // Before the turn's speech ends and its assistant.text: the client learns the answer is complete.
      expect(bracket(sent.map((m) => m.type)), name).toEqual([
        'stream_start',
        'stream_finish',
        'response_complete',
      ]);
    }
  });
});

describe('native projection: response_complete once, for a turn the client saw start', () => {
  it('speech cut after the answer was complete sends no second response_complete; a turn with no stream sends none', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const sent: ServerMessage[] = [];
    new NativeProjection(bus, {
      send: (m) => sent.push(m),
      sessionInit: () => ({ type: 'session_init' }) as never,
    });
    const complete = () => sent.filter((m) => m.type === 'response_complete').map((m) => m.turnId);
    bus.publish('llm.start', { sessionId: 's', turnId: 't1', agentName: 'main' });
    bus.publish('llm.end', {
      sessionId: 's',
      turnId: 't1',
      outcome: 'finish',
      finishReason: 'stop',
      usage: {},
    });
    expect(complete()).toEqual(['t1']);
    // The answer was still being spoken when the user cut in.
    bus.publish('assistant.text', {
      sessionId: 's',
      turnId: 't1',
      agentName: 'main',
      text: 'Hel',
      interrupted: true,
    });
    expect(complete()).toEqual(['t1']);
    // A turn cut before its LLM started: the client never saw a stream_start for it.
    bus.publish('assistant.text', {
      sessionId: 's',
      turnId: 't2',
      agentName: 'main',
      text: '',
      interrupted: true,
    });
    expect(complete()).toEqual(['t1']);
  });
});

describe('native projection: a turn cut between a transfer and the next agent', () => {
  it('the held stream_finish is not sent: stream_abort, then response_complete (interrupted)', async () => {
    const front = mockLanguageModel([transferTo('billing')]);
    const billing = mockLanguageModel(['Your invoice is on its way.']);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [
        { name: 'front', instructions: 'You greet.', description: 'greets', model: front },
        { name: 'billing', instructions: 'You bill.', description: 'invoices', model: billing },
      ],
      model: front,
      logger: silentLogger,
    });
    const sent: ServerMessage[] = [];
    const projection = new NativeProjection(session.eventBus, {
      send: (message) => sent.push(message),
      sessionInit: () => ({ type: 'session_init' }) as never,
    });
    // The user cuts in as the front agent hands over: after its pass, before billing's.
    session.eventBus.subscribe('agent.transfer', () => session.interrupt());
    await session.sendText('Where is my invoice?');
    projection.dispose();
    await session.close();
    const types = sent.map((m) => m.type);
    expect(bracket(types)).toEqual(['stream_start', 'stream_abort', 'response_complete']);
    expect(sent.find((m) => m.type === 'response_complete')).toMatchObject({ interrupted: true });
  });
});

describe('native projection: errors', () => {
  it('forwards fatal errors and the warnings of components the client hears of no other way', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const sent: ServerMessage[] = [];
    new NativeProjection(bus, {
      send: (m) => sent.push(m),
      sessionInit: () => ({ type: 'session_init' }) as never,
    });
    const error = (component: string, severity: 'warn' | 'fatal', text: string) =>
      bus.publish('error', {
        sessionId: 's',
        component,
        severity,
        error: new ColloquyError('internal_error', text),
      });
    error('transport', 'warn', 'transport warning'); // forwarded
    error('tool:lookup', 'warn', 'tool warning'); // the tool's result tells the client
    error('tts', 'warn', 'tts warning'); // speech errors reach it another way
    error('tool:lookup', 'fatal', 'fatal tool error'); // fatal: always
    expect(sent.map((m) => (m as { error?: string }).error)).toEqual([
      'transport warning',
      'fatal tool error',
    ]);
  });
});
