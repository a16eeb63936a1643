import { describe, expect, it } from 'vitest';
import { decodeWav } from '../../audio/wav.ts';
import { type AudioConfigMessage, DEFAULT_PROTOCOL_LIMITS } from '../native-protocol/client-messages.ts';
import { PcmInput } from './pcm-input.ts';

function config(options: Partial<AudioConfigMessage> = {}): AudioConfigMessage {
  return { type: 'audio_config', sampleRate: 16000, channels: 1, encoding: 'pcm16le', vad: true, ...options };
}

const bytes = (...samples: number[]) => new Uint8Array(Int16Array.from(samples).buffer);

function setup(maxBytes = 1000) {
  const pushed: Array<{ samples: number[]; sampleRate: number }> = [];
  const input = new PcmInput(
    { pushAudio: (pcm, sampleRate) => pushed.push({ samples: [...pcm], sampleRate }) },
    DEFAULT_PROTOCOL_LIMITS,
    maxBytes,
  );
  return { input, pushed };
}

describe('PcmInput', () => {
  it('with VAD, feeds mono audio to the session in slices of at most 100 ms', () => {
    const { input, pushed } = setup();
    input.configure(config({ sampleRate: 8000 }));
    expect(input.vadEnabled).toBe(true);
    input.push(new Uint8Array(Int16Array.from({ length: 2000 }, (_, i) => i).buffer));
    expect(pushed.map((p) => p.samples.length)).toEqual([800, 800, 400]);
    expect(pushed.every((p) => p.sampleRate === 8000)).toBe(true);
    expect(pushed.flatMap((p) => p.samples)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(input.commit()).toBeUndefined();
    // A frame of exactly two slices gives two: never an empty slice.
    pushed.length = 0;
    input.push(new Uint8Array(new Int16Array(1600).buffer));
    expect(pushed.map((p) => p.samples.length)).toEqual([800, 800]);
  });

  it('mixes stereo frames to mono', () => {
    const { input, pushed } = setup();
    input.configure(config({ channels: 2 }));
    input.push(bytes(100, 300, -50, -150));
    expect(pushed).toEqual([{ samples: [200, -100], sampleRate: 16000 }]);
  });

  it('without VAD, buffers the turn and commits it as one mono WAV', () => {
    const { input, pushed } = setup();
    input.configure(config({ vad: false, sampleRate: 24000, channels: 2 }));
    expect(input.vadEnabled).toBe(false);
    input.push(bytes(10, 30, 5, 7));
    input.push(bytes(-4, -4));
    expect(pushed).toEqual([]);
    const wav = decodeWav(input.commit()!);
    expect(wav.sampleRate).toBe(24000);
    expect(wav.channels).toBe(1);
    expect([...wav.samples]).toEqual([20, 6, -4]);
    expect(input.commit()).toBeUndefined();
  });

  it('keeps its own copy of buffered audio (a frame may view a reused socket buffer)', () => {
    const { input } = setup();
    input.configure(config({ vad: false }));
    const frame = bytes(1, 2);
    input.push(frame);
    frame.fill(0);
    expect([...decodeWav(input.commit()!).samples]).toEqual([1, 2]);
  });

  it('a turn over maxBytes is discarded with audio_too_large', () => {
    const { input } = setup(8);
    input.configure(config({ vad: false }));
    input.push(bytes(1, 2));
    input.push(bytes(3, 4));
    expect(() => input.push(bytes(5))).toThrow(
      expect.objectContaining({
        code: 'audio_too_large',
        message: 'Buffered audio exceeds 8 bytes; the turn was discarded (send "audio_commit" sooner)',
        details: { messageType: 'binary' },
      }),
    );
    expect(input.commit()).toBeUndefined();
    input.push(bytes(6));
    expect([...decodeWav(input.commit()!).samples]).toEqual([6]);
  });

  it('a new audio_config or reset discards the buffered turn', () => {
    const { input } = setup();
    input.configure(config({ vad: false }));
    input.push(bytes(1));
    input.configure(config({ vad: false, sampleRate: 48000 }));
    expect(input.configured?.sampleRate).toBe(48000);
    expect(input.commit()).toBeUndefined();
    input.push(bytes(2));
    input.reset();
    expect(input.commit()).toBeUndefined();
  });

  it('audio or a commit before audio_config is refused', () => {
    const { input } = setup();
    expect(input.configured).toBeUndefined();
    expect(input.vadEnabled).toBe(false);
    expect(() => input.push(bytes(1))).toThrow(expect.objectContaining({ code: 'audio_not_configured' }));
    expect(() => input.commit()).toThrow(
      expect.objectContaining({
        code: 'audio_not_configured',
        message: '"audio_commit" before an "audio_config" message',
        details: { messageType: 'audio_commit' },
      }),
    );
  });
});
