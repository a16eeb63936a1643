import { describe, expect, it } from 'vitest';
import { AudioFormatError } from '../errors.ts';
import { createOpusDecoder, createOpusEncoder, OPUS_FRAME_SAMPLES } from './opus.ts';
import { concatPcm, rms } from './pcm.ts';

function tone(freq: number, samples: number, channels = 1): Int16Array {
  const out = new Int16Array(samples * channels);
  for (let i = 0; i < samples; i++) {
    for (let c = 0; c < channels; c++)
      out[i * channels + c] = Math.round(8000 * Math.sin((2 * Math.PI * freq * (c + 1) * i) / 48000));
  }
  return out;
}

function zeroCrossings(x: Int16Array, stride = 1, offset = 0): number {
  let n = 0;
  for (let i = offset + stride; i < x.length; i += stride) if (x[i - stride]! < 0 !== x[i]! < 0) n++;
  return n;
}

describe('opus', () => {
  it('round-trips a tone through encode/decode in 20 ms frames', async () => {
    const enc = await createOpusEncoder({ bitrate: 32000 });
    const dec = await createOpusDecoder();
    const input = tone(440, OPUS_FRAME_SAMPLES * 25);
    const out: Int16Array[] = [];
    for (let f = 0; f < 25; f++) {
      const packet = enc.encode(input.subarray(f * OPUS_FRAME_SAMPLES, (f + 1) * OPUS_FRAME_SAMPLES));
      expect(packet.length).toBeGreaterThan(0);
      expect(packet.length).toBeLessThan(400);
      const pcm = dec.decode(packet);
      expect(pcm.length).toBe(OPUS_FRAME_SAMPLES);
      out.push(pcm);
    }
    const decoded = concatPcm(out).subarray(4800); // skip the codec's start-up
    expect(rms(decoded) / rms(input)).toBeGreaterThan(0.8);
    expect(rms(decoded) / rms(input)).toBeLessThan(1.2);
    const crossingsPerSecond = (zeroCrossings(decoded) * 48000) / decoded.length;
    expect(Math.abs(crossingsPerSecond - 880)).toBeLessThan(15);
    enc.destroy();
    dec.destroy();
  });

  it('handles stereo', async () => {
    const enc = await createOpusEncoder({ channels: 2, application: 'audio' });
    const dec = await createOpusDecoder({ channels: 2 });
    const frames: Int16Array[] = [];
    const input = tone(300, OPUS_FRAME_SAMPLES * 10, 2);
    for (let f = 0; f < 10; f++) {
      frames.push(dec.decode(enc.encode(input.subarray(f * 1920, (f + 1) * 1920))));
    }
    const decoded = concatPcm(frames).subarray(1920 * 3);
    expect(decoded.length).toBe(1920 * 7);
    // Left carries 300 Hz, right 600 Hz.
    const seconds = decoded.length / 2 / 48000;
    expect(Math.abs(zeroCrossings(decoded, 2, 0) / seconds - 600)).toBeLessThan(30);
    expect(Math.abs(zeroCrossings(decoded, 2, 1) / seconds - 1200)).toBeLessThan(30);
    enc.destroy();
    dec.destroy();
  });

  it('rejects wrong frame sizes, bad packets, bad channels and use after destroy', async () => {
    const enc = await createOpusEncoder();
    const dec = await createOpusDecoder();
    expect(() => enc.encode(new Int16Array(480))).toThrow(
      expect.objectContaining({ code: 'opus_bad_frame_size' }),
    );
    expect(() => dec.decode(new Uint8Array(0))).toThrow(
      expect.objectContaining({ code: 'opus_decode_failed' }),
    );
    // TOC code 3 with a frame count of 0 is an invalid packet.
    expect(() => dec.decode(Uint8Array.from([0x03, 0x00]))).toThrow(AudioFormatError);
    await expect(createOpusEncoder({ channels: 3 as 1 })).rejects.toMatchObject({
      code: 'opus_bad_channels',
    });
    enc.destroy();
    dec.destroy();
    enc.destroy();
    expect(() => enc.encode(new Int16Array(960))).toThrow(
      expect.objectContaining({ code: 'opus_destroyed' }),
    );
    expect(() => dec.decode(Uint8Array.from([1]))).toThrow(
      expect.objectContaining({ code: 'opus_destroyed' }),
    );
  });
});
