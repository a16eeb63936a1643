import { describe, expect, it } from 'vitest';
import { AudioFormatError, ColloquyError, InvalidInputError } from '../../errors.ts';
import {
  type AudioConfigMessage,
  base64DecodedLength,
  CLIENT_MESSAGE_TYPES,
  DEFAULT_PROTOCOL_LIMITS,
  type ProtocolErrorCode,
  type ProtocolLimits,
  parseBinaryAudioFrame,
  parseClientMessage,
  tryParseClientMessage,
} from './index.ts';

const b64 = (bytes: number[] | Uint8Array) => Buffer.from(bytes).toString('base64');
const AUDIO = b64([1, 2, 3, 4, 5, 6]);
const frame = (over: Record<string, unknown> = {}, image: Record<string, unknown> = {}) => ({
  type: 'video_frame',
  sessionId: 's1',
  sequence: 3,
  timestamp: 1700000000000,
  triggerReason: 'timer',
  image: { data: AUDIO, format: 'webp', width: 640, height: 480, ...image },
  ...over,
});

function errorOf(raw: string | Uint8Array, limits?: ProtocolLimits): ColloquyError {
  const result = tryParseClientMessage(raw, limits);
  if (result.ok) throw new Error(`expected a parse error, got ${JSON.stringify(result.message)}`);
  return result.error;
}

function expectCode(raw: unknown, code: ProtocolErrorCode, limits?: ProtocolLimits): ColloquyError {
  const err = errorOf(
    typeof raw === 'string' || raw instanceof Uint8Array ? raw : JSON.stringify(raw),
    limits,
  );
  expect(err).toBeInstanceOf(ColloquyError);
  expect(err.code).toBe(code);
  expect(err.message.length).toBeGreaterThan(0);
  return err;
}

describe('parseClientMessage: valid messages', () => {
  it('accepts every reference client message, ignoring unknown extra fields', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'transcript', text: 'Hi there', extra: 1 }))).toEqual({
      type: 'transcript',
      text: 'Hi there',
    });
    const audio = parseClientMessage(
      JSON.stringify({ type: 'audio', data: AUDIO, format: 'audio/webm', sampleRate: 16000, duration: 1200 }),
    );
    expect(audio).toEqual({
      type: 'audio',
      data: AUDIO,
      format: 'audio/webm',
      sampleRate: 16000,
      duration: 1200,
    });
    expect(parseClientMessage('{"type":"interrupt"}')).toEqual({ type: 'interrupt' });
    expect(parseClientMessage('{"type":"interrupt","reason":"user_clicked_interrupt"}')).toEqual({
      type: 'interrupt',
      reason: 'user_clicked_interrupt',
    });
    expect(parseClientMessage(JSON.stringify(frame()))).toMatchObject({ type: 'video_frame', sequence: 3 });
    expect(parseClientMessage('{"type":"client_ready","capabilities":{"video":true}}')).toEqual({
      type: 'client_ready',
      capabilities: { video: true },
    });
    expect(parseClientMessage('{"type":"client_ready"}')).toEqual({ type: 'client_ready' });
  });

  it('accepts the Colloquy additions and fills their defaults', () => {
    expect(parseClientMessage('{"type":"audio_config","sampleRate":16000}')).toEqual({
      type: 'audio_config',
      sampleRate: 16000,
      channels: 1,
      encoding: 'pcm16le',
      vad: true,
    });
    expect(
      parseClientMessage('{"type":"audio_config","sampleRate":48000,"channels":2,"vad":false}'),
    ).toMatchObject({
      channels: 2,
      vad: false,
    });
    expect(parseClientMessage('{"type":"audio_commit"}')).toEqual({ type: 'audio_commit' });
  });

  it('reads UTF-8 bytes (ws text frames arrive as Buffers)', () => {
    expect(parseClientMessage(Buffer.from('{"type":"transcript","text":"héllo ✓"}'))).toEqual({
      type: 'transcript',
      text: 'héllo ✓',
    });
  });

  it('strips a data-URL prefix from base64 payloads', () => {
    const msg = parseClientMessage(JSON.stringify(frame({}, { data: `data:image/webp;base64,${AUDIO}` })));
    expect(msg.type === 'video_frame' && msg.image.data).toBe(AUDIO);
    const audio = parseClientMessage(
      JSON.stringify({ type: 'audio', data: `data:audio/webm;codecs=opus;base64,${AUDIO}` }),
    );
    expect(audio.type === 'audio' && audio.data).toBe(AUDIO);
  });

  it('accepts unpadded base64 and audio exactly at the limit', () => {
    const limits = { ...DEFAULT_PROTOCOL_LIMITS, maxAudioBytes: 6 };
    expect(parseClientMessage(JSON.stringify({ type: 'audio', data: AUDIO }), limits).type).toBe('audio');
    expect(
      parseClientMessage(JSON.stringify({ type: 'audio', data: b64([1, 2, 3, 4]).replace(/=+$/, '') })).type,
    ).toBe('audio');
  });

  it('lists every client message type', () => {
    expect(new Set(CLIENT_MESSAGE_TYPES)).toEqual(
      new Set([
        'transcript',
        'audio',
        'interrupt',
        'video_frame',
        'client_ready',
        'audio_config',
        'audio_commit',
        'subagent_ui_response',
        'resume',
      ]),
    );
  });
});

