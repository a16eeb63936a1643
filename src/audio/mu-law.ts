/**
 * ITU-T G.711 mu-law companding (telephony audio, 8 kHz). Encoding follows the reference
 * algorithm (bias 0x84, clip 32635, bits inverted); decoding uses a 256-entry table.
 */

const BIAS = 0x84;
const CLIP = 32635;

const DECODE_TABLE: Int16Array = (() => {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const sign = u & 0x80;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    table[i] = sign ? -magnitude : magnitude;
  }
  return table;
})();

/** Encodes one linear PCM16 sample to a mu-law byte. */
export function linearToMuLaw(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decodes one mu-law byte to a linear PCM16 sample. */
export function muLawToLinear(byte: number): number {
  return DECODE_TABLE[byte & 0xff]!;
}

/**
 * Encodes PCM16 samples to mu-law bytes. Writes into `out` when given.
 *
 * @example
 * ```ts
 * import { encodeMuLaw, resample } from 'colloquy';
 *
 * // 16 kHz PCM16 to a telephone call's 8 kHz mu-law payload
 * const pcm16k = new Int16Array(320); // 20 ms
 * const payload = encodeMuLaw(resample(pcm16k, 16000, 8000)); // 160 bytes, one byte a sample
 * ```
 */
export function encodeMuLaw(samples: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) dst[i] = linearToMuLaw(samples[i]!);
  return dst;
}

/**
 * Decodes mu-law bytes to PCM16 samples. Writes into `out` when given.
 *
 * @example
 * ```ts
 * import { decodeMuLaw, resample } from 'colloquy';
 *
 * // a Twilio-style media payload (8 kHz mu-law, base64) to 16 kHz PCM16
 * const payload = Buffer.from('//////////8=', 'base64');
 * const pcm8k = decodeMuLaw(payload);
 * const pcm16k = resample(pcm8k, 8000, 16000);
 * ```
 */
export function decodeMuLaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out ?? new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) dst[i] = DECODE_TABLE[bytes[i]!]!;
  return dst;
}
