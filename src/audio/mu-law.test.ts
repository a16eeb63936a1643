import { describe, expect, it } from 'vitest';
import { decodeMuLaw, encodeMuLaw, linearToMuLaw, muLawToLinear } from './mu-law.ts';

describe('G.711 mu-law', () => {
  it('matches reference values', () => {
    expect(linearToMuLaw(0)).toBe(0xff);
    expect(linearToMuLaw(32767)).toBe(0x80);
    expect(linearToMuLaw(-32768)).toBe(0x00);
    expect(linearToMuLaw(-1)).toBe(0x7f);
    expect(muLawToLinear(0xff)).toBe(0);
    expect(muLawToLinear(0x7f)).toBe(0);
    expect(muLawToLinear(0x80)).toBe(32124);
    expect(muLawToLinear(0x00)).toBe(-32124);
    expect(muLawToLinear(0xf0)).toBe(120);
  });

  it('decoding then encoding every code is the identity (except negative zero)', () => {
    for (let code = 0; code < 256; code++) {
      if (code === 0x7f) continue; // -0 decodes to 0, which encodes as +0 (0xff)
      expect(linearToMuLaw(muLawToLinear(code))).toBe(code);
    }
  });

  it('round-trips audio within the companding error', () => {
    const samples = Int16Array.from({ length: 2000 }, (_, i) => Math.round(30000 * Math.sin(i / 7)));
    const decoded = decodeMuLaw(encodeMuLaw(samples));
    expect(decoded.length).toBe(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      // Quantisation step grows with magnitude: error stays under ~3.2% of |s| plus the smallest step.
      expect(Math.abs(decoded[i]! - s)).toBeLessThanOrEqual(Math.abs(s) * 0.032 + 8);
    }
  });

  it('writes into provided buffers', () => {
    const out = new Uint8Array(2);
    expect(encodeMuLaw(Int16Array.from([0, 0]), out)).toBe(out);
    expect(Array.from(out)).toEqual([0xff, 0xff]);
  });
});
