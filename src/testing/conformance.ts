/**
 * Conformance suites for Colloquy's model interfaces (`VadModel`, `SttModel`, `TtsModel`). Run them
 * against your own implementation inside a Vitest file:
 *
 *   import { describeTtsModel } from 'colloquy/testing/conformance';
 *   describeTtsModel('my TTS', () => new MyTts());
 *
 * Every implementation that ships with Colloquy (and every mock in `colloquy/testing`) passes them.
 */
import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../errors.ts';
import type { SttEvent, SttModel, TtsModel, VadModel } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* framesOf(pcm: Int16Array, size: number): AsyncIterable<Int16Array> {
  for (let i = 0; i < pcm.length; i += size) yield pcm.subarray(i, Math.min(pcm.length, i + size));
}

export interface VadConformanceOptions {
  /** Audio (at the model's sample rate) that the model must score as speech in at least one frame. */
  speech: () => Int16Array | Promise<Int16Array>;
}

export function describeVadModel(name: string, make: () => VadModel, options: VadConformanceOptions): void {
  describe(`VadModel conformance: ${name}`, () => {
    it('declares a positive integer sample rate and frame size, and the VAD specification version', () => {
      const vad = make();
      expect(vad.specificationVersion).toBe(SPECIFICATION_VERSIONS.vad);
      expect(Number.isInteger(vad.sampleRate) && vad.sampleRate > 0).toBe(true);
      expect(Number.isInteger(vad.frameSamples) && vad.frameSamples > 0).toBe(true);
      expect(typeof vad.provider).toBe('string');
      expect(typeof vad.modelId).toBe('string');
    });

    it('scores silence low and speech high, each frame a probability in [0, 1]', async () => {
      const vad = make();
      const stream = vad.createStream();
      const silence = new Int16Array(vad.frameSamples);
      for (let i = 0; i < 10; i++) {
        const p = await stream.process(silence);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(0.5);
      }
      const speech = await options.speech();
      let best = 0;
      for (let i = 0; i + vad.frameSamples <= speech.length; i += vad.frameSamples) {
        const p = await stream.process(speech.subarray(i, i + vad.frameSamples));
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        best = Math.max(best, p);
      }
      expect(best).toBeGreaterThan(0.5);
      stream.close();
    });

    it("keeps state per stream: speech in one stream does not change another stream's scores", async () => {
      // Reference: a fresh model's fresh stream scoring silence.
      const silence = new Int16Array(make().frameSamples);
      const reference = make().createStream();
      const expected: number[] = [];
      for (let i = 0; i < 3; i++) expected.push(await reference.process(silence));
      reference.close();

      const vadModel = make();
      const a = vadModel.createStream();
      const b = vadModel.createStream();
      const speech = await options.speech();
      for (let i = 0; i + vadModel.frameSamples <= speech.length; i += vadModel.frameSamples) {
        await a.process(speech.subarray(i, i + vadModel.frameSamples));
      }
      for (let i = 0; i < 3; i++) expect(await b.process(silence)).toBeCloseTo(expected[i]!, 4);
      // reset() makes a stream fresh again.
      a.reset();
      for (let i = 0; i < 3; i++) expect(await a.process(silence)).toBeCloseTo(expected[i]!, 4);
      a.close();
      b.close();
    });

    it('keeps no frame: scores are the same when the caller reuses one buffer and overwrites it after each score', async () => {
      // Colloquy hands every stream one buffer, refilled for each frame: a model may read the frame
      // until its score is returned (or its promise settles), and must copy what it needs later.
      const speech = await options.speech();
      const size = make().frameSamples;
      const frames: Int16Array[] = [];
      for (let i = 0; i + size <= speech.length; i += size) frames.push(speech.slice(i, i + size));
      frames.push(new Int16Array(size), ...frames.slice(0, 3)); // silence, then speech again

      const reference = make().createStream();
      const expected: number[] = [];
      for (const f of frames) expected.push(await reference.process(f));
      reference.close();

      const stream = make().createStream();
      const buffer = new Int16Array(size);
      for (let i = 0; i < frames.length; i++) {
        buffer.set(frames[i]!);
        expect(await stream.process(buffer)).toBeCloseTo(expected[i]!, 4);
        for (let k = 0; k < size; k++) buffer[k] = k % 2 === 0 ? 32767 : -32768; // the next caller's audio
      }
      stream.close();
    });

    it('rejects a frame of the wrong size with a typed error', async () => {
      const vad = make();
      const stream = vad.createStream();
      const wrong = new Int16Array(vad.frameSamples + 1);
      await expect(Promise.resolve().then(() => stream.process(wrong))).rejects.toBeInstanceOf(ColloquyError);
      stream.close();
    });
  });
}