describe('parseClientMessage: bad input', () => {
  it('rejects oversized messages before parsing them', () => {
    const limits = { ...DEFAULT_PROTOCOL_LIMITS, maxMessageBytes: 20 };
    const raw = JSON.stringify({ type: 'transcript', text: 'this is longer than twenty' });
    expectCode(raw, 'message_too_large', limits);
    expectCode(Buffer.from(raw), 'message_too_large', limits);
  });

  it.each([
    ['truncated', '{"type":"transcript"'],
    ['empty', ''],
    ['not json', 'hello'],
    ['trailing garbage', '{"type":"interrupt"} x'],
  ])('rejects malformed JSON (%s)', (_name, raw) => {
    const err = expectCode(raw, 'malformed_json');
    expect(err).toBeInstanceOf(InvalidInputError);
  });

  it('rejects deep JSON before parsing it (typed, no stack overflow)', () => {
    const deep = `{"type":"client_ready","x":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const err = expectCode(deep, 'message_too_deep');
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe('Message is nested deeper than 16 levels');
    expectCode(new TextEncoder().encode(deep), 'message_too_deep');
  });

  it('rejects bytes that are not UTF-8 as malformed JSON', () => {
    expectCode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'malformed_json');
  });

  it.each([
    ['array', '[{"type":"transcript"}]'],
    ['null', 'null'],
    ['number', '42'],
    ['string', '"transcript"'],
    ['no type', '{"text":"hi"}'],
    ['numeric type', '{"type":7}'],
    ['null type', '{"type":null}'],
  ])('rejects a message that is not an object with a string type (%s)', (_name, raw) => {
    expectCode(raw, 'invalid_message');
  });

  it.each(['hello', 'TRANSCRIPT', 'toString', '__proto__', 'constructor', 'speech_stream_start'])(
    'rejects unknown type %s',
    (type) => {
      const err = expectCode(`{"type":${JSON.stringify(type)}}`, 'unknown_message_type');
      expect(err.details?.messageType).toBe(type);
      expect(err.details?.expected).toEqual(CLIENT_MESSAGE_TYPES);
    },
  );

  it.each([
    [{ type: 'transcript' }, 'text'],
    [{ type: 'audio' }, 'data'],
    [{ type: 'audio_config' }, 'sampleRate'],
    [{ ...frame(), image: undefined }, 'image'],
    [{ ...frame(), sequence: undefined }, 'sequence'],
    [{ ...frame(), triggerReason: undefined }, 'triggerReason'],
    [frame({}, { data: undefined }), 'image.data'],
    [frame({}, { width: undefined }), 'image.width'],
  ])('rejects a missing required field (%j)', (msg, field) => {
    const err = expectCode(msg, 'missing_field');
    expect(err.details?.field).toBe(field);
    expect(err.details?.messageType).toBe(msg.type);
    expect(err.message).toContain(field);
  });

  it.each([
    [{ type: 'transcript', text: 42 }, 'text'],
    [{ type: 'transcript', text: null }, 'text'],
    [{ type: 'audio', data: AUDIO, sampleRate: -1 }, 'sampleRate'],
    [{ type: 'audio', data: AUDIO, format: 5 }, 'format'],
    [{ type: 'interrupt', reason: 'x'.repeat(201) }, 'reason'],
    [frame({ sequence: -1 }), 'sequence'],
    [frame({ sequence: 1.5 }), 'sequence'],
    [frame({ triggerReason: 'because' }), 'triggerReason'],
    [frame({}, { width: 0 }), 'image.width'],
    [frame({}, { format: '' }), 'image.format'],
    [frame({ image: 'abc' }), 'image'],
    [{ type: 'audio_config', sampleRate: 12345 }, 'sampleRate'],
    [{ type: 'audio_config', sampleRate: 16000, channels: 3 }, 'channels'],
    [{ type: 'audio_config', sampleRate: 16000, encoding: 'opus' }, 'encoding'],
    [{ type: 'audio_config', sampleRate: 16000, vad: 'yes' }, 'vad'],
  ])('rejects an invalid field (%j)', (msg, field) => {
    const err = expectCode(msg, 'invalid_field');
    expect(err.details?.field).toBe(field);
  });

  it('rejects empty and overlong transcript text', () => {
    expectCode({ type: 'transcript', text: '' }, 'empty_text');
    expectCode({ type: 'transcript', text: ' \n\t ' }, 'empty_text');
    expectCode({ type: 'transcript', text: 'abcdef' }, 'text_too_long', {
      ...DEFAULT_PROTOCOL_LIMITS,
      maxTextChars: 5,
    });
  });

  it.each([
    ['bad character', 'AAE$AAA='],
    ['length mod 4 = 1', 'AAAAA'],
    ['padding in the middle', 'AA=AAAAA'],
    ['too much padding', 'AA==='],
    ['padding on a short group', 'AAAAAA='],
    ['whitespace', 'AAEC AwQF'],
    ['base64url alphabet', 'AA-_'],
  ])('rejects invalid base64 audio (%s)', (_name, data) => {
    const err = expectCode({ type: 'audio', data }, 'invalid_base64');
    expect(err.details?.field).toBe('data');
  });

  it('rejects invalid base64 in a video frame', () => {
    const err = expectCode(frame({}, { data: 'not base64!' }), 'invalid_base64');
    expect(err.details?.field).toBe('image.data');
  });

  it('rejects empty audio and frames, naming the empty field', () => {
    const audio = expectCode({ type: 'audio', data: '' }, 'empty_audio');
    expect(audio).toBeInstanceOf(AudioFormatError);
    expect(audio.message).toBe('Audio is empty');
    expect(expectCode(frame({}, { data: '' }), 'empty_frame').message).toBe('Video frame is empty');
    expect(audio.details).toEqual({ messageType: 'audio', field: 'data' });
    expect(expectCode({ type: 'audio', data: 'data:audio/webm;base64,' }, 'empty_audio').details).toEqual({
      messageType: 'audio',
      field: 'data',
    });
    expect(expectCode(frame({}, { data: '' }), 'empty_frame').details).toEqual({
      messageType: 'video_frame',
      field: 'image.data',
    });
  });

  it('rejects audio and frames above their decoded-size limits', () => {
    const limits = { ...DEFAULT_PROTOCOL_LIMITS, maxAudioBytes: 5, maxFrameBytes: 5 };
    const err = expectCode({ type: 'audio', data: AUDIO }, 'audio_too_large', limits);
    expect(err).toBeInstanceOf(AudioFormatError);
    expect(err.details).toMatchObject({ size: 6, max: 5, messageType: 'audio' });
    expect(err.message).toBe('Audio is too large (6 bytes; the limit is 5 bytes)');
    const frameErr = expectCode(frame(), 'frame_too_large', limits);
    expect(frameErr).toBeInstanceOf(InvalidInputError);
    expect(frameErr.message).toMatch(/^Video frame is too large \(\d+ bytes; the limit is 5 bytes\)$/);
  });

  // A 14 MB message parsed and checked: about a second on a quiet machine, more on a loaded one (or
  // with Stryker's instrumentation, whose test timeout is 5 s): its own limit.
  it('rejects default-limit oversized audio (10 MiB + 1)', { timeout: 30_000 }, () => {
    const data = Buffer.alloc(DEFAULT_PROTOCOL_LIMITS.maxAudioBytes + 1).toString('base64');
    expectCode({ type: 'audio', data }, 'audio_too_large');
  });

  it('parseClientMessage throws the same typed errors', () => {
    expect(() => parseClientMessage('{')).toThrow(InvalidInputError);
    expect(() => parseClientMessage('{"type":"audio","data":""}')).toThrow(AudioFormatError);
  });
});

describe('base64DecodedLength', () => {
  it('matches Buffer decoding for every length 0..40, padded and unpadded', () => {
    for (let n = 0; n <= 40; n++) {
      const padded = b64(Array.from({ length: n }, (_, i) => i * 7));
      expect(base64DecodedLength(padded)).toBe(n);
      expect(base64DecodedLength(padded.replace(/=+$/, ''))).toBe(n);
    }
  });
});

describe('parseBinaryAudioFrame', () => {
  const mono: AudioConfigMessage = {
    type: 'audio_config',
    sampleRate: 16000,
    channels: 1,
    encoding: 'pcm16le',
    vad: true,
  };
  const stereo: AudioConfigMessage = { ...mono, channels: 2 };

  it('returns a view over a valid PCM16 frame', () => {
    const data = Buffer.alloc(640);
    const frame = parseBinaryAudioFrame(data, mono);
    expect(frame.pcm).toBe(data);
    expect(frame).toMatchObject({ sampleRate: 16000, channels: 1, samples: 320 });
    expect(parseBinaryAudioFrame(Buffer.alloc(8), stereo).samples).toBe(2);
  });

  it('rejects binary audio before audio_config', () => {
    expect(() => parseBinaryAudioFrame(Buffer.alloc(640), undefined)).toThrow(
      expect.objectContaining({ code: 'audio_not_configured' }),
    );
  });

  it.each([
    ['empty', Buffer.alloc(0), mono],
    ['odd length', Buffer.alloc(641), mono],
    ['half a stereo sample', Buffer.alloc(6), stereo],
    ['too large', Buffer.alloc(DEFAULT_PROTOCOL_LIMITS.maxBinaryFrameBytes + 2), mono],
  ])('rejects a bad frame (%s)', (_name, data, config) => {
    let caught: unknown;
    try {
      parseBinaryAudioFrame(data, config);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AudioFormatError);
    expect((caught as AudioFormatError).code).toBe('invalid_audio_frame');
  });
});
