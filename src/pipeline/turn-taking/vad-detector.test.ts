import { describe, expect, it } from 'vitest';
import { amplitudeVad, MockVad } from '../../testing/mock-vad.ts';
import { VadDetector, type VadTransition } from './vad-detector.ts';

/** Audio at 16 kHz from [durationMs, amplitude] segments. */
function timeline(segments: Array<[number, number]>): Int16Array {
  const total = segments.reduce((n, [ms]) => n + ms * 16, 0);
  const out = new Int16Array(total);
  let at = 0;
  for (const [ms, amp] of segments) {
    out.fill(amp, at, at + ms * 16);
    at += ms * 16;
  }
  return out;
}

async function run(d: VadDetector, audio: Int16Array, step: number): Promise<VadTransition[]> {
  const out: VadTransition[] = [];
  for (let i = 0; i < audio.length; i += step) out.push(...(await d.push(audio.subarray(i, i + step))));
  return out;
}

describe('VadDetector', () => {
  it('reports speech start and stop at stream times, confirmed after minSpeechMs / minSilenceMs', async () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    const audio = timeline([
      [500, 0],
      [1000, 1000],
      [1000, 0],
    ]);
    expect(await d.push(audio)).toEqual([
      { type: 'speech-start', atMs: 500, paddedAtMs: 300, confirmedAtMs: 600 },
      { type: 'speech-stop', atMs: 1500, durationMs: 1000, confirmedAtMs: 1800 },
    ]);
    expect(d.speaking).toBe(false);
    expect(d.positionMs).toBe(2500);
  });

  it('gives the same transitions for any push size (re-framing keeps the remainder)', async () => {
    const audio = timeline([
      [300, 0],
      [640, 1000],
      [700, 0],
    ]);
    const whole = await new VadDetector({ vad: amplitudeVad(512) }).push(audio);
    const odd = await run(new VadDetector({ vad: amplitudeVad(512) }), audio, 77);
    expect(odd).toEqual(whole);
    expect(whole.map((t) => t.type)).toEqual(['speech-start', 'speech-stop']);
  });

  it('a model that scores asynchronously (promises, like ONNX) gives the same transitions', async () => {
    const audio = timeline([
      [300, 0],
      [640, 1000],
      [700, 0],
    ]);
    const level = (frame: Int16Array) => {
      let sum = 0;
      for (let k = 0; k < frame.length; k++) sum += Math.abs(frame[k]!);
      return Math.min(1, sum / frame.length / 1000);
    };
    const sync = new VadDetector({ vad: amplitudeVad(512) });
    const promised = new VadDetector({
      vad: new MockVad({ frameSamples: 512, async: true, script: (_i, frame) => level(frame) }),
    });
    const pending = promised.push(audio.subarray(0, 1000));
    expect(pending).toBeInstanceOf(Promise);
    const first = await pending;
    const rest = await run(promised, audio.subarray(1000), 77);
    expect([...first, ...rest]).toEqual(await run(sync, audio, 333));
    expect(rest.map((t) => t.type)).toEqual(['speech-start', 'speech-stop']);
    expect(promised.positionMs).toBe(sync.positionMs);
  });

  it('ignores blips shorter than minSpeechMs and dips shorter than minSilenceMs', async () => {
    const d = new VadDetector({ vad: amplitudeVad(), minSpeechMs: 100, minSilenceMs: 300 });
    const audio = timeline([
      [200, 0],
      [60, 1000], // blip
      [300, 0],
      [400, 1000],
      [200, 0], // dip
      [400, 1000],
      [400, 0],
    ]);
    expect(await run(d, audio, 320)).toEqual([
      { type: 'speech-start', atMs: 560, paddedAtMs: 360, confirmedAtMs: 660 },
      { type: 'speech-stop', atMs: 1560, durationMs: 1000, confirmedAtMs: 1860 },
    ]);
  });

  it('applies hysteresis: between the thresholds it neither starts nor stops speech', async () => {
    const d = new VadDetector({ vad: amplitudeVad(), startThreshold: 0.5, stopThreshold: 0.35 });
    expect(await d.push(timeline([[300, 400]]))).toEqual([]); // p = 0.4 < start
    expect(d.probability).toBeCloseTo(0.4);
    const t = await d.push(
      timeline([
        [200, 1000],
        [600, 400], // p = 0.4 ≥ stop: still speech
        [400, 0],
      ]),
    );
    expect(t).toEqual([
      { type: 'speech-start', atMs: 300, paddedAtMs: 100, confirmedAtMs: 400 },
      { type: 'speech-stop', atMs: 1100, durationMs: 800, confirmedAtMs: 1400 },
    ]);
  });

  it('a probability exactly at a threshold counts as speech (both thresholds are inclusive)', async () => {
    const d = new VadDetector({ vad: amplitudeVad(), startThreshold: 0.5, stopThreshold: 0.35 });
    const t = await d.push(
      timeline([
        [300, 0],
        [500, 500], // p = 0.5, the start threshold: speech starts
        [600, 350], // p = 0.35, the stop threshold: still speech
        [400, 0],
      ]),
    );
    expect(t).toEqual([
      { type: 'speech-start', atMs: 300, paddedAtMs: 100, confirmedAtMs: 400 },
      { type: 'speech-stop', atMs: 1400, durationMs: 1100, confirmedAtMs: 1700 },
    ]);
  });

  it('walks the explicit states and reset ends an utterance in progress', async () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    await d.push(timeline([[40, 1000]]));
    expect(d.currentState).toBe('maybe_speech');
    await d.push(timeline([[100, 1000]]));
    expect(d.currentState).toBe('speech');
    await d.push(timeline([[100, 0]]));
    expect(d.currentState).toBe('maybe_silence');
    expect(d.speaking).toBe(true);
    expect(d.reset()).toEqual({ type: 'speech-stop', atMs: 240, durationMs: 240, confirmedAtMs: 240 });
    expect(d.currentState).toBe('silence');
    expect(d.reset()).toBeUndefined();
  });

  it('reset during speech that began after the stream start: the duration counts from the speech start', async () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    await d.push(
      timeline([
        [500, 0],
        [400, 1000],
      ]),
    );
    expect(d.reset()).toEqual({ type: 'speech-stop', atMs: 900, durationMs: 400, confirmedAtMs: 900 });
  });
});

