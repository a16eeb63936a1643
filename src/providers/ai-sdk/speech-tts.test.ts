import type { SpeechModelV3CallOptions } from '@ai-sdk/provider';
import { MockSpeechModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { concatPcm, int16ToBytes } from '../../audio/pcm.ts';
import { encodeWav } from '../../audio/wav.ts';
import { SpeechTts } from './speech-tts.ts';

const response = { timestamp: new Date(0), modelId: 'tts-mock' };

function model(audio: Uint8Array | (() => Promise<never>), calls: SpeechModelV3CallOptions[] = []) {
  return new MockSpeechModelV3({
    provider: 'mock-tts',
    modelId: 'tts-mock',
    doGenerate: async (options) => {
      calls.push(options);
      if (typeof audio === 'function') return audio();
      return { audio, warnings: [], response };
    },
  });
}

async function collect(iter: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const c of iter) out.push(c);
  return out;
}

const ramp = (n: number) => Int16Array.from({ length: n }, (_, i) => i);

describe('SpeechTts', () => {
  it('requests WAV, decodes it and yields fixed-size chunks, passing voice and instructions', async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const tts = new SpeechTts({
      model: model(encodeWav(ramp(6000), { sampleRate: 24000, channels: 1 }), calls),
      voice: 'alloy',
      speed: 1.1,
    });
    expect([tts.provider, tts.modelId, tts.sampleRate]).toEqual(['mock-tts', 'tts-mock', 24000]);
    const chunks = await collect(tts.synthesize({ text: 'Hello there.', instructions: 'cheerful' }));
    expect(chunks.map((c) => c.length)).toEqual([2400, 2400, 1200]);
    expect(Array.from(concatPcm(chunks))).toEqual(Array.from(ramp(6000)));
    expect(calls[0]).toMatchObject({
      text: 'Hello there.',
      outputFormat: 'wav',
      voice: 'alloy',
      speed: 1.1,
      instructions: 'cheerful',
    });
  });

  it('downmixes stereo and resamples a WAV at another rate', async () => {
    const stereo = new Int16Array(48000 * 2).fill(1000); // 0.5 s at 48 kHz
    const tts = new SpeechTts({
      model: model(encodeWav(stereo, { sampleRate: 48000, channels: 2 })),
      sampleRate: 16000,
    });
    const audio = concatPcm(await collect(tts.synthesize({ text: 'x' })));
    expect(audio.length).toBe(16000);
    expect(audio[8000]).toBe(1000);
  });

  it('passes raw PCM through at the configured rate', async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const pcm = ramp(100);
    const tts = new SpeechTts({
      model: model(int16ToBytes(pcm).slice(), calls),
      outputFormat: 'pcm',
      sampleRate: 22050,
    });
    const chunks = await collect(tts.synthesize({ text: 'x', voice: 'nova' }));
    expect(Array.from(concatPcm(chunks))).toEqual(Array.from(pcm));
    expect(calls[0]).toMatchObject({ outputFormat: 'pcm', voice: 'nova' });
  });

  it('rejects compressed audio and odd-length PCM with typed errors', async () => {
    const mp3 = Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
    await expect(
      collect(new SpeechTts({ model: model(mp3) }).synthesize({ text: 'x' })),
    ).rejects.toMatchObject({
      code: 'tts_unsupported_audio',
    });
    const odd = new SpeechTts({ model: model(new Uint8Array(3)), outputFormat: 'pcm' });
    await expect(collect(odd.synthesize({ text: 'x' }))).rejects.toMatchObject({
      code: 'pcm_odd_byte_count',
    });
  });

  it('validates text', async () => {
    const tts = new SpeechTts({ model: model(new Uint8Array(2)), maxTextLength: 5 });
    await expect(collect(tts.synthesize({ text: ' ' }))).rejects.toMatchObject({ code: 'tts_bad_text' });
    await expect(collect(tts.synthesize({ text: 'toolong' }))).rejects.toMatchObject({
      code: 'tts_text_too_long',
    });
  });

  it('times out a stalled provider and honours abort', async () => {
    const stalled = model(() => new Promise<never>(() => {}));
    await expect(
      collect(new SpeechTts({ model: stalled, timeoutMs: 20 }).synthesize({ text: 'x' })),
    ).rejects.toMatchObject({
      code: 'timeout',
    });
    const controller = new AbortController();
    const run = collect(
      new SpeechTts({ model: stalled }).synthesize({ text: 'x', abortSignal: controller.signal }),
    );
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a request its caller bounds (TtsRequest.timeoutMs) runs on the caller signal; a longer caller bound keeps its own', async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const wav = encodeWav(ramp(100), { sampleRate: 24000, channels: 1 });
    const controller = new AbortController();
    const tts = new SpeechTts({ model: model(wav, calls), timeoutMs: 1000 });
    await collect(tts.synthesize({ text: 'x', abortSignal: controller.signal, timeoutMs: 1000 }));
    expect(calls[0]?.abortSignal).toBe(controller.signal);
    // The caller's bound is longer than the model's: the model's own bound still applies.
    const stalled = model(() => new Promise<never>(() => {}));
    await expect(
      collect(
        new SpeechTts({ model: stalled, timeoutMs: 20 }).synthesize({
          text: 'x',
          abortSignal: new AbortController().signal,
          timeoutMs: 60_000,
        }),
      ),
    ).rejects.toMatchObject({ code: 'timeout' });
    // Provider failures keep their typed error on the caller-bounded path.
    const failing = model(() => Promise.reject(new Error('boom')));
    await expect(
      collect(
        new SpeechTts({ model: failing, maxRetries: 0 }).synthesize({
          text: 'x',
          abortSignal: new AbortController().signal,
          timeoutMs: 100,
        }),
      ),
    ).rejects.toMatchObject({ code: 'tts_failed', message: expect.stringContaining('boom') });
  });
});
