import { describe, expect, it } from 'vitest';
import { AudioFormatError, ConfigError } from '../../errors.ts';
import { EnergyVad } from './energy-vad.ts';

function noise(n: number, amplitude: number, seed = 1): Int16Array {
  let s = seed;
  return Int16Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return Math.round(((s / 0x7fffffff) * 2 - 1) * amplitude);
  });
}

function tone(n: number, amplitude: number, rate: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * 220 * i) / rate)),
  );
}

describe('EnergyVad', () => {
  it('defaults to 20 ms frames at the given rate', () => {
    expect(new EnergyVad().frameSamples).toBe(320);
    expect(new EnergyVad({ sampleRate: 48000 }).frameSamples).toBe(960);
    expect(new EnergyVad({ sampleRate: 8000, frameSamples: 256 }).frameSamples).toBe(256);
  });

  it('separates loud voiced frames from silence synchronously', () => {
    const vad = new EnergyVad({ sampleRate: 8000 });
    const stream = vad.createStream();
    const quiet = stream.process(new Int16Array(160));
    expect(typeof quiet).toBe('number');
    expect(quiet).toBeLessThan(0.01);
    expect(stream.process(tone(160, 8000, 8000))).toBeGreaterThan(0.99);
  });

  it('adapts its noise floor to steady background noise', () => {
    const stream = new EnergyVad().createStream();
    const hum = noise(320, 1500); // about -33 dBFS of steady noise
    const first = stream.process(hum);
    expect(first).toBeGreaterThan(0.9); // before adapting it looks like speech
    let last = first;
    for (let i = 0; i < 2000; i++) last = stream.process(noise(320, 1500, i + 2));
    expect(last).toBeLessThan(0.5);
    expect(stream.noiseFloorDb).toBeGreaterThan(-45);
    // Speech well above the learnt floor still counts.
    expect(stream.process(tone(320, 20000, 16000))).toBeGreaterThan(0.99);
  });

  it('drops its floor quickly when the room goes quiet, and reset restores the initial floor', () => {
    const stream = new EnergyVad({ initialNoiseFloorDb: -30 }).createStream();
    for (let i = 0; i < 20; i++) stream.process(noise(320, 30, i + 1));
    expect(stream.noiseFloorDb).toBeLessThan(-55);
    stream.reset();
    expect(stream.noiseFloorDb).toBe(-30);
  });

  it('rejects wrong frame sizes, closed streams and bad options with typed errors', () => {
    const stream = new EnergyVad().createStream();
    expect(() => stream.process(new Int16Array(100))).toThrow(AudioFormatError);
    stream.close();
    expect(() => stream.process(new Int16Array(320))).toThrow(/closed/);
    expect(() => new EnergyVad({ frameSamples: 0 })).toThrow(ConfigError);
    expect(() => new EnergyVad({ slopeDb: 0 })).toThrow(ConfigError);
  });
});
