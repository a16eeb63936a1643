/**
 * Speech output: segmented LLM text → parallel TTS requests → audio released strictly in text
 * order → frames paced in real time into an `AudioSink`, with interruption, pause/resume and
 * tracking of what the user actually heard.
 *
 * Responses are FIFO: a response begun while another plays is synthesised ahead (TTS requests are
 * shared, in text order, across responses) and starts playing when the previous one finishes.
 *
 * Encoded mode (an `EncodedTtsModel`, e.g. an AI SDK `SpeechModel` returning mp3): the same
 * segmenter, request scheduling, ordering and cancellation, but each chunk's encoded bytes are
 * released as `speech.chunk` as soon as it and every earlier chunk are ready, with no decoding and no
 * paced playout (the client plays them). Released chunks count as heard.
 */
import { StreamingResampler } from '../audio/resample.ts';
import type { EventBus } from '../bus/event-bus.ts';
import type { EventMap, InterruptReason } from '../bus/events.ts';
import type { TtsModel } from '../providers/types.ts';
import { checkSpecificationVersion } from '../specification-version.ts';
import { type Clock, monotonicClock, type TimerHandle } from './clock.ts';
import { FrameFiller } from './frame-filler.ts';
import { type PlayoutTicker, sharedPlayoutTicker } from './playout-ticker.ts';
import { type AudioResponse, type AudioResponseHost, createAudioResponse } from './speech-audio-response.ts';
import { ChunkReleaser } from './speech-release.ts';
import {
  type AudioSink,
  type Chunk,
  type EncodedTtsModel,
  heardTextOf,
  interruptReasonOf,
  isEncodedTts,
  newChunk,
  newResponse,
  type OutputResponse,
  type SpeechOutcome,
  type SpeechOutputOptions,
  type SpeechResponse,
} from './speech-response.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';
import { cancelChunk, synthesizeChunk, type TtsRequestContext } from './tts-request.ts';

export type { AudioResponse, AudioSink, EncodedTtsModel, SpeechOutcome, SpeechOutputOptions, SpeechResponse };
export { isEncodedTts };

type PlayoutState = 'running' | 'paused';

/** Frames played between two checks whether a request held back for room may start (0.5 s at 20 ms). */
const ROOM_CHECK_FRAMES = 25;

/**
 * Text in, paced speech frames out: sentences are synthesised as the text streams, played in
 * `frameMs` frames to an `AudioSink`, and cut off at once on `interrupt`.
 *
 * @example
 * ```ts
 * import { EspeakTts, EventBus, type EventMap, SpeechOutput } from 'colloquy';
 *
 * const output = new SpeechOutput({
 *   bus: new EventBus<EventMap>(),
 *   sessionId: 'demo',
 *   tts: new EspeakTts(),
 *   outputSampleRate: 16000,
 *   sink: { write: (frame, { sampleRate }) => console.log(`${frame.length} samples at ${sampleRate} Hz`) },
 * });
 * const outcome = await output.speak('turn-1', 'Your table is booked for eight.', new AbortController().signal);
 * output.close();
 * ```
 */
