import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsModel } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { Clock } from './clock.ts';
import { sharedPlayoutTicker } from './playout-ticker.ts';
import { SpeechOutput } from './speech-output.ts';

const unusedTts: TtsModel = {
  specificationVersion: SPECIFICATION_VERSIONS.tts,
  provider: 'test',
  modelId: 'unused',
  sampleRate: 24000,
  synthesize: () => {
    throw new Error('an audio response does not synthesise');
  },
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SpeechOutput pacing timer (injected clock)', () => {
  it('ending a response while its next frame is already scheduled arms no second timer', async () => {
    const delays: number[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return setTimeout(fn, ms);
      },
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const frames: number[] = [];
    const output = new SpeechOutput({
      bus: new EventBus<EventMap>({ logger: silentLogger }),
      sessionId: 's1',
      tts: unusedTts,
      sink: { write: () => frames.push(Date.now()) },
      outputSampleRate: 24000,
      clock,
    });
    const start = Date.now();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushAudio(new Int16Array(960).fill(5));
    expect([frames.length, delays, vi.getTimerCount()]).toEqual([1, [20], 1]);
    a.end();
    expect([frames.length, delays, vi.getTimerCount()]).toEqual([1, [20], 1]);
    await vi.runAllTimersAsync();
    await a.done;
    expect(frames.map((t) => t - start)).toEqual([0, 20]);
    expect([delays, vi.getTimerCount()]).toEqual([[20, 20], 0]); // one timer per frame, none left
    output.close();
  });

  it('on the shared ticker, audio that comes between ticks waits for the tick: no frame is written early', async () => {
    const ticker = sharedPlayoutTicker(20);
    expect(ticker.size).toBe(0);
    const writtenAt: number[] = [];
    const output = new SpeechOutput({
      bus: new EventBus<EventMap>({ logger: silentLogger }),
      sessionId: 's1',
      tts: unusedTts,
      sink: { write: () => writtenAt.push(performance.now()) },
      outputSampleRate: 24000,
    });
    const start = performance.now();
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    a.pushAudio(new Int16Array(480).fill(5));
    expect([writtenAt.map((t) => t - start), ticker.size]).toEqual([[0], 1]);
    await vi.advanceTimersByTimeAsync(15); // the next frame is due at 20, more than half a frame away at 5
    a.pushAudio(new Int16Array(480).fill(5));
    expect(writtenAt.map((t) => t - start)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(5);
    expect(writtenAt.map((t) => t - start)).toEqual([0, 20]);
    a.end();
    await vi.advanceTimersByTimeAsync(100);
    await a.done;
    output.close();
    expect([ticker.size, ticker.running]).toEqual([0, false]);
  });
});
