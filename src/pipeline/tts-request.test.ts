import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ColloquyError, ProviderError, TimeoutError } from '../errors.ts';
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

function run(tts: TtsModel | EncodedTtsModel, timeoutMs: number, extra: Partial<TtsRequestContext> = {}) {
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
    ...extra,
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

/**
 * A stream driven by hand: each `next()` waits for `piece()`, `end()` or `fail()`. Counts the reads
 * and the calls of its iterator's `return()` (which rejects when `returnRejects`).
 */
class HandTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'test';
  readonly modelId = 'hand-tts';
  readonly requests: TtsRequest[] = [];
  reads = 0;
  returns = 0;
  private waiting: { resolve(r: IteratorResult<Int16Array>): void; reject(e: unknown): void } | undefined;
  constructor(
    readonly sampleRate = 24000,
    private readonly returnRejects = false,
  ) {}

  synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push(request);
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          this.reads++;
          return new Promise<IteratorResult<Int16Array>>((resolve, reject) => {
            this.waiting = { resolve, reject };
          });
        },
        return: () => {
          this.returns++;
          return this.returnRejects
            ? Promise.reject(new Error('already closed'))
            : Promise.resolve({ done: true as const, value: undefined });
        },
      }),
    };
  }

  /** The last piece given to the request. */
  last: Int16Array | undefined;

  piece(samples: number, value = 7): void {
    this.last = new Int16Array(samples).fill(value);
    this.waiting!.resolve({ done: false, value: this.last });
  }
  end(): void {
    this.waiting!.resolve({ done: true, value: undefined });
  }
  fail(error: unknown): void {
    this.waiting!.reject(error);
  }
}

/** An encoded model whose one request is settled by hand (it ignores its abort signal). */
function handEncoded() {
  const requests: TtsRequest[] = [];
  let settle: { resolve(b: Uint8Array): void; reject(e: unknown): void } | undefined;
  const model: EncodedTtsModel = {
    specificationVersion: SPECIFICATION_VERSIONS.encodedTts,
    provider: 'test',
    modelId: 'hand-encoded',
    format: 'mp3',
    synthesizeEncoded: (request) => {
      requests.push(request);
      return new Promise((resolve, reject) => {
        settle = { resolve, reject };
      });
    },
  };
  return {
    model,
    requests,
    resolve: (bytes: Uint8Array) => settle!.resolve(bytes),
    reject: (error: unknown) => settle!.reject(error),
  };
}

