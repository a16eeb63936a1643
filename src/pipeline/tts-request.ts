/**
 * One chunk's streaming TTS request, bounded by a timeout on the first audio and on every stall
 * between audio pieces. A provider that ignores its AbortSignal cannot hang the response: the loop
 * races each read against the chunk's cancellation. The request carries that bound
 * (`TtsRequest.timeoutMs`), so a model need not add a second one of its own. Moves the chunk synthesizing → done | failed;
 * `cancelChunk` moves it to cancelled from outside.
 */
import { StreamingResampler } from '../audio/resample.ts';
import { type ColloquyError, ProviderError, TimeoutError, toColloquyError } from '../errors.ts';
import type { TtsModel } from '../providers/types.ts';
import type { Clock } from './clock.ts';
import { type Chunk, type EncodedTtsModel, isEncodedTts } from './speech-response.ts';

export interface TtsRequestContext {
  tts: TtsModel | EncodedTtsModel;
  clock: Clock;
  timeoutMs: number;
  outputSampleRate: number;
  voice?: string;
  instructions?: string;
  /** The first audio of the chunk arrived `latencyMs` after the request. */
  onFirstAudio(chunk: Chunk, latencyMs: number): void;
  /** Audio at the output rate (never empty). */
  onAudio(chunk: Chunk, pcm: Int16Array): void;
  /** The chunk failed (provider error or timeout); its state is already 'failed'. */
  onError(chunk: Chunk, error: ColloquyError): void;
}

/** Runs the request of a chunk in state 'synthesizing'; settles when it ends; never rejects. */
export async function synthesizeChunk(chunk: Chunk, ctx: TtsRequestContext): Promise<void> {
  const tts = ctx.tts;
  if (isEncodedTts(tts)) return synthesizeEncoded(chunk, ctx, tts);
  const controller = new AbortController();
  chunk.controller = controller;
  // Each read settles with the provider's next piece, or with undefined when the chunk is cancelled
  // or timed out (`wake`). One promise per read: racing every read against one promise of the whole
  // request would leave a reaction on it per piece until the request ends.
  let settleRead: ((step: undefined) => void) | undefined;
  chunk.wake = () => settleRead?.(undefined);
  const requestedAt = ctx.clock.now();
  const resampler =
    tts.sampleRate === ctx.outputSampleRate
      ? undefined
      : new StreamingResampler(tts.sampleRate, ctx.outputSampleRate);
  let iterator: AsyncIterator<Int16Array> | undefined;
  // One timer for the request, re-armed lazily from the time of the last piece (a piece costs one
  // clock read, not a new timer).
  let lastAudioAt = requestedAt;
  armTimeout(chunk, ctx, () => lastAudioAt);
  try {
    iterator = tts
      .synthesize({
        text: chunk.text,
        voice: ctx.voice,
        instructions: ctx.instructions,
        abortSignal: controller.signal,
        timeoutMs: ctx.timeoutMs,
      })
      [Symbol.asyncIterator]();
    const source = iterator;
    for (;;) {
      if (chunk.state !== 'synthesizing') break;
      const step = await new Promise<IteratorResult<Int16Array> | undefined>((resolve, reject) => {
        settleRead = resolve;
        source.next().then(resolve, reject);
      });
      settleRead = undefined;
      if (chunk.state !== 'synthesizing' || step === undefined || step.done) break;
      const pcm = step.value;
      if (pcm.length === 0) continue;
      lastAudioAt = ctx.clock.now();
      if (chunk.samples === 0) ctx.onFirstAudio(chunk, lastAudioAt - requestedAt);
      const out = resampler ? resampler.process(pcm) : pcm;
      if (out.length > 0) ctx.onAudio(chunk, out);
    }
    if (chunk.state === 'synthesizing') {
      const tail = resampler?.flush();
      if (tail !== undefined && tail.length > 0) ctx.onAudio(chunk, tail);
      chunk.state = 'done';
    }
  } catch (err) {
    if (chunk.state === 'synthesizing') fail(chunk, ctx, toColloquyError(err, 'tts_failed'));
  } finally {
    clearChunkTimer(chunk, ctx.clock);
    chunk.wake = undefined;
    if (chunk.state !== 'done' && iterator?.return) {
      // Best effort: close the provider's stream; it may still be busy.
      iterator.return().catch(() => {});
    }
  }
}

