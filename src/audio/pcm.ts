/**
 * PCM16 helpers. Audio is signed 16-bit little-endian; an `Int16Array` holds host-order samples,
 * which on every supported platform (x64, arm64) is little-endian. Everything here runs per audio
 * frame, so helpers avoid copies where a view will do and accept optional output buffers.
 */
import { endianness } from 'node:os';
import { AudioFormatError } from '../errors.ts';

const HOST_IS_LE = endianness() === 'LE';

/** Full-scale divisor used for every int16 <-> float conversion. */
const INT16_SCALE = 32768;

/**
 * Little-endian PCM16 bytes to samples. Returns a zero-copy view when the bytes are 2-byte
 * aligned; copies otherwise. Throws `AudioFormatError` (`pcm_odd_byte_count`) on an odd length.
 *
 * @example
 * ```ts
 * import { bytesToInt16 } from 'colloquy';
 *
 * // PCM16 bytes as they arrive from a socket (little-endian, 2 bytes a sample)
 * const bytes = new Uint8Array([0x00, 0x00, 0xff, 0x7f, 0x00, 0x80]);
 * const samples = bytesToInt16(bytes); // Int16Array [0, 32767, -32768]
 * ```
 */
export function bytesToInt16(bytes: Uint8Array): Int16Array {
  if ((bytes.byteLength & 1) !== 0) {
    throw new AudioFormatError(
      'pcm_odd_byte_count',
      `PCM16 data must have an even number of bytes, got ${bytes.byteLength}`,
      { details: { byteLength: bytes.byteLength } },
    );
  }
  const count = bytes.byteLength >> 1;
  if (HOST_IS_LE && (bytes.byteOffset & 1) === 0) {
    return new Int16Array(bytes.buffer, bytes.byteOffset, count);
  }
  const out = new Int16Array(count);
  for (let i = 0, j = 0; i < count; i++, j += 2) {
    const v = bytes[j]! | (bytes[j + 1]! << 8);
    out[i] = v > 0x7fff ? v - 0x10000 : v;
  }
  return out;
}

/**
 * Samples to little-endian PCM16 bytes (a zero-copy view of the same memory).
 *
 * @example
 * ```ts
 * import { int16ToBytes } from 'colloquy';
 * import { writeFile } from 'node:fs/promises';
 *
 * const samples = new Int16Array(16000); // 1 s of silence at 16 kHz
 * await writeFile('silence.pcm', int16ToBytes(samples)); // raw little-endian PCM16
 * ```
 */
export function int16ToBytes(samples: Int16Array): Uint8Array {
  if (HOST_IS_LE) return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = new Uint8Array(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    out[i * 2] = v & 0xff;
    out[i * 2 + 1] = (v >> 8) & 0xff;
  }
  return out;
}

/**
 * Int16 samples to floats in [-1, 1). Writes into `out` when given (must be long enough).
 *
 * @example
 * ```ts
 * import { int16ToFloat32 } from 'colloquy';
 *
 * const samples = new Int16Array([0, 16384, -32768]);
 * const floats = int16ToFloat32(samples); // Float32Array [0, 0.5, -1]
 * // per frame, reuse one buffer instead of allocating
 * const scratch = new Float32Array(512);
 * int16ToFloat32(samples, scratch);
 * ```
 */
export function int16ToFloat32(samples: Int16Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(samples.length);
  if (dst.length < samples.length) {
    throw new AudioFormatError(
      'pcm_buffer_too_small',
      `Output holds ${dst.length} < ${samples.length} samples`,
    );
  }
  for (let i = 0; i < samples.length; i++) dst[i] = samples[i]! / INT16_SCALE;
  return dst;
}

/**
 * Floats (nominally [-1, 1]) to Int16 samples, clamped and rounded. Writes into `out` when given.
 *
 * @example
 * ```ts
 * import { float32ToInt16 } from 'colloquy';
 *
 * // Web Audio / ONNX output in [-1, 1] to PCM16 (clamped and rounded)
 * const floats = new Float32Array([0, 0.5, -1, 1.7]);
 * const samples = float32ToInt16(floats); // Int16Array [0, 16384, -32768, 32767]
 * ```
 */
export function float32ToInt16(samples: Float32Array, out?: Int16Array): Int16Array {
  const dst = out ?? new Int16Array(samples.length);
  if (dst.length < samples.length) {
    throw new AudioFormatError(
      'pcm_buffer_too_small',
      `Output holds ${dst.length} < ${samples.length} samples`,
    );
  }
  for (let i = 0; i < samples.length; i++) dst[i] = clampInt16(Math.round(samples[i]! * INT16_SCALE));
  return dst;
}

/** Clamps a number into the int16 range (NaN becomes 0). */
export function clampInt16(value: number): number {
  if (value > 32767) return 32767;
  if (value < -32768) return -32768;
  return Number.isNaN(value) ? 0 : value;
}

