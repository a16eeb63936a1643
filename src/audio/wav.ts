/**
 * RIFF WAV (PCM16) reading and writing. The reader walks the chunk list (skipping LIST, fact,
 * cue and any other chunk), accepts WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE with a PCM
 * sub-format, and throws `AudioFormatError` with a stable code for anything else. Writers that
 * stream to a pipe (eSpeak NG, ffmpeg) cannot seek back to patch sizes and write a placeholder
 * such as 0x7ffff000 or 0xffffffff; such a data chunk is read to the end of the input.
 */
import { AudioFormatError, type ColloquyErrorCode } from '../errors.ts';
import { bytesToInt16, int16ToBytes } from './pcm.ts';

export interface WavFormat {
  sampleRate: number;
  channels: number;
}

export interface DecodedWav extends WavFormat {
  /** Interleaved PCM16 samples. */
  samples: Int16Array;
}

export interface DecodeWavOptions {
  /** Accept a data chunk shorter than its header says (returns what is there). Default false. */
  allowTruncated?: boolean;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const HEADER_BYTES = 44;
/** Data sizes at or above this are treated as "unknown, read to the end" (streaming writers). */
const STREAMING_SIZE_THRESHOLD = 0x7fff0000;

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

function fail(code: ColloquyErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new AudioFormatError(code, message, details ? { details } : {});
}

interface ParsedHeader extends WavFormat {
  dataOffset: number;
  /** Declared data size in bytes, or null when the writer used a streaming placeholder. */
  dataBytes: number | null;
}

/**
 * Parses the header up to the start of the data chunk. Returns `null` when `bytes` does not yet
 * hold the whole header (only when `partial` is set; otherwise that is a truncation error).
 */
function parseHeader(bytes: Uint8Array, partial: boolean): ParsedHeader | null {
  const need = (n: number): boolean => {
    if (bytes.length >= n) return true;
    if (partial) return false;
    return fail('wav_truncated', `WAV data ends inside the header (${bytes.length} bytes)`);
  };
  if (!need(12)) return null;
  if (fourcc(bytes, 0) !== 'RIFF' || fourcc(bytes, 8) !== 'WAVE') {
    fail('wav_bad_header', 'Not a RIFF/WAVE file');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let format: WavFormat | null = null;
  for (;;) {
    if (!need(offset + 8)) return null;
    const id = fourcc(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16) fail('wav_bad_header', `fmt chunk too small (${size} bytes)`);
      if (!need(body + 16)) return null;
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40) fail('wav_bad_header', 'WAVE_FORMAT_EXTENSIBLE fmt chunk too small');
        if (!need(body + 26)) return null;
        tag = view.getUint16(body + 24, true);
      }
      if (tag !== WAVE_FORMAT_PCM) {
        fail('wav_unsupported_format', `WAV format tag ${tag} is not PCM`, { formatTag: tag });
      }
      if (bits !== 16)
        fail('wav_unsupported_format', `WAV is ${bits}-bit; only 16-bit PCM is supported`, { bits });
      if (channels < 1) fail('wav_bad_header', 'WAV has zero channels');
      if (sampleRate < 1) fail('wav_bad_header', 'WAV has a zero sample rate');
      format = { sampleRate, channels };
    } else if (id === 'data') {
      if (format === null) fail('wav_bad_header', 'WAV data chunk comes before the fmt chunk');
      return { ...format, dataOffset: body, dataBytes: size >= STREAMING_SIZE_THRESHOLD ? null : size };
    }
    // Chunks are word-aligned: an odd-sized chunk is followed by a pad byte.
    offset = body + size + (size & 1);
  }
}

/**
 * Decodes a PCM16 WAV file.
 *
 * @example
 * ```ts
 * import { decodeWav, downmixToMono } from 'colloquy';
 * import { readFile } from 'node:fs/promises';
 *
 * const wav = decodeWav(await readFile('greeting.wav'));
 * console.log(wav.sampleRate, wav.channels, wav.samples.length);
 * const mono = downmixToMono(wav.samples, wav.channels);
 * ```
 */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): DecodedWav {
  const header = parseHeader(bytes, false)!;
  const available = bytes.length - header.dataOffset;
  let dataBytes = header.dataBytes ?? available;
  if (dataBytes > available) {
    if (!options.allowTruncated) {
      fail('wav_truncated', `WAV data chunk declares ${dataBytes} bytes but only ${available} are present`, {
        declared: dataBytes,
        available,
      });
    }
    dataBytes = available;
  }
  const frameBytes = 2 * header.channels;
  dataBytes -= dataBytes % frameBytes;
  const samples = bytesToInt16(bytes.subarray(header.dataOffset, header.dataOffset + dataBytes)).slice();
  return { samples, sampleRate: header.sampleRate, channels: header.channels };
}

