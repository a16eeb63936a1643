import { describe, expect, it } from 'vitest';
import { AudioFormatError } from '../errors.ts';
import {
  audioLevel,
  bytesToInt16,
  concatPcm,
  downmixToMono,
  float32ToInt16,
  int16ToBytes,
  int16ToFloat32,
  PcmFrameSplitter,
  rms,
} from './pcm.ts';

describe('bytesToInt16 / int16ToBytes', () => {
  it('reads little-endian samples', () => {
    const bytes = new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f]);
    expect(Array.from(bytesToInt16(bytes))).toEqual([1, -1, -32768, 32767]);
  });

  it('handles an odd byte offset by copying', () => {
    const backing = new Uint8Array([9, 0x34, 0x12, 0xcc, 0xff]);
    const view = backing.subarray(1);
    const samples = bytesToInt16(view);
    expect(Array.from(samples)).toEqual([0x1234, -52]);
  });

  it('throws a typed error on an odd byte count', () => {
    const err = (() => {
      try {
        bytesToInt16(new Uint8Array(3));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AudioFormatError);
    expect((err as AudioFormatError).code).toBe('pcm_odd_byte_count');
    expect((err as AudioFormatError).details).toEqual({ byteLength: 3 });
  });

  it('round-trips', () => {
    const s = Int16Array.from([0, 1, -1, 1234, -32768, 32767]);
    expect(Array.from(bytesToInt16(int16ToBytes(s)))).toEqual(Array.from(s));
    expect(Array.from(int16ToBytes(Int16Array.from([0x0102])))).toEqual([0x02, 0x01]);
  });
});

describe('float conversion', () => {
  it('maps full scale and clamps', () => {
    const f = int16ToFloat32(Int16Array.from([-32768, 0, 16384]));
    expect(Array.from(f)).toEqual([-1, 0, 0.5]);
    expect(Array.from(float32ToInt16(Float32Array.from([-2, -1, 0.5, 1, 3, Number.NaN])))).toEqual([
      -32768, -32768, 16384, 32767, 32767, 0,
    ]);
  });

  it('writes into a provided buffer and rejects a short one', () => {
    const out = new Float32Array(4);
    expect(int16ToFloat32(Int16Array.from([16384]), out)).toBe(out);
    expect(out[0]).toBe(0.5);
    expect(() => float32ToInt16(new Float32Array(3), new Int16Array(2))).toThrow(AudioFormatError);
  });
});

describe('rms and level', () => {
  it('is 0 for silence and empty input', () => {
    expect(rms(new Int16Array(160))).toBe(0);
    expect(rms(new Int16Array(0))).toBe(0);
    expect(audioLevel(new Int16Array(160))).toBe(0);
  });

  it('measures a square wave and a sine', () => {
    const sq = new Int16Array(100).map((_, i) => (i % 2 ? 16384 : -16384));
    expect(rms(sq)).toBeCloseTo(0.5, 6);
    const sine = new Int16Array(1600).map((_, i) => Math.round(32767 * Math.sin((2 * Math.PI * i) / 16)));
    expect(rms(sine)).toBeCloseTo(Math.SQRT1_2, 3);
  });

  it('maps dBFS onto 0..1 for the level', () => {
    const full = new Int16Array(10).fill(32767);
    expect(audioLevel(full)).toBeCloseTo(1, 3);
    const minus30 = new Int16Array(10).fill(Math.round(32768 * 10 ** (-30 / 20)));
    expect(audioLevel(minus30)).toBeCloseTo(0.5, 2);
    expect(audioLevel(new Int16Array(10).fill(10))).toBe(0);
  });
});

describe('downmixToMono and concatPcm', () => {
  it('averages interleaved channels', () => {
    expect(Array.from(downmixToMono(Int16Array.from([100, 300, -10, -20]), 2))).toEqual([200, -15]);
    const mono = Int16Array.from([1, 2]);
    expect(downmixToMono(mono, 1)).toBe(mono);
  });

  it('rejects partial frames and bad channel counts', () => {
    expect(() => downmixToMono(new Int16Array(3), 2)).toThrow(/whole number/);
    expect(() => downmixToMono(new Int16Array(4), 0)).toThrow(AudioFormatError);
  });

  it('concatenates', () => {
    expect(Array.from(concatPcm([Int16Array.from([1]), new Int16Array(0), Int16Array.from([2, 3])]))).toEqual(
      [1, 2, 3],
    );
  });
});

describe('PcmFrameSplitter', () => {
  const seq = (from: number, n: number) => Int16Array.from({ length: n }, (_, i) => from + i);

  it('cuts a stream into fixed frames regardless of chunk sizes, keeping the remainder', () => {
    const splitter = new PcmFrameSplitter(4);
    const frames: number[][] = [];
    const onFrame = (f: Int16Array) => frames.push(Array.from(f));
    expect(splitter.push(seq(0, 3), onFrame)).toBe(0);
    expect(splitter.pending).toBe(3);
    expect(splitter.push(seq(3, 10), onFrame)).toBe(3);
    expect(splitter.pending).toBe(1);
    expect(splitter.push(seq(13, 1), onFrame)).toBe(0);
    expect(frames).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(Array.from(splitter.flush()!)).toEqual([12, 13]);
    expect(splitter.flush()).toBeNull();
  });

  it('emits zero-copy views for aligned frames and frames that stay valid', () => {
    const splitter = new PcmFrameSplitter(2);
    const chunk = seq(0, 4);
    const frames: Int16Array[] = [];
    splitter.push(chunk, (f) => frames.push(f));
    expect(frames[0]!.buffer).toBe(chunk.buffer);
    splitter.push(seq(10, 1), (f) => frames.push(f));
    splitter.push(seq(11, 1), (f) => frames.push(f));
    splitter.push(seq(20, 1), (f) => frames.push(f));
    splitter.push(seq(21, 1), (f) => frames.push(f));
    expect(frames.map((f) => Array.from(f))).toEqual([
      [0, 1],
      [2, 3],
      [10, 11],
      [20, 21],
    ]);
  });

  it('pads on request and validates the frame size', () => {
    const splitter = new PcmFrameSplitter(4);
    splitter.push(seq(1, 2), () => {});
    expect(Array.from(splitter.flush({ pad: true })!)).toEqual([1, 2, 0, 0]);
    expect(() => new PcmFrameSplitter(0)).toThrow(AudioFormatError);
    expect(() => new PcmFrameSplitter(2.5)).toThrow(AudioFormatError);
  });
});
