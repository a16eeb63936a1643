import type { TranscriptionModelV3CallOptions } from '@ai-sdk/provider';
import { APICallError } from '@ai-sdk/provider';
import { MockTranscriptionModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../audio/wav.ts';
import type { SttEvent } from '../types.ts';
import { TranscriptionStt } from './transcription-stt.ts';

const response = { timestamp: new Date(0), modelId: 'whisper-mock' };

function model(
  result: { text: string; language?: string } | ((o: TranscriptionModelV3CallOptions) => Promise<never>),
  calls: TranscriptionModelV3CallOptions[] = [],
) {
  return new MockTranscriptionModelV3({
    provider: 'mock-stt',
    modelId: 'whisper-mock',
    doGenerate: async (options) => {
      calls.push(options);
      if (typeof result === 'function') return result(options);
      return {
        text: result.text,
        segments: [],
        language: result.language,
        durationInSeconds: undefined,
        warnings: [],
        response,
      };
    },
  });
}

async function* frames(count: number, size = 320, value = 1000): AsyncIterable<Int16Array> {
  for (let i = 0; i < count; i++) yield new Int16Array(size).fill(value + i);
}

async function collect(iter: AsyncIterable<SttEvent>): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

describe('TranscriptionStt', () => {
  it('buffers the utterance, sends one WAV and yields one final with the language', async () => {
    const calls: TranscriptionModelV3CallOptions[] = [];
    const stt = new TranscriptionStt({ model: model({ text: ' Hello world. ', language: 'en' }, calls) });
    expect([stt.provider, stt.modelId, stt.sampleRate]).toEqual(['mock-stt', 'whisper-mock', 16000]);
    const events = await collect(stt.transcribe(frames(5), { sampleRate: 16000 }));
    expect(events).toEqual([{ type: 'final', text: 'Hello world.', language: 'en' }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.mediaType).toBe('audio/wav');
    const wav = decodeWav(calls[0]!.audio as Uint8Array);
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBe(1600);
    expect([wav.samples[0], wav.samples[320], wav.samples[1599]]).toEqual([1000, 1001, 1004]);
  });

  it('falls back to the requested language and treats an empty transcript as silence', async () => {
    const stt = new TranscriptionStt({ model: model({ text: '' }) });
    expect(await collect(stt.transcribe(frames(2), { sampleRate: 24000, language: 'fr' }))).toEqual([
      { type: 'final', text: '', language: 'fr' },
    ]);
  });

  it('does not call the model for an empty utterance', async () => {
    const calls: TranscriptionModelV3CallOptions[] = [];
    const stt = new TranscriptionStt({ model: model({ text: 'x' }, calls) });
    expect(await collect(stt.transcribe(frames(0), { sampleRate: 16000 }))).toEqual([
      { type: 'final', text: '' },
    ]);
    expect(calls).toHaveLength(0);
  });

  it('maps provider failures to a ProviderError carrying retryability', async () => {
    const failing = model(async () => {
      throw new APICallError({
        message: 'rate limited',
        url: 'https://example.test',
        requestBodyValues: {},
        statusCode: 429,
        isRetryable: true,
      });
    });
    const stt = new TranscriptionStt({ model: failing, maxRetries: 0 });
    await expect(collect(stt.transcribe(frames(1), { sampleRate: 16000 }))).rejects.toMatchObject({
      name: 'ProviderError',
      code: 'stt_failed',
      retryable: true,
    });
  });

  it('times out a stalled provider even if it ignores its signal', async () => {
    const stalled = model(() => new Promise<never>(() => {}));
    const stt = new TranscriptionStt({ model: stalled, timeoutMs: 30 });
    await expect(collect(stt.transcribe(frames(1), { sampleRate: 16000 }))).rejects.toMatchObject({
      code: 'timeout',
      retryable: true,
    });
  });

  it('aborts a pending request with the abort reason, passing the signal to the provider', async () => {
    let providerSignal: AbortSignal | undefined;
    const stalled = model((o) => {
      providerSignal = o.abortSignal;
      return new Promise<never>(() => {});
    });
    const controller = new AbortController();
    const run = collect(
      new TranscriptionStt({ model: stalled }).transcribe(frames(1), {
        sampleRate: 16000,
        abortSignal: controller.signal,
      }),
    );
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(providerSignal?.aborted).toBe(true);
  });

  it('bounds the utterance length', async () => {
    const stt = new TranscriptionStt({ model: model({ text: 'x' }), maxAudioSeconds: 0.01 });
    await expect(collect(stt.transcribe(frames(2), { sampleRate: 16000 }))).rejects.toMatchObject({
      code: 'stt_audio_too_long',
    });
  });
});
