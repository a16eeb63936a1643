/**
 * `RealtimeRunner`, the session's side of a realtime model, through `VoiceSession` on a model in
 * memory (`ScriptedRealtimeModel`): each provider event is given by hand and each request the
 * session makes of the connection is recorded, so every payload is exact and nothing waits on time.
 * Start, held and resampled user audio, typed turns, `speak`, tools and their results, transfers
 * (a live update, a new connection, another model), compaction reports, notes, local turn detection.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ScriptedConnection,
  ScriptedRealtimeModel,
  settle,
} from '../../test/support/scripted-realtime.ts';
import type { AgentDefinition } from '../agents/agent.ts';
import { type ColloquyError, ProviderError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import type { RealtimeOptions } from './realtime-config.ts';
import type { VoiceSessionOptions } from './session-options.ts';
import { VoiceSession } from './voice-session.ts';

const made: VoiceSession[] = [];
afterEach(async () => {
  for (const s of made.splice(0)) await s.close();
});

const MAIN: AgentDefinition = { name: 'main', instructions: 'You are helpful.' };

function rt(
  o: {
    model?: ScriptedRealtimeModel;
    agents?: AgentDefinition[];
    realtime?: Partial<RealtimeOptions>;
    audio?: VoiceSessionOptions['audio'];
    options?: Partial<VoiceSessionOptions>;
  } = {},
) {
  const model = o.model ?? new ScriptedRealtimeModel();
  const session = new VoiceSession({
    userId: 'u1',
    agents: o.agents ?? [MAIN],
    model: mockLanguageModel(['unused']),
    logger: silentLogger,
    realtime: { model, ...o.realtime },
    ...(o.audio ? { audio: o.audio } : {}),
    ...o.options,
  });
  made.push(session);
  const rec = new EventRecorder(session.eventBus);
  return { model, session, rec };
}

/** The model answers `text` in one response (a text-only session: no audio). */
function answer(conn: ScriptedConnection, text: string, responseId = 'r1'): void {
  conn.emit(
    { type: 'response-started', responseId },
    { type: 'output-transcript', itemId: 'i1', text, final: false },
    { type: 'response-done', status: 'completed', responseId },
  );
}

const frame = (...samples: number[]) => Int16Array.from(samples);

