import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ColloquyError } from '../errors.ts';
import type { TtsModel, TtsRequest } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { systemClock } from './clock.ts';
import { type Chunk, type EncodedTtsModel, newChunk, type OutputResponse } from './speech-response.ts';
import { cancelChunk, synthesizeChunk, type TtsRequestContext } from './tts-request.ts';

/** Pieces of 100 samples, `gapsMs[i]` apart; after the last one it hangs (ignoring abort) when `hang`. */
class PacedTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'test';
  readonly modelId = 'paced-tts';
  readonly sampleRate = 24000;
  readonly requests: TtsRequest[] = [];
  constructor(
    private readonly gapsMs: number[],
    private readonly hang = false,
  ) {}

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push(request);
    for (const gap of this.gapsMs) {
      await new Promise((resolve) => setTimeout(resolve, gap));
      yield new Int16Array(100).fill(7);
    }
    if (this.hang) await new Promise(() => {});
  }
}

function run(tts: TtsModel | EncodedTtsModel, timeoutMs: number) {
  const audio: Int16Array[] = [];
  const firstAudio: number[] = [];
  const errors: ColloquyError[] = [];
  const ctx: TtsRequestContext = {
    tts,
    clock: systemClock,
    timeoutMs,
    outputSampleRate: 24000,
    onFirstAudio: (_chunk, ms) => firstAudio.push(ms),
    // as SpeechOutput does: the chunk counts the samples it was given
    onAudio: (chunk, pcm) => {
      chunk.samples += pcm.length;
      audio.push(pcm);
    },
    onError: (_chunk, error) => errors.push(error),
  };
  const chunk: Chunk = newChunk(0, 'Hello there.', {} as OutputResponse);
  chunk.state = 'synthesizing';
  let settled = false;
  const done = synthesizeChunk(chunk, ctx).then(() => {
    settled = true;
  });
  return { chunk, audio, errors, firstAudio, done, settled: () => settled };
}

