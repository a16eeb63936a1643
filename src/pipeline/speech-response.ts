/**
 * The types of `SpeechOutput`: its options and sink, the records it keeps per response and per
 * text chunk, and what a response reports when it ends. Chunk and response lifecycles are explicit state unions.
 */
import type { EventBus } from '../bus/event-bus.ts';
import { type EventMap, type InterruptReason, isInterruptReason } from '../bus/events.ts';
import type { TtsModel, TtsRequest } from '../providers/types.ts';
import type { SpeechOutcome, SpeechResponse } from '../session/speech-port.ts';
import type { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { Clock, TimerHandle } from './clock.ts';

// How a response ends and what a caller holds while it streams: the session's speech port types.
export type { SpeechOutcome, SpeechResponse };

import type { SpeechSegmenter } from './speech-segmenter.ts';

/** Where paced output frames go (a transport). */
export interface AudioSink {
  /**
   * One frame of exactly `frameMs` of PCM16 mono audio. The buffer is reused for the next frame:
   * consume or copy it before returning.
   */
  write(frame: Int16Array, info: { turnId: string; sampleRate: number }): void;
  /** Drop audio already written but not yet played (called on interruption). */
  clear?(): void;
}

/**
 * A TTS model that returns each text's audio as one encoded file (mp3, opus, wav, raw pcm ...), e.g.
 * an AI SDK `SpeechModel`. With it `SpeechOutput` runs in encoded pass-through mode: each chunk's
 * bytes are released in text order as `speech.chunk` (format = `format`), nothing is decoded or
 * paced, and the client plays the audio. A chunk counts as heard once it was released.
 */
export interface EncodedTtsModel {
  readonly specificationVersion: typeof SPECIFICATION_VERSIONS.encodedTts;
  readonly provider: string;
  readonly modelId: string;
  /** Format label of the returned audio (`speech.chunk.format`, e.g. 'mp3', 'opus'). */
  readonly format: string;
  /** Sample rate of the audio, when the format is raw PCM. */
  readonly sampleRate?: number;
  /** The whole audio of `request.text`, as the provider returned it. */
  synthesizeEncoded(request: TtsRequest): Promise<Uint8Array>;
}

export function isEncodedTts(model: TtsModel | EncodedTtsModel): model is EncodedTtsModel {
  return typeof (model as Partial<EncodedTtsModel>).synthesizeEncoded === 'function';
}

export interface SpeechOutputOptions {
  bus: EventBus<EventMap>;
  sessionId: string;
  /** Streaming PCM TTS (paced playout to `sink`), or an encoded model (pass-through, `sink` unused). */
  tts: TtsModel | EncodedTtsModel;
  sink: AudioSink;
  /** Sample rate of the frames written to the sink (default 24000); TTS audio is resampled to it. */
  outputSampleRate?: number;
  /** Frame duration written to the sink (default 20). */
  frameMs?: number;
  /** Segmenter chunk bounds in characters (defaults 50 / 200, see `SpeechSegmenter`). */
  minChunkSize?: number;
  maxChunkSize?: number;
  /** Emit the first sentence at once even when short (default true). */
  fastFirstChunk?: boolean;
  /** TTS requests running at once (default 3). */
  maxParallelRequests?: number;
  /**
   * Synthesised audio not yet played beyond which no further TTS request starts (default 10 000 ms):
   * a session with a long queue of speech synthesises as it plays, not all at once, so it cannot
   * keep the CPU from other sessions (nor hold minutes of audio in memory). Encoded mode: unbounded.
   */
  maxAheadMs?: number;
  /** Bound on a request's first audio and on any stall between its audio chunks (default 10000). */
  ttsTimeoutMs?: number;
  voice?: string;
  instructions?: string;
  /** Format label of `speech.chunk` audio (default 'pcm16'; an encoded model's own `format` wins). */
  format?: string;
  clock?: Clock;
}

/** queued → synthesizing → done | failed; any unfinished state → cancelled. */
export type ChunkState = 'queued' | 'synthesizing' | 'done' | 'failed' | 'cancelled';

/** open (text streaming) → ended (all text known) → finished; open | ended → cancelled. */
export type ResponseState = 'open' | 'ended' | 'finished' | 'cancelled';

export interface Chunk {
  readonly id: number;
  /** The chunk's words (a realtime model's transcript grows as it arrives). */
  text: string;
  /** Ready-made audio (a realtime model): its words are published by the caller as they play. */
  external?: true;
  readonly response: OutputResponse;
  state: ChunkState;
  /** Audio at the output rate, in arrival order. */
  readonly pieces: Int16Array[];
  /** Encoded mode: the chunk's audio until it is released. */
  encoded: Uint8Array | undefined;
  samples: number;
  /** Playout cursor. */
  readPiece: number;
  readOffset: number;
  /** Samples written to the sink. */
  played: number;
  controller: AbortController | undefined;
  /** Wakes the request loop when the chunk is cancelled or timed out. */
  wake: (() => void) | undefined;
  timer: TimerHandle | undefined;
}

export interface OutputResponse {
  readonly turnId: string;
  state: ResponseState;
  readonly chunks: Chunk[];
  fullText: string;
  readonly segmenter: SpeechSegmenter;
  /** The info object passed with every frame (allocated once). */
  readonly info: { turnId: string; sampleRate: number };
  /** Index of the chunk being played. */
  playIndex: number;
  /** Index of the next chunk whose `speech.chunk` is due. */
  releaseIndex: number;
  startPublished: boolean;
  completePublished: boolean;
  /** Between `bot.speaking.start` and `bot.speaking.stop`. */
  speaking: boolean;
  resolve: (outcome: SpeechOutcome) => void;
  detach: (() => void) | undefined;
}

/** An abort reason that names an `InterruptReason` is kept; anything else reads as 'interrupted'. */
export function interruptReasonOf(reason: unknown): InterruptReason {
  return isInterruptReason(reason) ? reason : 'interrupted';
}

/**
 * Text heard so far: chunks played to the end, plus the words of the chunk being played in
 * proportion to its samples written (rounded down). For a chunk still synthesising, its length is
 * estimated from `samplesPerChar` observed on earlier chunks when that is larger than what arrived.
 */
export function heardTextOf(r: OutputResponse, samplesPerChar: number): string {
  const parts: string[] = [];
  for (const c of r.chunks) {
    if (c.played === 0) continue;
    const complete = c.state === 'done';
    if (complete && c.played >= c.samples) {
      parts.push(c.text);
      continue;
    }
    const total = complete ? c.samples : Math.max(c.samples, Math.round(c.text.length * samplesPerChar));
    const words = c.text.split(/\s+/).filter((w) => w.length > 0);
    const count = Math.floor((words.length * c.played) / total);
    if (count > 0) parts.push(words.slice(0, count).join(' '));
  }
  return parts.join(' ');
}

/** A freshly opened response of turn `turnId`, its frames at `sampleRate`. */
export function newResponse(
  turnId: string,
  sampleRate: number,
  segmenter: SpeechSegmenter,
  resolve: (outcome: SpeechOutcome) => void,
): OutputResponse {
  return {
    turnId,
    state: 'open',
    chunks: [],
    fullText: '',
    segmenter,
    info: { turnId, sampleRate },
    playIndex: 0,
    releaseIndex: 0,
    startPublished: false,
    completePublished: false,
    speaking: false,
    resolve,
    detach: undefined,
  };
}

/** A freshly queued chunk of `r`. */
export function newChunk(id: number, text: string, r: OutputResponse): Chunk {
  return {
    id,
    text,
    response: r,
    state: 'queued',
    pieces: [],
    encoded: undefined,
    samples: 0,
    readPiece: 0,
    readOffset: 0,
    played: 0,
    controller: undefined,
    wake: undefined,
    timer: undefined,
  };
}
