import { describe, expect, it } from 'vitest';
import { AudioFormatError } from '../errors.ts';
import { concatPcm, rms } from './pcm.ts';
import { resample, StreamingResampler, SUPPORTED_SAMPLE_RATES } from './resample.ts';

function tone(freq: number, rate: number, samples: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate)),
  );
}

function zeroCrossings(x: Int16Array): number {
  let n = 0;
  for (let i = 1; i < x.length; i++) if (x[i - 1]! < 0 !== x[i]! < 0) n++;
  return n;
}

describe('resample', () => {
  it('produces the expected length for every supported pair', () => {
    for (const from of SUPPORTED_SAMPLE_RATES) {
      for (const to of SUPPORTED_SAMPLE_RATES) {
        const input = tone(300, from, from / 10); // 100 ms
        expect(resample(input, from, to).length, `${from}->${to}`).toBe(
          Math.ceil((input.length * to) / from),
        );
      }
    }
  });

  it('interpolates linearly when upsampling', () => {
    const ramp = Int16Array.from([0, 100, 200, 300]);
    expect(Array.from(resample(ramp, 8000, 16000))).toEqual([0, 50, 100, 150, 200, 250, 300, 300]);
  });

  it('keeps a speech-band tone: same frequency and level', () => {
    for (const [from, to] of [
      [48000, 16000],
      [16000, 48000],
      [44100, 16000],
      [22050, 16000],
      [24000, 8000],
    ] as const) {
      const out = resample(tone(440, from, from), from, to);
      const settled = out.subarray(to / 10);
      // 440 Hz → ~880 zero crossings per second.
      const crossingsPerSecond = (zeroCrossings(settled) * to) / settled.length;
      expect(Math.abs(crossingsPerSecond - 880), `${from}->${to}`).toBeLessThan(10);
      expect(rms(settled) / rms(tone(440, to, to))).toBeCloseTo(1, 1);
    }
  });

  it('low-passes before downsampling so out-of-band tones do not alias', () => {
    // 12 kHz at 48 kHz would alias to 4 kHz at 16 kHz without the filter.
    const input = tone(12000, 48000, 48000);
    const out = resample(input, 48000, 16000).subarray(1600);
    expect(rms(out)).toBeLessThan(rms(input) * 0.05);
  });

  it('copies same-rate input', () => {
    const input = Int16Array.from([1, 2, 3]);
    const out = resample(input, 16000, 16000);
    expect(out).not.toBe(input);
    expect(Array.from(out)).toEqual([1, 2, 3]);
  });

  it('rejects unsupported rates with a typed error', () => {
    expect(() => new StreamingResampler(11025, 16000)).toThrow(AudioFormatError);
    expect(() => resample(new Int16Array(4), 16000, 32000)).toThrow(
      expect.objectContaining({ name: 'AudioFormatError', code: 'unsupported_sample_rate' }),
    );
  });
});

describe('StreamingResampler', () => {
  it('gives the same output for any chunking as for one piece (seamless boundaries)', () => {
    for (const [from, to] of [
      [48000, 16000],
      [16000, 48000],
      [44100, 16000],
      [16000, 22050],
      [8000, 24000],
    ] as const) {
      const input = tone(523, from, Math.floor(from / 4), 12000);
      const whole = resample(input, from, to);
      const r = new StreamingResampler(from, to);
      const parts: Int16Array[] = [];
      let offset = 0;
      let size = 1;
      while (offset < input.length) {
        const chunk = input.subarray(offset, offset + size);
        parts.push(r.process(chunk));
        offset += chunk.length;
        size = (size * 7 + 3) % 977 || 1; // uneven chunk sizes, including tiny ones
      }
      parts.push(r.flush());
      expect(Array.from(concatPcm(parts)), `${from}->${to}`).toEqual(Array.from(whole));
    }
  });

  it('emits 20 ms frames of the right average size without drift', () => {
    const r = new StreamingResampler(44100, 16000);
    let total = 0;
    for (let i = 0; i < 500; i++) {
      const out = r.process(new Int16Array(882));
      expect(out.length === 319 || out.length === 320).toBe(true);
      total += out.length;
    }
    total += r.flush().length;
    expect(total).toBe(160000);
  });

  it('reset forgets state', () => {
    const r = new StreamingResampler(48000, 16000);
    const first = r.process(tone(440, 48000, 960));
    r.process(tone(1000, 48000, 333));
    r.reset();
    expect(Array.from(r.process(tone(440, 48000, 960)))).toEqual(Array.from(first));
  });
});
