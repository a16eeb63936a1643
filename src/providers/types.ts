/**
 * Model interfaces Colloquy adds to the AI SDK's (`LanguageModel`, `TranscriptionModel`, `SpeechModel`).
 * Audio is PCM16 (host order Int16Array = little-endian here) with an explicit sample rate, mono
 * unless `channels` says otherwise. Every call takes an `AbortSignal`. Each interface carries a
 * `specificationVersion` (see `SPECIFICATION_VERSIONS`, docs/providers.md).
 */
import type { SPECIFICATION_VERSIONS } from '../specification-version.ts';

/** Voice activity detection over fixed-size frames. One model may serve many streams. */
export interface VadModel {
  /** The interface version this model implements (`'colloquy-vad-v1'`); checked when it is given. */
  readonly specificationVersion: typeof SPECIFICATION_VERSIONS.vad;
  readonly provider: string;
  readonly modelId: string;
  /** Sample rate the model expects (frames at other rates must be resampled first). */
  readonly sampleRate: number;
  /** Samples per frame the model scores (e.g. 512 at 16 kHz for Silero = 32 ms). */
  readonly frameSamples: number;
  /** A per-stream detector holding its own recurrent state. */
  createStream(): VadStream;
}

export interface VadStream {
  /**
   * Speech probability 0..1 for exactly `frameSamples` samples. The frame is lent: it may be read
   * until the score is returned (or its promise settles), then the caller refills the same buffer
   * with the next frame. A model that needs samples later (a context window, a batch) copies them.
   * The conformance suite (`describeVadModel`) checks this. One frame at a time: the next call
   * comes after the previous score settled (an asynchronous model may refuse an overlapping one).
   */
  process(frame: Int16Array): number | Promise<number>;
  /** Forget recurrent state (new utterance / new call). */
  reset(): void;
  close(): void;
}

export type SttEvent =
  | { type: 'interim'; text: string }
  | { type: 'final'; text: string; language?: string; confidence?: number };

export interface SttStreamOptions {
  /** Sample rate of the audio written to the stream. */
  sampleRate: number;
  language?: string;
  abortSignal?: AbortSignal;
}

/** Streaming speech-to-text: audio frames in, interim and final transcripts out. */
export interface SttModel {
  /** The interface version this model implements (`'colloquy-stt-v1'`); checked when it is given. */
  readonly specificationVersion: typeof SPECIFICATION_VERSIONS.stt;
  readonly provider: string;
  readonly modelId: string;
  /** Preferred input sample rate (the pipeline resamples to it). */
  readonly sampleRate: number;
  /**
   * Transcribe one utterance. The audio iterable ends when the user's turn ends; the returned
   * iterable yields interim transcripts while audio arrives and exactly one `final` after it ends.
   */
  transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent>;
}

export interface TtsRequest {
  text: string;
  voice?: string;
  instructions?: string;
  abortSignal?: AbortSignal;
  /**
   * The caller's own bound on the request (ms) until its first audio: it aborts `abortSignal` and
   * stops waiting once that passes (the speech pipeline does). A model may then skip a bound of its
   * own that is not shorter.
   */
  timeoutMs?: number;
}

/** Streaming text-to-speech: yields PCM16 chunks of `sampleRate` as soon as each is synthesised. */
export interface TtsModel {
  /** The interface version this model implements (`'colloquy-tts-v1'`); checked when it is given. */
  readonly specificationVersion: typeof SPECIFICATION_VERSIONS.tts;
  readonly provider: string;
  readonly modelId: string;
  readonly sampleRate: number;
  synthesize(request: TtsRequest): AsyncIterable<Int16Array>;
}

export interface EndOfTurnContext {
  /** The user's words so far in this turn. */
  transcript: string;
  /** Recent conversation, oldest first. */
  history: ReadonlyArray<{ role: 'user' | 'assistant'; text: string }>;
  /** Silence since the user stopped speaking. */
  silenceMs: number;
  abortSignal?: AbortSignal;
}

/** Decides whether the user finished their turn (semantic endpointing). */
export interface EndOfTurnDetector {
  readonly provider: string;
  /** Probability 0..1 that the user is done speaking. */
  predict(context: EndOfTurnContext): Promise<number>;
  /** Probability at or above which the turn ends (default 0.5). */
  readonly threshold?: number;
}
