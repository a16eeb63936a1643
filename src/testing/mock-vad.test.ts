import { describe, expect, it } from 'vitest';
import { AudioFormatError } from '../errors.ts';
import { MockVad } from './mock-vad.ts';

const frame = (value = 0, n = 512) => new Int16Array(n).fill(value);

describe('MockVad', () => {
  it('plays a per-frame script, then the after-script value; reset restarts it', () => {
    const vad = new MockVad({ script: [0.1, 0.9, 0.8], afterScript: 0.05 });
    const s = vad.createStream();
    expect([1, 2, 3, 4].map(() => s.process(frame()))).toEqual([0.1, 0.9, 0.8, 0.05]);
    s.reset();
    expect(s.process(frame())).toBe(0.1);
    expect(s.probabilities).toEqual([0.1, 0.9, 0.8, 0.05, 0.1]);
    expect(s.resets).toBe(1);
    expect(vad.streams).toEqual([s]);
  });

  it('accepts a script function of the frame index and samples', () => {
    const s = new MockVad({ script: (i, f) => (i === 1 ? 2 : f[0]! / 100) }).createStream();
    expect(s.process(frame(50))).toBe(0.5);
    expect(s.process(frame(50))).toBe(1);
  });

  it('derives probability from energy without a script, optionally async', async () => {
    const s = new MockVad({ frameSamples: 320, async: true }).createStream();
    const quiet = s.process(frame(0, 320));
    expect(quiet).toBeInstanceOf(Promise);
    expect(await quiet).toBe(0);
    expect(await s.process(frame(3000, 320))).toBe(1);
    expect(await s.process(frame(328, 320))).toBeCloseTo(0.25, 2);
  });

  it('keeps the last maxRecorded probabilities and streams, and counts every scored frame', () => {
    const vad = new MockVad({ script: (i) => i / 10, maxRecorded: 3 });
    const first = vad.createStream();
    for (let i = 0; i < 5; i++) first.process(frame());
    expect(first.probabilities).toEqual([0.2, 0.3, 0.4]);
    expect(first.scored).toBe(5);
    const later = [1, 2, 3].map(() => vad.createStream());
    later[0]!.process(frame());
    expect(vad.streams).toEqual(later);
    expect(vad.framesScored).toBe(6);
  });

  it('checks frame sizes and closed streams like a real model', () => {
    const vad = new MockVad();
    expect([vad.sampleRate, vad.frameSamples]).toEqual([16000, 512]);
    const s = vad.createStream();
    expect(() => s.process(frame(0, 100))).toThrow(AudioFormatError);
    s.close();
    expect(() => s.process(frame())).toThrow(/closed/);
  });
});
