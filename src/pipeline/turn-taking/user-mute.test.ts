import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { ConfigError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { MockStt } from '../../testing/mock-stt.ts';
import { MockTts } from '../../testing/mock-tts.ts';
import { MockVad } from '../../testing/mock-vad.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import {
  UserMuteController,
  type UserMuteState,
  type UserMuteStrategy,
  validateUserMuteStrategies,
} from './user-mute.ts';

const MUTE = ['user.mute.start', 'user.mute.stop'];

/** A bus, a controller, and a log of what it did to the input, next to the bus events. */
function rig(strategies: UserMuteStrategy[]) {
  const bus = new EventBus<EventMap>();
  const log: string[] = [];
  const input = { mute: () => log.push('mute'), unmute: () => log.push('unmute') };
  const controller = new UserMuteController({ bus, sessionId: 's', input, strategies });
  const p = {
    start: () => bus.publish('session.start', { sessionId: 's', userId: 'u', agentName: 'a' }),
    botStart: (turnId = 't') => bus.publish('bot.speaking.start', { sessionId: 's', turnId }),
    botStop: (turnId = 't') =>
      bus.publish('bot.speaking.stop', { sessionId: 's', turnId, interrupted: false }),
    call: (id: string, execution?: 'inline' | 'background') =>
      bus.publish('tool.call', {
        sessionId: 's',
        agentName: 'a',
        id,
        name: 'x',
        args: {},
        ...(execution ? { execution } : {}),
      }),
    result: (id: string) =>
      bus.publish('tool.result', { sessionId: 's', toolCallId: id, status: 'success', result: 1 }),
    cancel: (ids: string[]) => bus.publish('tool.cancel', { sessionId: 's', toolCallIds: ids }),
  };
  return { bus, log, controller, p };
}

describe('user mute strategies', () => {
  it("first-speech: muted during the bot's first utterance only", () => {
    const { log, p } = rig(['first-speech']);
    p.start();
    expect(log).toEqual([]);
    p.botStart('t1');
    expect(log).toEqual(['mute']);
    p.botStop('t1');
    expect(log).toEqual(['mute', 'unmute']);
    p.botStart('t2');
    p.botStop('t2');
    expect(log).toEqual(['mute', 'unmute']);
  });

  it('until-first-bot-complete: muted from the session start until the first utterance ends', () => {
    const { log, p } = rig(['until-first-bot-complete']);
    expect(log).toEqual([]);
    p.start();
    expect(log).toEqual(['mute']);
    p.botStart();
    expect(log).toEqual(['mute']);
    p.botStop();
    expect(log).toEqual(['mute', 'unmute']);
    p.botStart();
    expect(log).toEqual(['mute', 'unmute']);
  });

  it('a bot.speaking.stop without a start is no utterance ended: until-first-bot-complete stays muted', () => {
    const { log, p } = rig(['until-first-bot-complete']);
    p.start();
    p.botStop('t0');
    expect(log).toEqual(['mute']);
    p.botStart('t1');
    p.botStop('t1');
    expect(log).toEqual(['mute', 'unmute']);
  });

  it('function-call: muted while inline tool calls run (results, cancels; background tools ignored)', () => {
    const { log, p } = rig(['function-call']);
    p.start();
    p.call('a');
    p.call('b');
    expect(log).toEqual(['mute']);
    p.result('a');
    expect(log).toEqual(['mute']);
    p.result('a'); // a repeated result changes nothing
    p.result('b');
    expect(log).toEqual(['mute', 'unmute']);
    p.call('bg', 'background');
    expect(log).toEqual(['mute', 'unmute']);
    p.call('c');
    p.cancel(['c', 'other']);
    expect(log).toEqual(['mute', 'unmute', 'mute', 'unmute']);
  });

  it('bot-speaking: muted whenever the bot speaks', () => {
    const { log, p } = rig(['bot-speaking']);
    p.start();
    for (let i = 0; i < 3; i++) {
      p.botStart();
      p.botStop();
    }
    expect(log).toEqual(['mute', 'unmute', 'mute', 'unmute', 'mute', 'unmute']);
  });

  it('callback: asked with the state after each event; a throwing callback counts as not muted and is reported', () => {
    const seen: unknown[] = [];
    const { bus, log, p } = rig([
      {
        type: 'callback',
        shouldMute: (s) => {
          seen.push(s);
          if (s.toolCallsRunning > 1) throw new Error('boom');
          return s.botUtterancesStarted >= 2 && s.botSpeaking;
        },
      },
    ]);
    const errors: EventMap['error'][] = [];
    bus.subscribe('error', (e) => errors.push(e));
    p.start();
    p.botStart();
    p.botStop();
    expect(log).toEqual([]);
    p.botStart();
    expect(log).toEqual(['mute']);
    expect(seen.at(-1)).toEqual({
      botSpeaking: true,
      botUtterancesStarted: 2,
      botUtterancesEnded: 1,
      toolCallsRunning: 0,
    });
    p.call('a');
    p.call('b');
    expect(log).toEqual(['mute', 'unmute']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ component: 'user_mute', severity: 'warn' });
    expect(errors[0]!.error.message).toBe('boom');
  });

  it("strategies combine (muted while any says so) and with the app's own mute", () => {
    const { log, p, controller } = rig(['first-speech', 'function-call']);
    p.start();
    p.botStart();
    p.call('a');
    p.botStop();
    expect(log).toEqual(['mute']);
    controller.setManual(true);
    p.result('a');
    expect(log).toEqual(['mute']);
    controller.setManual(false);
    expect(log).toEqual(['mute', 'unmute']);
    expect(controller.isMuted).toBe(false);
  });

  it('close() stops listening to the bus', () => {
    const { log, p, controller } = rig(['bot-speaking']);
    controller.close();
    p.botStart();
    expect(log).toEqual([]);
  });

  it('unknown strategies are refused with a typed ConfigError', () => {
    expect(() => validateUserMuteStrategies(['always-ish'])).toThrow(ConfigError);
    expect(() => validateUserMuteStrategies([{ type: 'callback' }])).toThrow(/invalid|Unknown/);
    // a shouldMute function alone is not a callback strategy: its type must say so
    expect(() => validateUserMuteStrategies([{ type: 'other', shouldMute: () => true }])).toThrow(
      ConfigError,
    );
    expect(() => validateUserMuteStrategies([{ shouldMute: () => true }])).toThrow(ConfigError);
    expect(validateUserMuteStrategies(['first-speech', 'bot-speaking'])).toEqual([
      'first-speech',
      'bot-speaking',
    ]);
  });
});

