/**
 * A scripted `VadModel` for tests: each stream returns probabilities from a per-frame script
 * (array or function), or, without a script, from the frame's energy. Frame sizes are checked
 * like a real model's, and processed frames are recorded: every one is counted, the last
 * `maxRecorded` probabilities (and streams) are kept, so a long run holds bounded memory.
 */
import { rms } from '../audio/pcm.ts';
import { AudioFormatError } from '../errors.ts';
import type { VadModel, VadStream } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';

export type MockVadScript = ReadonlyArray<number> | ((frameIndex: number, frame: Int16Array) => number);

export interface MockVadOptions {
  sampleRate?: number;
  /** Samples per frame (default 512, Silero's size). */
  frameSamples?: number;
  /** Per-frame probabilities. Without a script the probability comes from the frame's energy. */
  script?: MockVadScript;
  /** Probability after an array script runs out (default 0). */
  afterScript?: number;
  /** RMS (0..1) at which the energy mode reaches probability 0.5 (default 0.02). */
  energyThreshold?: number;
  /** Return promises instead of numbers, like an ONNX-backed model (default false). */
  async?: boolean;
  /** Probabilities kept per stream, and streams kept per model: the most recent ones (default 1000). */
  maxRecorded?: number;
}

const DEFAULT_MAX_RECORDED = 1000;

/**
 * A scripted VAD: per-frame probabilities from an array or a function (or the frame's energy).
 *
 * @example
 * ```ts
 * import { VadDetector } from 'colloquy';
 * import { MockVad } from 'colloquy/testing';
 *
 * // 10 frames of speech, then silence
 * const vad = new MockVad({ sampleRate: 16000, frameSamples: 512, script: [...Array(10).fill(0.9)], afterScript: 0 });
 * const detector = new VadDetector({ vad, minSpeechMs: 64, minSilenceMs: 128 });
 * const transitions = await detector.push(new Int16Array(512 * 20));
 * console.log(transitions.map((t) => t.type)); // ['speech-start', 'speech-stop']
 * ```
 */
export class MockVad implements VadModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.vad;
  readonly provider = 'mock';
  readonly modelId = 'mock-vad';
  readonly sampleRate: number;
  readonly frameSamples: number;
  /** The streams created, in order (the last `maxRecorded`). */
  readonly streams: MockVadStream[] = [];
  /** At most this many probabilities per stream, and streams, are kept. */
  readonly maxRecorded: number;
  /** Frames scored by streams no longer in `streams`. */
  private droppedScored = 0;

  constructor(readonly options: MockVadOptions = {}) {
    this.sampleRate = options.sampleRate ?? 16000;
    this.frameSamples = options.frameSamples ?? 512;
    this.maxRecorded = Math.max(1, Math.floor(options.maxRecorded ?? DEFAULT_MAX_RECORDED));
  }

  /** Frames scored by all streams so far (every one, also those no longer recorded). */
  get framesScored(): number {
    let n = this.droppedScored;
    for (const st of this.streams) n += st.scored;
    return n;
  }

  createStream(): MockVadStream {
    const stream = new MockVadStream(this);
    this.streams.push(stream);
    if (this.streams.length > this.maxRecorded) this.droppedScored += this.streams.shift()!.scored;
    return stream;
  }
}

/**
 * @example
 * ```ts
 * import { MockVad } from 'colloquy/testing';
 *
 * const vad = new MockVad({ script: [0.1, 0.8, 0.9] });
 * const stream = vad.createStream(); // a MockVadStream: records what it scored
 * await stream.process(new Int16Array(vad.frameSamples));
 * console.log(stream.probabilities, vad.framesScored); // [0.1] 1
 * ```
 */
export class MockVadStream implements VadStream {
  /** Frames processed since creation or the last reset. */
  frameIndex = 0;
  /** Probabilities returned, in order (kept across resets): the last `maxRecorded` of them. */
  readonly probabilities: number[] = [];
  /** Frames scored since creation (kept across resets). */
  scored = 0;
  resets = 0;
  closed = false;

  constructor(private readonly vad: MockVad) {}

  process(frame: Int16Array): number | Promise<number> {
    if (this.closed) throw new AudioFormatError('vad_stream_closed', 'VAD stream was closed');
    if (frame.length !== this.vad.frameSamples) {
      throw new AudioFormatError(
        'vad_bad_frame_size',
        `Mock VAD expects frames of ${this.vad.frameSamples} samples, got ${frame.length}`,
      );
    }
    const p = this.score(frame);
    this.frameIndex++;
    this.scored++;
    this.probabilities.push(p);
    if (this.probabilities.length > this.vad.maxRecorded) this.probabilities.shift();
    return this.vad.options.async ? Promise.resolve(p) : p;
  }

  private score(frame: Int16Array): number {
    const { script, afterScript = 0, energyThreshold = 0.02 } = this.vad.options;
    if (typeof script === 'function') return clamp01(script(this.frameIndex, frame));
    if (script) return clamp01(script[this.frameIndex] ?? afterScript);
    return clamp01(rms(frame) / (2 * energyThreshold));
  }

  reset(): void {
    this.frameIndex = 0;
    this.resets++;
  }

  close(): void {
    this.closed = true;
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** A VAD whose probability is the frame's mean |amplitude| / 1000 (capped at 1): amplitude 1000 is speech. */
export function amplitudeVad(frameSamples = 320, sampleRate = 16000): MockVad {
  return new MockVad({
    frameSamples,
    sampleRate,
    script: (_i, frame) => {
      let sum = 0;
      for (let k = 0; k < frame.length; k++) sum += Math.abs(frame[k]!);
      return Math.min(1, sum / frame.length / 1000);
    },
  });
}