export class SpeechOutput {
  readonly outputSampleRate: number;
  readonly frameMs: number;
  readonly frameSamples: number;
  private readonly bus: EventBus<EventMap>;
  private readonly sessionId: string;
  private readonly tts: TtsModel | EncodedTtsModel;
  /** Encoded pass-through mode: chunks are released whole, nothing is paced into the sink. */
  private readonly encoded: boolean;
  private readonly releaser: ChunkReleaser;
  private readonly sink: AudioSink;
  private readonly clock: Clock;
  private readonly options: SpeechOutputOptions;
  private readonly maxParallel: number;
  private readonly format: string;
  private readonly responses: OutputResponse[] = [];
  private readonly ttsQueue: Chunk[] = [];
  private activeRequests = 0;
  /** Unplayed audio (samples) beyond which no request starts; checked again every `ROOM_CHECK_FRAMES`. */
  private readonly maxAheadSamples: number;
  private waitingForRoom = false;
  private framesToRoomCheck = 0;
  /** Chunk ids count from 0 over the whole session (the reference's numbering). */
  private nextChunkId = 0;
  private closed = false;
  // Playout (per-frame path): preallocated frame, no timer and no closure per frame.
  private readonly filler: FrameFiller;
  private playout: PlayoutState = 'running';
  /**
   * On the default clock, the process's shared ticker paces every output (one timer per frame
   * period for all of them); with an injected clock, a timer of that clock per frame (`timer`).
   */
  private readonly ticker: PlayoutTicker | undefined;
  /** A frame is written on the tick nearest its due time: at most half a period early or late. */
  private readonly leadMs: number;
  private ticking = false;
  /** `interrupt()` is cancelling every response. */
  private interrupting = false;
  private timer: TimerHandle | undefined;
  private nextDueAt = Number.NEGATIVE_INFINITY;
  private pumping = false;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump();
  };
  private readonly onTick = (): void => this.pump();
  private readonly requestContext: TtsRequestContext;
  // Observed synthesis rate, to estimate how much of a still-streaming chunk was heard.
  private statSamples = 0;
  private statChars = 0;

  constructor(options: SpeechOutputOptions) {
    checkSpecificationVersion(isEncodedTts(options.tts) ? 'encodedTts' : 'tts', options.tts);
    this.options = options;
    this.bus = options.bus;
    this.sessionId = options.sessionId;
    this.tts = options.tts;
    this.sink = options.sink;
    this.clock = options.clock ?? monotonicClock;
    this.outputSampleRate = options.outputSampleRate ?? 24000;
    this.frameMs = options.frameMs ?? 20;
    this.frameSamples = Math.round((this.outputSampleRate * this.frameMs) / 1000);
    this.filler = new FrameFiller(this.frameSamples);
    this.ticker = options.clock === undefined ? sharedPlayoutTicker(this.frameMs) : undefined;
    this.leadMs = this.ticker === undefined ? 0 : this.frameMs / 2;
    this.maxParallel = Math.max(1, options.maxParallelRequests ?? 3);
    this.encoded = isEncodedTts(this.tts);
    this.maxAheadSamples = this.encoded
      ? Number.POSITIVE_INFINITY
      : Math.max(this.frameSamples, ((options.maxAheadMs ?? 10_000) * this.outputSampleRate) / 1000);
    const encodedRate = this.encoded ? (this.tts as EncodedTtsModel).sampleRate : undefined;
    this.releaser = new ChunkReleaser({
      bus: this.bus,
      sessionId: this.sessionId,
      encoded: this.encoded,
      format: isEncodedTts(this.tts) ? this.tts.format : (options.format ?? 'pcm16'),
      outputSampleRate: options.outputSampleRate ?? 24000,
      ...(encodedRate !== undefined ? { encodedSampleRate: encodedRate } : {}),
      head: () => this.responses[0],
      running: () => this.playout === 'running',
      finish: (r) => this.finish(r),
    });
    this.format = isEncodedTts(this.tts) ? this.tts.format : (options.format ?? 'pcm16');
    this.requestContext = {
      tts: this.tts,
      clock: this.clock,
      timeoutMs: options.ttsTimeoutMs ?? 10000,
      outputSampleRate: this.outputSampleRate,
      voice: options.voice,
      instructions: options.instructions,
      onFirstAudio: (chunk, latencyMs) => {
        if (chunk.response.chunks[0] !== chunk) return;
        this.bus.publish('metrics.ttfb', {
          sessionId: this.sessionId,
          turnId: chunk.response.turnId,
          processor: 'tts',
          model: this.tts.modelId,
          valueMs: latencyMs,
        });
      },
      onAudio: (chunk, pcm) => this.appendAudio(chunk, pcm),
      onError: (chunk, error) =>
        this.bus.publish('speech.chunk.error', {
          sessionId: this.sessionId,
          turnId: chunk.response.turnId,
          chunkId: chunk.id,
          text: chunk.text,
          error,
        }),
    };
    // Fail fast on an unsupported rate pair rather than on the first chunk.
    if (!isEncodedTts(this.tts) && this.tts.sampleRate !== this.outputSampleRate)
      new StreamingResampler(this.tts.sampleRate, this.outputSampleRate);
  }

  /** True while a response's audio is playing or paused (between bot.speaking.start and stop). */
  get speaking(): boolean {
    const head = this.responses[0];
    return head?.speaking === true;
  }

  get paused(): boolean {
    return this.playout === 'paused';
  }

  /** Turn id of the response playing (or next to play), if any. */
  get currentTurnId(): string | undefined {
    return this.responses[0]?.turnId;
  }

  /**
   * Starts a response; push its text as it streams, then `end()` it. `signal`, when given, cancels
   * it when aborted (as `interrupt` does for every response).
   */
  beginResponse(turnId: string, signal?: AbortSignal): SpeechResponse {
    let resolve!: (o: SpeechOutcome) => void;
    const done = new Promise<SpeechOutcome>((r) => {
      resolve = r;
    });
    const r = newResponse(turnId, this.outputSampleRate, new SpeechSegmenter(this.options), resolve);
    const handle: SpeechResponse = {
      done,
      pushText: (delta) => this.pushText(r, delta),
      end: () => this.end(r),
    };
    this.responses.push(r);
    if (this.closed || signal?.aborted) {
      this.cancel(r, this.closed ? 'disconnected' : interruptReasonOf(signal?.reason));
      return handle;
    }
    if (signal === undefined) return handle;
    const onAbort = (): void => {
      this.cancel(r, interruptReasonOf(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    r.detach = () => signal.removeEventListener('abort', onAbort);
    return handle;
  }

  /**
   * A response whose audio is ready-made (a realtime speech-to-speech model), PCM16 at `sampleRate`:
   * queued FIFO and played like synthesised speech (see `speech-audio-response.ts`).
   */
  beginAudioResponse(turnId: string, signal: AbortSignal, sampleRate: number): AudioResponse {
    const host: AudioResponseHost = {
      outputSampleRate: this.outputSampleRate,
      nextChunkId: () => this.nextChunkId++,
      add: (r, abort) => {
        this.responses.push(r);
        if (this.closed || abort.aborted) {
          this.cancel(r, this.closed ? 'disconnected' : interruptReasonOf(abort.reason));
          return;
        }
        const onAbort = (): void => {
          this.cancel(r, interruptReasonOf(abort.reason));
        };
        abort.addEventListener('abort', onAbort, { once: true });
        r.detach = () => abort.removeEventListener('abort', onAbort);
      },
      append: (chunk, pcm) => this.appendAudio(chunk, pcm),
      end: (r) => this.end(r),
      heard: (r) => this.heard(r),
    };
    return createAudioResponse(host, turnId, signal, sampleRate);
  }

  /** Convenience: a whole text as one response. */
  speak(turnId: string, text: string, signal: AbortSignal): Promise<SpeechOutcome> {
    const response = this.beginResponse(turnId, signal);
    response.pushText(text);
    response.end();
    return response.done;
  }

  /** Stops everything at once: current and queued responses, pending TTS, queued audio. */
  /** Cancels every response; returns the outcome of the one that was playing (or next to play). */
  interrupt(reason: InterruptReason): SpeechOutcome | undefined {
    const all = this.responses.slice();
    let head: SpeechOutcome | undefined;
    // While the head is cancelled the queued responses are still there: no pump may start the next
    // one (a frame of it was due now, it went out before being cancelled in turn).
    this.interrupting = true;
    try {
      for (const r of all) {
        const outcome = this.cancel(r, reason);
        head ??= outcome;
      }
    } finally {
      this.interrupting = false;
    }
    this.roomMade();
    return head;
  }

  /** Holds playout (TTS keeps filling the buffer). No-op when nothing is queued. */
  pause(): void {
    const head = this.responses[0];
    if (this.playout === 'paused' || head === undefined) return;
    this.playout = 'paused';
    this.stopTimer();
    this.bus.publish('speech.paused', { sessionId: this.sessionId, turnId: head.turnId });
  }

  /** Continues playout where `pause()` stopped it. */
  resume(): void {
    if (this.playout !== 'paused') return;
    this.playout = 'running';
    const head = this.responses[0];
    if (head !== undefined)
      this.bus.publish('speech.resumed', { sessionId: this.sessionId, turnId: head.turnId });
    this.nextDueAt = this.clock.now();
    this.pump();
  }

  /** Interrupts with 'disconnected'; later responses end at once. */
  close(): void {
    if (this.closed) return;
    this.interrupt('disconnected');
    this.closed = true;
  }

  // ── Text in ──────────────────────────────────────────────────────────────────────

  private pushText(r: OutputResponse, delta: string): void {
    if (r.state !== 'open' || delta.length === 0) return;
    r.fullText += delta;
    for (const text of r.segmenter.push(delta)) this.addChunk(r, text);
  }

  private end(r: OutputResponse): void {
    if (r.state !== 'open') return;
    for (const text of r.segmenter.flush()) this.addChunk(r, text);
    r.state = 'ended';
    this.releaser.release(r);
    this.pump();
  }

  private addChunk(r: OutputResponse, text: string): void {
    const chunk = newChunk(this.nextChunkId++, text, r);
    r.chunks.push(chunk);
    this.ttsQueue.push(chunk);
    this.bus.publish('speech.chunk.queued', {
      sessionId: this.sessionId,
      turnId: r.turnId,
      chunkId: chunk.id,
      text,
    });
    this.startRequests();
  }

  // ── TTS scheduling ───────────────────────────────────────────────────────────────

  private startRequests(): void {
    this.waitingForRoom = false;
    while (this.activeRequests < this.maxParallel && this.ttsQueue.length > 0) {
      // Enough audio waits to be played: the next request starts as playout makes room (the
      // playing response's own chunks always start, so playout never waits on this bound).
      if (!this.mayStart(this.ttsQueue[0]!)) {
        this.waitingForRoom = true;
        this.framesToRoomCheck = ROOM_CHECK_FRAMES;
        return;
      }
      const chunk = this.ttsQueue.shift()!;
      if (chunk.state !== 'queued') continue;
      chunk.state = 'synthesizing';
      this.activeRequests++;
      void this.synthesize(chunk);
    }
  }

  /** The playing response's chunks always start; a later one's only while the audio ahead is under the bound. */
  private mayStart(next: Chunk): boolean {
    return next.response === this.responses[0] || this.aheadSamples() < this.maxAheadSamples;
  }

  private async synthesize(chunk: Chunk): Promise<void> {
    const r = chunk.response;
    if (!r.startPublished) {
      r.startPublished = true;
      this.bus.publish('speech.start', { sessionId: this.sessionId, turnId: r.turnId, streaming: true });
    }
    await synthesizeChunk(chunk, this.requestContext);
    if (chunk.state === 'done') {
      this.statSamples += chunk.samples;
      this.statChars += chunk.text.length;
    }
    this.activeRequests--;
    this.startRequests();
    if (r.state !== 'cancelled') {
      this.releaser.release(r);
      this.pump();
    }
  }

  /**
   * Audio synthesised and not yet played, over every queued response; a chunk still synthesising
   * counts at its expected length (from the synthesis rate observed so far) when that is more.
   */
  private aheadSamples(): number {
    const perChar = this.statChars > 0 ? this.statSamples / this.statChars : 0;
    let ahead = 0;
    for (const r of this.responses) {
      for (const c of r.chunks) {
        if (c.state === 'done') ahead += c.samples - c.played;
        else if (c.state === 'synthesizing') ahead += Math.max(c.samples, c.text.length * perChar) - c.played;
      }
    }
    return ahead;
  }

  private appendAudio(chunk: Chunk, pcm: Int16Array): void {
    if (pcm.length === 0) return;
    chunk.pieces.push(pcm);
    chunk.samples += pcm.length;
    if (this.responses[0] === chunk.response && this.timer === undefined && !this.ticking) this.pump();
  }

  // ── Playout ──────────────────────────────────────────────────────────────────────

  private pump(): void {
    if (this.encoded) {
      this.releaser.releaseEncoded();
      return;
    }
    if (this.pumping || this.playout !== 'running' || this.timer !== undefined) return;
    this.pumping = true;
    try {
      for (;;) {
        const r = this.responses[0];
        if (r === undefined) {
          this.stopTimer();
          return;
        }
        const now = this.clock.now();
        if (this.nextDueAt > now + this.leadMs) {
          this.waitForDue(now);
          return;
        }
        const fill = this.filler.fill(r);
        if (fill === 'wait') {
          this.stopTimer(); // appendAudio pumps again when audio comes
          return;
        }
        if (this.filler.filled > 0) {
          this.filler.pad();
          this.writeFrame(r, now);
          if (this.waitingForRoom && --this.framesToRoomCheck <= 0) this.startRequests();
          if (this.playout !== 'running') return; // paused by a listener
          if (this.responses[0] !== r) continue; // cancelled by a listener
        }
        if (fill === 'end') this.finish(r);
      }
    } finally {
      this.pumping = false;
    }
  }

  private writeFrame(r: OutputResponse, now: number): void {
    // More than a frame late (underrun or a slow timer): restart the schedule instead of bursting.
    if (now - this.nextDueAt > this.frameMs) this.nextDueAt = now;
    this.nextDueAt += this.frameMs;
    const filler = this.filler;
    this.sink.write(filler.frame, r.info);
    if (!r.speaking) {
      r.speaking = true;
      this.bus.publish('bot.speaking.start', { sessionId: this.sessionId, turnId: r.turnId });
    }
    for (let i = 0; i < filler.starting.length; i++) {
      const c = filler.starting[i]!;
      if (c.external) continue;
      this.bus.publish('bot.tts.text', {
        sessionId: this.sessionId,
        turnId: r.turnId,
        chunkId: c.id,
        text: c.text,
      });
    }
    filler.reset();
  }

  /** Pumps again when the next frame is due: on the shared ticker, or on a timer of the clock. */
  private waitForDue(now: number): void {
    if (this.ticker !== undefined) {
      if (!this.ticking) {
        this.ticking = true;
        this.ticker.join(this.onTick);
      }
      return;
    }
    // Whole milliseconds (Node rounds a timer's delay up to one anyway): timers of equal delay
    // share Node's list for that delay, where a fractional delay made a new list per frame.
    this.timer = this.clock.setTimeout(this.onTimer, Math.ceil(this.nextDueAt - now));
  }

  private stopTimer(): void {
    if (this.ticking) {
      this.ticking = false;
      this.ticker!.leave(this.onTick);
    }
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  // ── Ending ───────────────────────────────────────────────────────────────────────

  private finish(r: OutputResponse): void {
    r.state = 'finished';
    this.responses.shift();
    r.detach?.();
    if (r.speaking) {
      r.speaking = false;
      this.bus.publish('bot.speaking.stop', {
        sessionId: this.sessionId,
        turnId: r.turnId,
        interrupted: false,
      });
    }
    r.resolve({ turnId: r.turnId, heardText: this.heard(r), fullText: r.fullText, interrupted: false });
    this.roomMade();
  }

  private cancel(r: OutputResponse, reason: InterruptReason): SpeechOutcome | undefined {
    if (r.state === 'finished' || r.state === 'cancelled') return undefined;
    const index = this.responses.indexOf(r);
    const wasHead = index === 0;
    r.state = 'cancelled';
    r.detach?.();
    if (index >= 0) this.responses.splice(index, 1);
    for (const c of r.chunks) cancelChunk(c, reason, this.clock);
    if (wasHead) {
      this.stopTimer();
      this.filler.reset();
      this.playout = 'running';
      this.sink.clear?.();
    }
    const heardText = this.heard(r);
    this.bus.publish('speech.interrupted', {
      sessionId: this.sessionId,
      turnId: r.turnId,
      reason,
      heardText,
    });
    if (r.speaking) {
      r.speaking = false;
      this.bus.publish('bot.speaking.stop', {
        sessionId: this.sessionId,
        turnId: r.turnId,
        interrupted: true,
      });
    }
    const outcome: SpeechOutcome = {
      turnId: r.turnId,
      heardText,
      fullText: r.fullText,
      interrupted: true,
      reason,
    };
    r.resolve(outcome);
    this.roomMade();
    // A cancelled head makes room for the next response (not when `interrupt` cancels them all).
    if (wasHead && this.responses.length > 0 && !this.interrupting) this.pump();
    return outcome;
  }

  /**
   * A response left the queue: its unplayed audio no longer counts, and the next one may now be the
   * playing one, whose chunks always start. A request held back for room starts now if it may, not at
   * the next room check, which never comes when no frame is played meanwhile.
   */
  private roomMade(): void {
    // (Held implies a queued chunk: only `startRequests` takes chunks off the queue.)
    if (this.waitingForRoom && !this.interrupting && this.mayStart(this.ttsQueue[0]!)) this.startRequests();
  }

  private heard(r: OutputResponse): string {
    const samplesPerChar = this.statChars > 0 ? this.statSamples / this.statChars : 0;
    return heardTextOf(r, samplesPerChar);
  }
}