describe('user mute in a VoiceSession', () => {
  let session: VoiceSession | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  function make(userMute: UserMuteStrategy[], model = mockLanguageModel(['Sure.'])) {
    const vad = new MockVad();
    session = new VoiceSession({
      sessionId: 'v',
      userId: 'u',
      agents: [
        {
          name: 'main',
          instructions: 'x',
          tools: {
            slow: tool({
              description: 'slow',
              inputSchema: z.object({}),
              execute: async () => {
                await rec.waitFor('user.mute.start');
                return 'done';
              },
            }),
          },
        },
      ],
      model,
      logger: silentLogger,
      audio: {
        vad,
        stt: new MockStt({ script: ['hello'] }),
        tts: new MockTts({ sampleRate: 24000, msPerChar: 5 }),
        inputSampleRate: 16000,
        userMute,
        output: { write: () => {} },
      },
    });
    const rec = new EventRecorder(session.eventBus);
    return { session, rec, vad };
  }

  it('first-speech: user.mute.start when the greeting starts playing, user.mute.stop when it ends; audio meanwhile is ignored', async () => {
    const { session, rec } = make(['first-speech']);
    await session.start();
    const greeting = session.speak('Welcome to the hotel.');
    await rec.waitFor('user.mute.start');
    // While muted, speech from the user is dropped: no VAD, no transcription.
    for (let i = 0; i < 20; i++) session.pushAudio(new Int16Array(320).fill(8000), 16000);
    await greeting;
    await rec.waitFor('user.mute.stop');
    expect(rec.types([...MUTE, 'bot.speaking.start', 'bot.speaking.stop', 'user.speech.start'])).toEqual([
      'bot.speaking.start',
      'user.mute.start',
      'bot.speaking.stop',
      'user.mute.stop',
    ]);
    expect(rec.first('user.mute.start')).toEqual({ sessionId: 'v' });
  });

  it("function-call: muted while the turn's tool runs", async () => {
    const { session, rec } = make(
      ['function-call'],
      mockLanguageModel([[{ toolCall: { name: 'slow', args: {} } }], 'All done.']),
    );
    await session.sendText('do it');
    expect(rec.types([...MUTE, 'tool.call', 'tool.result'])).toEqual([
      'tool.call',
      'user.mute.start',
      'tool.result',
      'user.mute.stop',
    ]);
  });

  it('setMuted: the app mutes and unmutes; bus events once each', async () => {
    const { session, rec } = make([]);
    await session.start();
    session.setMuted(true);
    session.setMuted(true);
    session.setMuted(false);
    expect(rec.types(MUTE)).toEqual(['user.mute.start', 'user.mute.stop']);
  });
});