describe('VadDetector details', () => {
  it('close() closes the model stream; reset() resets it and forgets the last probability', async () => {
    const vad = amplitudeVad();
    const d = new VadDetector({ vad });
    const stream = vad.streams[0]!;
    await d.push(timeline([[40, 1000]]));
    expect(d.probability).toBe(1);
    expect(d.reset()).toBeUndefined(); // maybe_speech is not speaking yet
    expect([stream.resets, d.probability, d.currentState]).toEqual([1, 0, 'silence']);
    expect(stream.closed).toBe(false);
    d.close();
    expect(stream.closed).toBe(true);
  });

  it('defaults: thresholds 0.5 / 0.35, 100 ms of speech, 300 ms of silence, 200 ms of padding', () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    expect([d.startThreshold, d.stopThreshold, d.minSpeechMs, d.minSilenceMs, d.prefixPaddingMs]).toEqual([
      0.5, 0.35, 100, 300, 200,
    ]);
    expect([d.sampleRate, d.frameSamples]).toEqual([16000, 320]);
    // a stop threshold above the start threshold is lowered to it
    expect(
      new VadDetector({ vad: amplitudeVad(), startThreshold: 0.6, stopThreshold: 0.8 }).stopThreshold,
    ).toBe(0.6);
  });

  it('the padded start is not before the stream start', async () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    expect(
      await d.push(
        timeline([
          [60, 0],
          [200, 1000],
        ]),
      ),
    ).toEqual([{ type: 'speech-start', atMs: 60, paddedAtMs: 0, confirmedAtMs: 160 }]);
  });

  it('candidate speech is held to the start threshold: a frame between the thresholds ends it', async () => {
    const d = new VadDetector({ vad: amplitudeVad(), startThreshold: 0.5, stopThreshold: 0.35 });
    const t = await d.push(
      timeline([
        [20, 1000], // maybe_speech
        [200, 400], // p = 0.4: below start, so silence again
        [20, 1000], // a new candidate from 220
        [100, 1000],
      ]),
    );
    expect(t).toEqual([{ type: 'speech-start', atMs: 220, paddedAtMs: 20, confirmedAtMs: 320 }]);
  });

  it('the position counts a partial frame not yet scored', async () => {
    const d = new VadDetector({ vad: amplitudeVad() });
    await d.push(new Int16Array(320 + 80));
    expect(d.positionMs).toBe(25);
    await d.push(new Int16Array(8));
    expect(d.positionMs).toBe(25.5);
  });

  it('an asynchronous model fed several frames in one push scores every frame, in order', async () => {
    const audio = timeline([
      [300, 0],
      [640, 1000],
      [700, 0],
    ]);
    const level = (frame: Int16Array) => {
      let sum = 0;
      for (let k = 0; k < frame.length; k++) sum += Math.abs(frame[k]!);
      return Math.min(1, sum / frame.length / 1000);
    };
    const vad = new MockVad({ frameSamples: 512, async: true, script: (_i, frame) => level(frame) });
    const promised = new VadDetector({ vad });
    const t = await promised.push(audio);
    expect(t).toEqual(await new VadDetector({ vad: amplitudeVad(512) }).push(audio));
    expect(t.map((x) => x.type)).toEqual(['speech-start', 'speech-stop']);
    expect(vad.framesScored).toBe(Math.floor(audio.length / 512));
    expect(promised.positionMs).toBe(1640);
  });

  it('a model that turns asynchronous within a push keeps the transitions found before it', async () => {
    let frames = 0;
    const d = new VadDetector({
      vad: {
        specificationVersion: amplitudeVad().specificationVersion,
        provider: 'test',
        modelId: 'switching',
        sampleRate: 16000,
        frameSamples: 320,
        createStream: () => ({
          process: (frame: Int16Array) => {
            const p = frame[0] === 0 ? 0 : 1;
            return ++frames <= 10 ? p : Promise.resolve(p);
          },
          reset: () => {},
          close: () => {},
        }),
      },
    });
    const out = await d.push(
      timeline([
        [60, 1000], // frames 1-3
        [40, 1000], // frames 4-5: speech confirmed at 100 ms, while the model is synchronous
        [400, 0], // frame 11 on scores by promise: the stop comes from them
      ]),
    );
    expect(out).toEqual([
      { type: 'speech-start', atMs: 0, paddedAtMs: 0, confirmedAtMs: 100 },
      { type: 'speech-stop', atMs: 100, durationMs: 100, confirmedAtMs: 400 },
    ]);
  });
});
