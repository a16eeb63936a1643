import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { audioLevel } from '../../audio/pcm.ts';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { AudioFormatError, ConfigError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import type { SttEvent, SttModel } from '../../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import { amplitudeVad } from '../../testing/mock-vad.ts';
import { UserAudioInput, type UserAudioInputOptions } from './user-input.ts';

/** Streaming STT that counts the samples it has received so far, as they arrive. */
class CountingStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'test';
  readonly modelId = 'counting-stt';
  readonly sampleRate = 16000;
  samples = 0;
  async *transcribe(audio: AsyncIterable<Int16Array>): AsyncIterable<SttEvent> {
    for await (const pcm of audio) this.samples += pcm.length;
    yield { type: 'final', text: 'ok', language: 'en' };
  }
}

function make(
  options: Partial<UserAudioInputOptions> = {},
  bus = new EventBus<EventMap>({ logger: silentLogger }),
) {
  return new UserAudioInput({
    bus,
    sessionId: 's1',
    vad: amplitudeVad(),
    inputSampleRate: 16000,
    isBotSpeaking: () => false,
    speech: { pause: () => {}, resume: () => {}, interrupt: () => {} },
    onUserTurn: () => {},
    ...options,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('UserAudioInput bounds', () => {
  it.each([
    [0, '0'],
    [-20, '-20'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('refuses maxQueuedMs %s with the exact message', (maxQueuedMs, shown) => {
    let caught: unknown;
    try {
      make({ maxQueuedMs });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('invalid_options');
    expect((caught as ConfigError).message).toBe(`maxQueuedMs must be a positive number of ms, got ${shown}`);
  });

  it('refuses an unsupported input sample rate with the exact message, at construction and per frame', () => {
    let caught: unknown;
    try {
      make({ inputSampleRate: 12345 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AudioFormatError);
    expect((caught as AudioFormatError).code).toBe('unsupported_sample_rate');
    expect((caught as AudioFormatError).message).toBe(
      'Unsupported input sample rate 12345; supported: 48000, 44100, 24000, 22050, 16000, 8000',
    );
    expect((caught as AudioFormatError).details).toEqual({ sampleRate: 12345 });
    const input = make();
    expect(() => input.pushAudio(new Int16Array(320), 11025)).toThrowError(
      'Unsupported input sample rate 11025; supported: 48000, 44100, 24000, 22050, 16000, 8000',
    );
  });

  it('keeps streaming audio to STT during the silence hang before speech-stop is confirmed', async () => {
    const stt = new CountingStt();
    const input = make({ stt });
    const push = async (ms: number, amp: number) => {
      for (let t = 0; t < ms; t += 20) {
        await vi.advanceTimersByTimeAsync(20);
        input.pushAudio(new Int16Array(320).fill(amp), 16000);
      }
      await input.idle();
      await vi.advanceTimersByTimeAsync(0);
    };
    await push(500, 0);
    await push(1000, 1000);
    // Speech from 500 ms; pre-roll from 300 ms; everything up to 1500 ms is sent.
    expect(stt.samples).toBe((1500 - 300) * 16);
    // 200 ms of silence: under minSilenceMs (300), so speech has not stopped, yet STT gets that audio now.
    await push(200, 0);
    expect(stt.samples).toBe((1700 - 300) * 16);
    input.close();
  });
  it('refuses bad frames with exact messages; a frame of exactly maxFrameMs is taken', () => {
    const input = make({ maxFrameMs: 100 });
    const message = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(AudioFormatError);
        return (e as AudioFormatError).message;
      }
      return 'taken';
    };
    expect(message(() => input.pushAudio([1, 2] as unknown as Int16Array, 16000))).toBe(
      'Audio frame must be an Int16Array of PCM16 samples',
    );
    expect(message(() => input.pushAudio(new Int16Array(0), 16000))).toBe('Audio frame is empty');
    expect(message(() => input.pushAudio(new Int16Array(1601), 16000))).toBe(
      'Audio frame of 1601 samples at 16000 Hz exceeds 100 ms',
    );
    expect(message(() => input.pushAudio(new Int16Array(1600), 16000))).toBe('taken');
    expect(message(() => input.pushAudio(new Int16Array(4800), 48000))).toBe('taken');
    input.close();
  });

  it('publishes audio.level at most every levelIntervalMs (inclusive), with the frame level', async () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const levels: Array<{ t: number; payload: unknown }> = [];
    const t0 = Date.now();
    bus.subscribe('audio.level', (p) => levels.push({ t: Date.now() - t0, payload: p }));
    const input = make({ levelIntervalMs: 40 }, bus);
    const frame = new Int16Array(320).fill(1000);
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(frame, 16000);
    }
    await input.idle();
    expect(levels.map((l) => l.t)).toEqual([20, 60, 100]);
    expect(levels[0]!.payload).toEqual({ sessionId: 's1', source: 'user', level: audioLevel(frame) });
    input.close();
  });

  it('audio.level goes to listeners only: the first frame after a listener subscribes is measured at once', async () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const input = make({}, bus);
    const frame = new Int16Array(320).fill(1000);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(frame, 16000);
    }
    const levels: number[] = [];
    bus.subscribe('audio.level', (p) => levels.push(p.level));
    await vi.advanceTimersByTimeAsync(20);
    input.pushAudio(frame, 16000);
    await input.idle();
    expect(levels).toEqual([audioLevel(frame)]);
    input.close();
  });
});
