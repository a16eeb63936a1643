import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamingResampler } from '../../audio/resample.ts';
import { EventBus } from '../../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../../bus/events.ts';
import { AudioFormatError, type ConfigError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import type { SttEvent, SttModel, SttStreamOptions, VadModel, VadStream } from '../../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import { amplitudeVad, MockVad } from '../../testing/mock-vad.ts';
import { UserAudioInput, type UserAudioInputOptions, type UserTurnInfo } from './user-input.ts';

interface Script {
  interims?: string[];
  final?: string;
  finalDelayMs?: number;
  fail?: boolean;
  hang?: boolean;
}

/** Streaming STT whose transcripts are scripted per utterance; records the audio it received. */
class ScriptedStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'test';
  readonly modelId = 'scripted-stt';
  readonly sampleRate = 16000;
  readonly received: Int16Array[] = [];
  readonly options: SttStreamOptions[] = [];
  constructor(private readonly script: Script[]) {}

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    const index = this.options.push(options) - 1;
    const s = this.script[index] ?? { final: '' };
    const interims = [...(s.interims ?? [])];
    const parts: Int16Array[] = [];
    for await (const pcm of audio) {
      parts.push(pcm.slice());
      if (interims.length > 0 && parts.length % 5 === 0) yield { type: 'interim', text: interims.shift()! };
    }
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    this.received[index] = all;
    if (s.fail) throw new Error('stt down');
    if (s.hang) await new Promise(() => {});
    if (s.finalDelayMs) await new Promise((r) => setTimeout(r, s.finalDelayMs));
    yield { type: 'final', text: s.final ?? '', language: 'en' };
  }
}

/**
 * `base` (an amplitude VAD) with the methods of its streams replaced where `over` says: a slow,
 * hand-answered, failing or counting model.
 */
function wrapVad(base: MockVad, over: (inner: VadStream) => Partial<VadStream>): VadModel {
  return {
    specificationVersion: base.specificationVersion,
    provider: base.provider,
    modelId: base.modelId,
    sampleRate: base.sampleRate,
    frameSamples: base.frameSamples,
    createStream: () => {
      const inner = base.createStream();
      return {
        process: (frame) => inner.process(frame),
        reset: () => inner.reset(),
        close: () => inner.close(),
        ...over(inner),
      };
    },
  };
}

/** 20 ms frames at 16 kHz from [durationMs, amplitude] segments. */
function frames(segments: Array<[number, number]>): Int16Array[] {
  const out: Int16Array[] = [];
  for (const [ms, amp] of segments) for (let t = 0; t < ms; t += 20) out.push(new Int16Array(320).fill(amp));
  return out;
}