describe('synthesizeChunk, what it asks and what it hands on', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for the chunk text with the voice, instructions, its own abort signal and the timeout', async () => {
    const tts = new HandTts();
    const r = run(tts, 1234, { voice: 'alloy', instructions: 'calm' });
    expect(tts.requests).toEqual([
      {
        text: 'Hello there.',
        voice: 'alloy',
        instructions: 'calm',
        abortSignal: expect.any(AbortSignal),
        timeoutMs: 1234,
      },
    ]);
    expect(tts.requests[0]!.abortSignal).toBe(r.chunk.controller!.signal);
    cancelChunk(r.chunk, 'interrupted', systemClock);
    await r.done;

    const file = handEncoded();
    const e = run(file.model, 4321, { voice: 'nova', instructions: 'slow' });
    expect(file.requests).toEqual([
      {
        text: 'Hello there.',
        voice: 'nova',
        instructions: 'slow',
        abortSignal: expect.any(AbortSignal),
        timeoutMs: 4321,
      },
    ]);
    expect(file.requests[0]!.abortSignal).toBe(e.chunk.controller!.signal);
    cancelChunk(e.chunk, 'interrupted', systemClock);
    await e.done;
  });

  it('audio at the output rate is handed on as it came; at another rate it is resampled, its tail flushed at the end', async () => {
    const same = new HandTts(24000);
    const s = run(same, 1000);
    await vi.advanceTimersByTimeAsync(0);
    same.piece(100);
    await vi.advanceTimersByTimeAsync(0);
    same.end();
    await s.done;
    expect(s.audio.map((a) => a.length)).toEqual([100]);
    expect(s.audio[0]).toBe(same.last); // not copied
    expect(s.chunk.state).toBe('done');

    // 16 kHz to 24 kHz: 1 + 100 input samples are 0 + 150 output samples, then a tail of 2 (152 in all).
    const low = new HandTts(16000);
    const l = run(low, 1000);
    await vi.advanceTimersByTimeAsync(0);
    low.piece(1, 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(l.firstAudio).toEqual([0]); // the first piece is the first audio even when it resamples to nothing
    low.piece(100, 1000);
    await vi.advanceTimersByTimeAsync(0);
    low.end();
    await l.done;
    expect(l.audio.map((a) => a.length)).toEqual([150, 2]); // never an empty piece
    expect(l.audio[1]).toEqual(Int16Array.of(1000, 1000));
    expect(l.chunk).toMatchObject({ state: 'done', samples: 152 });
  });

  it('a resampled stream that ends with no audio hands on nothing (not an empty tail) and is done', async () => {
    const low = new HandTts(16000);
    const l = run(low, 1000);
    await vi.advanceTimersByTimeAsync(0);
    low.end();
    await l.done;
    expect(l.audio).toEqual([]);
    expect(l.firstAudio).toEqual([]);
    expect(l.chunk.state).toBe('done');
  });

  it('a chunk cancelled by the listener of its audio reads no further piece', async () => {
    const tts = new HandTts();
    let cut = false;
    const r = run(tts, 1000, {
      onAudio: (chunk) => {
        cut = true;
        cancelChunk(chunk, 'user_speaking', systemClock);
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    tts.piece(100);
    await vi.advanceTimersByTimeAsync(0);
    expect(cut).toBe(true);
    expect(r.settled()).toBe(true);
    expect([tts.reads, tts.returns, r.chunk.state]).toEqual([1, 1, 'cancelled']);
    expect(r.errors).toEqual([]);
  });

  it('after the request the chunk holds no timer and no wake-up, on every way it ends', async () => {
    const done = new HandTts();
    const d = run(done, 10_000);
    await vi.advanceTimersByTimeAsync(0);
    done.end();
    await d.done;
    expect(vi.getTimerCount()).toBe(0);
    expect([d.chunk.state, d.chunk.timer, d.chunk.wake]).toEqual(['done', undefined, undefined]);

    const failed = new HandTts();
    const f = run(failed, 10_000);
    await vi.advanceTimersByTimeAsync(0);
    failed.fail(new Error('boom'));
    await f.done;
    expect(vi.getTimerCount()).toBe(0);
    expect([f.chunk.state, f.chunk.timer, f.chunk.wake]).toEqual(['failed', undefined, undefined]);

    const file = handEncoded();
    const e = run(file.model, 10_000);
    file.resolve(Uint8Array.of(9));
    await e.done;
    expect(vi.getTimerCount()).toBe(0);
    expect(e.chunk).toMatchObject({
      state: 'done',
      samples: 1,
      encoded: Uint8Array.of(9),
      timer: undefined,
      wake: undefined,
    });
  });

  it('cancelling releases the timeout at once, before the request loop wakes', async () => {
    const tts = new HandTts();
    const r = run(tts, 10_000);
    expect(vi.getTimerCount()).toBe(1);
    cancelChunk(r.chunk, 'client_request', systemClock);
    expect(vi.getTimerCount()).toBe(0);
    expect(r.chunk.timer).toBeUndefined();
    await r.done;
    expect(tts.requests[0]!.abortSignal!.reason).toBe('client_request');
  });

  it("a provider's stream that rejects its `return()` is closed quietly", async () => {
    const tts = new HandTts(24000, true);
    const r = run(tts, 1000);
    await vi.advanceTimersByTimeAsync(0);
    cancelChunk(r.chunk, 'interrupted', systemClock);
    await r.done;
    await vi.advanceTimersByTimeAsync(0);
    expect([tts.returns, r.chunk.state]).toEqual([1, 'cancelled']);
    expect(r.errors).toEqual([]);
  });
});

describe('synthesizeChunk, failures', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a timeout is a retryable TimeoutError naming the chunk, and the abort reason of its request', async () => {
    const tts = new HandTts();
    const r = run(tts, 300);
    await vi.advanceTimersByTimeAsync(300);
    await r.done;
    expect(r.errors).toHaveLength(1);
    const error = r.errors[0]!;
    expect(error).toBeInstanceOf(TimeoutError);
    expect([error.code, error.message, error.retryable, error.details]).toEqual([
      'timeout',
      'TTS first audio timed out after 300 ms',
      true,
      { chunkId: 0 },
    ]);
    expect(tts.requests[0]!.abortSignal!.reason).toBe(error);
    expect(r.chunk.state).toBe('failed');
  });

  it('a stream that stalls after audio fails as a stream timeout', async () => {
    const tts = new HandTts();
    const r = run(tts, 300);
    await vi.advanceTimersByTimeAsync(100);
    tts.piece(10); // at 100 ms: the stall is timed from here, to 400 ms
    await vi.advanceTimersByTimeAsync(299);
    expect(r.errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await r.done;
    expect(r.errors.map((e) => e.message)).toEqual(['TTS audio stream timed out after 300 ms']);
  });

  it('an encoded request that never answers (ignoring its abort) fails at the timeout and settles', async () => {
    const file = handEncoded();
    const e = run(file.model, 250);
    await vi.advanceTimersByTimeAsync(249);
    expect([e.errors, e.settled()]).toEqual([[], false]);
    await vi.advanceTimersByTimeAsync(1);
    expect(e.settled()).toBe(true);
    expect(e.errors.map((x) => [x.code, x.message])).toEqual([
      ['timeout', 'TTS first audio timed out after 250 ms'],
    ]);
    expect(file.requests[0]!.abortSignal!.reason).toBe(e.errors[0]);
    expect([e.chunk.state, e.firstAudio, vi.getTimerCount()]).toEqual(['failed', [], 0]);
  });

  it('a provider error that is not a ProviderError becomes tts_failed naming the chunk, keeping retryable', async () => {
    const cases: [unknown, string, boolean][] = [
      [new Error('boom'), 'TTS failed for chunk 0: boom', false],
      ['plain string', 'TTS failed for chunk 0: plain string', false],
      [new ColloquyError('internal_error', 'odd', { retryable: true }), 'TTS failed for chunk 0: odd', true],
    ];
    for (const [thrown, message, retryable] of cases) {
      const tts = new HandTts();
      const r = run(tts, 1000);
      await vi.advanceTimersByTimeAsync(0);
      tts.fail(thrown);
      await r.done;
      expect(r.errors).toHaveLength(1);
      const error = r.errors[0]!;
      expect(error).toBeInstanceOf(ProviderError);
      expect([error.code, error.message, error.retryable]).toEqual(['tts_failed', message, retryable]);
      expect(r.chunk.state).toBe('failed');

      const file = handEncoded();
      const e = run(file.model, 1000);
      file.reject(thrown);
      await e.done;
      expect(e.errors.map((x) => [x.code, x.message, x.retryable])).toEqual([
        ['tts_failed', message, retryable],
      ]);
      expect(e.chunk.state).toBe('failed');
    }
  });

  it('a ProviderError or a TimeoutError from the provider is reported as it is', async () => {
    for (const thrown of [
      new ProviderError('rate_limited', 'slow down', { retryable: true }),
      new TimeoutError('upstream', 5),
    ]) {
      const tts = new HandTts();
      const r = run(tts, 1000);
      await vi.advanceTimersByTimeAsync(0);
      tts.fail(thrown);
      await r.done;
      expect(r.errors).toEqual([thrown]);
      expect(r.errors[0]).toBe(thrown);

      const file = handEncoded();
      const e = run(file.model, 1000);
      file.reject(thrown);
      await e.done;
      expect(e.errors[0]).toBe(thrown);
    }
  });
});

