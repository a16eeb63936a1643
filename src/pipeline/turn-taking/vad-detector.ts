/**
 * Voice activity detection with hysteresis over a `VadModel`.
 *
 * Audio of any length is re-framed to the model's `frameSamples`, each frame is scored, and a small
 * state machine turns scores into speech-start / speech-stop transitions:
 *
 *   silence ──p≥start──▶ maybe_speech ──(speech lasted minSpeechMs)──▶ speech
 *      ▲                      │ p<start                                  │ p<stop
 *      └──────────────────────┘                                          ▼
 *      └────────────(silence lasted minSilenceMs)─────────────────── maybe_silence ──p≥stop──▶ speech
 *
 * Times are stream-relative milliseconds computed from sample counts, so a scripted audio timeline
 * gives the same transitions every run, whatever the wall clock does.
 */
import type { VadModel, VadStream } from '../../providers/types.ts';

export type VadState = 'silence' | 'maybe_speech' | 'speech' | 'maybe_silence';

export type VadTransition =
  | {
      type: 'speech-start';
      /** Where speech began (start of its first speech frame). */
      atMs: number;
      /** Where the utterance's audio should start for STT: `atMs - prefixPaddingMs`, not before 0. */
      paddedAtMs: number;
      /** Stream position at which the start was confirmed (end of the deciding frame). */
      confirmedAtMs: number;
    }
  | {
      type: 'speech-stop';
      /** Where speech ended (start of the first silent frame). */
      atMs: number;
      durationMs: number;
      /** Stream position at which the stop was confirmed. */
      confirmedAtMs: number;
    };

export interface VadDetectorOptions {
  vad: VadModel;
  /** Probability at or above which a frame counts as speech while silent (default 0.5). */
  startThreshold?: number;
  /** Probability below which a frame counts as silence while speaking (default 0.35). */
  stopThreshold?: number;
  /** Speech must last this long before `speech-start` (default 100). */
  minSpeechMs?: number;
  /** Silence must last this long before `speech-stop` (default 300). */
  minSilenceMs?: number;
  /** Audio before the detected onset that belongs to the utterance (default 200), see `paddedAtMs`. */
  prefixPaddingMs?: number;
}

type FrameKind = 'speech' | 'silence';

/** What `push` returns for audio that changed nothing (shared, never written). */
const NO_TRANSITIONS: ReadonlyArray<VadTransition> = Object.freeze([]);

/** Next state per (state, frame kind); the thresholds decide the kind for the current state. */
const TRANSITIONS: Record<VadState, Record<FrameKind, VadState>> = {
  silence: { speech: 'maybe_speech', silence: 'silence' },
  maybe_speech: { speech: 'maybe_speech', silence: 'silence' },
  speech: { speech: 'speech', silence: 'maybe_silence' },
  maybe_silence: { speech: 'speech', silence: 'maybe_silence' },
};

/**
 * Speech start/stop from a `VadModel`'s per-frame probabilities, with thresholds and minimum
 * durations (hysteresis); times are stream-relative milliseconds.
 *
 * @example
 * ```ts
 * import { EnergyVad, VadDetector } from 'colloquy';
 *
 * const detector = new VadDetector({ vad: new EnergyVad(), minSilenceMs: 400 });
 * for (const transition of await detector.push(new Int16Array(16000))) {
 *   if (transition.type === 'speech-start') console.log('speech from', transition.paddedAtMs, 'ms');
 *   else console.log('speech stopped after', transition.durationMs, 'ms');
 * }
 * detector.close();
 * ```
 */
export class VadDetector {
  readonly sampleRate: number;
  readonly frameSamples: number;
  readonly startThreshold: number;
  readonly stopThreshold: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly prefixPaddingMs: number;
  private readonly stream: VadStream;
  private readonly frame: Int16Array;
  private frameFill = 0;
  /** Samples scored so far (whole frames). */
  private scored = 0;
  private state: VadState = 'silence';
  /** Start of the candidate speech (maybe_speech) or of the utterance (speech, maybe_silence), in ms. */
  private speechStartMs = 0;
  /** Start of the candidate silence (maybe_silence), in ms. */
  private silenceStartMs = 0;
  private lastProbability = 0;

  constructor(options: VadDetectorOptions) {
    this.sampleRate = options.vad.sampleRate;
    this.frameSamples = options.vad.frameSamples;
    this.startThreshold = options.startThreshold ?? 0.5;
    this.stopThreshold = Math.min(options.stopThreshold ?? 0.35, this.startThreshold);
    this.minSpeechMs = options.minSpeechMs ?? 100;
    this.minSilenceMs = options.minSilenceMs ?? 300;
    this.prefixPaddingMs = options.prefixPaddingMs ?? 200;
    this.stream = options.vad.createStream();
    this.frame = new Int16Array(this.frameSamples);
  }