function setup(stt: SttModel | undefined, options: Partial<UserAudioInputOptions> = {}, botSpeaking = false) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const t0 = Date.now();
  const calls: Array<{ call: string; t: number }> = [];
  const turns: Array<{ text: string; info: UserTurnInfo }> = [];
  const vad = amplitudeVad();
  const bot = { speaking: botSpeaking };
  const input = new UserAudioInput({
    bus,
    sessionId: 's1',
    vad,
    stt,
    inputSampleRate: 16000,
    isBotSpeaking: () => bot.speaking,
    speech: {
      pause: () => calls.push({ call: 'pause', t: Date.now() - t0 }),
      resume: () => calls.push({ call: 'resume', t: Date.now() - t0 }),
      interrupt: (reason) => {
        bot.speaking = false;
        calls.push({ call: `interrupt:${reason}`, t: Date.now() - t0 });
      },
    },
    onUserTurn: (text, info) => turns.push({ text, info }),
    ...options,
  });
  /** Real-time feed: each frame is pushed when it has been "captured" (at its end time). */
  const feed = async (list: Int16Array[]) => {
    for (const f of list) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(f, 16000);
    }
    await input.idle();
  };
  const of = <K extends BusEvent['type']>(type: K) =>
    events.filter((e) => e.type === type).map((e) => e.payload as EventMap[K]);
  return { bus, input, vad, feed, of, events, calls, turns, t0 };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('UserAudioInput', () => {
  it('publishes speech start/stop at the times of the audio, transcribes with pre-roll, ends the turn', async () => {
    const stt = new ScriptedStt([{ interims: ['hello'], final: 'hello there' }]);
    const { feed, of, turns, t0, events } = setup(stt);
    await feed(
      frames([
        [500, 100],
        [1000, 1000],
        [1000, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(of('user.speech.start')).toEqual([{ sessionId: 's1', at: t0 + 500 }]);
    expect(of('user.speech.stop')).toEqual([{ sessionId: 's1', at: t0 + 1500, durationMs: 1000 }]);
    // Pre-roll: audio from 300 ms (200 ms before the onset) to the confirmed stop at 1800 ms.
    const audio = stt.received[0]!;
    expect(audio.length).toBe((1800 - 300) * 16);
    expect(audio[0]).toBe(100);
    expect(audio[200 * 16]).toBe(1000);
    expect(stt.options[0]!.sampleRate).toBe(16000);
    expect(of('transcription.interim').map((p) => p.text)).toEqual(['hello']);
    expect(of('transcription.final')).toEqual([
      { sessionId: 's1', text: 'hello there', language: 'en', at: t0 + 1800 },
    ]);
    // Endpointing: 500 ms after the stop was confirmed (1800 ms).
    expect(turns).toEqual([
      { text: 'hello there', info: { speechEndAt: t0 + 1500, transcriptAt: t0 + 1800 } },
    ]);
    const order = events
      .map((e) => e.type)
      .filter((t) => t.startsWith('user.') || t.startsWith('transcription.'));
    expect(order).toEqual([
      'user.speech.start',
      'transcription.interim',
      'user.speech.stop',
      'transcription.final',
    ]);
  });

  it('a pre-roll starting inside a frame sends STT the audio from that point, not from the frame start', async () => {
    const stt = new ScriptedStt([{ final: 'hello there' }]);
    const { feed } = setup(stt, { vadOptions: { prefixPaddingMs: 210 } });
    await feed(
      frames([
        [500, 100],
        [1000, 1000],
        [1000, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1000);
    // The onset at 500 ms less 210 ms: 290 ms, the middle of the frame 280-300 ms.
    expect(stt.received[0]!.length).toBe((1800 - 290) * 16);
  });

  it('the audio STT is given stays as it was while later frames reuse the input buffers', async () => {
    // An STT that keeps the arrays it is given (a provider may batch them before sending).
    const kept: Int16Array[] = [];
    let atEnd: Int16Array | undefined;
    const stt: SttModel = {
      specificationVersion: SPECIFICATION_VERSIONS.stt,
      provider: 'test',
      modelId: 'keeping-stt',
      sampleRate: 16000,
      async *transcribe(audio) {
        for await (const pcm of audio) kept.push(pcm);
        atEnd = new Int16Array(kept.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of kept) {
          atEnd.set(p, at);
          at += p.length;
        }
        yield { type: 'final', text: 'counted' };
      },
    };
    const { feed, turns } = setup(stt);
    // Every speech frame different (1000, 1001, ...), so a reused buffer shows.
    const speech = Array.from({ length: 50 }, (_, i) => new Int16Array(320).fill(1000 + i));
    const input = [...frames([[500, 0]]), ...speech, ...frames([[1000, 0]])];
    await feed(input);
    await vi.advanceTimersByTimeAsync(1000);
    expect(turns.map((t) => t.text)).toEqual(['counted']);
    // Pre-roll from 300 ms to the confirmed stop at 1800 ms: exactly the audio pushed then, read
    // when the audio ended, after the history had reused the buffers of its first second.
    const pushed = new Int16Array(input.length * 320);
    for (const [i, f] of input.entries()) pushed.set(f, i * 320);
    expect(atEnd).toEqual(pushed.subarray(300 * 16, 1800 * 16));
  });

  it.each([
    [16000, 320],
    [48000, 960],
  ])(
    'input at %i Hz while the user is silent: the frame copies are reused, not made anew per frame',
    async (rate, samples) => {
      // Counts every Int16Array of a frame's length made while silent frames are pushed (the
      // resampled pieces at 48 kHz are a third as long, and are not counted).
      let copies = 0;
      const Real = Int16Array;
      vi.stubGlobal(
        'Int16Array',
        new Proxy(Real, {
          construct(target, args, newTarget) {
            if (args[0] === samples) copies++;
            return Reflect.construct(target, args, newTarget);
          },
        }),
      );
      try {
        const { input } = setup(new ScriptedStt([]), { inputSampleRate: rate });
        const silence = new Real(samples);
        const push = async (n: number) => {
          for (let i = 0; i < n; i++) {
            input.pushAudio(silence, rate);
            await input.idle();
          }
        };
        // The first 2 s: copies are made while the pre-roll history (about 1 s, 50 frames) fills up
        // (at the STT's rate it keeps the copies themselves) and starts giving its oldest pieces back.
        await push(100);
        copies = 0;
        // Then each frame reuses a copy freed by an earlier frame.
        await push(100);
        expect(copies).toBe(0);
      } finally {
        vi.unstubAllGlobals();
      }
    },
  );

  it('without STT, speech start and stop are still published at the times of the audio', async () => {
    const { feed, of, t0 } = setup(undefined);
    await feed(
      frames([
        [500, 100],
        [1000, 1000],
        [1000, 0],
      ]),
    );
    expect(of('user.speech.start')).toEqual([{ sessionId: 's1', at: t0 + 500 }]);
    expect(of('user.speech.stop')).toEqual([{ sessionId: 's1', at: t0 + 1500, durationMs: 1000 }]);
  });

  it('a throwing onSpeechStart is reported as a vad error, and the audio after it is still handled', async () => {
    const { feed, of } = setup(undefined, {
      onSpeechStart: () => {
        throw new Error('listener down');
      },
    });
    await feed(
      frames([
        [500, 0],
        [1000, 1000],
        [1000, 0],
      ]),
    );
    expect(of('error')).toEqual([
      {
        sessionId: 's1',
        component: 'vad',
        error: expect.objectContaining({ code: 'vad_failed', message: 'listener down' }),
        severity: 'error',
      },
    ]);
    expect(of('user.speech.start')).toHaveLength(1);
    expect(of('user.speech.stop')).toHaveLength(1);
  });

  it('calls onUserTurn only when endpointing fires, and joins utterances when speech resumes first', async () => {
    const stt = new ScriptedStt([{ final: 'book a table' }, { final: 'for two' }]);
    const { feed, turns } = setup(stt, { endpointing: { endpointingMs: 500 } });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [400, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(499);
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(turns.map((t) => t.text)).toEqual(['book a table for two']);
  });

  it('counts endpointing from when the deciding frame arrived, not from when a slow VAD scored it', async () => {
    // each score arrives 15 ms after its frame (an inference queue), frames every 20 ms
    const lagging = amplitudeVad();
    const slowVad = wrapVad(lagging, (stream) => ({
      process: (frame) => {
        const p = stream.process(frame);
        return new Promise<number>((resolve) => setTimeout(() => resolve(p as number), 15));
      },
    }));
    const stt = new ScriptedStt([{ final: 'hello there' }]);
    const { input, turns, t0 } = setup(stt, { vad: slowVad, endpointing: { endpointingMs: 500 } });
    // speech 100–700 ms; 300 ms of silence (minSilenceMs) decides at the frame ending at 1000 ms,
    // pushed at t0 + 1000 (each frame is pushed when captured, at its end)
    for (const f of frames([
      [100, 0],
      [600, 1000],
      [400, 0],
    ])) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(f, 16000);
    }
    await vi.advanceTimersByTimeAsync(t0 + 1499 - Date.now());
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(turns.map((t) => t.text)).toEqual(['hello there']);
  });

  it('a VAD that stalls on the deciding frame: the audio queued behind it is scored before the turn can end', async () => {
    // Scores take 5 ms, but the frame that decides the speech-stop (ending at 1000 ms) takes 600 ms:
    // the user's next words (from 1100 ms) wait in the queue meanwhile. Counting the silence from
    // that frame's arrival must not end the turn before those words are scored.
    const base = amplitudeVad();
    let n = 0;
    const stalling = wrapVad(base, (stream) => ({
      process: (frame) => {
        const p = stream.process(frame) as number;
        const ms = ++n === 50 ? 600 : 5;
        return new Promise<number>((resolve) => setTimeout(() => resolve(p), ms));
      },
    }));
    const stt = new ScriptedStt([{ final: 'book a table' }, { final: 'for two' }]);
    const { input, turns } = setup(stt, { vad: stalling, endpointing: { endpointingMs: 500 } });
    for (const f of frames([
      [100, 0],
      [600, 1000],
      [400, 0],
      [500, 1000],
      [1000, 0],
    ])) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(f, 16000);
    }
    await vi.advanceTimersByTimeAsync(2000);
    expect(turns.map((t) => t.text)).toEqual(['book a table for two']);
  });

  it('consults the end-of-turn detector and waits up to maxEndpointingMs', async () => {
    const stt = new ScriptedStt([{ final: 'I want to' }]);
    const seen: string[] = [];
    const { feed, turns } = setup(stt, {
      endOfTurn: {
        provider: 'test',
        predict: async (ctx) => {
          seen.push(ctx.transcript);
          return 0.2;
        },
      },
      endpointing: { endpointingMs: 500, maxEndpointingMs: 2000 },
    });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1500);
    expect(seen).toEqual(['I want to']);
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(turns.map((t) => t.text)).toEqual(['I want to']);
  });

  it('waits for a late final before reporting the turn', async () => {
    const stt = new ScriptedStt([{ final: 'slow words', finalDelayMs: 1500 }]);
    const { feed, turns, t0 } = setup(stt);
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(turns).toEqual([{ text: 'slow words', info: { speechEndAt: t0 + 700, transcriptAt: t0 + 2500 } }]);
  });

  it('interrupts the bot within one frame of minInterruptionMs (user speech at 1.2 s)', async () => {
    const stt = new ScriptedStt([{ final: 'wait a moment' }]);
    const { feed, calls } = setup(stt, { interruption: { minInterruptionMs: 300 } }, true);
    await feed(
      frames([
        [1200, 0],
        [800, 1000],
        [400, 0],
      ]),
    );
    const interrupt = calls.find((c) => c.call === 'interrupt:user_speaking')!;
    expect(calls[0]).toEqual({ call: 'pause', t: 1300 });
    expect(interrupt.t).toBeGreaterThanOrEqual(1500);
    expect(interrupt.t).toBeLessThanOrEqual(1520);
    expect(calls.filter((c) => c.call.startsWith('interrupt'))).toHaveLength(1);
  });

  it('without STT the bot is interrupted as with it, within one frame of minInterruptionMs', async () => {
    // No utterance is ever open: every frame of the speech still counts towards the interruption.
    const { feed, calls } = setup(undefined, { interruption: { minInterruptionMs: 300 } }, true);
    await feed(
      frames([
        [1200, 0],
        [800, 1000],
        [400, 0],
      ]),
    );
    expect(calls.map((c) => c.call)).toEqual(['pause', 'interrupt:user_speaking']);
    expect(calls[0]).toEqual({ call: 'pause', t: 1300 });
    expect(calls[1]!.t).toBeGreaterThanOrEqual(1500);
    expect(calls[1]!.t).toBeLessThanOrEqual(1520);
  });

  it('a 150 ms cough pauses the bot, which resumes after the false-interruption timeout', async () => {
    const stt = new ScriptedStt([{ final: '' }]);
    const { feed, calls, turns } = setup(
      stt,
      { interruption: { minInterruptionMs: 300, falseInterruptionTimeoutMs: 1000 } },
      true,
    );
    await feed(
      frames([
        [1200, 0],
        [150, 1000],
        [500, 0],
      ]),
    );
    // 1200..1360 is speech (frames are 20 ms), stop confirmed at 1660; resume at 2660.
    await vi.advanceTimersByTimeAsync(2660 - 1860 - 1);
    expect(calls.map((c) => c.call)).toEqual(['pause']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([
      { call: 'pause', t: 1300 },
      { call: 'resume', t: 2660 },
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(turns).toEqual([]);
  });

  it('interrupts on words when minInterruptionWords is reached', async () => {
    const stt = new ScriptedStt([{ interims: ['hold', 'hold on'], final: 'hold on' }]);
    const { feed, calls, of } = setup(
      stt,
      { interruption: { minInterruptionMs: 60_000, minInterruptionWords: 2 } },
      true,
    );
    await feed(
      frames([
        [100, 0],
        [700, 1000],
      ]),
    );
    expect(of('transcription.interim').map((p) => p.text)).toEqual(['hold', 'hold on']);
    expect(calls.map((c) => c.call)).toEqual(['pause', 'interrupt:user_speaking']);
  });

  it('mute ends the utterance, drops audio and unmute restores it', async () => {
    const stt = new ScriptedStt([{ final: 'cut off' }]);
    const { input, feed, vad, of, turns } = setup(stt);
    await feed(
      frames([
        [100, 0],
        [400, 1000],
      ]),
    );
    input.mute();
    expect(input.muted).toBe(true);
    expect(of('user.speech.stop')).toHaveLength(1);
    const scored = vad.framesScored;
    await feed(frames([[500, 1000]]));
    expect(vad.framesScored).toBe(scored);
    expect(of('user.speech.start')).toHaveLength(1);
    input.unmute();
    expect(of('user.mute.start')).toHaveLength(1);
    expect(of('user.mute.stop')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(turns.map((t) => t.text)).toEqual(['cut off']);
    await feed(frames([[20, 0]]));
    expect(vad.framesScored).toBe(scored + 1);
  });

  it('commitTurn while muted ends nothing: the pending turn ends when endpointing says so', async () => {
    const stt = new ScriptedStt([{ final: 'book a table' }]);
    const { feed, input, turns } = setup(stt, { endpointing: { endpointingMs: 3000 } });
    await feed(
      frames([
        [200, 0],
        [600, 1000],
        [1000, 0],
      ]),
    );
    expect(turns).toEqual([]); // speech stopped; endpointing waits
    input.mute();
    await input.commitTurn();
    await vi.advanceTimersByTimeAsync(100);
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(turns.map((t) => t.text)).toEqual(['book a table']);
  });

  it('mute twice announces once; after close, mute and unmute do nothing', async () => {
    const { input, of } = setup(undefined);
    input.mute();
    input.mute();
    expect(of('user.mute.start')).toHaveLength(1);
    input.unmute();
    input.unmute();
    expect(of('user.mute.stop')).toHaveLength(1);
    input.close();
    input.mute();
    input.unmute();
    expect(of('user.mute.start')).toHaveLength(1);
    expect(of('user.mute.stop')).toHaveLength(1);
  });

  it('validates frames with typed errors', () => {
    const { input } = setup(undefined);
    const bad = (f: () => void, code: string) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(AudioFormatError);
        expect((e as AudioFormatError).code).toBe(code);
      }
    };
    bad(() => input.pushAudio(new Int16Array(320), 12345), 'unsupported_sample_rate');
    bad(() => input.pushAudio(new Int16Array(0), 16000), 'empty_audio_frame');
    bad(() => input.pushAudio(new Int16Array(32000), 16000), 'audio_frame_too_large');
    bad(() => input.pushAudio([1, 2] as unknown as Int16Array, 16000), 'invalid_audio_frame');
    let tooLarge: unknown;
    try {
      input.pushAudio(new Int16Array(32000), 16000);
    } catch (e) {
      tooLarge = e;
    }
    expect((tooLarge as AudioFormatError).details).toEqual({
      samples: 32000,
      sampleRate: 16000,
      maxFrameMs: 1000,
    });
  });

  it('bounds the audio waiting for the VAD: frames over maxQueuedMs are dropped, counted and warned once per backlog', async () => {
    // A VAD that answers asynchronously, as an ONNX model does: frames pushed meanwhile queue.
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000, async: true });
    const { input, of } = setup(undefined, { maxQueuedMs: 100, vad });
    const pushAtOnce = (n: number) => {
      for (let i = 0; i < n; i++) input.pushAudio(new Int16Array(320), 16000);
    };
    // The first frame is scored at once; the next five (100 ms) wait; the last four find it full.
    pushAtOnce(10);
    expect(input.droppedFrames).toBe(4);
    await input.idle();
    expect(vad.framesScored).toBe(6);
    const warnings = () => of('error').filter((e) => e.error.code === 'audio_input_behind');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      sessionId: 's1',
      component: 'vad',
      severity: 'warn',
      error: {
        retryable: true,
        message: 'More than 100 ms of audio waits to be scored: new frames are dropped until it catches up',
        details: { maxQueuedMs: 100, droppedFrames: 1 },
      },
    });
    // The queue caught up: frames are taken again, and a new backlog warns again.
    pushAtOnce(10);
    await input.idle();
    expect(vad.framesScored).toBe(12);
    expect(input.droppedFrames).toBe(8);
    expect(warnings()).toHaveLength(2);
  });

  it.each([Number.NaN, 0, -20, Number.POSITIVE_INFINITY])(
    'refuses maxQueuedMs %s (invalid_options)',
    (maxQueuedMs) => {
      expect(() => setup(undefined, { maxQueuedMs })).toThrowError(
        expect.objectContaining({ code: 'invalid_options' }),
      );
    },
  );

  it('takes a frame longer than maxQueuedMs when nothing waits', async () => {
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000, async: true });
    const { input } = setup(undefined, { maxQueuedMs: 10, vad });
    // 20 ms frames: the first is being scored, the second waits alone, the third finds it full.
    for (let i = 0; i < 3; i++) input.pushAudio(new Int16Array(320), 16000);
    await input.idle();
    expect(input.droppedFrames).toBe(1);
    expect(vad.framesScored).toBe(2);
  });

  it('takes a 10 s recording pushed at once by default, and drops nothing', async () => {
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000, async: true });
    const { input } = setup(undefined, { vad });
    for (let i = 0; i < 500; i++) input.pushAudio(new Int16Array(320), 16000);
    await input.idle();
    expect(vad.framesScored).toBe(500);
    expect(input.droppedFrames).toBe(0);
  });

  it('mute empties the queue, so its audio no longer counts against maxQueuedMs', async () => {
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000, async: true });
    const { input } = setup(undefined, { maxQueuedMs: 100, vad });
    for (let i = 0; i < 6; i++) input.pushAudio(new Int16Array(320), 16000);
    input.mute();
    input.unmute();
    // One frame is still being scored: five fit behind it, the sixth finds 100 ms waiting.
    for (let i = 0; i < 6; i++) input.pushAudio(new Int16Array(320), 16000);
    await input.idle();
    expect(input.droppedFrames).toBe(1);
    expect(vad.framesScored).toBe(6);
  });

  it('resamples input at another rate for the VAD and STT', async () => {
    const stt = new ScriptedStt([{ final: 'hi' }]);
    const { input, of } = setup(stt);
    for (let i = 0; i < 50; i++) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(new Int16Array(960).fill(i >= 5 && i < 30 ? 1000 : 0), 48000);
    }
    await input.idle();
    expect(of('user.speech.start')).toHaveLength(1);
    expect(of('user.speech.stop')[0]!.durationMs).toBeCloseTo(500, -1);
    // Speech 100..600 ms: pre-roll clamps to 0, the stop is confirmed at 900 ms.
    expect(Math.abs(stt.received[0]!.length - 900 * 16)).toBeLessThanOrEqual(32);
  });

  it('input whose rate changes between frames is resampled from each frame’s own rate', async () => {
    // The first 200 ms at 48 kHz, the rest at 24 kHz: 20 ms frames all along.
    const stt = new ScriptedStt([{ final: 'hi' }]);
    const { input, of } = setup(stt);
    for (let i = 0; i < 50; i++) {
      await vi.advanceTimersByTimeAsync(20);
      const rate = i < 10 ? 48000 : 24000;
      input.pushAudio(new Int16Array(rate / 50).fill(i >= 5 && i < 30 ? 1000 : 0), rate);
    }
    await input.idle();
    expect(of('user.speech.start')).toHaveLength(1);
    expect(of('user.speech.stop')[0]!.durationMs).toBeCloseTo(500, -1);
    // As at one rate: audio from 0 to the stop confirmed at 900 ms, 16 samples a millisecond.
    expect(Math.abs(stt.received[0]!.length - 900 * 16)).toBeLessThanOrEqual(32);
  });

  it('a VAD that throws on a frame: one vad error for that frame, and the frames after it are still scored', async () => {
    let calls = 0;
    const vad = new MockVad({
      frameSamples: 320,
      sampleRate: 16000,
      script: () => {
        calls++;
        if (calls === 3) throw new Error('model exploded');
        return 0;
      },
    });
    const { feed, of } = setup(undefined, { vad });
    await feed(frames([[200, 0]])); // 10 frames
    expect(of('error').map((p) => [p.component, p.error.code])).toEqual([['vad', 'vad_failed']]);
    expect(calls).toBeGreaterThanOrEqual(10); // every frame after the third too
  });

  it.each([
    ['synchronous', false],
    ['asynchronous', true],
  ])(
    'a %s VAD that fails frame after frame (a model backing off): one vad error per run of failures, not one per frame',
    async (_, async) => {
      let calls = 0;
      const vad = new MockVad({
        frameSamples: 320,
        sampleRate: 16000,
        async,
        script: () => {
          calls++;
          if ((calls >= 3 && calls <= 5) || calls === 10) throw new Error(`model exploded at ${calls}`);
          return 0;
        },
      });
      const { feed, of } = setup(undefined, { vad });
      await feed(frames([[200, 0]])); // calls 3..5 fail, 6..9 score, 10 fails again, the rest score
      expect(calls).toBeGreaterThanOrEqual(10);
      expect(of('error').map((p) => [p.component, p.error.code, p.error.message])).toEqual([
        ['vad', 'vad_failed', 'model exploded at 3'],
        ['vad', 'vad_failed', 'model exploded at 10'],
      ]);
    },
  );

  it('publishes audio.level only to listeners, at most every 100 ms', async () => {
    const { bus, feed } = setup(undefined);
    const levels: number[] = [];
    await feed(frames([[200, 1000]]));
    bus.subscribe('audio.level', (p) => levels.push(p.level));
    await feed(frames([[200, 1000]]));
    expect(levels).toHaveLength(2);
    expect(levels[0]).toBeGreaterThan(0);
  });

  it('reports STT failures and a missing final as transcription.error', async () => {
    const stt = new ScriptedStt([{ fail: true }, { hang: true }]);
    const { feed, of, turns } = setup(stt, { sttFinalTimeoutMs: 2000 });
    await feed(
      frames([
        [100, 0],
        [300, 1000],
        [400, 0],
        [300, 1000],
        [400, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(2500);
    const errors = of('transcription.error').map((p) => p.error.code);
    expect(errors).toEqual(['stt_failed', 'timeout']);
    expect(stt.options[1]!.abortSignal?.aborted).toBe(true);
    expect(turns).toEqual([]);
  });
});

describe('UserAudioInput: payloads, options and cleanup', () => {
  const speechOnce = () =>
    frames([
      [100, 0],
      [600, 1000],
      [400, 0],
    ]);

  it.each([
    ['vad', 'VAD model'],
    ['stt', 'STT model'],
  ] as const)('refuses a %s of another specification version with the exact message', (kind, name) => {
    const stranger = { specificationVersion: 'v0', provider: 'odd' };
    let caught: unknown;
    try {
      setup(kind === 'stt' ? (stranger as unknown as SttModel) : undefined, {
        ...(kind === 'vad' ? { vad: stranger as unknown as VadModel } : {}),
      });
    } catch (e) {
      caught = e;
    }
    expect((caught as ConfigError).code).toBe('unsupported_specification');
    expect((caught as ConfigError).message).toMatch(new RegExp(`^The ${name} "odd" implements "v0"; `));
  });

  it('stamps events with the injected clock', async () => {
    const clock = {
      now: () => Date.now() + 1_000_000,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const stt = new ScriptedStt([{ final: 'hi' }]);
    const { feed, of, turns, t0 } = setup(stt, { clock });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(1000);
    expect(of('user.speech.start')).toEqual([{ sessionId: 's1', at: t0 + 1_000_100 }]);
    expect(of('user.speech.stop')).toEqual([{ sessionId: 's1', at: t0 + 1_000_700, durationMs: 600 }]);
    expect(turns).toEqual([
      { text: 'hi', info: { speechEndAt: t0 + 1_000_700, transcriptAt: t0 + 1_001_000 } },
    ]);
  });

  it('userSpeaking is true from user.speech.start to user.speech.stop', async () => {
    const { input, feed } = setup(undefined);
    expect(input.userSpeaking).toBe(false);
    await feed(
      frames([
        [100, 0],
        [300, 1000],
      ]),
    );
    expect(input.userSpeaking).toBe(true);
    await feed(frames([[400, 0]]));
    expect(input.userSpeaking).toBe(false);
  });

  it('the end-of-turn detector sees the interim text while the final is awaited, and the history', async () => {
    const stt = new ScriptedStt([
      { interims: ['so I', 'so I want'], final: 'so I want it', finalDelayMs: 3000 },
    ]);
    const seen: Array<{ transcript: string; history: unknown }> = [];
    const history = [{ role: 'assistant' as const, text: 'Hello?' }];
    const { feed } = setup(stt, {
      history: () => history,
      endOfTurn: {
        provider: 'test',
        predict: async (ctx) => {
          seen.push({ transcript: ctx.transcript, history: ctx.history });
          return 0.9;
        },
      },
      endpointing: { endpointingMs: 500 },
    });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    expect(seen).toEqual([{ transcript: 'so I want', history }]);
  });

  it('a failing end-of-turn detector is published as an end_of_turn error, and the turn ends on silence', async () => {
    const stt = new ScriptedStt([{ final: 'hello' }]);
    const { feed, of, turns } = setup(stt, {
      endOfTurn: {
        provider: 'test',
        predict: async () => {
          throw new Error('detector down');
        },
      },
      endpointing: { endpointingMs: 500 },
    });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    expect(of('error')).toEqual([
      {
        sessionId: 's1',
        component: 'end_of_turn',
        error: expect.objectContaining({ code: 'end_of_turn_failed', message: 'detector down' }),
        severity: 'error',
      },
    ]);
    expect(turns.map((t) => t.text)).toEqual(['hello']);
  });

  it('every caller of idle() is resolved when the queue is drained', async () => {
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000, async: true });
    const { input } = setup(undefined, { vad });
    for (let i = 0; i < 5; i++) input.pushAudio(new Int16Array(320), 16000);
    const done: number[] = [];
    await Promise.all([input.idle().then(() => done.push(1)), input.idle().then(() => done.push(2))]);
    expect(done.sort()).toEqual([1, 2]);
    expect(vad.framesScored).toBe(5);
  });

  it('commitTurn during speech: the speech stops now and the turn is delivered without waiting for endpointing', async () => {
    const stt = new ScriptedStt([{ final: 'book it' }]);
    const empty: number[] = [];
    const { input, feed, of, turns } = setup(stt, {
      endpointing: { endpointingMs: 5000 },
      onEmptyTurn: () => empty.push(1),
    });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
      ]),
    );
    expect(of('user.speech.stop')).toEqual([]);
    await input.commitTurn();
    expect(of('user.speech.stop')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(turns.map((t) => t.text)).toEqual(['book it']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(turns.map((t) => t.text)).toEqual(['book it']);
    expect(empty).toEqual([]);
  });

  it('commitTurn with nothing said ends no turn: neither onUserTurn nor onEmptyTurn', async () => {
    const empty: number[] = [];
    const { input, feed, turns } = setup(new ScriptedStt([]), { onEmptyTurn: () => empty.push(1) });
    await feed(frames([[200, 0]]));
    await input.commitTurn();
    await vi.advanceTimersByTimeAsync(1000);
    expect([turns, empty]).toEqual([[], []]);
  });

  it('a turn whose speech gave no words calls onEmptyTurn once, not onUserTurn', async () => {
    const empty: number[] = [];
    const { feed, turns } = setup(new ScriptedStt([{ final: '  ' }]), { onEmptyTurn: () => empty.push(1) });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(1000);
    expect([turns, empty]).toEqual([[], [1]]);
  });

  it('mute and unmute publish their session only', () => {
    const { input, of } = setup(undefined);
    input.mute();
    input.unmute();
    expect([of('user.mute.start'), of('user.mute.stop')]).toEqual([
      [{ sessionId: 's1' }],
      [{ sessionId: 's1' }],
    ]);
  });

  it('two turns one after the other: each delivered once, with the times of its own speech and final', async () => {
    const stt = new ScriptedStt([{ final: 'first' }, { final: 'second' }]);
    const { feed, turns, t0 } = setup(stt, { endpointing: { endpointingMs: 500 } });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    expect(turns).toEqual([
      { text: 'first', info: { speechEndAt: t0 + 700, transcriptAt: t0 + 1000 } },
      { text: 'second', info: { speechEndAt: t0 + 2400, transcriptAt: t0 + 2700 } },
    ]);
  });

  it('a joined turn reports the time of its latest final', async () => {
    const stt = new ScriptedStt([{ final: 'book a table', finalDelayMs: 900 }, { final: 'for two' }]);
    const { feed, turns, t0 } = setup(stt, { endpointing: { endpointingMs: 500 } });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [400, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1000);
    // finals at 1000 + 900 and at 2000; the second speech ended at 1700
    expect(turns).toEqual([
      { text: 'book a table for two', info: { speechEndAt: t0 + 1700, transcriptAt: t0 + 2000 } },
    ]);
  });

  it('a turn still waiting for its final when the next turn ends is closed with what it has', async () => {
    const stt = new ScriptedStt([{ final: 'lost', finalDelayMs: 60_000 }, { final: 'second' }]);
    const empty: number[] = [];
    const { feed, turns } = setup(stt, {
      endpointing: { endpointingMs: 500 },
      sttFinalTimeoutMs: 120_000,
      onEmptyTurn: () => empty.push(1),
    });
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    expect([turns, empty]).toEqual([[], []]);
    await feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600);
    expect([turns.map((t) => t.text), empty]).toEqual([['second'], [1]]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect([turns.map((t) => t.text), empty]).toEqual([['second'], [1]]);
  });

  it('a turn delivers finals only: an utterance whose STT failed after interims adds nothing', async () => {
    const stt = new ScriptedStt([{ interims: ['never'], fail: true }, { final: 'kept' }]);
    const { feed, turns } = setup(stt, { endpointing: { endpointingMs: 500 } });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [400, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(turns.map((t) => t.text)).toEqual(['kept']);
  });

  it('transcripts are published with their session, text and time; a final without a language has no language field', async () => {
    const stt: SttModel = {
      specificationVersion: SPECIFICATION_VERSIONS.stt,
      provider: 'test',
      modelId: 'plain',
      sampleRate: 16000,
      async *transcribe(audio) {
        let n = 0;
        for await (const _ of audio) if (++n === 5) yield { type: 'interim', text: 'he' };
        yield { type: 'final', text: 'hey' };
      },
    };
    const { feed, of, t0 } = setup(stt);
    await feed(speechOnce());
    // the start is confirmed at 200 ms (minSpeechMs 100) and the pre-roll from 0 ms goes to STT then
    expect(of('transcription.interim')).toEqual([{ sessionId: 's1', text: 'he', at: t0 + 200 }]);
    expect(of('transcription.final')).toStrictEqual([{ sessionId: 's1', text: 'hey', at: t0 + 1000 }]);
  });

  it('passes the language hint to STT', async () => {
    const stt = new ScriptedStt([{ final: 'hola' }]);
    const { feed } = setup(stt, { language: 'es' });
    await feed(speechOnce());
    expect(stt.options.map((o) => o.language)).toEqual(['es']);
  });

  it('waits 5000 ms for a final by default', async () => {
    const stt = new ScriptedStt([{ hang: true }]);
    const { feed, of } = setup(stt);
    await feed(speechOnce()); // the stop is confirmed at 1000 ms, the feed ends at 1100 ms
    await vi.advanceTimersByTimeAsync(4899);
    expect(of('transcription.error')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(of('transcription.error').map((p) => [p.sessionId, p.error.message])).toEqual([
      ['s1', 'Final transcript timed out after 5000 ms'],
    ]);
  });

  it('onSpeechStart is called after user.speech.start is published', async () => {
    const order: string[] = [];
    const { bus, feed } = setup(undefined, { onSpeechStart: () => order.push('onSpeechStart') });
    bus.subscribe('user.speech.start', () => order.push('user.speech.start'));
    await feed(speechOnce());
    expect(order).toEqual(['user.speech.start', 'onSpeechStart']);
  });

  it('close mid-utterance: the STT request is aborted, the VAD stream closed, nothing more is published or delivered', async () => {
    const stt = new ScriptedStt([{ final: 'never' }]);
    const vad = new MockVad({ frameSamples: 320, sampleRate: 16000 });
    const { input, feed, events, turns } = setup(stt, { vad });
    await feed(
      frames([
        [100, 0],
        [600, 10000],
      ]),
    );
    const before = events.length;
    input.close();
    expect(stt.options[0]!.abortSignal?.aborted).toBe(true);
    expect(vad.streams.map((s) => s.closed)).toEqual([true]);
    input.pushAudio(new Int16Array(320), 16000);
    await input.commitTurn();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events.slice(before)).toEqual([]);
    expect(turns).toEqual([]);
  });

  it('close while a turn waits for endpointing or for its finals: requests aborted, no timer left, no detector asked, no turn', async () => {
    // the final never comes (the model hangs): only close() can end these requests
    const asked: string[] = [];
    const a = setup(new ScriptedStt([{ hang: true }]), {
      endpointing: { endpointingMs: 3000 },
      sttFinalTimeoutMs: 10_000,
      endOfTurn: {
        provider: 'test',
        predict: async (ctx) => {
          asked.push(ctx.transcript);
          return 1;
        },
      },
    });
    await a.feed(speechOnce()); // the speech stopped; the utterance awaits its final, endpointing waits
    a.input.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect([a.turns, asked]).toEqual([[], []]);
    const aborted = (stt: ScriptedStt) => stt.options.map((o) => o.abortSignal?.aborted);
    const sttA = new ScriptedStt([{ hang: true }]);
    const b = setup(sttA, { endpointing: { endpointingMs: 500 }, sttFinalTimeoutMs: 10_000 });
    await b.feed(speechOnce());
    await vi.advanceTimersByTimeAsync(600); // endpointing ended the turn; it awaits its final
    expect(aborted(sttA)).toEqual([false]);
    b.input.close();
    expect(aborted(sttA)).toEqual([true]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(b.turns).toEqual([]);
  });

  it('close while an ended utterance of the turn awaits its final: its request is aborted', async () => {
    const stt = new ScriptedStt([{ hang: true }]);
    const { input, feed } = setup(stt, { endpointing: { endpointingMs: 3000 }, sttFinalTimeoutMs: 10_000 });
    await feed(speechOnce());
    expect(stt.options.map((o) => o.abortSignal?.aborted)).toEqual([false]);
    input.close();
    expect(stt.options.map((o) => o.abortSignal?.aborted)).toEqual([true]);
  });

  it('close after a cough paused the bot: the bot is not resumed nor interrupted later', async () => {
    const { input, feed, calls } = setup(
      undefined,
      { interruption: { minInterruptionMs: 300, falseInterruptionTimeoutMs: 1000 } },
      true,
    );
    await feed(
      frames([
        [1200, 0],
        [150, 1000],
        [500, 0],
      ]),
    );
    expect(calls.map((c) => c.call)).toEqual(['pause']);
    input.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls.map((c) => c.call)).toEqual(['pause']);
  });
});

describe('UserAudioInput: the queue behind an asynchronous VAD', () => {
  /** The amplitude VAD of `amplitudeVad()`, answering with promises as an ONNX model does. */
  const asyncAmplitudeVad = () => new MockVad({ ...amplitudeVad().options, async: true });

  it('the backlog shrinks as its frames are scored: once one of five waiting frames is taken, one more fits', async () => {
    // Scores answered by hand: each frame waits until the test resolves its score.
    const pending: Array<() => void> = [];
    const base = amplitudeVad();
    const handVad = wrapVad(base, (stream) => ({
      process: (frame) => {
        const p = stream.process(frame) as number;
        return new Promise<number>((resolve) => pending.push(() => resolve(p)));
      },
    }));
    const { input } = setup(undefined, { vad: handVad, maxQueuedMs: 100 });
    const push = () => input.pushAudio(new Int16Array(320), 16000);
    for (let i = 0; i < 6; i++) push(); // one being scored, five (100 ms) waiting
    expect([pending.length, input.droppedFrames]).toEqual([1, 0]);
    pending.shift()!();
    await vi.advanceTimersByTimeAsync(0); // the next frame is being scored: 80 ms wait
    expect(pending.length).toBe(1);
    push(); // 100 ms waiting: fits
    push(); // 120 ms: dropped
    expect(input.droppedFrames).toBe(1);
    while (pending.length > 0) {
      pending.shift()!();
      await vi.advanceTimersByTimeAsync(0);
    }
    await input.idle();
    expect(base.framesScored).toBe(7);
  });

  it('mute drops the waiting frames with their rates and arrival times: audio after unmute is scored at its own rate, silence counted from its own arrival', async () => {
    const vad = asyncAmplitudeVad();
    const stt = new ScriptedStt([{ final: 'after mute' }]);
    const { input, feed, turns } = setup(stt, { vad, endpointing: { endpointingMs: 500 } });
    // three 48 kHz frames at once: one being scored, two waiting when the input is muted
    for (let i = 0; i < 3; i++) input.pushAudio(new Int16Array(960), 48000);
    input.mute();
    input.unmute();
    await input.idle();
    const scored = vad.framesScored;
    await vi.advanceTimersByTimeAsync(5000);
    const start = Date.now();
    // 16 kHz audio: every 20 ms frame is one VAD frame
    const list = frames([
      [100, 0],
      [600, 1000],
      [400, 0],
    ]);
    await feed(list);
    expect(vad.framesScored - scored).toBe(list.length);
    // the stop is confirmed by the frame captured at +1000 ms: the turn ends 500 ms after it
    await vi.advanceTimersByTimeAsync(start + 1499 - Date.now());
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(turns.map((t) => t.text)).toEqual(['after mute']);
  });

  it('a score that arrives after mute changes nothing: no speech start, no transcription', async () => {
    const vad = asyncAmplitudeVad();
    const stt = new ScriptedStt([{ final: 'muted words' }]);
    // one 20 ms frame of speech is enough to start speech, also for the detector reset by mute
    const { input, of } = setup(stt, { vad, vadOptions: { minSpeechMs: 20 } });
    input.pushAudio(new Int16Array(320).fill(1000), 16000); // being scored
    input.mute();
    await input.idle();
    await vi.advanceTimersByTimeAsync(1000);
    expect(vad.framesScored).toBe(1);
    expect([of('user.speech.start'), stt.options.length]).toEqual([[], 0]);
  });

  it('the same frame unmuted starts speech and its transcription', async () => {
    const vad = asyncAmplitudeVad();
    const stt = new ScriptedStt([{ final: 'words' }]);
    const { input, of } = setup(stt, { vad, vadOptions: { minSpeechMs: 20 } });
    input.pushAudio(new Int16Array(320).fill(1000), 16000);
    await input.idle();
    expect([of('user.speech.start').length, stt.options.length]).toEqual([1, 1]);
    input.close();
  });

  it.each([
    ['scores', () => asyncAmplitudeVad()],
    [
      'fails on',
      () => wrapVad(amplitudeVad(), () => ({ process: () => Promise.reject(new Error('model down')) })),
    ],
  ] as const)(
    'keeps at most 8 spare frame copies after a burst the VAD %s: the next burst of 20 frames makes 12 new copies',
    async (_, makeVad) => {
      let copies = 0;
      const Real = Int16Array;
      vi.stubGlobal(
        'Int16Array',
        new Proxy(Real, {
          construct(target, args, newTarget) {
            if (args[0] === 320) copies++;
            return Reflect.construct(target, args, newTarget);
          },
        }),
      );
      try {
        const { input } = setup(undefined, { vad: makeVad() });
        const silence = new Real(320);
        const burst = async () => {
          for (let i = 0; i < 20; i++) input.pushAudio(silence, 16000);
          await input.idle();
        };
        await burst();
        copies = 0;
        await burst();
        expect(copies).toBe(12);
      } finally {
        vi.unstubAllGlobals();
      }
    },
  );
});

describe('UserAudioInput: the pre-roll history and resampling', () => {
  const sentToStt = async (options: Partial<UserAudioInputOptions>, segments: Array<[number, number]>) => {
    const stt = new ScriptedStt([{ final: 'x' }]);
    const { feed } = setup(stt, options);
    await feed(frames(segments));
    await vi.advanceTimersByTimeAsync(0);
    return stt.received[0]?.length;
  };

  it.each([
    // [case, VAD options and model, speech at, first sample sent (ms), stop confirmed (ms)]
    ['a 1000 ms prefix padding', { vadOptions: { prefixPaddingMs: 1000 } }, 1500, 500, 2800],
    ['a 1000 ms minSpeechMs', { vadOptions: { minSpeechMs: 1000 } }, 1500, 1300, 2800],
    // 1 s VAD frames: speech 1000–2000 is confirmed at 2000, its stop at the end of the next frame (3000)
    ['1 s VAD frames', { vad: amplitudeVad(16000, 16000) }, 1000, 800, 3000],
  ])('the history keeps the whole pre-roll with %s', async (_, options, speechAt, fromMs, stopMs) => {
    const samples = await sentToStt(options as Partial<UserAudioInputOptions>, [
      [speechAt, 0],
      [1000, 1000],
      [1000, 0],
    ]);
    expect(samples).toBe((stopMs - fromMs) * 16);
  });

  it('48 kHz input reaches the VAD through one streaming resampler: exactly what it makes of the frames in order', async () => {
    const seen: number[] = [];
    const vad = new MockVad({
      frameSamples: 320,
      sampleRate: 16000,
      script: (_i, frame) => {
        seen.push(...frame);
        return 0;
      },
    });
    const { input } = setup(undefined, { vad, inputSampleRate: 48000 });
    const reference = new StreamingResampler(48000, 16000);
    const expected: number[] = [];
    for (let i = 0; i < 10; i++) {
      const frame = Int16Array.from({ length: 960 }, (_, k) =>
        Math.round(8000 * Math.sin((i * 960 + k) / 7)),
      );
      expected.push(...reference.process(frame));
      input.pushAudio(frame, 48000);
      await input.idle();
    }
    expect(seen.length).toBe(3200);
    expect(seen).toEqual(expected.slice(0, 3200));
  });

  it('input at the STT and VAD rate is not copied again per frame (no slice)', async () => {
    const slice = vi.spyOn(Int16Array.prototype, 'slice');
    try {
      const { input } = setup(new ScriptedStt([]));
      const silence = new Int16Array(320);
      for (let i = 0; i < 20; i++) {
        input.pushAudio(silence, 16000);
        await input.idle();
      }
      expect(slice).not.toHaveBeenCalled();
    } finally {
      slice.mockRestore();
    }
  });
});

describe('UserAudioInput: edges of the VAD and of the audio sent to STT', () => {
  it('a VAD that fails on the very first frame is reported', async () => {
    const vad = new MockVad({
      frameSamples: 320,
      sampleRate: 16000,
      script: (i) => {
        if (i === 0) throw new Error('cold start');
        return 0;
      },
    });
    const { feed, of } = setup(undefined, { vad });
    await feed(frames([[100, 0]]));
    expect(of('error').map((p) => [p.component, p.error.code, p.error.message])).toEqual([
      ['vad', 'vad_failed', 'cold start'],
    ]);
  });

  it('STT gets the audio up to the confirmed stop exactly, also when it falls inside an input frame', async () => {
    // 32 ms VAD frames (512 samples), 20 ms input frames (320): speech is samples 8192–16383
    // (512–1024 ms). Its start is confirmed at 640 ms (minSpeechMs 100), so the pre-roll starts at
    // 312 ms (sample 4992); its stop at 1344 ms (minSilenceMs 300: sample 21504), inside the input
    // frame 21440–21760.
    const stt = new ScriptedStt([{ final: 'x' }]);
    const { input } = setup(stt, { vad: amplitudeVad(512, 16000) });
    const signal = new Int16Array(320 * 100);
    signal.fill(1000, 8192, 16384);
    for (let at = 0; at < signal.length; at += 320) {
      await vi.advanceTimersByTimeAsync(20);
      input.pushAudio(signal.subarray(at, at + 320), 16000);
    }
    await input.idle();
    await vi.advanceTimersByTimeAsync(0);
    const sent = stt.received[0]!;
    const expected = signal.subarray(4992, 21504);
    expect([sent.length, sent.every((v, i) => v === expected[i])]).toEqual([21504 - 4992, true]);
  });
});

describe('UserAudioInput: transcripts against a paused bot', () => {
  it.each([
    ['a final with words interrupts the bot', 'wait', ['pause', 'interrupt:user_speaking']],
    ['an empty final lets it resume', '', ['pause', 'resume']],
  ])('a short speech pauses the bot; after its stop, %s', async (_, final, expected) => {
    // The final arrives 100 ms after the stop (confirmed at 1660 ms), within the 1000 ms the
    // false-interruption wait lasts; there are no interims.
    const stt = new ScriptedStt([{ final, finalDelayMs: 100 }]);
    const { feed, calls } = setup(
      stt,
      { interruption: { minInterruptionMs: 300, falseInterruptionTimeoutMs: 1000 } },
      true,
    );
    await feed(
      frames([
        [1200, 0],
        [150, 1000],
        [500, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls.map((c) => c.call)).toEqual(expected);
  });
});

describe('UserAudioInput: turns and release', () => {
  it('a turn waits for the final of each of its utterances, the earlier one arriving last', async () => {
    // finals: the first at 1000 + 2000 ms, the second at 2000 ms; endpointing ends the turn at 2500
    const stt = new ScriptedStt([{ final: 'book a table', finalDelayMs: 2000 }, { final: 'for two' }]);
    const { feed, turns, t0 } = setup(stt, { endpointing: { endpointingMs: 500 } });
    await feed(
      frames([
        [100, 0],
        [600, 1000],
        [400, 0],
        [600, 1000],
        [300, 0],
      ]),
    );
    await vi.advanceTimersByTimeAsync(2999 - (Date.now() - t0));
    expect(turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(turns).toEqual([
      { text: 'book a table for two', info: { speechEndAt: t0 + 1700, transcriptAt: t0 + 3000 } },
    ]);
  });

  it('close twice releases the VAD stream once', () => {
    const base = amplitudeVad();
    let closes = 0;
    const vad = wrapVad(base, (stream) => ({
      close: () => {
        closes++;
        stream.close();
      },
    }));
    const { input } = setup(undefined, { vad });
    input.close();
    input.close();
    expect(closes).toBe(1);
  });
});
