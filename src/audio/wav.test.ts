import { describe, expect, it } from 'vitest';
import { AudioFormatError } from '../errors.ts';
import { concatPcm } from './pcm.ts';
import { decodeWav, encodeWav, isWav, WavStreamDecoder } from './wav.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AudioFormatError);
    return (err as AudioFormatError).code;
  }
  return undefined;
}

/** Builds a WAV from raw chunks so tests can craft odd files. */
function riff(chunks: Array<[string, Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  const push32 = (v: number) => parts.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  for (const c of 'WAVE') parts.push(c.charCodeAt(0));
  for (const [id, body] of chunks) {
    for (const c of id) parts.push(c.charCodeAt(0));
    push32(body.length);
    parts.push(...body);
    if (body.length & 1) parts.push(0);
  }
  const head = [...'RIFF'].map((c) => c.charCodeAt(0));
  const size = parts.length;
  return Uint8Array.from([
    ...head,
    size & 0xff,
    (size >> 8) & 0xff,
    (size >> 16) & 0xff,
    size >>> 24,
    ...parts,
  ]);
}

function fmt(tag: number, channels: number, rate: number, bits: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, (rate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  return b;
}

const pcmBytes = (samples: number[]) => new Uint8Array(Int16Array.from(samples).buffer);

describe('encodeWav', () => {
  it('writes a canonical 44-byte header', () => {
    const wav = encodeWav(Int16Array.from([1, -1]), { sampleRate: 16000, channels: 1 });
    expect(wav.length).toBe(48);
    const v = new DataView(wav.buffer);
    expect(new TextDecoder().decode(wav.subarray(0, 4))).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(40);
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(32000);
    expect(v.getUint32(40, true)).toBe(4);
    expect(Array.from(wav.subarray(44))).toEqual([1, 0, 0xff, 0xff]);
    expect(isWav(wav)).toBe(true);
  });

  it('rejects a bad format', () => {
    expect(codeOf(() => encodeWav(new Int16Array(2), { sampleRate: 0, channels: 1 }))).toBe('wav_bad_format');
  });
});

describe('decodeWav', () => {
  it('round-trips mono and stereo', () => {
    const samples = Int16Array.from({ length: 300 }, (_, i) => ((i * 219) % 65536) - 32768);
    for (const channels of [1, 2]) {
      const out = decodeWav(encodeWav(samples, { sampleRate: 22050, channels }));
      expect(out.sampleRate).toBe(22050);
      expect(out.channels).toBe(channels);
      expect(Array.from(out.samples)).toEqual(Array.from(samples));
    }
  });

  it('skips LIST and odd-sized chunks', () => {
    const wav = riff([
      ['LIST', new TextEncoder().encode('INFOISFT\x05\x00\x00\x00Lavf\x00')],
      ['junk', new Uint8Array(3)],
      ['fmt ', fmt(1, 1, 8000, 16)],
      ['fact', new Uint8Array(4)],
      ['data', pcmBytes([5, -5, 7])],
    ]);
    const out = decodeWav(wav);
    expect(out.sampleRate).toBe(8000);
    expect(Array.from(out.samples)).toEqual([5, -5, 7]);
  });

  it('accepts WAVE_FORMAT_EXTENSIBLE with a PCM sub-format', () => {
    const ext = new Uint8Array(40);
    ext.set(fmt(0xfffe, 1, 16000, 16));
    new DataView(ext.buffer).setUint16(16, 22, true);
    new DataView(ext.buffer).setUint16(24, 1, true);
    expect(
      Array.from(
        decodeWav(
          riff([
            ['fmt ', ext],
            ['data', pcmBytes([3])],
          ]),
        ).samples,
      ),
    ).toEqual([3]);
  });

  it('reads a streaming placeholder size to the end of the input', () => {
    const wav = encodeWav(Int16Array.from([1, 2, 3]), { sampleRate: 22050, channels: 1 });
    new DataView(wav.buffer).setUint32(40, 0x7ffff000, true);
    expect(Array.from(decodeWav(wav).samples)).toEqual([1, 2, 3]);
  });

  it('throws typed errors for bad input', () => {
    expect(codeOf(() => decodeWav(new Uint8Array(5)))).toBe('wav_truncated');
    expect(codeOf(() => decodeWav(new TextEncoder().encode('RIFX\0\0\0\0WAVEfmt ')))).toBe('wav_bad_header');
    expect(
      codeOf(() =>
        decodeWav(
          riff([
            ['fmt ', fmt(3, 1, 16000, 32)],
            ['data', new Uint8Array(8)],
          ]),
        ),
      ),
    ).toBe('wav_unsupported_format');
    expect(
      codeOf(() =>
        decodeWav(
          riff([
            ['fmt ', fmt(1, 1, 16000, 8)],
            ['data', new Uint8Array(8)],
          ]),
        ),
      ),
    ).toBe('wav_unsupported_format');
    expect(
      codeOf(() =>
        decodeWav(
          riff([
            ['data', new Uint8Array(8)],
            ['fmt ', fmt(1, 1, 16000, 16)],
          ]),
        ),
      ),
    ).toBe('wav_bad_header');
    expect(codeOf(() => decodeWav(riff([['fmt ', fmt(1, 1, 16000, 16)]])))).toBe('wav_truncated');
  });

  it('detects truncated data, or returns what is there when allowed', () => {
    const wav = encodeWav(Int16Array.from([1, 2, 3, 4]), { sampleRate: 16000, channels: 1 });
    const cut = wav.subarray(0, wav.length - 3);
    expect(codeOf(() => decodeWav(cut))).toBe('wav_truncated');
    expect(Array.from(decodeWav(cut, { allowTruncated: true }).samples)).toEqual([1, 2]);
  });
});

describe('WavStreamDecoder', () => {
  it('decodes a file fed in arbitrary pieces, carrying odd bytes', () => {
    const samples = Int16Array.from({ length: 257 }, (_, i) => i * 97 - 12000);
    const wav = riff([
      ['LIST', new Uint8Array(9)],
      ['fmt ', fmt(1, 2, 16000, 16)],
      ['data', new Uint8Array(samples.buffer)],
    ]);
    for (const step of [1, 3, 7, 45, 1000]) {
      const dec = new WavStreamDecoder();
      const parts: Int16Array[] = [];
      for (let i = 0; i < wav.length; i += step) parts.push(dec.push(wav.subarray(i, i + step)));
      dec.end(); // a trailing partial stereo frame (257 samples) is dropped, as decodeWav does
      expect(dec.format).toEqual({ sampleRate: 16000, channels: 2 });
      expect(Array.from(concatPcm(parts)), `step ${step}`).toEqual(Array.from(samples.subarray(0, 256)));
    }
  });

  it('stops at the declared size and complains about a missing header', () => {
    const wav = encodeWav(Int16Array.from([1, 2]), { sampleRate: 16000, channels: 1 });
    const dec = new WavStreamDecoder();
    const out = dec.push(Uint8Array.from([...wav, 9, 9, 9, 9]));
    expect(Array.from(out)).toEqual([1, 2]);
    dec.end();
    const empty = new WavStreamDecoder();
    empty.push(wav.subarray(0, 20));
    expect(codeOf(() => empty.end())).toBe('wav_truncated');
  });
});
