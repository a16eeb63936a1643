/**
 * Sample-rate conversion between the rates voice pipelines meet (48k, 44.1k, 24k, 22.05k, 16k, 8k).
 * Linear interpolation with exact integer phase tracking (no drift over hours of audio); when
 * downsampling, a 6th-order Butterworth low-pass (three biquads) runs first against aliasing.
 * The streaming object carries filter and phase state across chunks, so splitting the input
 * anywhere gives the same output as resampling it in one piece.
 */
import { AudioFormatError } from '../errors.ts';
import { clampInt16 } from './pcm.ts';

/**
 * The sample rates `resample` and `StreamingResampler` convert between.
 *
 * @example
 * ```ts
 * import { SUPPORTED_SAMPLE_RATES } from 'colloquy';
 *
 * console.log(`rates: ${SUPPORTED_SAMPLE_RATES.join(', ')}`); // 48000, 44100, 24000, 22050, 16000, 8000
 * ```
 */
export const SUPPORTED_SAMPLE_RATES = [48000, 44100, 24000, 22050, 16000, 8000] as const;
export type SupportedSampleRate = (typeof SUPPORTED_SAMPLE_RATES)[number];

/**
 * True when `rate` is one of `SUPPORTED_SAMPLE_RATES` (narrows it to `SupportedSampleRate`).
 *
 * @example
 * ```ts
 * import { isSupportedSampleRate, resample } from 'colloquy';
 *
 * function to16k(samples: Int16Array, rate: number): Int16Array {
 *   if (!isSupportedSampleRate(rate)) throw new Error(`cannot resample from ${rate} Hz`);
 *   return resample(samples, rate, 16000);
 * }
 * ```
 */
export function isSupportedSampleRate(rate: number): rate is SupportedSampleRate {
  return (SUPPORTED_SAMPLE_RATES as readonly number[]).includes(rate);
}

