import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsModel } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { type AudioSink, SpeechOutput } from './speech-output.ts';

/** Never asked: an audio response brings its own audio. */
const unusedTts: TtsModel = {
  specificationVersion: SPECIFICATION_VERSIONS.tts,
  provider: 'test',
  modelId: 'unused',
  sampleRate: 24000,
  synthesize: () => {
    throw new Error('an audio response does not synthesise');
  },
};

function setup() {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const frames: Int16Array[] = [];
  const sink: AudioSink = { write: (frame) => frames.push(frame.slice()) };
  // 24 kHz output, 20 ms frames of 480 samples.
  const output = new SpeechOutput({ bus, sessionId: 's1', tts: unusedTts, sink, outputSampleRate: 24000 });
  return { output, frames, events, bus };
}

/** Runs the pacing timers until the response is over. */
async function played<T>(done: Promise<T>): Promise<T> {
  await vi.runAllTimersAsync();
  return done;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('an audio response (ready-made model audio)', () => {
  it('plays its audio paced, counting received and played ms at the output rate', async () => {
    const { output, frames } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushAudio(new Int16Array(960).fill(7));
    a.pushText('Hello there');
    expect(a.receivedMs).toBe(40);
    expect(frames).toHaveLength(1);
    expect(a.playedMs).toBe(20);
    a.end();
    const outcome = await played(a.done);
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => f.every((v) => v === 7))).toBe(true);
    expect([a.playedMs, a.finished]).toEqual([40, true]);
    expect(outcome).toEqual({
      turnId: 't1',
      heardText: 'Hello there',
      fullText: 'Hello there',
      interrupted: false,
    });
  });

  it('resamples audio of another rate to the output rate', async () => {
    const { output, frames } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 16000);
    a.pushAudio(new Int16Array(1600).fill(1000));
    a.end();
    await played(a.done);
    expect(a.receivedMs).toBeCloseTo(100, 0);
    expect(frames).toHaveLength(5);
  });

  it('audio after end is refused; its transcript may still complete until the response is over', async () => {
    const { output } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushAudio(new Int16Array(960));
    a.pushText('Hi');
    a.end();
    a.pushAudio(new Int16Array(960));
    a.pushText(' you');
    expect(a.receivedMs).toBe(40);
    expect(a.finished).toBe(false);
    const outcome = await played(a.done);
    expect(outcome.fullText).toBe('Hi you');
    a.pushText(' late');
    expect(a.heardText).toBe('Hi you');
  });

  it('an aborted response stops at once with what was heard', async () => {
    const { output, events } = setup();
    const abort = new AbortController();
    const a = output.beginAudioResponse('t1', abort.signal, 24000);
    a.pushText('one two three four');
    a.pushAudio(new Int16Array(480 * 4));
    expect(a.playedMs).toBe(20);
    abort.abort('user_speaking');
    const outcome = await played(a.done);
    expect(outcome).toMatchObject({ interrupted: true, reason: 'user_speaking', heardText: 'one' });
    a.pushAudio(new Int16Array(480));
    expect(a.receivedMs).toBe(80);
    expect(events.some((e) => e.type === 'speech.interrupted')).toBe(true);
  });

  it('a response ends with the step that writes its last frame, not a frame later', () => {
    const { output, frames, events } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushAudio(new Int16Array(100).fill(3));
    expect(frames).toHaveLength(0); // a frame started in audio still streaming is held
    a.end();
    expect(frames).toHaveLength(1);
    expect(a.finished).toBe(true);
    expect(events.filter((e) => e.type === 'bot.speaking.stop')).toHaveLength(1);
  });

  it('a response cut by a listener of its last frame leaves the next response queued and played', async () => {
    const { output, frames, bus } = setup();
    const first = new AbortController();
    const a = output.beginAudioResponse('t1', first.signal, 24000);
    const b = output.beginAudioResponse('t2', new AbortController().signal, 24000);
    b.pushAudio(new Int16Array(480).fill(2));
    b.end();
    bus.subscribe('bot.speaking.start', ({ turnId }) => {
      if (turnId === 't1') first.abort('user_speaking');
    });
    a.pushAudio(new Int16Array(100).fill(1));
    a.end();
    expect(await a.done).toMatchObject({ interrupted: true });
    await vi.runAllTimersAsync();
    expect(b.finished).toBe(true);
    expect(await b.done).toMatchObject({ turnId: 't2', interrupted: false });
    expect(frames.map((f) => f[0])).toEqual([1, 2]);
  });
});
