/**
 * `SpeechModelTts`: an AI SDK `SpeechModel` as an encoded TTS. What reaches the provider for each
 * request (text, format, voice, instructions, the abort signal) and the bytes handed back as they came.
 */
import type { SpeechModelV3CallOptions } from '@ai-sdk/provider';
import { MockSpeechModelV3 } from 'ai/test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SpeechModelTts } from './encoded-speech.ts';

const MP3 = Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);

function model(calls: SpeechModelV3CallOptions[], fail?: Error) {
  return new MockSpeechModelV3({
    provider: 'mock-tts',
    modelId: 'tts-mock',
    doGenerate: async (options) => {
      calls.push(options);
      if (fail) throw fail;
      return { audio: MP3, warnings: [], response: { timestamp: new Date(0), modelId: 'tts-mock' } };
    },
  });
}

describe('SpeechModelTts', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("returns the provider's bytes as they came, in the configured format, voice and instructions", async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const tts = new SpeechModelTts({
      model: model(calls),
      outputFormat: 'mp3',
      voice: 'alloy',
      instructions: 'calm',
    });
    expect([tts.provider, tts.modelId, tts.format]).toEqual(['mock-tts', 'tts-mock', 'mp3']);
    expect(Array.from(await tts.synthesizeEncoded({ text: 'Hello there.' }))).toEqual(Array.from(MP3));
    expect(calls[0]).toMatchObject({
      text: 'Hello there.',
      outputFormat: 'mp3',
      voice: 'alloy',
      instructions: 'calm',
    });
    // A request's own voice and instructions win over the configured ones.
    await tts.synthesizeEncoded({ text: 'Again.', voice: 'nova', instructions: 'cheerful' });
    expect(calls[1]).toMatchObject({ text: 'Again.', voice: 'nova', instructions: 'cheerful' });
  });

  it("a request its caller bounds (TtsRequest.timeoutMs) runs on the caller's own signal", async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const tts = new SpeechModelTts({ model: model(calls), outputFormat: 'opus', timeoutMs: 1000 });
    const controller = new AbortController();
    await tts.synthesizeEncoded({ text: 'x', abortSignal: controller.signal, timeoutMs: 1000 });
    // No second timer, controller and race of its own: the provider sees the caller's signal itself.
    expect(calls[0]?.abortSignal).toBe(controller.signal);
    // Without the caller's bound the request keeps its own timeout: the provider gets another signal.
    await tts.synthesizeEncoded({ text: 'x', abortSignal: controller.signal });
    expect(calls[1]?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(calls[1]?.abortSignal).not.toBe(controller.signal);
  });

  it('a request is bounded at 30 s by default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const tts = new SpeechModelTts({
      model: new MockSpeechModelV3({ doGenerate: () => new Promise(() => {}) }),
      outputFormat: 'mp3',
    });
    const settled: unknown[] = [];
    void tts.synthesizeEncoded({ text: 'x' }).catch((e: unknown) => settled.push(e));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual([expect.objectContaining({ code: 'timeout' })]);
    expect((settled[0] as Error).message).toMatch(/timed out after 30000 ms$/);
  });

  it('a provider failure is a typed tts_failed error; blank text is refused before any request', async () => {
    const calls: SpeechModelV3CallOptions[] = [];
    const tts = new SpeechModelTts({
      model: model(calls, new Error('boom')),
      outputFormat: 'mp3',
      maxRetries: 0,
    });
    await expect(tts.synthesizeEncoded({ text: 'x' })).rejects.toMatchObject({
      code: 'tts_failed',
      message: expect.stringContaining('boom'),
    });
    expect(calls).toHaveLength(1);
    await expect(tts.synthesizeEncoded({ text: '  ' })).rejects.toMatchObject({ code: 'tts_bad_text' });
    expect(calls).toHaveLength(1);
  });
});