function assertRate(rate: number, which: string): void {
  if (!isSupportedSampleRate(rate)) {
    throw new AudioFormatError(
      'unsupported_sample_rate',
      `Unsupported ${which} sample rate ${rate}; supported: ${SUPPORTED_SAMPLE_RATES.join(', ')}`,
      { details: { sampleRate: rate } },
    );
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Number of biquad sections of the anti-alias filter (order = 2 × sections). */
const SECTIONS = 3;
/** Cut-off as a fraction of the output Nyquist frequency. */
const CUTOFF_FRACTION = 0.8;

/** Coefficients [b0, b1, b2, a1, a2] per section of a Butterworth low-pass. */
function butterworthLowPass(cutoffHz: number, sampleRate: number): Float64Array {
  const coeffs = new Float64Array(SECTIONS * 5);
  const w0 = (2 * Math.PI * cutoffHz) / sampleRate;
  const cosW = Math.cos(w0);
  const sinW = Math.sin(w0);
  for (let k = 0; k < SECTIONS; k++) {
    // Q of each section of an order-2N Butterworth filter.
    const q = 1 / (2 * Math.cos((Math.PI * (2 * k + 1)) / (4 * SECTIONS)));
    const alpha = sinW / (2 * q);
    const a0 = 1 + alpha;
    const o = k * 5;
    coeffs[o] = (1 - cosW) / 2 / a0;
    coeffs[o + 1] = (1 - cosW) / a0;
    coeffs[o + 2] = (1 - cosW) / 2 / a0;
    coeffs[o + 3] = (-2 * cosW) / a0;
    coeffs[o + 4] = (1 - alpha) / a0;
  }
  return coeffs;
}

/**
 * Stateful mono resampler. Create one per stream; `process` each chunk, `flush` at the end.
 *
 * @example
 * ```ts
 * import { StreamingResampler } from 'colloquy';
 *
 * // one per stream: filter and phase state carry across chunks
 * const resampler = new StreamingResampler(48000, 16000);
 * const out: Int16Array[] = [];
 * for (const chunk of [new Int16Array(960), new Int16Array(960)]) out.push(resampler.process(chunk));
 * out.push(resampler.flush()); // the last samples, at the end of the stream
 * ```
 */
export class StreamingResampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Input step per output sample in units of 1/`toStep` input samples (reduced ratio). */
  private readonly fromStep: number;
  private readonly toStep: number;
  private readonly filter: Float64Array | null;
  /** Transposed direct form II state, two values per section. */
  private readonly filterState: Float64Array;
  private scratch: Float32Array = new Float32Array(0);
  /** Position of the next output sample, in 1/`toStep` input samples, relative to the chunk start. */
  private phase = 0;
  /** Last (filtered) input sample of the previous chunk, at position -1. */
  private prev = 0;
  private started = false;

  constructor(fromRate: number, toRate: number) {
    assertRate(fromRate, 'input');
    assertRate(toRate, 'output');
    this.fromRate = fromRate;
    this.toRate = toRate;
    const g = gcd(fromRate, toRate);
    this.fromStep = fromRate / g;
    this.toStep = toRate / g;
    this.filter = toRate < fromRate ? butterworthLowPass((CUTOFF_FRACTION * toRate) / 2, fromRate) : null;
    this.filterState = new Float64Array(SECTIONS * 2);
  }

  /** Output samples `process` will return for an input chunk of `inputLength` samples. */
  outputLength(inputLength: number): number {
    if (this.fromRate === this.toRate) return inputLength;
    if (inputLength === 0) return 0;
    const limit = (inputLength - 1) * this.toStep - this.phase;
    return limit <= 0 ? 0 : Math.ceil(limit / this.fromStep);
  }

  /** Resamples one chunk. The output is a new array; its length varies by at most one per chunk. */
  process(input: Int16Array): Int16Array {
    if (this.fromRate === this.toRate) return input.slice();
    const n = input.length;
    if (n === 0) return new Int16Array(0);
    const x = this.filtered(input);
    const out = new Int16Array(this.outputLength(n));
    const from = this.fromStep;
    const to = this.toStep;
    let phase = this.phase;
    for (let k = 0; k < out.length; k++) {
      const i = Math.floor(phase / to);
      const frac = (phase - i * to) / to;
      const a = i < 0 ? this.prev : x[i]!;
      const b = x[i + 1]!;
      out[k] = clampInt16(Math.round(a + (b - a) * frac));
      phase += from;
    }
    this.phase = phase - n * to;
    this.prev = x[n - 1]!;
    this.started = true;
    return out;
  }

  /** Emits the samples still owed at the end of the stream (holding the last sample) and resets. */
  flush(): Int16Array {
    if (this.fromRate === this.toRate || !this.started) {
      this.reset();
      return new Int16Array(0);
    }
    const count = this.phase < 0 ? Math.ceil(-this.phase / this.fromStep) : 0;
    const out = new Int16Array(count).fill(clampInt16(Math.round(this.prev)));
    this.reset();
    return out;
  }

  /** Forgets all state (new stream). */
  reset(): void {
    this.phase = 0;
    this.prev = 0;
    this.started = false;
    this.filterState.fill(0);
  }

  private filtered(input: Int16Array): Float32Array {
    if (this.scratch.length < input.length) this.scratch = new Float32Array(input.length);
    const x = this.scratch;
    const n = input.length;
    const c = this.filter;
    if (c === null) {
      for (let i = 0; i < n; i++) x[i] = input[i]!;
      return x;
    }
    const s = this.filterState;
    for (let i = 0; i < n; i++) {
      let v = input[i]!;
      for (let k = 0; k < SECTIONS; k++) {
        const o = k * 5;
        const z = k * 2;
        const y = c[o]! * v + s[z]!;
        s[z] = c[o + 1]! * v - c[o + 3]! * y + s[z + 1]!;
        s[z + 1] = c[o + 2]! * v - c[o + 4]! * y;
        v = y;
      }
      x[i] = v;
    }
    return x;
  }
}

/**
 * One-shot resampling of a whole buffer (same-rate input is copied).
 *
 * @example
 * ```ts
 * import { resample } from 'colloquy';
 *
 * const at48k = new Int16Array(48000); // 1 s
 * const at16k = resample(at48k, 48000, 16000); // about 16000 samples
 * ```
 */
export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  const r = new StreamingResampler(fromRate, toRate);
  const body = r.process(input);
  const tail = r.flush();
  if (tail.length === 0) return body;
  const out = new Int16Array(body.length + tail.length);
  out.set(body, 0);
  out.set(tail, body.length);
  return out;
}