export interface SttConformanceOptions {
  /** An utterance (PCM16 mono at `sampleRate`) and the transcript the model must produce. */
  utterance: () => Promise<{ pcm: Int16Array; sampleRate: number; text: string }>;
}

export function describeSttModel(name: string, make: () => SttModel, options: SttConformanceOptions): void {
  describe(`SttModel conformance: ${name}`, () => {
    it('declares the STT specification version', () => {
      expect(make().specificationVersion).toBe(SPECIFICATION_VERSIONS.stt);
    });

    it('yields exactly one final, last, with the expected text', async () => {
      const stt = make();
      const { pcm, sampleRate, text } = await options.utterance();
      const events: SttEvent[] = await collect(
        stt.transcribe(framesOf(pcm, sampleRate / 50), { sampleRate }),
      );
      const finals = events.filter((e) => e.type === 'final');
      expect(finals).toHaveLength(1);
      expect(events.at(-1)?.type).toBe('final');
      expect(finals[0]!.text.toLowerCase().trim()).toBe(text.toLowerCase().trim());
      for (const e of events) expect(typeof e.text).toBe('string');
    });

    it('stops when aborted', async () => {
      const stt = make();
      const { pcm, sampleRate } = await options.utterance();
      const controller = new AbortController();
      async function* endless(): AsyncIterable<Int16Array> {
        yield pcm.subarray(0, sampleRate / 50);
        controller.abort(new Error('stop'));
        await new Promise(() => {}); // the caller never ends the audio
      }
      const run = collect(stt.transcribe(endless(), { sampleRate, abortSignal: controller.signal }));
      await expect(
        Promise.race([
          run.then(
            () => 'ended',
            () => 'rejected',
          ),
          new Promise((r) => setTimeout(() => r('hung'), 5000)),
        ]),
      ).resolves.not.toBe('hung');
    });
  });
}

export interface TtsConformanceOptions {
  /** A short sentence to synthesise (default "Hello there."). */
  text?: string;
}

export function describeTtsModel(
  name: string,
  make: () => TtsModel,
  options: TtsConformanceOptions = {},
): void {
  const text = options.text ?? 'Hello there.';
  describe(`TtsModel conformance: ${name}`, () => {
    it('declares the TTS specification version', () => {
      expect(make().specificationVersion).toBe(SPECIFICATION_VERSIONS.tts);
    });

    it('yields non-empty PCM16 chunks at its declared sample rate', async () => {
      const tts = make();
      expect(Number.isInteger(tts.sampleRate) && tts.sampleRate > 0).toBe(true);
      const chunks = await collect(tts.synthesize({ text }));
      expect(chunks.length).toBeGreaterThan(0);
      let samples = 0;
      let peak = 0;
      for (const c of chunks) {
        expect(c).toBeInstanceOf(Int16Array);
        samples += c.length;
        for (let i = 0; i < c.length; i++) peak = Math.max(peak, Math.abs(c[i]!));
      }
      // At least 100 ms of audible audio for a short sentence.
      expect(samples).toBeGreaterThan(tts.sampleRate / 10);
      expect(peak).toBeGreaterThan(100);
    });

    it('rejects empty text with a typed error', async () => {
      const tts = make();
      await expect(collect(tts.synthesize({ text: '   ' }))).rejects.toBeInstanceOf(ColloquyError);
    });

    it('yields no audio when the signal is already aborted', async () => {
      const tts = make();
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      let samples = 0;
      const outcome = await Promise.race([
        (async () => {
          for await (const c of tts.synthesize({ text, abortSignal: controller.signal })) samples += c.length;
        })().then(
          () => 'ended',
          () => 'rejected',
        ),
        new Promise((r) => setTimeout(() => r('hung'), 5000)),
      ]);
      expect(outcome).not.toBe('hung');
      expect(samples).toBe(0);
    });

    it('stops when aborted mid-way: nothing after the abort, and it ends promptly', async () => {
      const tts = make();
      const long = `${text} ${text} ${text}`;
      const full = await collect(tts.synthesize({ text: long }));
      const controller = new AbortController();
      let after = 0;
      let aborted = false;
      const outcome = await Promise.race([
        (async () => {
          for await (const c of tts.synthesize({ text: long, abortSignal: controller.signal })) {
            if (aborted) after += c.length;
            else {
              aborted = true;
              controller.abort(new Error('stop'));
            }
          }
        })().then(
          () => 'ended',
          () => 'rejected',
        ),
        new Promise((r) => setTimeout(() => r('hung'), 5000)),
      ]);
      expect(outcome).not.toBe('hung');
      expect(aborted).toBe(true);
      // The chunk being yielded when the abort came is the last one.
      expect(after).toBe(0);
      expect(full.length).toBeGreaterThan(0);
    });
  });
}