/**
 * Encodes interleaved PCM16 samples as a canonical 44-byte-header WAV file.
 *
 * @example
 * ```ts
 * import { encodeWav } from 'colloquy';
 * import { writeFile } from 'node:fs/promises';
 *
 * const samples = new Int16Array(16000); // 1 s of 16 kHz mono
 * await writeFile('out.wav', encodeWav(samples, { sampleRate: 16000, channels: 1 }));
 * ```
 */
export function encodeWav(samples: Int16Array, format: WavFormat): Uint8Array {
  const { sampleRate, channels } = format;
  if (!Number.isInteger(channels) || channels < 1) fail('wav_bad_format', `Bad channel count ${channels}`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1)
    fail('wav_bad_format', `Bad sample rate ${sampleRate}`);
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(HEADER_BYTES + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  out.set(int16ToBytes(samples), HEADER_BYTES);
  return out;
}

/**
 * True when the bytes start like a RIFF/WAVE file.
 *
 * @example
 * ```ts
 * import { bytesToInt16, decodeWav, isWav } from 'colloquy';
 *
 * function toSamples(upload: Uint8Array): Int16Array {
 *   // a WAV file is decoded; anything else is taken as raw PCM16
 *   return isWav(upload) ? decodeWav(upload).samples : bytesToInt16(upload);
 * }
 * ```
 */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && fourcc(bytes, 0) === 'RIFF' && fourcc(bytes, 8) === 'WAVE';
}

/**
 * Incremental WAV decoder for audio arriving in pieces (a pipe, an HTTP body): buffers until the
 * header is complete, then returns PCM samples per pushed chunk, carrying odd bytes and partial
 * frames across pushes. `format` is set once the header has been parsed.
 *
 * @example
 * ```ts
 * import { WavStreamDecoder } from 'colloquy';
 * import { createReadStream } from 'node:fs';
 *
 * const decoder = new WavStreamDecoder();
 * for await (const chunk of createReadStream('speech.wav')) {
 *   const samples = decoder.push(chunk as Buffer); // whole samples so far (may be empty)
 *   if (samples.length > 0) console.log(decoder.format?.sampleRate, samples.length);
 * }
 * decoder.end(); // throws AudioFormatError `wav_truncated` when the file was cut short
 * ```
 */
export class WavStreamDecoder {
  format: WavFormat | null = null;
  private head: Uint8Array = new Uint8Array(0);
  private remaining: number | null = null;
  private carry: Uint8Array = new Uint8Array(0);

  /** Feeds bytes; returns the whole samples they complete (possibly empty). */
  push(chunk: Uint8Array): Int16Array {
    let data = chunk;
    if (this.format === null) {
      this.head = concatBytes(this.head, chunk);
      const header = parseHeader(this.head, true);
      if (header === null) return new Int16Array(0);
      this.format = { sampleRate: header.sampleRate, channels: header.channels };
      this.remaining = header.dataBytes;
      data = this.head.subarray(header.dataOffset);
      this.head = new Uint8Array(0);
    }
    if (this.remaining !== null) {
      if (data.length > this.remaining) data = data.subarray(0, this.remaining);
      this.remaining -= data.length;
    }
    if (this.carry.length > 0) {
      data = concatBytes(this.carry, data);
      this.carry = new Uint8Array(0);
    }
    const frameBytes = 2 * this.format.channels;
    const whole = data.length - (data.length % frameBytes);
    if (whole < data.length) this.carry = data.slice(whole);
    return bytesToInt16(data.subarray(0, whole)).slice();
  }

  /**
   * Ends the stream. Throws `wav_truncated` if the header never completed, or if the declared
   * data size was not reached and `allowTruncated` is not set.
   */
  end(options: DecodeWavOptions = {}): void {
    if (this.format === null) fail('wav_truncated', 'Stream ended before the WAV header was complete');
    if (!options.allowTruncated && this.remaining !== null && this.remaining > 0) {
      fail('wav_truncated', `WAV stream ended ${this.remaining} bytes short of its declared data size`);
    }
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