/** Root-mean-square amplitude, 0 (silence) .. 1 (full-scale square wave). */
export function rms(samples: Int16Array): number {
  const n = samples.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i]!;
    sum += v * v;
  }
  return Math.min(1, Math.sqrt(sum / n) / INT16_SCALE);
}

/** Level floor in dBFS: anything quieter reads as 0. */
const LEVEL_FLOOR_DB = -60;

/**
 * Perceptual level 0..1 for meters: RMS in dBFS mapped linearly from -60 dBFS (0) to 0 dBFS (1).
 */
export function audioLevel(samples: Int16Array): number {
  const r = rms(samples);
  if (r <= 0) return 0;
  const db = 20 * Math.log10(r);
  if (db <= LEVEL_FLOOR_DB) return 0;
  return Math.min(1, (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB);
}

/**
 * Averages interleaved channels into mono. Mono input is returned as is (no copy).
 *
 * @example
 * ```ts
 * import { downmixToMono } from 'colloquy';
 *
 * // interleaved stereo: [L0, R0, L1, R1]
 * const stereo = new Int16Array([100, 300, -200, 200]);
 * const mono = downmixToMono(stereo, 2); // Int16Array [200, 0]
 * ```
 */
export function downmixToMono(interleaved: Int16Array, channels: number): Int16Array {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new AudioFormatError(
      'pcm_bad_channels',
      `Channel count must be a positive integer, got ${channels}`,
    );
  }
  if (channels === 1) return interleaved;
  if (interleaved.length % channels !== 0) {
    throw new AudioFormatError(
      'pcm_partial_frame',
      `${interleaved.length} samples is not a whole number of ${channels}-channel frames`,
    );
  }
  const frames = interleaved.length / channels;
  const out = new Int16Array(frames);
  for (let f = 0, i = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, i++) sum += interleaved[i]!;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/** Concatenates sample arrays into one new array. */
export function concatPcm(chunks: ReadonlyArray<Int16Array>): Int16Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Int16Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * Duration in milliseconds of `samples` mono samples at `sampleRate`.
 *
 * @example
 * ```ts
 * import { pcmDurationMs } from 'colloquy';
 *
 * const samples = new Int16Array(8000);
 * console.log(pcmDurationMs(samples.length, 16000)); // 500
 * ```
 */
export function pcmDurationMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}

/**
 * Cuts a stream of arbitrarily sized chunks into frames of exactly `frameSamples` samples,
 * keeping the remainder for the next push. Frames that lie wholly inside one input chunk are
 * zero-copy views of it; only frames straddling a chunk boundary are copied. Emitted frames are
 * never reused by the splitter, so a consumer may keep them.
 */
export class PcmFrameSplitter {
  readonly frameSamples: number;
  private readonly carry: Int16Array;
  private carryLength = 0;

  constructor(frameSamples: number) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new AudioFormatError(
        'pcm_bad_frame_size',
        `Frame size must be a positive integer, got ${frameSamples}`,
      );
    }
    this.frameSamples = frameSamples;
    this.carry = new Int16Array(frameSamples);
  }

  /** Samples waiting for the next push to complete a frame. */
  get pending(): number {
    return this.carryLength;
  }

  /** Feeds a chunk; calls `onFrame` once per completed frame, in order. Returns the frame count. */
  push(chunk: Int16Array, onFrame: (frame: Int16Array) => void): number {
    const size = this.frameSamples;
    let offset = 0;
    let frames = 0;
    if (this.carryLength > 0) {
      const need = size - this.carryLength;
      if (chunk.length < need) {
        this.carry.set(chunk, this.carryLength);
        this.carryLength += chunk.length;
        return 0;
      }
      const frame = new Int16Array(size);
      frame.set(this.carry.subarray(0, this.carryLength), 0);
      frame.set(chunk.subarray(0, need), this.carryLength);
      this.carryLength = 0;
      offset = need;
      onFrame(frame);
      frames++;
    }
    while (chunk.length - offset >= size) {
      onFrame(chunk.subarray(offset, offset + size));
      offset += size;
      frames++;
    }
    if (offset < chunk.length) {
      this.carry.set(chunk.subarray(offset), 0);
      this.carryLength = chunk.length - offset;
    }
    return frames;
  }

  /**
   * Returns the remainder (a copy) and empties the splitter, or `null` when nothing is pending.
   * With `pad`, the remainder is zero-padded to a full frame.
   */
  flush(options: { pad?: boolean } = {}): Int16Array | null {
    if (this.carryLength === 0) return null;
    const out = new Int16Array(options.pad ? this.frameSamples : this.carryLength);
    out.set(this.carry.subarray(0, this.carryLength), 0);
    this.carryLength = 0;
    return out;
  }

  /** Drops any pending samples. */
  reset(): void {
    this.carryLength = 0;
  }
}
