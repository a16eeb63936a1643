import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsModel } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { sharedPlayoutTicker } from './playout-ticker.ts';
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

/** An output on the default clock whose sink records when (performance.now) each frame was written. */
function playing(frames: number) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const writtenAt: number[] = [];
  const output = new SpeechOutput({
    bus,
    sessionId: 's',
    tts: unusedTts,
    outputSampleRate: 24000,
    sink: { write: () => writtenAt.push(performance.now()) },
  });
  const response = output.beginAudioResponse('t1', new AbortController().signal, 24000);
  response.pushAudio(new Int16Array(480 * frames).fill(5));
  response.end();
  return { output, response, writtenAt };
}

// Outputs on the default clock are paced by the process's one playout ticker (20 ms frames).
const ticker = sharedPlayoutTicker(20);

describe('SpeechOutput on the shared playout ticker', () => {
  it('paces every session on one timer, each frame within half a frame of its own schedule', async () => {
    const sessions = [];
    for (let i = 0; i < 3; i++) {
      sessions.push(playing(50)); // 1 s each, started 7 ms apart: three phases
      await vi.advanceTimersByTimeAsync(7);
    }
    expect(vi.getTimerCount()).toBe(1);
    expect(ticker.size).toBe(3);
    await vi.advanceTimersByTimeAsync(1100);
    for (const { writtenAt, response } of sessions) {
      expect(response.finished).toBe(true);
      expect(writtenAt).toHaveLength(50);
      // frame k is due 20·k ms after the first: never more than half a frame off, so no drift
      for (let k = 0; k < writtenAt.length; k++)
        expect(Math.abs(writtenAt[k]! - writtenAt[0]! - 20 * k)).toBeLessThanOrEqual(10);
    }
    expect([ticker.size, ticker.running, vi.getTimerCount()]).toEqual([0, false, 0]);
  });

  it('writes no frame after pause or interrupt, and leaves the ticker at once', async () => {
    const a = playing(50);
    const b = playing(50);
    await vi.advanceTimersByTimeAsync(100);
    expect(ticker.size).toBe(2);
    a.output.pause();
    const pausedAt = a.writtenAt.length;
    b.output.interrupt('user_speaking');
    const cutAt = b.writtenAt.length;
    expect([ticker.size, ticker.running]).toEqual([0, false]);
    await vi.advanceTimersByTimeAsync(200);
    expect([a.writtenAt.length, b.writtenAt.length]).toEqual([pausedAt, cutAt]);
    a.output.resume();
    expect(a.writtenAt.length).toBe(pausedAt + 1);
    expect(ticker.size).toBe(1);
    a.output.close();
    expect([ticker.size, ticker.running]).toEqual([0, false]);
    await vi.advanceTimersByTimeAsync(200);
    expect(a.writtenAt.length).toBe(pausedAt + 1);
  });

  it('leaves the ticker while waiting for audio and plays its first frame as soon as it comes', async () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    let frames = 0;
    const output = new SpeechOutput({
      bus,
      sessionId: 's',
      tts: unusedTts,
      outputSampleRate: 24000,
      sink: { write: () => frames++ },
    });
    const response = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    response.pushAudio(new Int16Array(960));
    expect(frames).toBe(1);
    await vi.advanceTimersByTimeAsync(40);
    expect([frames, ticker.size]).toEqual([2, 0]); // played out, waiting for more: not ticked
    await vi.advanceTimersByTimeAsync(13);
    response.pushAudio(new Int16Array(480));
    expect(frames).toBe(3); // at once, not on the next tick
    response.end();
    await vi.advanceTimersByTimeAsync(40);
    expect(response.finished).toBe(true);
    expect([ticker.size, vi.getTimerCount()]).toEqual([0, 0]);
  });
});

describe('an audio response: exact amounts and what it publishes', () => {
  it("the resampler's tail is counted and played at end: 100 ms at 16 kHz is 2,400 samples at 24 kHz", async () => {
    const { output, frames } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 16000);
    a.pushAudio(new Int16Array(1600).fill(1000));
    expect(a.receivedMs).toBe((2399 * 1000) / 24000); // one sample held back by the resampler
    a.end();
    expect(a.receivedMs).toBe(100);
    await played(a.done);
    expect([frames.length, a.playedMs]).toEqual([5, 100]);
    // The last sample of the last frame is the tail, not padding.
    expect(frames[4]![479]).not.toBe(0);
  });

  it('end() after a cut flushes nothing more: received and heard stay as they were', async () => {
    const { output } = setup();
    const abort = new AbortController();
    const a = output.beginAudioResponse('t1', abort.signal, 16000);
    a.pushText('one two three four five');
    a.pushAudio(new Int16Array(1600).fill(1000));
    abort.abort('user_speaking');
    const outcome = await played(a.done);
    a.end();
    expect([a.receivedMs, a.playedMs, a.heardText]).toEqual([(2399 * 1000) / 24000, 20, 'one']);
    expect(outcome).toEqual({
      turnId: 't1',
      heardText: 'one',
      fullText: 'one two three four five',
      interrupted: true,
      reason: 'user_speaking',
    });
  });

  it('publishes only bot.speaking start and stop: no speech.start, speech.chunk, bot.tts.text or speech.complete', async () => {
    const { output, events } = setup();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushText('Hi there');
    a.pushAudio(new Int16Array(960).fill(3));
    a.end();
    await played(a.done);
    expect(events.map((e) => [e.type, e.payload])).toEqual([
      ['bot.speaking.start', { sessionId: 's1', turnId: 't1' }],
      ['bot.speaking.stop', { sessionId: 's1', turnId: 't1', interrupted: false }],
    ]);
  });

  it('its audio not yet played counts toward the look-ahead bound of a TTS response queued behind it', async () => {
    for (const [samples, requested] of [
      [2400, []],
      [2399, ['Next.']],
    ] as const) {
      const requests: string[] = [];
      const tts: TtsModel = {
        ...unusedTts,
        synthesize: (request) => {
          requests.push(request.text);
          return (async function* () {})();
        },
      };
      const bus = new EventBus<EventMap>({ logger: silentLogger });
      // 100 ms of look-ahead = 2,400 samples at 24 kHz.
      const output = new SpeechOutput({
        bus,
        sessionId: 's',
        tts,
        sink: { write: () => {} },
        maxAheadMs: 100,
      });
      const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
      output.pause();
      a.pushAudio(new Int16Array(samples));
      output.beginResponse('t2').pushText('Next. ');
      expect([samples, requests]).toEqual([samples, requested]);
      output.close();
    }
  });
});