describe('synthesizeChunk', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a stream whose pieces each come within the timeout runs to the end, however long it lasts', async () => {
    const tts = new PacedTts([80, 80, 80, 80, 80, 80]); // 480 ms of request against a 100 ms bound
    const r = run(tts, 100);
    await vi.advanceTimersByTimeAsync(1000);
    await r.done;
    expect(r.errors).toEqual([]);
    expect(r.chunk.state).toBe('done');
    expect(r.audio).toHaveLength(6);
    expect(tts.requests[0]!.abortSignal?.aborted).toBe(false);
  });

  it('the first audio is timed from the request: its first piece, or the whole encoded file', async () => {
    const paced = run(new PacedTts([120, 30]), 1000);
    await vi.advanceTimersByTimeAsync(500);
    await paced.done;
    expect(paced.firstAudio).toEqual([120]);

    const encoded: EncodedTtsModel = {
      specificationVersion: SPECIFICATION_VERSIONS.encodedTts,
      provider: 'test',
      modelId: 'encoded',
      format: 'mp3',
      synthesizeEncoded: () =>
        new Promise((resolve) => setTimeout(() => resolve(new Uint8Array([1, 2])), 250)),
    };
    const file = run(encoded, 1000);
    await vi.advanceTimersByTimeAsync(500);
    await file.done;
    expect(file.firstAudio).toEqual([250]);
    expect(file.chunk.encoded).toEqual(new Uint8Array([1, 2]));
    expect(vi.getTimerCount()).toBe(0); // the request's timeout does not outlive it
  });

  it('a stall fails the chunk timeoutMs after the last piece, not after the request, and aborts it', async () => {
    const tts = new PacedTts([80, 80], true); // last piece at 160 ms, then nothing
    const r = run(tts, 100);
    await vi.advanceTimersByTimeAsync(259);
    expect(r.errors).toEqual([]);
    expect(r.chunk.state).toBe('synthesizing');
    await vi.advanceTimersByTimeAsync(1);
    await r.done;
    expect(r.chunk.state).toBe('failed');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'timeout' });
    expect(r.errors[0]!.message).toContain('TTS audio stream');
    expect(tts.requests[0]!.abortSignal?.aborted).toBe(true);
    expect(r.audio).toHaveLength(2);
  });

  it('empty pieces are no audio: a stream of them still fails as a first-audio timeout', async () => {
    const empty: TtsModel = {
      specificationVersion: SPECIFICATION_VERSIONS.tts,
      provider: 'test',
      modelId: 'empty-tts',
      sampleRate: 24000,
      async *synthesize() {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          yield new Int16Array(0);
        }
      },
    };
    const r = run(empty, 100);
    await vi.advanceTimersByTimeAsync(99);
    expect(r.errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await r.done;
    expect(r.errors[0]!.message).toContain('TTS first audio');
    expect(r.firstAudio).toEqual([]);
    expect(r.audio).toEqual([]);
  });

  it('no first audio within the timeout fails the chunk as a first-audio timeout', async () => {
    const r = run(new PacedTts([], true), 100);
    await vi.advanceTimersByTimeAsync(99);
    expect(r.errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await r.done;
    expect(r.errors[0]!.message).toContain('TTS first audio');
  });

  it('cancelling a chunk whose provider hangs (ignoring its abort) settles the request at once', async () => {
    const tts = new PacedTts([10], true);
    const r = run(tts, 10_000);
    await vi.advanceTimersByTimeAsync(20);
    expect(r.audio).toHaveLength(1);
    expect(r.settled()).toBe(false);
    cancelChunk(r.chunk, 'user_speaking', systemClock);
    await r.done;
    expect(r.chunk.state).toBe('cancelled');
    expect(tts.requests[0]!.abortSignal?.reason).toBe('user_speaking');
    expect(r.errors).toEqual([]);
  });

  it("the provider's stream is closed (`return()`) only when the chunk stops before the stream's end", async () => {
    /** Two pieces 10 ms apart, then done; counts the calls of its iterator's `return()`. */
    class CountingTts implements TtsModel {
      readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
      readonly provider = 'test';
      readonly modelId = 'counting-tts';
      readonly sampleRate = 24000;
      returns = 0;
      synthesize(): AsyncIterable<Int16Array> {
        let sent = 0;
        return {
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              await new Promise((resolve) => setTimeout(resolve, 10));
              return sent < 2
                ? { done: false, value: new Int16Array(100).fill(++sent) }
                : { done: true, value: undefined };
            },
            return: async () => {
              this.returns++;
              return { done: true, value: undefined };
            },
          }),
        };
      }
    }
    const whole = new CountingTts();
    const r = run(whole, 1000);
    await vi.advanceTimersByTimeAsync(100);
    await r.done;
    expect(r.chunk.state).toBe('done');
    expect(whole.returns).toBe(0); // it ended by itself: nothing to close

    const cut = new CountingTts();
    const c = run(cut, 1000);
    await vi.advanceTimersByTimeAsync(15);
    cancelChunk(c.chunk, 'user_speaking', systemClock);
    await c.done;
    expect(c.chunk.state).toBe('cancelled');
    expect(cut.returns).toBe(1);
  });

  it('cancelling a chunk already done or failed changes nothing', async () => {
    const r = run(new PacedTts([10]), 1000);
    await vi.advanceTimersByTimeAsync(20);
    await r.done;
    expect(r.chunk.state).toBe('done');
    cancelChunk(r.chunk, 'user_speaking', systemClock);
    expect(r.chunk.state).toBe('done');
    const failed = run(new PacedTts([], true), 100);
    await vi.advanceTimersByTimeAsync(100);
    await failed.done;
    expect(failed.chunk.state).toBe('failed');
    cancelChunk(failed.chunk, 'user_speaking', systemClock);
    expect(failed.chunk.state).toBe('failed');
  });
});
