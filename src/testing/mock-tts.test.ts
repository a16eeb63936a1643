import { describe, expect, it } from 'vitest';
import { concatPcm } from '../audio/pcm.ts';
import { MockTts } from './mock-tts.ts';

async function collect(iter: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const c of iter) out.push(c);
  return out;
}

describe('MockTts', () => {
  it('makes audio of a known length per character, in fixed chunks', async () => {
    const tts = new MockTts({ sampleRate: 16000, msPerChar: 50, chunkMs: 100 });
    expect(tts.samplesFor('hello')).toBe(4000);
    expect(tts.durationMsFor('hello')).toBe(250);
    const chunks = await collect(tts.synthesize({ text: 'hello' }));
    expect(chunks.map((c) => c.length)).toEqual([1600, 1600, 800]);
    expect(Array.from(concatPcm(chunks))).toEqual(Array.from(tts.audioFor('hello')));
    expect(tts.completed).toBe(1);
    expect(tts.requests.map((r) => r.text)).toEqual(['hello']);
  });

  it('synthesises a repeated text to the same audio, each chunk a copy the caller may change', async () => {
    const tts = new MockTts({ sampleRate: 16000, msPerChar: 50, chunkMs: 100 });
    const first = await collect(tts.synthesize({ text: 'hello' }));
    first[0]!.fill(0);
    const second = await collect(tts.synthesize({ text: 'hello' }));
    expect(Array.from(concatPcm(second))).toEqual(Array.from(tts.audioFor('hello')));
    const other = await collect(tts.synthesize({ text: 'hi' }));
    expect(Array.from(concatPcm(other))).toEqual(Array.from(tts.audioFor('hi')));
    expect(tts.requests.map((r) => r.text)).toEqual(['hello', 'hello', 'hi']);
  });

  it('produces a 440 Hz tone by default and a ramp on request', () => {
    const tone = new MockTts({ sampleRate: 24000 }).audioFor('abcd');
    expect(tone[0]).toBe(0);
    expect(tone[Math.round(24000 / 440 / 4)]).toBeGreaterThan(7900);
    const ramp = new MockTts({ waveform: 'ramp' }).audioFor('a');
    expect(Array.from(ramp.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('delays the first chunk and lets abort interrupt the delay', async () => {
    const tts = new MockTts({ firstByteDelayMs: 10_000 });
    const controller = new AbortController();
    const run = collect(tts.synthesize({ text: 'hi', abortSignal: controller.signal }));
    setTimeout(() => controller.abort(), 5);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(tts.completed).toBe(0);
  });

  it('stops between chunks once aborted', async () => {
    const tts = new MockTts({ chunkMs: 20, chunkDelayMs: 1 });
    const controller = new AbortController();
    let received = 0;
    const run = (async () => {
      for await (const _ of tts.synthesize({ text: 'a long sentence', abortSignal: controller.signal })) {
        if (++received === 2) controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(received).toBe(2);
  });

  it('fails matching texts, optionally after some chunks', async () => {
    const tts = new MockTts({ failOn: /boom/, failAfterChunks: 1, chunkMs: 50 });
    const got: Int16Array[] = [];
    const run = (async () => {
      for await (const c of tts.synthesize({ text: 'boom boom' })) got.push(c);
    })();
    await expect(run).rejects.toMatchObject({ code: 'tts_failed', retryable: true });
    expect(got).toHaveLength(1);
    expect(await collect(tts.synthesize({ text: 'fine' }))).toHaveLength(4);
    const immediate = new MockTts({ failOn: (t) => t === 'x', error: new Error('custom') });
    await expect(collect(immediate.synthesize({ text: 'x' }))).rejects.toThrow('custom');
  });

  it('stalls matching texts until aborted', async () => {
    const tts = new MockTts({ stallOn: 'hang', stallAfterChunks: 1 });
    const controller = new AbortController();
    const got: Int16Array[] = [];
    const run = (async () => {
      for await (const c of tts.synthesize({ text: 'hang on', abortSignal: controller.signal })) {
        got.push(c);
        setTimeout(() => controller.abort(), 5);
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(got).toHaveLength(1);
  });
});