describe('start', () => {
  it('connects once with the agent setup; active when the provider is ready: session.start, agent.enter', async () => {
    const { model, session, rec } = rt();
    const release = model.hold();
    const starting = session.start();
    expect(session.state).toBe('connecting');
    expect(rec.types(['session.start'])).toEqual([]);
    release();
    await starting;
    await session.start();
    expect(model.attempts).toHaveLength(1);
    expect(model.attempts[0]!.config).toEqual({
      instructions: 'You are helpful.',
      tools: [],
      turnDetection: { type: 'provider' },
    });
    expect(session.state).toBe('active');
    expect(rec.events.filter((e) => e.type === 'session.start' || e.type === 'agent.enter')).toEqual([
      { type: 'session.start', payload: { sessionId: session.sessionId, userId: 'u1', agentName: 'main' } },
      { type: 'agent.enter', payload: { sessionId: session.sessionId, agentName: 'main' } },
    ]);
  });

  const refusals: Array<[string, unknown, string]> = [
    ['an Error: its message', new Error('no route to host'), 'no route to host'],
    ['a string', 'plain refusal', 'plain refusal'],
    ['no value', undefined, 'undefined'],
  ];
  for (const [name, err, message] of refusals) {
    it(`a first connect refused (${name}) is fatal: realtime_connect_failed, the session closes`, async () => {
      const { model, session, rec } = rt();
      model.refuse(err);
      await session.start();
      const errors = rec.payloads('error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ component: 'realtime', severity: 'fatal' });
      const e = errors[0]!.error as ColloquyError;
      expect([e.name, e.code, e.message, e.cause]).toEqual([
        'ProviderError',
        'realtime_connect_failed',
        message,
        err,
      ]);
      expect(session.state).toBe('closed');
      expect(rec.payloads('session.close')).toEqual([
        { sessionId: session.sessionId, reason: 'realtime_failed' },
      ]);
      expect(rec.types(['session.start'])).toEqual([]);
    });
  }

  it('a Colloquy error refusing the connect is reported as it is', async () => {
    const { model, session, rec } = rt();
    const refused = new ProviderError('realtime_auth_failed' as never, 'bad key');
    model.refuse(refused);
    await session.start();
    expect(rec.payloads('error').map((p) => p.error)).toEqual([refused]);
  });

  it('a fatal provider error later closes the session once', async () => {
    const { model, session, rec } = rt();
    await session.start();
    const fatal = new ProviderError('realtime_quota' as never, 'no quota');
    model.last.emit({ type: 'error', error: fatal, severity: 'fatal' });
    model.last.emit({ type: 'error', error: fatal, severity: 'fatal' });
    expect(rec.payloads('error')).toEqual([
      { sessionId: session.sessionId, component: 'realtime', error: fatal, severity: 'fatal' },
    ]);
    expect(session.state).toBe('closed');
    expect(model.last.kinds()).toEqual(['close']);
  });
});

describe('user audio', () => {
  const audio = { inputSampleRate: 16000, outputSampleRate: 24000, output: { write: () => {} } };

  it('held while the connection opens, sent in order once it is open; then sent as it comes', async () => {
    const { model, session } = rt({ audio });
    const release = model.hold();
    void session.start();
    session.pushAudio(frame(1, 2), 16000);
    session.pushAudio(frame(3, 4), 16000);
    release();
    await session.start();
    session.pushAudio(frame(5, 6), 16000);
    expect(model.last.of('sendAudio')).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
  });

  it('at most 100 frames are held while connecting: the rest is dropped', async () => {
    const { model, session } = rt({ audio });
    const release = model.hold();
    void session.start();
    for (let i = 0; i < 105; i++) session.pushAudio(frame(i), 16000);
    release();
    await session.start();
    const sent = model.last.of('sendAudio').map(([pcm]) => pcm[0]);
    expect(sent).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("resampled to the model's input rate; at its own rate sent as it is", async () => {
    const { model, session } = rt({ audio, model: new ScriptedRealtimeModel({ inputSampleRate: 24000 }) });
    await session.start();
    const tone = Int16Array.from({ length: 320 }, (_, i) => Math.round(3000 * Math.sin(i / 5)));
    for (let i = 0; i < 10; i++) session.pushAudio(tone, 16000);
    const total = model.last.of('sendAudio').reduce((n, [pcm]) => n + pcm.length, 0);
    expect(total).toBeGreaterThan(4700);
    expect(total).toBeLessThanOrEqual(4800);
    const same = rt({ audio, model: new ScriptedRealtimeModel({ inputSampleRate: 16000 }) });
    await same.session.start();
    same.session.pushAudio(frame(7, 8, 9), 16000);
    expect(same.model.last.of('sendAudio')).toEqual([[[7, 8, 9]]]);
  });

  it('a change of input rate takes a new resampler (8 kHz then 16 kHz at a 16 kHz model)', async () => {
    const { model, session } = rt({ audio: { ...audio, inputSampleRate: 8000 } });
    await session.start();
    const tone8 = Int16Array.from({ length: 160 }, (_, i) => Math.round(3000 * Math.sin(i / 3)));
    for (let i = 0; i < 10; i++) session.pushAudio(tone8, 8000);
    const upsampled = model.last.of('sendAudio').reduce((n, [pcm]) => n + pcm.length, 0);
    expect(upsampled).toBeGreaterThan(3100);
    expect(upsampled).toBeLessThanOrEqual(3200);
  });

  it('a frame the resampler turns into no samples sends nothing (48 kHz → 16 kHz, one sample)', async () => {
    const { model, session } = rt();
    await session.start();
    session.pushAudio(frame(100), 48000);
    expect(model.last.calls).toEqual([]);
    session.pushAudio(frame(100, 100, 100), 48000);
    expect(model.last.of('sendAudio').map(([pcm]) => pcm.length)).toEqual([1]);
  });

  it('commitAudioTurn() commits the input on the connection (push-to-talk)', async () => {
    const { model, session } = rt();
    await session.start();
    await session.commitAudioTurn();
    expect(model.last.kinds()).toEqual(['commitInput']);
  });
});

describe('typed turns', () => {
  it('a typed turn: user.text, history, the text to the model; resolves with the answer', async () => {
    const { model, session, rec } = rt();
    await session.start();
    const turn = session.sendText('what time is it');
    await settle();
    const turnId = rec.first('turn.start')!.turnId;
    expect(session.currentTurnId).toBe(turnId);
    expect(rec.payloads('user.text')).toEqual([
      { sessionId: session.sessionId, turnId, text: 'what time is it', source: 'text' },
    ]);
    expect(model.last.calls).toEqual([['sendText', 'what time is it']]);
    answer(model.last, 'Noon.');
    expect(await turn).toEqual({ turnId, agentName: 'main', text: 'Noon.', interrupted: false });
    expect(session.currentTurnId).toBeUndefined();
    expect(session.history).toEqual([
      { role: 'user', content: 'what time is it' },
      { role: 'assistant', content: 'Noon.' },
    ]);
  });

  it('a transcript given as the user turn is source speech', async () => {
    const { model, session, rec } = rt();
    await session.start();
    const turn = session.commitUserSpeech('from a recording');
    await settle();
    expect(rec.first('user.text')).toMatchObject({ text: 'from a recording', source: 'speech' });
    answer(model.last, 'OK.');
    expect((await turn).text).toBe('OK.');
  });

  it('a turn sent during a reconnect waits for it and goes to the new connection', async () => {
    const { model, session } = rt();
    await session.start();
    const first = model.last;
    const release = model.hold();
    first.emit({ type: 'closed', code: 1006, reason: '', expected: false });
    const turn = session.sendText('are you there');
    await settle();
    expect(first.of('sendText')).toEqual([]);
    release();
    await settle();
    expect(model.last).not.toBe(first);
    expect(model.last.of('sendText')).toEqual([['are you there']]);
    answer(model.last, 'Yes.');
    expect((await turn).text).toBe('Yes.');
  });

  it('interrupt() cuts the running turn: its response cancelled, turn.interrupted with the reason', async () => {
    const { model, session, rec } = rt();
    await session.start();
    const turn = session.sendText('tell me a story');
    await settle();
    model.last.emit(
      { type: 'response-started', responseId: 'r1' },
      { type: 'output-transcript', itemId: 'i1', text: 'Once', final: false },
    );
    session.interrupt();
    expect(await turn).toMatchObject({ text: 'Once', interrupted: true });
    expect(model.last.kinds()).toEqual(['sendText', 'cancelResponse']);
    expect(rec.first('turn.interrupted')).toMatchObject({ reason: 'interrupted' });
    // With no turn running, interrupt() only stops speech: nothing goes to the model.
    session.interrupt();
    expect(model.last.kinds()).toEqual(['sendText', 'cancelResponse']);
  });
});

describe('speak', () => {
  it('the model says the text (say), no llm events; resolves with the turn', async () => {
    const { model, session, rec } = rt();
    const said = session.speak('Welcome.');
    await settle();
    expect(model.last.calls).toEqual([['say', 'Welcome.']]);
    answer(model.last, 'Welcome.');
    expect(await said).toMatchObject({ text: 'Welcome.', interrupted: false });
    expect(rec.types(['llm.start', 'llm.end', 'llm.text.delta'])).toEqual([]);
  });

  it('waits for the running turn to end, and for each earlier speak', async () => {
    const { model, session } = rt();
    await session.start();
    const turn = session.sendText('question');
    await settle();
    const one = session.speak('One.');
    const two = session.speak('Two.');
    await settle();
    expect(model.last.kinds()).toEqual(['sendText']);
    answer(model.last, 'Answer.');
    await turn;
    await settle();
    expect(model.last.kinds()).toEqual(['sendText', 'say']);
    answer(model.last, 'One.', 'r2');
    await one;
    await settle();
    expect(model.last.of('say')).toEqual([['One.'], ['Two.']]);
    answer(model.last, 'Two.', 'r3');
    expect((await two).text).toBe('Two.');
  });

  it('waits for a reconnect under way, then speaks on the new connection', async () => {
    const { model, session } = rt();
    await session.start();
    const first = model.last;
    const release = model.hold();
    first.emit({ type: 'closed', code: 1006, reason: '', expected: false });
    const said = session.speak('Back.');
    await settle();
    release();
    await settle();
    expect(first.of('say')).toEqual([]);
    expect(model.last.of('say')).toEqual([['Back.']]);
    answer(model.last, 'Back.');
    await said;
  });

  it('a speak queued behind a turn when the session closes is refused; the next is refused too', async () => {
    const { model, session } = rt();
    await session.start();
    void session.sendText('question');
    await settle();
    const queued = session.speak('Later.');
    await settle();
    await session.close();
    await expect(queued).rejects.toMatchObject({ code: 'session_closed', message: 'The session is closed' });
    expect(model.last.of('say')).toEqual([]);
  });
});

describe('notes (background results, notify)', () => {
  it('while idle a note enters history and goes to the model at once', async () => {
    const { model, session } = rt();
    await session.start();
    session.notify('[The parcel arrived]');
    expect(session.history).toEqual([{ role: 'user', content: '[The parcel arrived]' }]);
    expect(model.last.calls).toEqual([['sendText', '[The parcel arrived]']]);
    expect(session.pendingNotifications).toEqual([]);
  });

  it('during a turn notes wait, then go as one text when it ends', async () => {
    const { model, session } = rt();
    await session.start();
    const turn = session.sendText('hi');
    await settle();
    session.notify('note one');
    session.notify('note two');
    expect(session.pendingNotifications).toEqual(['note one', 'note two']);
    expect(model.last.kinds()).toEqual(['sendText']);
    answer(model.last, 'Hello.');
    await turn;
    expect(model.last.of('sendText')).toEqual([['hi'], ['note one\nnote two']]);
    expect(session.pendingNotifications).toEqual([]);
    expect(session.history.at(-1)).toEqual({ role: 'user', content: 'note one\nnote two' });
  });

  it('announceBackgroundResults false: the note enters history, the model is not asked to speak', async () => {
    const { model, session } = rt({ options: { announceBackgroundResults: false } });
    await session.start();
    session.notify('quiet note');
    expect(session.history).toEqual([{ role: 'user', content: 'quiet note' }]);
    expect(model.last.calls).toEqual([]);
  });

  it('before the connection opens a note waits for the first quiet moment', async () => {
    const { model, session } = rt();
    const release = model.hold();
    void session.start();
    session.notify('early');
    expect(session.pendingNotifications).toEqual(['early']);
    release();
    await session.start();
    const turn = session.sendText('hi');
    await settle();
    answer(model.last, 'Hello.');
    await turn;
    expect(model.last.of('sendText')).toEqual([['hi'], ['early']]);
  });
});

describe('provider events of the session', () => {
  it('context-compacted becomes context.compact (removedTokens when given)', async () => {
    const { model, session, rec } = rt();
    await session.start();
    model.last.emit(
      { type: 'context-compacted', removedItems: 3 },
      { type: 'context-compacted', removedItems: 2, removedTokens: 640 },
    );
    expect(rec.payloads('context.compact')).toEqual([
      { sessionId: session.sessionId, removedItems: 3 },
      { sessionId: session.sessionId, removedItems: 2, removedTokens: 640 },
    ]);
  });
});

describe('tools', () => {
  const lookup = tool({
    description: 'Looks up',
    inputSchema: z.object({ q: z.string() }),
    execute: async ({ q }) => ({ found: q }),
  });

  it('a call runs the tool and its result goes back on the connection that asked', async () => {
    const { model, session, rec } = rt({ agents: [{ ...MAIN, tools: { lookup } }] });
    await session.start();
    expect(model.attempts[0]!.config.tools.map((t) => t.name)).toEqual(['lookup']);
    model.last.emit({ type: 'response-started', responseId: 'r1' });
    model.last.emit({ type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{"q":"keys"}' });
    await rec.waitFor('tool.result');
    await settle();
    expect(model.last.of('sendToolResult')).toEqual([['c1', 'lookup', { output: { found: 'keys' } }]]);
    expect(rec.first('tool.call')).toMatchObject({ name: 'lookup', args: { q: 'keys' }, agentName: 'main' });
  });

  it('a refused call answers the model with the error', async () => {
    const { model, session } = rt();
    await session.start();
    model.last.emit({ type: 'tool-call', callId: 'c9', name: 'nope', argumentsJson: '{}' });
    await settle();
    expect(model.last.of('sendToolResult')).toEqual([
      ['c9', 'nope', { error: 'The model called an unknown tool "nope"' }],
    ]);
  });

  it('a result whose connection was replaced meanwhile is not sent (neither to the old nor the new)', async () => {
    let release!: () => void;
    const slow = tool({
      inputSchema: z.object({}),
      execute: () =>
        new Promise((resolve) => {
          release = () => resolve('late');
        }),
    });
    const { model, session, rec } = rt({ agents: [{ ...MAIN, tools: { slow } }] });
    await session.start();
    const first = model.last;
    first.emit({ type: 'response-started', responseId: 'r1' });
    first.emit({ type: 'tool-call', callId: 'c1', name: 'slow', argumentsJson: '{}' });
    await rec.waitFor('tool.call');
    first.emit({ type: 'closed', code: 1006, reason: '', expected: false });
    await settle();
    expect(model.connections).toHaveLength(2);
    release();
    await rec.waitFor('tool.result');
    await settle();
    expect(first.of('sendToolResult')).toEqual([]);
    expect(model.last.of('sendToolResult')).toEqual([]);
  });

  it('a result that comes after the session closed is not sent', async () => {
    let release!: () => void;
    const slow = tool({
      inputSchema: z.object({}),
      execute: () =>
        new Promise((resolve) => {
          release = () => resolve('late');
        }),
    });
    const { model, session, rec } = rt({ agents: [{ ...MAIN, tools: { slow } }] });
    await session.start();
    const conn = model.last;
    conn.emit({ type: 'tool-call', callId: 'c1', name: 'slow', argumentsJson: '{}' });
    await rec.waitFor('tool.call');
    await session.close();
    release();
    await settle();
    expect(conn.of('sendToolResult')).toEqual([]);
  });
});

describe('transfers', () => {
  const FRONT: AgentDefinition = { name: 'front', instructions: 'You route.', transfers: ['billing'] };
  const BILLING: AgentDefinition = { name: 'billing', instructions: 'You do billing.' };
  const transferNote =
    '[The conversation was transferred from front to you (billing). Continue helping the user.]';

  it('a live update: agent.exit, agent.transfer (with the reason), updateSession, then agent.enter; no new connection', async () => {
    const { model, session, rec } = rt({ agents: [FRONT, BILLING] });
    await session.start();
    session.transferTo('billing', 'asked for billing');
    expect(session.state).toBe('transferring');
    expect(session.currentAgent).toBe('billing');
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    expect(session.state).toBe('active');
    const sid = session.sessionId;
    expect(rec.events.filter((e) => e.type.startsWith('agent.')).map((e) => [e.type, e.payload])).toEqual([
      ['agent.enter', { sessionId: sid, agentName: 'front' }],
      ['agent.exit', { sessionId: sid, agentName: 'front' }],
      [
        'agent.transfer',
        { sessionId: sid, fromAgent: 'front', toAgent: 'billing', reason: 'asked for billing' },
      ],
      ['agent.enter', { sessionId: sid, agentName: 'billing' }],
    ]);
    expect(model.connections).toHaveLength(1);
    const [[config]] = model.last.of('updateSession');
    expect(config).toEqual({
      instructions: 'You do billing.',
      tools: [expect.objectContaining({ name: 'transfer_to_agent' })], // back to front
      turnDetection: { type: 'provider' },
    });
    expect(model.last.of('sendText')).toEqual([]);
  });

  it('without a reason agent.transfer has no reason key', async () => {
    const { session, rec } = rt({ agents: [FRONT, BILLING] });
    await session.start();
    session.transferTo('billing');
    expect(rec.first('agent.transfer')).toEqual({
      sessionId: session.sessionId,
      fromAgent: 'front',
      toAgent: 'billing',
    });
  });

  it('a provider that refuses the live update: the running turn is cut, a new connection, and the new agent is told', async () => {
    const { model, session, rec } = rt({ agents: [FRONT, BILLING] });
    await session.start();
    const first = model.last;
    first.liveUpdate = false;
    const turn = session.sendText('billing please');
    await settle();
    session.transferTo('billing');
    expect(await turn).toMatchObject({ interrupted: true });
    expect(rec.first('turn.interrupted')).toMatchObject({ reason: 'interrupted' });
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    expect(model.connections).toHaveLength(2);
    expect(first.kinds()).toEqual(['sendText', 'updateSession', 'close']);
    expect(model.attempts[1]!.config.instructions).toBe('You do billing.');
    expect(model.attempts[1]!.config.history).toEqual([{ role: 'user', text: 'billing please' }]);
    expect(model.last.calls).toEqual([['sendText', transferNote]]);
  });

  it('a model without live updates: a new connection at once (no updateSession asked)', async () => {
    const { model, session, rec } = rt({
      agents: [FRONT, BILLING],
      model: new ScriptedRealtimeModel({ capabilities: { liveUpdate: false } }),
    });
    await session.start();
    const first = model.last;
    session.transferTo('billing');
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    expect(first.kinds()).toEqual(['close']);
    expect(model.last.calls).toEqual([['sendText', transferNote]]);
  });

  it("an agent with its own model: that model's connection, replaying; its input rate from then on", async () => {
    const other = new ScriptedRealtimeModel({ provider: 'other', inputSampleRate: 24000 });
    const { model, session, rec } = rt({
      agents: [FRONT, { ...BILLING, realtime: other }],
      model: new ScriptedRealtimeModel({ capabilities: { resumption: true } }),
      audio: { inputSampleRate: 16000, outputSampleRate: 24000, output: { write: () => {} } },
    });
    await session.start();
    const first = model.last;
    first.emit({ type: 'resumption', handle: 'h-front' });
    session.pushAudio(frame(1, 2, 3), 16000);
    session.transferTo('billing');
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    expect(model.connections).toHaveLength(1);
    expect(first.kinds()).toEqual(['close']);
    expect(other.connections).toHaveLength(1);
    expect(other.attempts[0]!.config).not.toHaveProperty('resumeHandle');
    expect(other.last.calls).toEqual([['sendText', transferNote]]);
    const tone = Int16Array.from({ length: 320 }, (_, i) => Math.round(3000 * Math.sin(i / 5)));
    for (let i = 0; i < 10; i++) session.pushAudio(tone, 16000);
    const total = other.last.of('sendAudio').reduce((n, [pcm]) => n + pcm.length, 0);
    expect(total).toBeGreaterThan(4700);
  });

  it('the transfer tool: the result goes back when the update is live, the transfer applied', async () => {
    const { model, session, rec } = rt({ agents: [FRONT, BILLING] });
    await session.start();
    model.last.emit({ type: 'response-started', responseId: 'r1' });
    model.last.emit({
      type: 'tool-call',
      callId: 'c1',
      name: 'transfer_to_agent',
      argumentsJson: '{"agent":"billing"}',
    });
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    await settle();
    expect(model.last.kinds()).toEqual(['sendToolResult', 'updateSession']);
    expect(model.connections).toHaveLength(1);
  });

  it('the transfer tool on a model without live updates: no result (the new connection starts the new agent)', async () => {
    const { model, session, rec } = rt({
      agents: [FRONT, BILLING],
      model: new ScriptedRealtimeModel({ capabilities: { liveUpdate: false } }),
    });
    await session.start();
    const first = model.last;
    first.emit({ type: 'response-started', responseId: 'r1' });
    first.emit({
      type: 'tool-call',
      callId: 'c1',
      name: 'transfer_to_agent',
      argumentsJson: '{"agent":"billing"}',
    });
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    await settle();
    expect(first.of('sendToolResult')).toEqual([]);
    expect(model.last.of('sendToolResult')).toEqual([]);
    expect(model.last.calls).toEqual([['sendText', transferNote]]);
  });

  it('a session closed while the transfer reconnects: no agent.enter of the new agent', async () => {
    const { model, session, rec } = rt({
      agents: [FRONT, BILLING],
      model: new ScriptedRealtimeModel({ capabilities: { liveUpdate: false } }),
    });
    await session.start();
    const release = model.hold();
    session.transferTo('billing');
    await settle();
    await session.close();
    release();
    await settle();
    expect(rec.payloads('agent.enter').map((p) => p.agentName)).toEqual(['front']);
  });
});

describe("local turn detection (the session's VAD drives the model)", () => {
  const audio = (vad = new MockVad()) => ({
    vad,
    inputSampleRate: 16000,
    outputSampleRate: 24000,
    output: { write: () => {} },
  });

  it('speech start opens a turn and starts the input; its end commits it', async () => {
    const { model, session, rec } = rt({ realtime: { turnDetection: 'local' }, audio: audio() });
    await session.start();
    expect(model.attempts[0]!.config.turnDetection).toEqual({ type: 'manual' });
    session.eventBus.publish('user.speech.start', { sessionId: session.sessionId, at: 0 });
    expect(rec.types(['turn.start'])).toEqual(['turn.start']);
    expect(model.last.kinds()).toEqual(['startInput']);
    session.eventBus.publish('user.speech.stop', { sessionId: session.sessionId, at: 0, durationMs: 100 });
    expect(model.last.kinds()).toEqual(['startInput', 'commitInput']);
  });

  it('speech found and ended before the connection opened: replayed as start, the held audio, commit', async () => {
    const { model, session, rec } = rt({ realtime: { turnDetection: 'local' }, audio: audio() });
    const release = model.hold();
    void session.start();
    session.eventBus.publish('user.speech.start', { sessionId: session.sessionId, at: 0 });
    session.pushAudio(frame(1, 1), 16000);
    session.eventBus.publish('user.speech.stop', { sessionId: session.sessionId, at: 0, durationMs: 100 });
    expect(rec.types(['turn.start'])).toEqual([]);
    release();
    await session.start();
    expect(model.last.kinds(true)).toEqual(['startInput', 'sendAudio', 'commitInput']);
    expect(rec.types(['turn.start'])).toEqual(['turn.start']);
  });

  it('speech still going on when the connection opens: started, not committed', async () => {
    const { model, session } = rt({ realtime: { turnDetection: 'local' }, audio: audio() });
    const release = model.hold();
    void session.start();
    session.eventBus.publish('user.speech.start', { sessionId: session.sessionId, at: 0 });
    release();
    await session.start();
    expect(model.last.kinds()).toEqual(['startInput']);
  });

  it('a speech end with no speech held before the connection opened is nothing', async () => {
    const { model, session, rec } = rt({ realtime: { turnDetection: 'local' }, audio: audio() });
    const release = model.hold();
    void session.start();
    session.eventBus.publish('user.speech.stop', { sessionId: session.sessionId, at: 0, durationMs: 100 });
    release();
    await session.start();
    expect(model.last.kinds()).toEqual([]);
    expect(rec.types(['turn.start'])).toEqual([]);
  });

  it('provider detection ignores the bus speech events', async () => {
    const { model, session, rec } = rt();
    await session.start();
    session.eventBus.publish('user.speech.start', { sessionId: session.sessionId, at: 0 });
    session.eventBus.publish('user.speech.stop', { sessionId: session.sessionId, at: 0, durationMs: 1 });
    expect(model.last.kinds()).toEqual([]);
    expect(rec.types(['turn.start'])).toEqual([]);
  });
});
