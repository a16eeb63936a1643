import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.ts';
import type { SttEvent } from '../providers/types.ts';
import { MockStt } from './mock-stt.ts';

async function* audio(chunks: number, size = 160): AsyncIterable<Int16Array> {
  for (let i = 0; i < chunks; i++) yield new Int16Array(size);
}

async function collect(iter: AsyncIterable<SttEvent>): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

describe('MockStt', () => {
  it('returns scripted transcripts in order, then the fallback, recording each call', async () => {
    const stt = new MockStt({ script: ['hello', { text: 'bonjour', language: 'fr', confidence: 0.9 }] });
    expect(await collect(stt.transcribe(audio(3), { sampleRate: 16000 }))).toEqual([
      { type: 'final', text: 'hello' },
    ]);
    expect(await collect(stt.transcribe(audio(1), { sampleRate: 8000, language: 'en' }))).toEqual([
      { type: 'final', text: 'bonjour', language: 'fr', confidence: 0.9 },
    ]);
    expect(await collect(stt.transcribe(audio(1), { sampleRate: 16000 }))).toEqual([
      { type: 'final', text: '' },
    ]);
    expect(stt.calls[0]).toEqual({
      sampleRate: 16000,
      language: undefined,
      chunks: 3,
      samples: 480,
      audioEnded: true,
    });
    expect(stt.calls[1]!.sampleRate).toBe(8000);
  });

  it('yields interims while audio arrives and the final after it ends', async () => {
    const stt = new MockStt();
    stt.enqueue({
      text: 'what is the weather',
      interims: ['what', 'what is', 'what is the', 'what is the wea'],
    });
    const events = await collect(stt.transcribe(audio(2), { sampleRate: 16000 }));
    expect(events).toEqual([
      { type: 'interim', text: 'what' },
      { type: 'interim', text: 'what is' },
      { type: 'interim', text: 'what is the' },
      { type: 'interim', text: 'what is the wea' },
      { type: 'final', text: 'what is the weather' },
    ]);
  });

  it('delays the final and lets abort cut the delay', async () => {
    const stt = new MockStt({ script: [{ text: 'slow', delayMs: 10_000 }] });
    const controller = new AbortController();
    const run = collect(stt.transcribe(audio(1), { sampleRate: 16000, abortSignal: controller.signal }));
    setTimeout(() => controller.abort(), 5);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const quick = new MockStt({ script: ['ok'], delayMs: 5 });
    expect(await collect(quick.transcribe(audio(1), { sampleRate: 16000 }))).toEqual([
      { type: 'final', text: 'ok' },
    ]);
  });

  it('fails before or after the audio, with the default or a given error', async () => {
    const stt = new MockStt({ script: [{ mode: 'fail' }, { mode: 'fail-start', error: new Error('boom') }] });
    const first = collect(stt.transcribe(audio(2), { sampleRate: 16000 }));
    await expect(first).rejects.toBeInstanceOf(ProviderError);
    await expect(first).rejects.toMatchObject({ code: 'stt_failed', retryable: true });
    expect(stt.calls[0]!.audioEnded).toBe(true);
    await expect(collect(stt.transcribe(audio(2), { sampleRate: 16000 }))).rejects.toThrow('boom');
    expect(stt.calls[1]!.chunks).toBe(0);
  });

  it('stalls until aborted', async () => {
    const stt = new MockStt({ script: [{ text: 'never', mode: 'stall' }] });
    const controller = new AbortController();
    const events: SttEvent[] = [];
    const run = (async () => {
      for await (const e of stt.transcribe(audio(1), { sampleRate: 16000, abortSignal: controller.signal }))
        events.push(e);
    })();
    setTimeout(() => controller.abort(new Error('turn aborted')), 10);
    await expect(run).rejects.toThrow('turn aborted');
    expect(events).toEqual([]);
  });
});
