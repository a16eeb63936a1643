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
import { UserMuteController, type UserMuteStrategy, validateUserMuteStrategies } from './user-mute.ts';

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