/** Encoded mode: one request returns the chunk's whole audio file; same timeout and cancellation. */
async function synthesizeEncoded(chunk: Chunk, ctx: TtsRequestContext, tts: EncodedTtsModel): Promise<void> {
  const controller = new AbortController();
  chunk.controller = controller;
  const stopped = new Promise<undefined>((resolve) => {
    chunk.wake = () => resolve(undefined);
  });
  const requestedAt = ctx.clock.now();
  armTimeout(chunk, ctx);
  try {
    const request = tts.synthesizeEncoded({
      text: chunk.text,
      voice: ctx.voice,
      instructions: ctx.instructions,
      abortSignal: controller.signal,
      timeoutMs: ctx.timeoutMs,
    });
    // The request may settle after the chunk was cancelled; that outcome is not wanted.
    request.catch(() => {});
    const bytes = await Promise.race([request, stopped]);
    if (chunk.state !== 'synthesizing' || bytes === undefined) return;
    ctx.onFirstAudio(chunk, ctx.clock.now() - requestedAt);
    chunk.encoded = bytes;
    chunk.samples = 1;
    chunk.state = 'done';
  } catch (err) {
    if (chunk.state === 'synthesizing') fail(chunk, ctx, toColloquyError(err, 'tts_failed'));
  } finally {
    clearChunkTimer(chunk, ctx.clock);
    chunk.wake = undefined;
  }
}

/** Cancels a queued or running chunk: its request is aborted with `reason`. */
export function cancelChunk(chunk: Chunk, reason: unknown, clock: Clock): void {
  if (chunk.state !== 'queued' && chunk.state !== 'synthesizing') return;
  const running = chunk.state === 'synthesizing';
  chunk.state = 'cancelled';
  clearChunkTimer(chunk, clock);
  if (running) {
    chunk.controller?.abort(reason);
    chunk.wake?.();
  }
}

/**
 * Fails the chunk once `ctx.timeoutMs` pass without audio: from the request, or from `lastAudioAt()`
 * when given (the timer then re-arms itself for what is left after each piece).
 */
function armTimeout(chunk: Chunk, ctx: TtsRequestContext, lastAudioAt?: () => number): void {
  clearChunkTimer(chunk, ctx.clock);
  const expire = (): void => {
    chunk.timer = undefined;
    if (chunk.state !== 'synthesizing') return;
    if (lastAudioAt !== undefined) {
      const idle = ctx.clock.now() - lastAudioAt();
      if (idle < ctx.timeoutMs) {
        chunk.timer = ctx.clock.setTimeout(expire, ctx.timeoutMs - idle);
        return;
      }
    }
    const what = chunk.samples === 0 ? 'TTS first audio' : 'TTS audio stream';
    const error = new TimeoutError(what, ctx.timeoutMs, { details: { chunkId: chunk.id } });
    fail(chunk, ctx, error);
    chunk.controller?.abort(error);
    chunk.wake?.();
  };
  chunk.timer = ctx.clock.setTimeout(expire, ctx.timeoutMs);
}

function clearChunkTimer(chunk: Chunk, clock: Clock): void {
  if (chunk.timer !== undefined) {
    clock.clearTimeout(chunk.timer);
    chunk.timer = undefined;
  }
}

function fail(chunk: Chunk, ctx: TtsRequestContext, cause: ColloquyError): void {
  chunk.state = 'failed';
  const error =
    cause instanceof TimeoutError || cause instanceof ProviderError
      ? cause
      : new ProviderError('tts_failed', `TTS failed for chunk ${chunk.id}: ${cause.message}`, {
          cause,
          retryable: cause.retryable,
        });
  ctx.onError(chunk, error);
}
