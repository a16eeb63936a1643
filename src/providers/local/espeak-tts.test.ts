import { describe, expect, it } from 'vitest';
import { concatPcm, rms } from '../../audio/pcm.ts';
import { ConfigError, InvalidInputError } from '../../errors.ts';
import { EspeakTts } from './espeak-tts.ts';

async function collect(iter: AsyncIterable<Int16Array>): Promise<{ chunks: number; audio: Int16Array }> {
  const parts: Int16Array[] = [];
  for await (const c of iter) parts.push(c);
  return { chunks: parts.length, audio: concatPcm(parts) };
}

describe('EspeakTts', () => {
  it('uses the espeak-ng program when it is on PATH', async () => {
    expect(await new EspeakTts().resolveBackend()).toBe('cli');
    expect(await new EspeakTts({ binary: 'no-such-espeak-binary' }).resolveBackend()).toBe('wasm');
  });

  it('synthesizes speech at 22 050 Hz through the CLI, longer text giving longer audio', async () => {
    const tts = new EspeakTts({ backend: 'cli' });
    expect(tts.sampleRate).toBe(22050);
    const short = await collect(tts.synthesize({ text: 'Hello.' }));
    const long = await collect(
      tts.synthesize({ text: 'Hello there, this is a considerably longer sentence.' }),
    );
    expect(short.audio.length).toBeGreaterThan(22050 * 0.3);
    expect(long.audio.length).toBeGreaterThan(short.audio.length * 2);
    expect(rms(long.audio)).toBeGreaterThan(0.02);
  });

  it('reads user text as text, never as options', async () => {
    const { audio } = await collect(new EspeakTts().synthesize({ text: '--help -v xx' }));
    expect(audio.length).toBeGreaterThan(22050 * 0.5);
  });

  it('kills the process on abort and rejects with the abort reason', async () => {
    const tts = new EspeakTts({ backend: 'cli' });
    const controller = new AbortController();
    const text = 'This is a long paragraph that would take many seconds to speak aloud. '.repeat(20);
    let chunks = 0;
    const run = (async () => {
      for await (const _ of tts.synthesize({ text, abortSignal: controller.signal })) {
        chunks++;
        controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunks).toBe(1);
  });

  it('honours a pre-aborted signal without starting', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      collect(new EspeakTts().synthesize({ text: 'hi', abortSignal: controller.signal })),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('validates text, voice and options with typed errors', async () => {
    const tts = new EspeakTts({ maxTextLength: 10 });
    await expect(collect(tts.synthesize({ text: '   ' }))).rejects.toMatchObject({ code: 'tts_bad_text' });
    await expect(collect(tts.synthesize({ text: 42 as unknown as string }))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(collect(tts.synthesize({ text: 'x'.repeat(11) }))).rejects.toMatchObject({
      code: 'tts_text_too_long',
    });
    await expect(collect(tts.synthesize({ text: 'hi', voice: '-x; rm' }))).rejects.toMatchObject({
      code: 'tts_bad_voice',
    });
    expect(() => new EspeakTts({ rateWpm: 5 })).toThrow(ConfigError);
  });

  it('reports a failing voice as a ProviderError', async () => {
    await expect(
      collect(new EspeakTts({ backend: 'cli', voice: 'zz-nonexistent' }).synthesize({ text: 'hi' })),
    ).rejects.toMatchObject({
      code: 'tts_failed',
    });
  });

  it('falls back to the WASM build with the same output format', async () => {
    const tts = new EspeakTts({ backend: 'wasm', chunkSamples: 4410 });
    const first = await collect(tts.synthesize({ text: 'Book a table for two.' }));
    expect(first.chunks).toBeGreaterThan(2);
    expect(first.audio.length).toBeGreaterThan(22050 * 0.8);
    expect(rms(first.audio)).toBeGreaterThan(0.02);
    const second = await collect(tts.synthesize({ text: 'Book a table for two.' }));
    expect(Array.from(second.audio)).toEqual(Array.from(first.audio));
    expect(process.exitCode ?? 0).toBe(0);
  });
});