describe('user mute strategies: exact refusals, callback answers and listeners', () => {
  const NAMES = 'first-speech, until-first-bot-complete, function-call, bot-speaking';
  const refusal = (s: unknown) => {
    try {
      validateUserMuteStrategies([s]);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return { code: (e as ConfigError).code, message: (e as ConfigError).message };
    }
    return 'accepted';
  };
  const callbackLike = Object.assign(() => true, { type: 'callback', shouldMute: () => true });

  it.each([
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['an unknown name', 'always-ish', '"always-ish"'],
    ['a number', 7, '7'],
    ['a callback without shouldMute', { type: 'callback' }, '{"type":"callback"}'],
    [
      'a shouldMute that is no function',
      { type: 'callback', shouldMute: true },
      '{"type":"callback","shouldMute":true}',
    ],
    // a function carrying the right fields is still no strategy object
    ['a function with type and shouldMute', callbackLike, 'undefined'],
  ])('refuses %s with invalid_user_mute and the exact message', (_, s, shown) => {
    expect(refusal(s)).toEqual({
      code: 'invalid_user_mute',
      message: `Unknown user mute strategy ${shown} (use ${NAMES} or {type: 'callback', shouldMute})`,
    });
  });

  it('accepts every strategy name and a callback object, in order, as given', () => {
    const cb = { type: 'callback' as const, shouldMute: () => false };
    expect(validateUserMuteStrategies([...NAMES.split(', '), cb])).toEqual([...NAMES.split(', '), cb]);
    expect(validateUserMuteStrategies([cb])[0]).toBe(cb);
  });

  it('only a callback answer of exactly true mutes', () => {
    for (const [answer, muted] of [
      [true, true],
      [1, false],
      ['yes', false],
      [{}, false],
      [false, false],
    ] as const) {
      const { log, p, controller } = rig([{ type: 'callback', shouldMute: () => answer as boolean }]);
      p.start();
      expect([answer, controller.isMuted, log]).toEqual([answer, muted, muted ? ['mute'] : []]);
    }
  });

  it('the callback is given a copy of the state: changing it changes nothing', () => {
    const seen: UserMuteState[] = [];
    const { p } = rig([
      {
        type: 'callback',
        shouldMute: (s) => {
          seen.push({ ...s });
          (s as UserMuteState).botUtterancesStarted = 99;
          (s as UserMuteState).toolCallsRunning = 99;
          return false;
        },
      },
    ]);
    p.botStart();
    p.call('a');
    expect(seen).toEqual([
      { botSpeaking: true, botUtterancesStarted: 1, botUtterancesEnded: 0, toolCallsRunning: 0 },
      { botSpeaking: true, botUtterancesStarted: 1, botUtterancesEnded: 0, toolCallsRunning: 1 },
    ]);
  });

  it('the callback is asked once per event that changes the state, not for results or cancels of calls it does not know', () => {
    let asked = 0;
    const { p } = rig([
      {
        type: 'callback',
        shouldMute: () => {
          asked++;
          return false;
        },
      },
    ]);
    p.start();
    expect(asked).toBe(1);
    p.result('unknown');
    p.cancel(['unknown', 'other']);
    p.call('bg', 'background');
    p.botStop(); // no utterance running
    expect(asked).toBe(1);
    p.call('a');
    p.cancel(['x', 'a']);
    expect(asked).toBe(3);
  });

  it('cancel of several calls: muted until every running call is gone, whatever the order of the ids', () => {
    const { log, p, controller } = rig(['function-call']);
    p.call('a');
    p.call('b');
    p.call('c');
    p.cancel(['x', 'a']);
    expect(controller.isMuted).toBe(true);
    p.cancel(['b', 'y', 'c']);
    expect([controller.isMuted, log]).toEqual([false, ['mute', 'unmute']]);
  });

  it('a throwing callback is published as one user_mute warning with its session and code', () => {
    const { bus, p } = rig([
      {
        type: 'callback',
        shouldMute: () => {
          throw new Error('boom');
        },
      },
    ]);
    const errors: EventMap['error'][] = [];
    bus.subscribe('error', (e) => errors.push(e));
    p.start();
    expect(errors).toHaveLength(1);
    const { error, ...rest } = errors[0]!;
    expect(rest).toEqual({ sessionId: 's', component: 'user_mute', severity: 'warn' });
    expect([error.code, error.message]).toEqual(['user_mute_callback_failed', 'boom']);
  });

  it('without strategies the controller does not listen to the bus; close() lets every listener go', () => {
    const events = [
      'session.start',
      'bot.speaking.start',
      'bot.speaking.stop',
      'tool.call',
      'tool.result',
      'tool.cancel',
    ] as const;
    const none = rig([]);
    expect(events.filter((e) => none.bus.hasSubscribers(e))).toEqual([]);
    none.controller.setManual(true);
    expect([none.controller.isMuted, none.log]).toEqual([true, ['mute']]);
    const some = rig(['bot-speaking']);
    expect(events.filter((e) => some.bus.hasSubscribers(e))).toEqual([...events]);
    some.controller.close();
    expect(events.filter((e) => some.bus.hasSubscribers(e))).toEqual([]);
  });
});
