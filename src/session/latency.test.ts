import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { computeSegments, LatencyTracker } from './latency.ts';

describe('computeSegments: a realtime turn', () => {
  it.each([
    {
      case: 'the transcript of its speech comes before the audio',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1010,
        llmFirstTokenAt: 1050,
        ttsFirstByteAt: 1080,
        firstAudioOutAt: 1085,
      },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 40,
        llmToBackendMs: 30,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'the audio comes first',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1010,
        llmFirstTokenAt: 1090,
        ttsFirstByteAt: 1080,
        firstAudioOutAt: 1085,
      },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 70,
        llmToBackendMs: 0,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'audio without a transcript',
      marks: { turnStartAt: 1000, llmRequestAt: 1010, ttsFirstByteAt: 1080, firstAudioOutAt: 1085 },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 70,
        llmToBackendMs: 0,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'spoken: from the end of user speech; no STT or TTS segments (the model hears and speaks)',
      marks: {
        turnStartAt: 900,
        userSpeechEndAt: 1000,
        transcriptFinalAt: 1200,
        llmRequestAt: 1020,
        llmFirstTokenAt: 1100,
        ttsFirstByteAt: 1130,
        firstAudioOutAt: 1140,
      },
      segments: {
        backendToLLMMs: 20,
        llmProcessingMs: 80,
        llmToBackendMs: 30,
        backendToClientMs: 10,
        totalE2EMs: 140,
      },
    },
  ])('$case', ({ marks, segments }) => {
    expect(computeSegments(marks, 'realtime')).toEqual(segments);
  });
});

describe('LatencyTracker.setInput', () => {
  it('keeps the speech end a spoken turn already has; sets one only where it is missing', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const latency: EventMap['turn.latency'][] = [];
    bus.subscribe('turn.latency', (p) => latency.push(p));
    let clock = 1000;
    const tracker = new LatencyTracker(bus, 's1', () => clock);
    tracker.turnStarted('t1');
    tracker.speechStopped(); // at 1000
    clock = 1200;
    tracker.userText('t1', 'speech');
    tracker.setInput('t1', { client: { sentAt: 900, receivedAt: 950 } });
    tracker.setInput('t1', { speechEndAt: 1100 });
    tracker.turnStarted('t2');
    tracker.userText('t2', 'text');
    tracker.setInput('t2', { speechEndAt: 1150 });
    tracker.finish('t1');
    tracker.finish('t2');
    expect(latency.map((l) => [l.turnId, l.marks.userSpeechEndAt])).toEqual([
      ['t1', 1000],
      ['t2', 1150],
    ]);
  });
});

describe('LatencyTracker.textOutput', () => {
  it('a text turn’s first text handed to a client connection and written out, each the first time only', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const latency: EventMap['turn.latency'][] = [];
    bus.subscribe('turn.latency', (p) => latency.push(p));
    let clock = 1000;
    const tracker = new LatencyTracker(bus, 's1', () => clock);
    tracker.turnStarted('t1');
    tracker.userText('t1', 'text');
    clock = 1100;
    tracker.firstToken('t1');
    clock = 1130;
    tracker.textOutput('t1', 'handed');
    clock = 1150;
    tracker.textOutput('t1', 'written');
    clock = 1400; // later text of the same turn
    tracker.textOutput('t1', 'handed');
    tracker.textOutput('t1', 'written');
    tracker.finish('t1');
    expect(latency[0]?.marks).toMatchObject({ firstTextHandedAt: 1130, firstTextOutAt: 1150 });
    expect(latency[0]?.segments).toMatchObject({
      llmToBackendMs: 30,
      backendToClientMs: 20,
      totalE2EMs: 150,
    });
  });
});

describe('LatencyTracker: a spoken turn', () => {
  function tracked() {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const latency: EventMap['turn.latency'][] = [];
    bus.subscribe('turn.latency', (p) => latency.push(p));
    const clock = { now: 1000 };
    return { latency, clock, tracker: new LatencyTracker(bus, 's1', () => clock.now) };
  }

  it('its marks from the turn start: the speech end and the final transcript of its utterance', () => {
    const { latency, clock, tracker } = tracked();
    tracker.speechStarted();
    clock.now = 1100;
    tracker.turnStarted('t1');
    clock.now = 1500;
    tracker.speechStopped();
    clock.now = 1700;
    tracker.transcribed();
    clock.now = 1750;
    tracker.userText('t1', 'speech');
    clock.now = 2000;
    tracker.finish('t1');
    expect(latency[0]).toMatchObject({ turnId: 't1', kind: 'cascade' });
    expect(latency[0]?.marks).toEqual({
      turnStartAt: 1100,
      userSpeechEndAt: 1500,
      transcriptFinalAt: 1700,
      userTextAt: 1750,
      turnEndAt: 2000,
    });
  });

  it('the speech end and transcript of an earlier utterance that made no turn do not apply after a new speech start', () => {
    const { latency, clock, tracker } = tracked();
    tracker.speechStopped(); // a cough: it ended, was transcribed, and made no turn
    tracker.transcribed();
    clock.now = 1200;
    tracker.speechStarted();
    tracker.turnStarted('t1');
    clock.now = 1300;
    tracker.userText('t1', 'speech'); // committed before its own speech end is known
    clock.now = 1400;
    tracker.finish('t1');
    expect(latency[0]?.marks).toEqual({ turnStartAt: 1200, userTextAt: 1300, turnEndAt: 1400 });
  });
});
