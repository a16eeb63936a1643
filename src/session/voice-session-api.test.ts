/**
 * VoiceSession's public calls as tables: options refused at construction (code and message), text
 * refused (type, blank, length bounds), calls a session without audio refuses, every call a closed
 * session refuses, the exact events of a transfer, history calls, an error reported from a failure
 * that is not a ColloquyError, and a fatal error ending the session.
 */
import type { LanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import type { MemoryStore } from '../agents/memory.ts';
import { ColloquyError, ProviderError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

function makeSession(overrides: Partial<VoiceSessionOptions> = {}) {
  const session = new VoiceSession({
    sessionId: 's1',
    userId: 'u1',
    agents: [
      { name: 'main', instructions: 'x' },
      { name: 'desk', instructions: 'y' },
    ],
    model: mockLanguageModel(['Hello.']),
    logger: silentLogger,
    ...overrides,
  });
  return { session, rec: new EventRecorder(session.eventBus) };
}

/** What `fn` threw, as [class name, code, message]. */
function thrown(fn: () => unknown): [string, string, string] | undefined {
  try {
    fn();
  } catch (e) {
    const err = e as ColloquyError;
    return [err.constructor.name, err.code, err.message];
  }
  return undefined;
}

const base = {
  userId: 'u1',
  agents: [{ name: 'main', instructions: 'x' }],
  model: mockLanguageModel(['x']),
  logger: silentLogger,
};

describe('options refused when the session is made', () => {
  it.each([
    [
      'no options',
      undefined,
      ['InvalidInputError', 'invalid_options', 'VoiceSession needs a non-empty userId'],
    ],
    [
      'an empty userId',
      { ...base, userId: '' },
      ['InvalidInputError', 'invalid_options', 'VoiceSession needs a non-empty userId'],
    ],
    [
      'a userId that is not a string',
      { ...base, userId: 7 },
      ['InvalidInputError', 'invalid_options', 'VoiceSession needs a non-empty userId'],
    ],
    [
      'no model',
      { ...base, model: undefined },
      ['InvalidInputError', 'invalid_options', 'VoiceSession needs a model'],
    ],
    [
      'an unknown initial agent',
      { ...base, initialAgent: 'ghost' },
      ['AgentError', 'unknown_agent', 'No agent named "ghost"'],
    ],
  ])('%s', (_name, options, expected) => {
    expect(thrown(() => new VoiceSession(options as unknown as VoiceSessionOptions))).toEqual(expected);
  });

  it('the initial agent is the one named, else the first; a session id is made when none is given', () => {
    const named = new VoiceSession({
      ...base,
      agents: [...base.agents, { name: 'b', instructions: 'y' }],
      initialAgent: 'b',
    });
    expect(named.currentAgent).toBe('b');
    const plain = new VoiceSession(base);
    expect(plain.currentAgent).toBe('main');
    expect(plain.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(plain.userId).toBe('u1');
  });
});

describe('text a session refuses', () => {
  it.each([
    ['not a string', 42, undefined, ['InvalidInputError', 'invalid_text', 'Text must be a string']],
    ['blank', ' \n\t ', undefined, ['InvalidInputError', 'empty_text', 'Text is empty']],
    [
      'over maxTextLength',
      'abcdef',
      5,
      ['InvalidInputError', 'text_too_long', 'Text has 6 characters; the limit is 5'],
    ],
    [
      'over the 8000 default',
      'x'.repeat(8001),
      undefined,
      ['InvalidInputError', 'text_too_long', 'Text has 8001 characters; the limit is 8000'],
    ],
  ])('%s', (_name, text, maxTextLength, expected) => {
    const { session } = makeSession(maxTextLength === undefined ? {} : { maxTextLength });
    expect(thrown(() => session.sendText(text as string))).toEqual(expected);
    expect(thrown(() => session.commitUserSpeech(text as string))).toEqual(expected);
    expect(thrown(() => void session.speak(text as string).catch(() => {}))).toBeUndefined(); // speak rejects instead
  });

  it('at the limit, and with blanks around it, text is taken, trimmed', async () => {
    const { session, rec } = makeSession({ maxTextLength: 5 });
    await session.sendText('  abcde \n');
    await session.sendText('x'.repeat(5));
    expect(rec.payloads('user.text').map((p) => p.text)).toEqual(['abcde', 'xxxxx']);
    const { session: dflt } = makeSession();
    await expect(dflt.sendText('y'.repeat(8000))).resolves.toMatchObject({ interrupted: false });
    await session.close();
    await dflt.close();
  });

  it('speak() rejects the same way', async () => {
    const { session } = makeSession({ maxTextLength: 3 });
    await expect(session.speak('   ')).rejects.toMatchObject({ code: 'empty_text' });
    await expect(session.speak('four')).rejects.toMatchObject({
      code: 'text_too_long',
      message: 'Text has 4 characters; the limit is 3',
    });
  });
});

describe('a session without audio', () => {
  it('refuses audio in and out with its own codes; muting and committing do nothing', async () => {
    const { session, rec } = makeSession();
    expect(thrown(() => session.pushAudio(new Int16Array(320), 16000))).toEqual([
      'SessionStateError',
      'no_audio_input',
      'This session has no audio input (configure audio.vad)',
    ]);
    expect(thrown(() => session.setAudioOutput(undefined))).toEqual([
      'SessionStateError',
      'no_audio_output',
      'This session has no audio (configure audio)',
    ]);
    session.setMuted(true);
    await session.commitAudioTurn();
    await session.audioIdle();
    session.interrupt();
    expect(rec.types()).toEqual([]);
    expect(session.state).toBe('created');
    expect(session.speech).toBeUndefined();
  });
});

describe('a closed session', () => {
  it('refuses every call that needs it open, with session_closed', async () => {
    const { session, rec } = makeSession();
    await session.close();
    const closed = ['SessionStateError', 'session_closed', 'The session is closed'];
    expect(thrown(() => session.sendText('hi'))).toEqual(closed);
    expect(thrown(() => session.commitUserSpeech('hi'))).toEqual(closed);
    expect(thrown(() => session.pushAudio(new Int16Array(320), 16000))).toEqual(closed);
    expect(thrown(() => session.publishGuiUpdate({ a: 1 }))).toEqual(closed);
    expect(thrown(() => session.publishGuiNotification('hi'))).toEqual(closed);
    expect(thrown(() => session.publishClientEvent('t', 1))).toEqual(closed);
    expect(thrown(() => session.transferTo('desk'))).toEqual(closed);
    await expect(session.speak('hi')).rejects.toMatchObject({
      code: 'session_closed',
      message: 'The session is closed',
    });
    await expect(session.start()).rejects.toMatchObject({
      code: 'session_closed',
      message: 'The session is closed',
    });
    rec.clear();
    session.notify('[late]');
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types()).toEqual([]);
  });
});

describe('transfers and history', () => {
  it('transferTo: transferring, agent.exit, agent.transfer with its reason, active, agent.enter', async () => {
    const { session, rec } = makeSession();
    await session.start();
    rec.clear();
    session.transferTo('desk', 'billing question');
    expect(rec.events.map((e) => [e.type, e.payload])).toEqual([
      ['session.stateChange', { sessionId: 's1', fromState: 'active', toState: 'transferring' }],
      ['agent.exit', { sessionId: 's1', agentName: 'main' }],
      ['agent.transfer', { sessionId: 's1', fromAgent: 'main', toAgent: 'desk', reason: 'billing question' }],
      ['session.stateChange', { sessionId: 's1', fromState: 'transferring', toState: 'active' }],
      ['agent.enter', { sessionId: 's1', agentName: 'desk' }],
    ]);
    expect(session.currentAgent).toBe('desk');
    rec.clear();
    session.transferTo('main');
    // No reason given: no reason key.
    expect(rec.payloads('agent.transfer')).toStrictEqual([
      { sessionId: 's1', fromAgent: 'desk', toAgent: 'main' },
    ]);
    await session.close();
  });

  it('clearHistory empties it and publishes history.cleared; setHistory replaces it', async () => {
    const { session, rec } = makeSession();
    await session.sendText('hi');
    session.clearHistory();
    expect(session.history).toEqual([]);
    expect(rec.payloads('history.cleared')).toEqual([{ sessionId: 's1' }]);
    session.setHistory([{ role: 'user', content: 'restored' }]);
    expect(session.history).toEqual([{ role: 'user', content: 'restored' }]);
    await session.close();
  });

  it('the running turn’s id while it runs, none after', async () => {
    const { session, rec } = makeSession();
    let during: string | undefined;
    session.eventBus.subscribe('llm.start', () => {
      during = session.currentTurnId;
    });
    const r = await session.sendText('hi');
    expect(during).toBe(r.turnId);
    expect(session.currentTurnId).toBeUndefined();
    expect(rec.first('turn.start')?.turnId).toBe(r.turnId);
    await session.close();
  });
});

describe('errors the session reports', () => {
  function failingMemory(reason: unknown): MemoryStore {
    return { load: () => Promise.reject(reason), save: async () => {} };
  }

  it.each([
    ['an Error', new Error('db down'), 'db down'],
    ['a string', 'db gone', 'db gone'],
  ])(
    'a failure that is not a ColloquyError (%s): a ColloquyError of the component’s code, its message, the failure as cause',
    async (_name, reason, message) => {
      const { session, rec } = makeSession({ memory: { store: failingMemory(reason) } });
      await session.start();
      const [e] = rec.payloads('error');
      expect(rec.payloads('error')).toHaveLength(1);
      expect(e).toMatchObject({ sessionId: 's1', component: 'memory', severity: 'error' });
      expect(e?.error).toBeInstanceOf(ColloquyError);
      expect(e?.error).toMatchObject({ code: 'memory_failed', message });
      expect(e?.error.cause).toBe(reason);
      expect(session.state).toBe('active');
      await session.close();
    },
  );

  it('a fatal error ends the session with fatal:<code>; a warn or an error does not', async () => {
    const { session, rec } = makeSession();
    await session.start();
    const publish = (severity: 'warn' | 'error' | 'fatal', code: 'llm_stream_failed' | 'llm_auth_failed') =>
      session.eventBus.publish('error', {
        sessionId: 's1',
        component: 'llm',
        error: new ProviderError(code, 'x'),
        severity,
      });
    publish('warn', 'llm_stream_failed');
    publish('error', 'llm_stream_failed');
    // An application's own `error` events are read the same way.
    await session.sendText('still here');
    expect(session.state).toBe('active');
    publish('fatal', 'llm_auth_failed');
    expect(session.state).toBe('active'); // ends once the error reached every subscriber
    expect((await rec.waitFor('session.close')).reason).toBe('fatal:llm_auth_failed');
    expect(rec.payloads('session.close')).toHaveLength(1);
  });
});

describe('speak() without a speech port', () => {
  it('the whole text is heard: its result, its assistant.text and its history message', async () => {
    const { session, rec } = makeSession();
    const r = await session.speak('  Welcome.  ');
    expect(r).toEqual({ turnId: 'say_1', agentName: 'main', text: 'Welcome.', interrupted: false });
    expect(rec.payloads('assistant.text')).toEqual([
      { sessionId: 's1', turnId: 'say_1', agentName: 'main', text: 'Welcome.', interrupted: false },
    ]);
    expect(session.history).toEqual([{ role: 'assistant', content: 'Welcome.' }]);
    expect((await session.speak('Again.')).turnId).toBe('say_2');
    await session.close();
  });
});

// Keep the type import used when a test is skipped by a filter.
void (undefined as unknown as LanguageModel);
