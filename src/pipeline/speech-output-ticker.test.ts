import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsModel } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { sharedPlayoutTicker } from './playout-ticker.ts';
import { SpeechOutput } from './speech-output.ts';

// Outputs on the default clock are paced by the process's one playout ticker (20 ms frames).

const unusedTts: TtsModel = {
  specificationVersion: SPECIFICATION_VERSIONS.tts,
  provider: 'test',
  modelId: 'unused',
  sampleRate: 24000,
  synthesize: () => {
    throw new Error('an audio response does not synthesise');
  },
};

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

const ticker = sharedPlayoutTicker(20);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

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