  /** Speech probability of the last scored frame. */
  get probability(): number {
    return this.lastProbability;
  }

  /** True once speech started and until it stopped (maybe_silence still counts as speaking). */
  get speaking(): boolean {
    return this.state === 'speech' || this.state === 'maybe_silence';
  }

  get currentState(): VadState {
    return this.state;
  }

  /** Stream position in ms: audio pushed so far, including a partial frame not yet scored. */
  get positionMs(): number {
    return this.toMs(this.scored + this.frameFill);
  }

  /**
   * Feeds audio at `vad.sampleRate`; returns the transitions it caused, in order. Synchronous while
   * the model scores synchronously (nothing allocated for a frame without a transition), a promise
   * once it returns one (an ONNX model).
   */
  push(audio: Int16Array): ReadonlyArray<VadTransition> | Promise<ReadonlyArray<VadTransition>> {
    let out: VadTransition[] | undefined;
    let offset = 0;
    while (offset < audio.length) {
      offset = this.fill(audio, offset);
      if (this.frameFill < this.frameSamples) break;
      const p = this.stream.process(this.frame);
      if (typeof p !== 'number') return this.pushAsync(p, audio, offset, out);
      this.frameFill = 0;
      const transition = this.step(p);
      if (transition !== undefined) {
        if (out === undefined) out = [];
        out.push(transition);
      }
    }
    return out ?? NO_TRANSITIONS;
  }

  /** `push` from the first frame whose score is a promise on. */
  private async pushAsync(
    pending: Promise<number>,
    audio: Int16Array,
    from: number,
    found: VadTransition[] | undefined,
  ): Promise<ReadonlyArray<VadTransition>> {
    const out = found ?? [];
    let p = await pending;
    let offset = from;
    for (;;) {
      this.frameFill = 0;
      const transition = this.step(p);
      if (transition !== undefined) out.push(transition);
      if (offset >= audio.length) break;
      offset = this.fill(audio, offset);
      if (this.frameFill < this.frameSamples) break;
      p = await this.stream.process(this.frame);
    }
    return out;
  }

  /** Copies audio from `offset` into the frame being filled; returns the new offset. */
  private fill(audio: Int16Array, offset: number): number {
    const n = Math.min(this.frameSamples - this.frameFill, audio.length - offset);
    if (offset === 0 && n === audio.length) this.frame.set(audio, this.frameFill);
    else for (let i = 0; i < n; i++) this.frame[this.frameFill + i] = audio[offset + i]!;
    this.frameFill += n;
    return offset + n;
  }

  /**
   * Forgets the stream (mute, new call). Returns the `speech-stop` that ends an utterance in
   * progress, if any, at the current position.
   */
  reset(): VadTransition | undefined {
    const at = this.positionMs;
    const wasSpeaking = this.speaking;
    this.state = 'silence';
    this.stream.reset();
    this.lastProbability = 0;
    if (!wasSpeaking) return undefined;
    return { type: 'speech-stop', atMs: at, durationMs: at - this.speechStartMs, confirmedAtMs: at };
  }

  close(): void {
    this.stream.close();
  }

  private step(probability: number): VadTransition | undefined {
    this.lastProbability = probability;
    const frameStart = this.toMs(this.scored);
    this.scored += this.frameSamples;
    const frameEnd = this.toMs(this.scored);
    const from = this.state;
    const threshold =
      from === 'silence' || from === 'maybe_speech' ? this.startThreshold : this.stopThreshold;
    const kind: FrameKind = probability >= threshold ? 'speech' : 'silence';
    let to = TRANSITIONS[from][kind];
    let transition: VadTransition | undefined;
    if (from === 'silence' && to === 'maybe_speech') this.speechStartMs = frameStart;
    if (from === 'speech' && to === 'maybe_silence') this.silenceStartMs = frameStart;
    if (to === 'maybe_speech' && frameEnd - this.speechStartMs >= this.minSpeechMs) {
      to = 'speech';
      const atMs = this.speechStartMs;
      const paddedAtMs = Math.max(0, atMs - this.prefixPaddingMs);
      transition = { type: 'speech-start', atMs, paddedAtMs, confirmedAtMs: frameEnd };
    } else if (to === 'maybe_silence' && frameEnd - this.silenceStartMs >= this.minSilenceMs) {
      to = 'silence';
      const atMs = this.silenceStartMs;
      transition = {
        type: 'speech-stop',
        atMs,
        durationMs: atMs - this.speechStartMs,
        confirmedAtMs: frameEnd,
      };
    }
    this.state = to;
    return transition;
  }

  private toMs(samples: number): number {
    return (samples * 1000) / this.sampleRate;
  }
}