describe('cancelChunk and the encoded request', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('cancels a queued chunk (nothing runs to abort) and leaves a cancelled one alone', () => {
    const chunk = newChunk(3, 'Queued.', {} as OutputResponse);
    expect(chunk.state).toBe('queued');
    cancelChunk(chunk, 'interrupted', systemClock);
    expect(chunk.state).toBe('cancelled');
    cancelChunk(chunk, 'user_speaking', systemClock);
    expect(chunk.state).toBe('cancelled');
  });

  it('cancelling an encoded request that never answers (ignoring its abort) settles it at once', async () => {
    const file = handEncoded();
    const e = run(file.model, 10_000);
    await vi.advanceTimersByTimeAsync(100);
    cancelChunk(e.chunk, 'user_speaking', systemClock);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.settled()).toBe(true);
    expect([e.chunk.state, e.chunk.encoded, e.firstAudio, e.errors]).toEqual([
      'cancelled',
      undefined,
      [],
      [],
    ]);
    expect(file.requests[0]!.abortSignal!.reason).toBe('user_speaking');
  });

  it('an encoded answer that arrives as the chunk is cancelled is dropped', async () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const model: EncodedTtsModel = {
      specificationVersion: SPECIFICATION_VERSIONS.encodedTts,
      provider: 'test',
      modelId: 'instant',
      format: 'mp3',
      synthesizeEncoded: async () => bytes,
    };
    const e = run(model, 1000);
    cancelChunk(e.chunk, 'interrupted', systemClock); // before the answer's continuation runs
    await e.done;
    expect([e.chunk.state, e.chunk.encoded, e.chunk.samples, e.firstAudio, e.errors]).toEqual([
      'cancelled',
      undefined,
      0,
      [],
      [],
    ]);
  });

  it('an encoded request that fails after its chunk was cancelled reports nothing', async () => {
    const file = handEncoded();
    const e = run(file.model, 1000);
    cancelChunk(e.chunk, 'interrupted', systemClock);
    await e.done;
    file.reject(new Error('aborted late'));
    await vi.advanceTimersByTimeAsync(0);
    expect([e.chunk.state, e.errors]).toEqual(['cancelled', []]);
  });
});

