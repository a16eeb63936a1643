/**
 * Per-turn latency as tables: the segments of a cascade and a text turn from their marks (rounding,
 * a negative gap read as 0, each segment's fallback), which bus event marks what, and the tracker's
 * bookkeeping (first time only, unknown turns, discard, finish once, dispose).
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap, LatencyMarks } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { computeSegments, LatencyTracker } from './latency.ts';

describe('computeSegments: cascade and text turns', () => {
  const cases: Array<{ case: string; kind: 'cascade' | 'text'; marks: LatencyMarks; segments: object }> = [
    {
      case: 'a spoken turn that spoke: every segment',
      kind: 'cascade',
      marks: {
        clientSentAt: 880,
        clientReceivedAt: 890,
        turnStartAt: 900,
        userSpeechEndAt: 1000,
        transcriptFinalAt: 1100,
        userTextAt: 1130,
        llmRequestAt: 1140,
        llmFirstTokenAt: 1300,
        firstTextToTtsAt: 1310,
        ttsFirstByteAt: 1400,
        firstAudioOutAt: 1405,
      },
      segments: {
        clientToBackendMs: 10,
        sttMs: 100,
        endpointingMs: 30,
        backendToLLMMs: 10,
        llmProcessingMs: 160,
        llmToBackendMs: 10,
        ttsMs: 90,
        backendToClientMs: 5,
        totalE2EMs: 405,
      },
    },
    {
      case: 'a spoken turn without its user text mark: the turn start is when it was committed',
      kind: 'cascade',
      marks: { turnStartAt: 1200, userSpeechEndAt: 1000, transcriptFinalAt: 1100, llmRequestAt: 1250 },
      segments: { sttMs: 100, endpointingMs: 100, backendToLLMMs: 50 },
    },
    {
      case: 'a typed turn: no STT or endpointing segments even with speech marks',
      kind: 'text',
      marks: {
        turnStartAt: 1000,
        userSpeechEndAt: 900,
        transcriptFinalAt: 950,
        userTextAt: 1000,
        llmRequestAt: 1010,
      },
      segments: { backendToLLMMs: 10 },
    },
    {
      case: 'only the text sent to TTS: it spoke; the total falls back to the first token',
      kind: 'text',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1010,
        llmFirstTokenAt: 1050,
        firstTextToTtsAt: 1060,
        firstTextOutAt: 1500,
      },
      segments: { backendToLLMMs: 10, llmProcessingMs: 40, llmToBackendMs: 10, totalE2EMs: 50 },
    },
    {
      case: 'only the TTS first byte: it spoke',
      kind: 'text',
      marks: { turnStartAt: 1000, llmFirstTokenAt: 1050, ttsFirstByteAt: 1070, firstTextHandedAt: 1055 },
      segments: { totalE2EMs: 50 },
    },
    {
      case: 'only the first audio frame: it spoke',
      kind: 'text',
      marks: { turnStartAt: 1000, llmFirstTokenAt: 1050, firstAudioOutAt: 1090, firstTextHandedAt: 1055 },
      segments: { totalE2EMs: 90 },
    },
    {
      case: 'no speech: the text handed to and written by a client connection',
      kind: 'text',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1001,
        llmFirstTokenAt: 1050,
        firstTextHandedAt: 1060,
        firstTextOutAt: 1075,
      },
      segments: {
        backendToLLMMs: 1,
        llmProcessingMs: 49,
        llmToBackendMs: 10,
        backendToClientMs: 15,
        totalE2EMs: 75,
      },
    },
    {
      case: 'no speech and no client: the total ends at the first token',
      kind: 'text',
      marks: { turnStartAt: 1000, llmFirstTokenAt: 1050 },
      segments: { totalE2EMs: 50 },
    },
    {
      case: 'nothing after the start: no segment',
      kind: 'text',
      marks: { turnStartAt: 1000 },
      segments: {},
    },
    {
      case: 'rounded to hundredths; a mark before its predecessor reads 0',
      kind: 'text',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1000.123456,
        llmFirstTokenAt: 999,
        clientSentAt: 50,
        clientReceivedAt: 40,
      },
      segments: { clientToBackendMs: 0, backendToLLMMs: 0.12, llmProcessingMs: 0, totalE2EMs: 0 },
    },
  ];
  it.each(cases)('$case', ({ marks, kind, segments }) => {
    expect(computeSegments(marks, kind)).toEqual(segments);
  });

  it('a realtime turn without an origin or output: only what its marks give', () => {
    expect(computeSegments({ llmRequestAt: 10, llmFirstTokenAt: 30 }, 'realtime')).toEqual({
      llmProcessingMs: 20,
    });
    expect(computeSegments({ turnStartAt: 0, llmRequestAt: 10 }, 'realtime')).toEqual({ backendToLLMMs: 10 });
  });
});

function tracked() {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const latency: EventMap['turn.latency'][] = [];
  bus.subscribe('turn.latency', (p) => latency.push(p));
  const clock = { now: 1000 };
  const tracker = new LatencyTracker(bus, 's1', () => clock.now);
  return { bus, latency, clock, tracker };
}

describe('LatencyTracker: what each bus event marks', () => {
  it('a spoken turn through the bus: every mark from its event, the first time only, and the whole turn.latency', () => {
    const { bus, latency, clock, tracker } = tracked();
    const at = (t: number) => {
      clock.now = t;
    };
    const sessionId = 's1';
    at(1000);
    bus.publish('user.speech.start', { sessionId, at: 0 });
    bus.publish('turn.start', { sessionId, turnId: 't1' });
    at(1100);
    bus.publish('user.speech.stop', { sessionId, at: 0, durationMs: 0 });
    at(1200);
    bus.publish('transcription.final', { sessionId, text: 'hi', at: 0 });
    at(1230);
    bus.publish('user.text', { sessionId, turnId: 't1', text: 'hi', source: 'speech' });
    at(1240);
    bus.publish('llm.start', { sessionId, turnId: 't1', agentName: 'main' });
    at(1300);
    bus.publish('llm.tool-input.start', { sessionId, turnId: 't1', id: 'c', toolName: 'x' });
    at(1350);
    bus.publish('llm.text.delta', { sessionId, turnId: 't1', id: 'a', text: 'He' });
    at(1360);
    bus.publish('speech.chunk.queued', { sessionId, turnId: 't1', chunkId: 0, text: 'He' });
    at(1370);
    bus.publish('metrics.ttfb', {
      sessionId,
      processor: 'stt',
      turnId: 't1',
      valueMs: 5,
    });
    bus.publish('metrics.ttfb', { sessionId, processor: 'tts', valueMs: 5 });
    at(1400);
    bus.publish('metrics.ttfb', {
      sessionId,
      processor: 'tts',
      turnId: 't1',
      valueMs: 5,
    });
    at(1410);
    bus.publish('bot.speaking.start', { sessionId, turnId: 't1' });
    // Later events of the same kinds change nothing.
    at(1500);
    bus.publish('llm.start', { sessionId, turnId: 't1', agentName: 'main' });
    bus.publish('llm.text.delta', { sessionId, turnId: 't1', id: 'a', text: 'llo' });
    bus.publish('speech.chunk.queued', { sessionId, turnId: 't1', chunkId: 0, text: 'He' });
    bus.publish('metrics.ttfb', {
      sessionId,
      processor: 'tts',
      turnId: 't1',
      valueMs: 5,
    });
    bus.publish('bot.speaking.start', { sessionId, turnId: 't1' });
    at(2000);
    tracker.finish('t1');
    tracker.finish('t1'); // once only
    const marks = {
      turnStartAt: 1000,
      userSpeechEndAt: 1100,
      transcriptFinalAt: 1200,
      userTextAt: 1230,
      llmRequestAt: 1240,
      llmFirstTokenAt: 1300,
      firstTextToTtsAt: 1360,
      ttsFirstByteAt: 1400,
      firstAudioOutAt: 1410,
      turnEndAt: 2000,
    };
    expect(latency).toEqual([
      {
        sessionId: 's1',
        turnId: 't1',
        kind: 'cascade',
        marks,
        segments: {
          sttMs: 100,
          endpointingMs: 30,
          backendToLLMMs: 10,
          llmProcessingMs: 60,
          llmToBackendMs: 60,
          ttsMs: 40,
          backendToClientMs: 10,
          totalE2EMs: 310,
        },
      },
    ]);
  });

  it('after dispose no event marks anything, and no turn is finished', () => {
    const { bus, latency, tracker } = tracked();
    bus.publish('turn.start', { sessionId: 's1', turnId: 't1' });
    tracker.dispose();
    tracker.finish('t1');
    bus.publish('turn.start', { sessionId: 's1', turnId: 't2' });
    tracker.finish('t2');
    expect(latency).toEqual([]);
  });
});

describe('LatencyTracker: its bookkeeping', () => {
  it('a turn finished with realtime is a realtime turn; a spoken turn is cascade once, a typed one text', () => {
    const { latency, tracker } = tracked();
    tracker.turnStarted('r');
    tracker.finish('r', 'realtime');
    tracker.turnStarted('c');
    tracker.userText('c', 'speech');
    tracker.finish('c');
    tracker.turnStarted('c'); // the same id again, typed this time
    tracker.userText('c', 'text');
    tracker.finish('c');
    expect(latency.map((l) => [l.turnId, l.kind])).toEqual([
      ['r', 'realtime'],
      ['c', 'cascade'],
      ['c', 'text'],
    ]);
  });

  it('a discarded turn publishes nothing and is no longer spoken', () => {
    const { latency, tracker } = tracked();
    tracker.turnStarted('t1');
    tracker.userText('t1', 'speech');
    tracker.discard('t1');
    tracker.finish('t1');
    expect(latency).toEqual([]);
    tracker.turnStarted('t1');
    tracker.finish('t1');
    expect(latency.map((l) => l.kind)).toEqual(['text']);
  });

  it('a turn id started again measures its first token again', () => {
    const { latency, clock, tracker } = tracked();
    tracker.turnStarted('t1');
    clock.now = 1100;
    tracker.firstToken('t1');
    tracker.finish('t1');
    clock.now = 2000;
    tracker.turnStarted('t1');
    clock.now = 2300;
    tracker.firstToken('t1');
    clock.now = 2400;
    tracker.firstToken('t1');
    tracker.finish('t1');
    expect(latency.map((l) => l.marks.llmFirstTokenAt)).toEqual([1100, 2300]);
  });

  it('the first tokens of two turns interleaved are each their own', () => {
    const { latency, clock, tracker } = tracked();
    tracker.turnStarted('a');
    tracker.turnStarted('b');
    clock.now = 1010;
    tracker.firstToken('a');
    clock.now = 1020;
    tracker.firstToken('b');
    clock.now = 1030;
    tracker.firstToken('a');
    tracker.finish('a');
    tracker.finish('b');
    expect(latency.map((l) => [l.turnId, l.marks.llmFirstTokenAt])).toEqual([
      ['a', 1010],
      ['b', 1020],
    ]);
  });

  it('unknown turns change nothing: no throw, no mark, and the speech marks wait for the turn they belong to', () => {
    const { latency, clock, tracker } = tracked();
    tracker.firstToken('nope');
    tracker.mark('nope', 'llmRequestAt');
    tracker.setInput('nope', { client: { sentAt: 1, receivedAt: 2 }, speechEndAt: 3 });
    tracker.textOutput('nope', 'handed');
    tracker.finish('nope');
    tracker.speechStopped(); // at 1000
    clock.now = 1050;
    tracker.transcribed();
    tracker.userText('nope', 'speech'); // not a turn: the marks stay for the next one
    clock.now = 1100;
    tracker.turnStarted('t1');
    tracker.userText('t1', 'speech');
    tracker.firstToken('t1');
    tracker.finish('t1');
    expect(latency.map((l) => l.marks)).toEqual([
      {
        turnStartAt: 1100,
        userSpeechEndAt: 1000,
        transcriptFinalAt: 1050,
        userTextAt: 1100,
        llmFirstTokenAt: 1100,
        turnEndAt: 1100,
      },
    ]);
  });

  it('a typed turn takes no speech marks, and uses them up: a spoken turn after it has none', () => {
    const { latency, tracker } = tracked();
    tracker.speechStopped();
    tracker.transcribed();
    tracker.turnStarted('typed');
    tracker.userText('typed', 'text');
    tracker.turnStarted('spoken');
    tracker.userText('spoken', 'speech');
    tracker.finish('typed');
    tracker.finish('spoken');
    expect(latency.map((l) => [l.turnId, l.marks.userSpeechEndAt, l.marks.transcriptFinalAt])).toEqual([
      ['typed', undefined, undefined],
      ['spoken', undefined, undefined],
    ]);
  });

  it('the client timing of a stamped input is kept as given', () => {
    const { latency, tracker } = tracked();
    tracker.turnStarted('t1');
    tracker.setInput('t1', { client: { sentAt: 900, receivedAt: 960 } });
    tracker.setInput('t1', {});
    tracker.finish('t1');
    // Only the marks reached: no speech end key at all (not even an undefined one).
    expect(latency[0]?.marks).toStrictEqual({
      turnStartAt: 1000,
      clientSentAt: 900,
      clientReceivedAt: 960,
      turnEndAt: 1000,
    });
    expect(latency[0]?.segments).toEqual({ clientToBackendMs: 60 });
  });
});
