/**
 * The LiveKit projection, event by event: what a page built on `livekit-client` would receive for
 * each bus event (agent attribute updates, text streams, data packets).
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { ColloquyError, ProviderError } from '../../errors.ts';
import {
  EVENTS_TOPIC,
  GUI_TOPIC,
  type LiveKitOutlet,
  LiveKitProjection,
  SUBAGENT_UI_TOPIC,
  TRANSCRIPTION_TOPIC,
} from './livekit-projection.ts';

const S = 'session-1';

type Out =
  | { attributes: Record<string, string> }
  | { data: unknown; topic?: string; reliable?: boolean }
  | {
      stream: string;
      sender: string;
      topic: string;
      attributes: Record<string, string>;
      text: string;
      trailer?: Record<string, string>;
    };

function setup(options: { userTrackSid?: string; deliver?: boolean } = {}) {
  const bus = new EventBus<EventMap>();
  const out: Out[] = [];
  let n = 0;
  const outlet: LiveKitOutlet = {
    userIdentity: 'user-1',
    agentIdentity: 'concierge',
    userTrackSid: options.userTrackSid,
    agentTrackSid: 'TR_agent',
    setAgentAttributes: (attributes) => out.push({ attributes }),
    publishData: (payload, o) => {
      out.push({ data: JSON.parse(new TextDecoder().decode(payload)), topic: o.topic, reliable: o.reliable });
      return options.deliver ?? true;
    },
    openTextStream: (topic, sender, attributes) => {
      const entry = { stream: `s${++n}`, sender, topic, attributes, text: '' } as Extract<
        Out,
        { stream: string }
      >;
      out.push(entry);
      return {
        write: (text) => {
          entry.text += text;
        },
        close: (trailer = {}) => {
          entry.trailer = trailer;
        },
      };
    },
  };
  const projection = new LiveKitProjection(bus, outlet);
  return { bus, out, projection };
}

describe('LiveKit projection', () => {
  it('lk.agent.state follows the session: listening (with the session id; also while the user speaks), thinking, speaking, listening', () => {
    const { bus, out } = setup();
    bus.publish('session.start', { sessionId: S, userId: 'u', agentName: 'concierge' });
    bus.publish('turn.start', { sessionId: S, turnId: 't1' }); // the user begins speaking: still listening
    bus.publish('user.speech.start', { sessionId: S, at: 1 });
    bus.publish('llm.start', { sessionId: S, turnId: 't1', agentName: 'concierge' });
    bus.publish('bot.speaking.start', { sessionId: S, turnId: 't1' });
    bus.publish('turn.end', { sessionId: S, turnId: 't1' }); // still speaking: no change
    bus.publish('bot.speaking.stop', { sessionId: S, turnId: 't1', interrupted: false });
    bus.publish('turn.start', { sessionId: S, turnId: 't2' });
    bus.publish('llm.start', { sessionId: S, turnId: 't2', agentName: 'concierge' });
    bus.publish('turn.interrupted', { sessionId: S, turnId: 't2', reason: 'user_speaking' });
    expect(out).toEqual([
      { attributes: { 'lk.agent.state': 'listening', 'colloquy.session_id': S } },
      { attributes: { 'lk.agent.state': 'thinking' } },
      { attributes: { 'lk.agent.state': 'speaking' } },
      { attributes: { 'lk.agent.state': 'listening' } },
      { attributes: { 'lk.agent.state': 'thinking' } },
      { attributes: { 'lk.agent.state': 'listening' } },
      {
        data: { type: 'turn-interrupted', turnId: 't2', reason: 'user_speaking' },
        topic: EVENTS_TOPIC,
        reliable: true,
      },
    ]);
  });

  it('a turn that ends or is cut while the agent still speaks leaves it speaking until its speech stops', () => {
    const { bus, out, projection } = setup();
    const states = () => out.flatMap((o) => ('attributes' in o ? [o.attributes['lk.agent.state']] : []));
    bus.publish('session.start', { sessionId: S, userId: 'u', agentName: 'concierge' });
    bus.publish('llm.start', { sessionId: S, turnId: 't1', agentName: 'concierge' });
    bus.publish('bot.speaking.start', { sessionId: S, turnId: 't1' });
    bus.publish('turn.end', { sessionId: S, turnId: 't1' }); // the answer is written, still being spoken
    expect(projection.agentState).toBe('speaking');
    bus.publish('turn.interrupted', { sessionId: S, turnId: 't2', reason: 'user_speaking' });
    expect(projection.agentState).toBe('speaking');
    expect(states()).toEqual(['listening', 'thinking', 'speaking']);
    bus.publish('bot.speaking.stop', { sessionId: S, turnId: 't1', interrupted: false });
    expect(projection.agentState).toBe('listening');
    expect(states()).toEqual(['listening', 'thinking', 'speaking', 'listening']);
  });

  it('colloquy.events: tool arguments over the client limits are omitted, not sent', () => {
    const { bus, out } = setup();
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'a',
      id: 'c2',
      name: 'dump',
      args: { blob: 'x'.repeat(20_000) },
    });
    expect(out).toEqual([
      {
        data: {
          type: 'tool-call',
          toolCallId: 'c2',
          name: 'dump',
          args: { omitted: true, reason: 'too_large' },
        },
        topic: EVENTS_TOPIC,
        reliable: true,
      },
    ]);
  });

  it('colloquy.events: latency, interruptions, unrecognised speech, tool calls and errors as a client may see them', () => {
    const { bus, out } = setup();
    const segments = { sttMs: 120, llmProcessingMs: 300, ttsMs: 80, totalE2EMs: 610 };
    bus.publish('tool.call', { sessionId: S, agentName: 'a', id: 'c1', name: 'hotel_faq', args: { q: 'x' } });
    bus.publish('tool.result', {
      sessionId: S,
      toolCallId: 'c1',
      name: 'hotel_faq',
      status: 'success',
      result: { secret: 'not sent' },
      durationMs: 42,
    });
    bus.publish('turn.latency', { sessionId: S, turnId: 't1', kind: 'cascade', segments, marks: {} });
    bus.publish('turn.end', { sessionId: S, turnId: 't1' }); // answered: nothing on the topic
    // The greeting's speech cut off, then its turn: one message.
    bus.publish('speech.interrupted', {
      sessionId: S,
      turnId: 'g',
      reason: 'interrupted',
      heardText: 'Hello',
    });
    bus.publish('turn.interrupted', { sessionId: S, turnId: 'g', reason: 'interrupted' });
    bus.publish('turn.end', { sessionId: S, turnId: 't2', abandoned: true });
    bus.publish('error', {
      sessionId: S,
      component: 'llm',
      severity: 'error',
      error: new ProviderError('llm_auth_failed', 'upstream said: invalid key sk-abcdefghijklmnop'),
    });
    bus.publish('error', {
      sessionId: S,
      component: 'tts',
      severity: 'warn',
      error: new ProviderError('tts_failed', 'sentence skipped'),
    });
    // A non-speech warning stays in the server log.
    bus.publish('error', {
      sessionId: S,
      component: 'session',
      severity: 'warn',
      error: new ColloquyError('invalid_message', 'bad input'),
    });
    const events = out
      .filter((o) => 'topic' in o && o.topic === EVENTS_TOPIC)
      .map((o) => (o as { data: unknown }).data);
    expect(events).toEqual([
      { type: 'tool-call', toolCallId: 'c1', name: 'hotel_faq', args: { q: 'x' } },
      { type: 'tool-result', toolCallId: 'c1', name: 'hotel_faq', status: 'success', durationMs: 42 },
      { type: 'turn-latency', turnId: 't1', kind: 'cascade', segments },
      { type: 'turn-interrupted', turnId: 'g', reason: 'interrupted' },
      { type: 'speech-unrecognized', turnId: 't2' },
      { type: 'error', component: 'llm', message: 'llm failed (llm_auth_failed)', severity: 'error' },
      { type: 'error', component: 'tts', message: 'tts failed (tts_failed)', severity: 'warn' },
    ]);
  });

  it("user transcripts: one stream each, sent as the user, on the user's mic track; interim and final share a segment", () => {
    const { bus, out } = setup({ userTrackSid: 'TR_mic' });
    bus.publish('transcription.interim', { sessionId: S, text: 'what time', at: 1 });
    bus.publish('transcription.final', { sessionId: S, text: 'what time is breakfast', at: 2 });
    bus.publish('transcription.interim', { sessionId: S, text: 'thanks', at: 3 });
    expect(out).toEqual([
      {
        stream: 's1',
        sender: 'user-1',
        topic: TRANSCRIPTION_TOPIC,
        text: 'what time',
        attributes: {
          'lk.segment_id': 'user-1',
          'lk.transcription_final': 'false',
          'lk.transcribed_track_id': 'TR_mic',
        },
        trailer: {},
      },
      {
        stream: 's2',
        sender: 'user-1',
        topic: TRANSCRIPTION_TOPIC,
        text: 'what time is breakfast',
        attributes: {
          'lk.segment_id': 'user-1',
          'lk.transcription_final': 'true',
          'lk.transcribed_track_id': 'TR_mic',
        },
        trailer: {},
      },
      {
        stream: 's3',
        sender: 'user-1',
        topic: TRANSCRIPTION_TOPIC,
        text: 'thanks',
        attributes: {
          'lk.segment_id': 'user-2',
          'lk.transcription_final': 'false',
          'lk.transcribed_track_id': 'TR_mic',
        },
        trailer: {},
      },
    ]);
  });

  it('agent transcript: the words as heard, one stream per response, closed (final) when speech stops', () => {
    const { bus, out } = setup();
    bus.publish('bot.tts.text', { sessionId: S, turnId: 't1', chunkId: 0, text: 'Breakfast is served.' });
    bus.publish('bot.tts.text', { sessionId: S, turnId: 't1', chunkId: 1, text: 'Enjoy.' });
    bus.publish('bot.speaking.stop', { sessionId: S, turnId: 't1', interrupted: false });
    bus.publish('bot.tts.text', { sessionId: S, turnId: 't2', chunkId: 0, text: 'Hello' });
    bus.publish('turn.interrupted', { sessionId: S, turnId: 't2', reason: 'user_speaking' });
    const streams = out.filter((o): o is Extract<Out, { stream: string }> => 'stream' in o);
    expect(streams).toEqual([
      {
        stream: 's1',
        sender: 'concierge',
        topic: TRANSCRIPTION_TOPIC,
        text: 'Breakfast is served. Enjoy.',
        attributes: {
          'lk.segment_id': 'agent-1',
          'lk.transcribed_track_id': 'TR_agent',
          'lk.transcription_final': 'false',
        },
        trailer: { 'lk.transcription_final': 'true' },
      },
      {
        stream: 's2',
        sender: 'concierge',
        topic: TRANSCRIPTION_TOPIC,
        text: 'Hello',
        attributes: {
          'lk.segment_id': 'agent-2',
          'lk.transcribed_track_id': 'TR_agent',
          'lk.transcription_final': 'false',
        },
        trailer: { 'lk.transcription_final': 'true' },
      },
    ]);
  });

  it('speech cut off without a turn (a greeting): its transcript stream is closed and the cut is reported once', () => {
    const { bus, out } = setup();
    bus.publish('bot.tts.text', { sessionId: S, turnId: 'g', chunkId: 0, text: 'Welcome to' });
    bus.publish('speech.interrupted', {
      sessionId: S,
      turnId: 'g',
      reason: 'user_speaking',
      heardText: 'Welcome',
    });
    bus.publish('speech.interrupted', {
      sessionId: S,
      turnId: 'g',
      reason: 'user_speaking',
      heardText: 'Welcome',
    });
    expect(out).toEqual([
      {
        stream: 's1',
        sender: 'concierge',
        topic: TRANSCRIPTION_TOPIC,
        text: 'Welcome to',
        attributes: {
          'lk.segment_id': 'agent-1',
          'lk.transcribed_track_id': 'TR_agent',
          'lk.transcription_final': 'false',
        },
        trailer: { 'lk.transcription_final': 'true' },
      },
      {
        data: { type: 'turn-interrupted', turnId: 'g', reason: 'user_speaking' },
        topic: EVENTS_TOPIC,
        reliable: true,
      },
    ]);
  });

  it('client_event: the raw arguments as JSON on the tool topic, reliable; gui events on colloquy.gui', () => {
    const { bus, out } = setup();
    bus.publish('client.event', {
      sessionId: S,
      topic: 'custom.open_pricing',
      payload: { highlight_plan: 'pro' },
    });
    bus.publish('gui.update', { sessionId: S, data: { step: 2 } });
    bus.publish('gui.notification', { sessionId: S, message: 'Saved' });
    expect(out).toEqual([
      { data: { highlight_plan: 'pro' }, topic: 'custom.open_pricing', reliable: true },
      { data: { type: 'gui.update', data: { step: 2 } }, topic: GUI_TOPIC, reliable: true },
      { data: { type: 'gui.notification', message: 'Saved' }, topic: GUI_TOPIC, reliable: true },
    ]);
  });

  it('subagent.ui.send → reliable data on colloquy.subagent.ui: the question, then its withdrawal', () => {
    const { bus, out } = setup();
    const request = {
      type: 'request' as const,
      requestId: 'ui_1',
      subagentName: 'desk',
      prompt: 'Book it?',
      options: ['yes', 'no'],
      expiresAt: 5,
    };
    bus.publish('subagent.ui.send', { sessionId: S, payload: request });
    bus.publish('subagent.ui.send', {
      sessionId: S,
      payload: { type: 'cancel', requestId: 'ui_1', reason: 'timeout' },
    });
    expect(out).toEqual([
      { data: request, topic: SUBAGENT_UI_TOPIC, reliable: true },
      {
        data: { type: 'cancel', requestId: 'ui_1', reason: 'timeout' },
        topic: SUBAGENT_UI_TOPIC,
        reliable: true,
      },
    ]);
  });

  it('publishData for application code; false when no page can receive; nothing after dispose', () => {
    const { bus, out, projection } = setup({ deliver: false });
    expect(projection.publishData('{"a":1}', { topic: 'app' })).toBe(false);
    expect(out).toEqual([{ data: { a: 1 }, topic: 'app', reliable: true }]);
    projection.dispose();
    bus.publish('client.event', { sessionId: S, topic: 't', payload: {} });
    bus.publish('session.start', { sessionId: S, userId: 'u', agentName: 'a' });
    expect(out).toHaveLength(1);
  });
});

describe('LiveKit projection: edges', () => {
  const states = (out: Out[]) => out.flatMap((o) => ('attributes' in o ? [o.attributes] : []));
  const events = (out: Out[]) =>
    out.flatMap((o) => ('topic' in o && o.topic === EVENTS_TOPIC ? [(o as { data: unknown }).data] : []));

  it('a turn that ends without speech (a typed answer, an abandoned turn) sets listening; the same state is not sent twice', () => {
    const { bus, out, projection } = setup();
    bus.publish('session.start', { sessionId: S, userId: 'u', agentName: 'concierge' });
    bus.publish('llm.start', { sessionId: S, turnId: 't1', agentName: 'concierge' });
    bus.publish('llm.start', { sessionId: S, turnId: 't1', agentName: 'concierge' }); // a second pass
    expect(projection.agentState).toBe('thinking');
    bus.publish('turn.end', { sessionId: S, turnId: 't1' });
    expect(projection.agentState).toBe('listening');
    bus.publish('turn.end', { sessionId: S, turnId: 't2', abandoned: true });
    expect(states(out)).toStrictEqual([
      { 'lk.agent.state': 'listening', 'colloquy.session_id': S },
      { 'lk.agent.state': 'thinking' },
      { 'lk.agent.state': 'listening' },
    ]);
  });

  it('interruptions are reported once per turn, remembering the 8 newest turns', () => {
    const { bus, out } = setup();
    const cut = (turnId: string) =>
      bus.publish('turn.interrupted', { sessionId: S, turnId, reason: 'user_speaking' });
    for (let i = 1; i <= 9; i++) cut(`t${i}`);
    cut('t2'); // the 8th newest: still remembered
    cut('t9');
    cut('t1'); // the 9th newest: forgotten, reported again
    expect(events(out).map((e) => (e as { turnId: string }).turnId)).toEqual([
      't1',
      't2',
      't3',
      't4',
      't5',
      't6',
      't7',
      't8',
      't9',
      't1',
    ]);
  });

  it('a cut without a reason reports reason null; a tool result without name or duration reports null', () => {
    const { bus, out } = setup();
    bus.publish('turn.interrupted', { sessionId: S, turnId: 't1' });
    bus.publish('tool.result', { sessionId: S, toolCallId: 'c1', status: 'timeout', result: null });
    expect(events(out)).toStrictEqual([
      { type: 'turn-interrupted', turnId: 't1', reason: null },
      { type: 'tool-result', toolCallId: 'c1', name: null, status: 'timeout', durationMs: null },
    ]);
  });

  it('a user transcript before the mic track is known names no track; empty transcripts and empty agent text open no stream', () => {
    const { bus, out } = setup();
    bus.publish('transcription.interim', { sessionId: S, text: '', at: 1 });
    bus.publish('transcription.final', { sessionId: S, text: '', at: 1 });
    bus.publish('bot.tts.text', { sessionId: S, turnId: 't1', chunkId: 0, text: '' });
    bus.publish('transcription.final', { sessionId: S, text: 'hi', at: 2 });
    expect(out).toStrictEqual([
      {
        stream: 's1',
        sender: 'user-1',
        topic: TRANSCRIPTION_TOPIC,
        text: 'hi',
        attributes: { 'lk.segment_id': 'user-1', 'lk.transcription_final': 'true' },
        trailer: {},
      },
    ]);
  });

  it("another turn's words close the open agent stream; session.close and dispose close it (final)", () => {
    for (const end of ['session.close', 'dispose'] as const) {
      const { bus, out, projection } = setup();
      bus.publish('bot.tts.text', { sessionId: S, turnId: 't1', chunkId: 0, text: 'One.' });
      bus.publish('bot.tts.text', { sessionId: S, turnId: 't2', chunkId: 0, text: 'Two.' });
      const streams = () =>
        out.flatMap((o) => ('stream' in o ? [[o.attributes['lk.segment_id'], o.text, o.trailer]] : []));
      expect(streams(), end).toStrictEqual([
        ['agent-1', 'One.', { 'lk.transcription_final': 'true' }],
        ['agent-2', 'Two.', undefined],
      ]);
      if (end === 'dispose') projection.dispose();
      else bus.publish('session.close', { sessionId: S, reason: 'done' });
      expect(streams(), end).toStrictEqual([
        ['agent-1', 'One.', { 'lk.transcription_final': 'true' }],
        ['agent-2', 'Two.', { 'lk.transcription_final': 'true' }],
      ]);
    }
  });

  it('publishJson: undefined is sent as {}; a value JSON cannot write is not sent (false); publishData passes bytes and options', () => {
    const { out, projection } = setup();
    expect(projection.publishJson('a', undefined)).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(projection.publishJson('b', cyclic)).toBe(false);
    expect(projection.publishJson('c', { n: 1n })).toBe(false);
    expect(projection.publishData(new TextEncoder().encode('[1]'), { topic: 'd', reliable: false })).toBe(
      true,
    );
    expect(out).toStrictEqual([
      { data: {}, topic: 'a', reliable: true },
      { data: [1], topic: 'd', reliable: false },
    ]);
  });
});
