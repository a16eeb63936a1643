/** Binary audio frames: each rejection's exact code, message and details. */
import { describe, expect, it } from 'vitest';
import {
  type AudioConfigMessage,
  DEFAULT_PROTOCOL_LIMITS,
  type ProtocolLimits,
  parseBinaryAudioFrame,
} from './client-messages.ts';

const mono = {
  type: 'audio_config',
  sampleRate: 16000,
  channels: 1,
  encoding: 'pcm16le',
  vad: true,
} as AudioConfigMessage;
const stereo = { ...mono, channels: 2 } as AudioConfigMessage;
const small: ProtocolLimits = { ...DEFAULT_PROTOCOL_LIMITS, maxBinaryFrameBytes: 8 };

function rejection(data: Uint8Array, config: AudioConfigMessage | undefined, limits?: ProtocolLimits) {
  try {
    parseBinaryAudioFrame(data, config, limits);
  } catch (err) {
    const e = err as { code: string; message: string; details: unknown };
    return { code: e.code, message: e.message, details: e.details };
  }
  return undefined;
}

describe('parseBinaryAudioFrame: rejections', () => {
  it.each<[string, Uint8Array, AudioConfigMessage | undefined, ProtocolLimits | undefined, unknown]>([
    [
      'before audio_config',
      new Uint8Array(2),
      undefined,
      undefined,
      {
        code: 'audio_not_configured',
        message: 'Binary audio received before an "audio_config" message',
        details: { messageType: 'binary' },
      },
    ],
    [
      'over the frame limit',
      new Uint8Array(10),
      mono,
      small,
      {
        code: 'invalid_audio_frame',
        message: 'Binary frame is larger than 8 bytes',
        details: { messageType: 'binary' },
      },
    ],
    [
      'over the default frame limit',
      new Uint8Array(256 * 1024 + 2),
      mono,
      undefined,
      {
        code: 'invalid_audio_frame',
        message: 'Binary frame is larger than 262144 bytes',
        details: { messageType: 'binary' },
      },
    ],
    [
      'not whole stereo samples',
      new Uint8Array(6),
      stereo,
      small,
      {
        code: 'invalid_audio_frame',
        message: 'Binary frame length 6 is not a positive multiple of 4 bytes (PCM16 x 2 channel(s))',
        details: { messageType: 'binary' },
      },
    ],
  ])('%s', (_name, data, config, limits, expected) => {
    expect(rejection(data, config, limits)).toEqual(expected);
  });

  it('a frame of exactly the limit is accepted', () => {
    expect(rejection(new Uint8Array(8), mono, small)).toBeUndefined();
    expect(parseBinaryAudioFrame(new Uint8Array(8), stereo, small).samples).toBe(2);
  });
});