describe('synthesizeChunk, an encoded failure as the chunk is cancelled', () => {
  it('a rejection that arrives as the chunk is cancelled is not reported, and the chunk stays cancelled', async () => {
    const model: EncodedTtsModel = {
      specificationVersion: SPECIFICATION_VERSIONS.encodedTts,
      provider: 'test',
      modelId: 'instant-failure',
      format: 'mp3',
      synthesizeEncoded: () => Promise.reject(new Error('refused')),
    };
    const e = run(model, 1000);
    cancelChunk(e.chunk, 'interrupted', systemClock); // before the rejection's continuation runs
    await e.done;
    expect([e.chunk.state, e.errors, e.firstAudio]).toEqual(['cancelled', [], []]);
  });
});

describe('synthesizeChunk, a stream step that arrives as the chunk is cancelled', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a piece that arrives as the chunk is cancelled is dropped', async () => {
    const tts = new HandTts();
    const r = run(tts, 1000);
    await vi.advanceTimersByTimeAsync(0);
    tts.piece(100);
    // After the read has taken the piece, before the request loop's continuation runs.
    queueMicrotask(() => cancelChunk(r.chunk, 'interrupted', systemClock));
    await r.done;
    expect([r.chunk.state, r.audio, r.firstAudio, r.errors]).toEqual(['cancelled', [], [], []]);
  });

  it('a stream failure that arrives as the chunk is cancelled is not reported, and the chunk stays cancelled', async () => {
    const tts = new HandTts();
    const r = run(tts, 1000);
    await vi.advanceTimersByTimeAsync(0);
    tts.fail(new Error('refused'));
    // After the read has taken the rejection, before the request loop's continuation runs.
    queueMicrotask(() => cancelChunk(r.chunk, 'interrupted', systemClock));
    await r.done;
    expect([r.chunk.state, r.errors]).toEqual(['cancelled', []]);
  });
});
