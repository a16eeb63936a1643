/**
 * The native protocol's limits at their bounds: exactly at a limit a message is accepted, one past it
 * it is refused with its exact error (class, code, message, details, retryable). And the exact texts
 * of the parser's other refusals.
 */
import { describe, expect, it } from 'vitest';
import type { ColloquyError } from '../../errors.ts';
import {
  type AudioConfigMessage,
  DEFAULT_PROTOCOL_LIMITS,
  type ProtocolLimits,
  parseBinaryAudioFrame,
  protocolError,
  stripDataUrl,
  tryParseClientMessage,
} from './client-messages.ts';

const limits = (over: Partial<ProtocolLimits>): ProtocolLimits => ({ ...DEFAULT_PROTOCOL_LIMITS, ...over });

/** What a refusal says, whole. */
function refusal(error: ColloquyError) {
  return {
    name: error.name,
    code: error.code,
    message: error.message,
    details: error.details,
    retryable: error.retryable,
  };
}

function parse(raw: string | Uint8Array | object, l?: ProtocolLimits) {
  const text = typeof raw === 'string' || raw instanceof Uint8Array ? raw : JSON.stringify(raw);
  const result = tryParseClientMessage(text, l);
  return result.ok ? { ok: result.message } : { refused: refusal(result.error) };
}

/** `n` decoded bytes as base64. */
const bytes = (n: number) => Buffer.alloc(n, 7).toString('base64');
const frame = (data: string) => ({
  type: 'video_frame',
  sequence: 1,
  timestamp: 5,
  triggerReason: 'timer',
  image: { data, format: 'jpeg', width: 2, height: 2 },
});

describe('native protocol limits: exactly at the limit is accepted, one past it refused', () => {
  it('message size (characters of a string, bytes of UTF-8)', () => {
    const raw = '{"type":"interrupt"}'; // 20 characters
    expect(parse(raw, limits({ maxMessageBytes: 20 }))).toStrictEqual({ ok: { type: 'interrupt' } });
    expect(parse(Buffer.from(raw), limits({ maxMessageBytes: 20 }))).toStrictEqual({
      ok: { type: 'interrupt' },
    });
    const refused = {
      refused: {
        name: 'InvalidInputError',
        code: 'message_too_large',
        message: 'Message is too large (20 bytes; the limit is 19)',
        details: {},
        retryable: false,
      },
    };
    expect(parse(raw, limits({ maxMessageBytes: 19 }))).toStrictEqual(refused);
    expect(parse(Buffer.from(raw), limits({ maxMessageBytes: 19 }))).toStrictEqual(refused);
  });

  it('nesting depth (the message object counts as 1); the default is 16', () => {
    const nested = (depth: number) =>
      `{"type":"client_ready","capabilities":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(parse(nested(3), limits({ maxJsonDepth: 3 }))).toStrictEqual({
      ok: { type: 'client_ready', capabilities: [[]] },
    });
    expect(parse(nested(4), limits({ maxJsonDepth: 3 }))).toStrictEqual({
      refused: {
        name: 'InvalidInputError',
        code: 'message_too_deep',
        message: 'Message is nested deeper than 3 levels',
        details: {},
        retryable: false,
      },
    });
    const { maxJsonDepth: _, ...noDepth } = DEFAULT_PROTOCOL_LIMITS;
    expect('ok' in parse(nested(16), noDepth)).toBe(true);
    expect(parse(nested(17), noDepth)).toMatchObject({ refused: { code: 'message_too_deep' } });
    expect(parse(nested(17))).toMatchObject({
      refused: { message: 'Message is nested deeper than 16 levels' },
    });
  });

  it('transcript length', () => {
    const l = limits({ maxTextChars: 5 });
    expect(parse({ type: 'transcript', text: 'abcde' }, l)).toStrictEqual({
      ok: { type: 'transcript', text: 'abcde' },
    });
    expect(parse({ type: 'transcript', text: 'abcdef' }, l)).toStrictEqual({
      refused: {
        name: 'InvalidInputError',
        code: 'text_too_long',
        message: 'Transcript text is longer than 5 characters',
        details: { messageType: 'transcript' },
        retryable: false,
      },
    });
  });

  it('decoded audio size, with and without a data-URL prefix', () => {
    const l = limits({ maxAudioBytes: 6 });
    expect(parse({ type: 'audio', data: bytes(6) }, l)).toStrictEqual({
      ok: { type: 'audio', data: bytes(6) },
    });
    expect(parse({ type: 'audio', data: `data:audio/wav;base64,${bytes(6)}` }, l)).toStrictEqual({
      ok: { type: 'audio', data: bytes(6) },
    });
    expect(parse({ type: 'audio', data: bytes(7) }, l)).toStrictEqual({
      refused: {
        name: 'AudioFormatError',
        code: 'audio_too_large',
        message: 'Audio is too large (7 bytes; the limit is 6 bytes)',
        details: { messageType: 'audio', field: 'data', size: 7, max: 6 },
        retryable: false,
      },
    });
  });

  it('decoded frame size', () => {
    const l = limits({ maxFrameBytes: 4 });
    expect(parse(frame(`data:image/jpeg;base64,${bytes(4)}`), l)).toStrictEqual({ ok: frame(bytes(4)) });
    expect(parse(frame(bytes(5)), l)).toStrictEqual({
      refused: {
        name: 'InvalidInputError',
        code: 'frame_too_large',
        message: 'Video frame is too large (5 bytes; the limit is 4 bytes)',
        details: { messageType: 'video_frame', field: 'image.data', size: 5, max: 4 },
        retryable: false,
      },
    });
  });

  it('binary PCM16 frame size', () => {
    const config: AudioConfigMessage = {
      type: 'audio_config',
      sampleRate: 24000,
      channels: 2,
      encoding: 'pcm16le',
      vad: false,
    };
    const l = limits({ maxBinaryFrameBytes: 8 });
    const data = new Uint8Array(8);
    expect(parseBinaryAudioFrame(data, config, l)).toStrictEqual({
      pcm: data,
      sampleRate: 24000,
      channels: 2,
      samples: 2,
    });
    expect(() => parseBinaryAudioFrame(new Uint8Array(12), config, l)).toThrow(
      'Binary frame is larger than 8 bytes',
    );
  });
});

describe('native protocol: the exact refusals', () => {
  it.each<[string, string | object, unknown]>([
    [
      'not JSON',
      '{"type":',
      { name: 'InvalidInputError', code: 'malformed_json', details: {}, retryable: false },
    ],
    [
      'not an object',
      '[1]',
      {
        name: 'InvalidInputError',
        code: 'invalid_message',
        message: 'Message must be a JSON object with a string "type"',
        details: {},
        retryable: false,
      },
    ],
    [
      'an unknown type, its name cut to 64 characters in the message',
      { type: `x${'y'.repeat(100)}` },
      {
        name: 'InvalidInputError',
        code: 'unknown_message_type',
        message: `Unknown message type "x${'y'.repeat(63)}"`,
        details: {
          messageType: `x${'y'.repeat(100)}`,
          expected: [
            'transcript',
            'audio',
            'interrupt',
            'video_frame',
            'client_ready',
            'audio_config',
            'audio_commit',
            'subagent_ui_response',
            'resume',
          ],
        },
        retryable: false,
      },
    ],
    [
      'a missing field',
      { type: 'resume' },
      {
        name: 'InvalidInputError',
        code: 'missing_field',
        message: '"resume" message is missing "handle"',
        details: { messageType: 'resume', field: 'handle' },
        retryable: false,
      },
    ],
    [
      'a null field is invalid, not missing',
      { type: 'resume', handle: null },
      {
        name: 'InvalidInputError',
        code: 'invalid_field',
        message: '"resume" message has an invalid "handle": Invalid input: expected string, received null',
        details: { messageType: 'resume', field: 'handle' },
        retryable: false,
      },
    ],
    [
      'a blank transcript',
      { type: 'transcript', text: '  ' },
      {
        name: 'InvalidInputError',
        code: 'empty_text',
        message: 'Transcript text is empty',
        details: { messageType: 'transcript' },
        retryable: false,
      },
    ],
    [
      'audio that is not base64',
      { type: 'audio', data: 'a!b' },
      {
        name: 'InvalidInputError',
        code: 'invalid_base64',
        message: 'data is not valid base64',
        details: { messageType: 'audio', field: 'data' },
        retryable: false,
      },
    ],
  ])('%s', (_name, raw, expected) => {
    const result = parse(raw);
    expect('refused' in result).toBe(true);
    const { refused } = result as { refused: ReturnType<typeof refusal> };
    if (!('message' in (expected as object))) {
      expect(refused.message).toMatch(/^Message is not valid JSON: /);
      const { message: _, ...rest } = refused;
      expect(rest).toStrictEqual(expected);
    } else expect(refused).toStrictEqual(expected);
  });

  it('protocolError: audio codes are AudioFormatErrors; only a full input queue is retryable; no messageType, no key', () => {
    const rows = (
      [
        'audio_too_large',
        'empty_audio',
        'audio_not_configured',
        'invalid_audio_frame',
        'empty_frame',
        'input_queue_full',
        'invalid_image',
      ] as const
    ).map((code) => {
      const e = protocolError(code, 'm');
      return [code, e.name, e.retryable, e.details];
    });
    expect(rows).toStrictEqual([
      ['audio_too_large', 'AudioFormatError', false, {}],
      ['empty_audio', 'AudioFormatError', false, {}],
      ['audio_not_configured', 'AudioFormatError', false, {}],
      ['invalid_audio_frame', 'AudioFormatError', false, {}],
      ['empty_frame', 'InvalidInputError', false, {}],
      ['input_queue_full', 'InvalidInputError', true, {}],
      ['invalid_image', 'InvalidInputError', false, {}],
    ]);
    expect(protocolError('invalid_image', 'm', 'video_frame', { width: 3 }).details).toStrictEqual({
      messageType: 'video_frame',
      width: 3,
    });
  });

  it('binary frames: before audio_config, of no length, and not a whole number of samples', () => {
    const mono: AudioConfigMessage = {
      type: 'audio_config',
      sampleRate: 16000,
      channels: 1,
      encoding: 'pcm16le',
      vad: true,
    };
    const refused = (data: Uint8Array, config: AudioConfigMessage | undefined) => {
      try {
        parseBinaryAudioFrame(data, config);
      } catch (error) {
        return refusal(error as ColloquyError);
      }
      return undefined;
    };
    expect(refused(new Uint8Array(2), undefined)).toStrictEqual({
      name: 'AudioFormatError',
      code: 'audio_not_configured',
      message: 'Binary audio received before an "audio_config" message',
      details: { messageType: 'binary' },
      retryable: false,
    });
    expect(refused(new Uint8Array(0), mono)?.message).toBe(
      'Binary frame length 0 is not a positive multiple of 2 bytes (PCM16 x 1 channel(s))',
    );
    expect(refused(new Uint8Array(6), { ...mono, channels: 2 })?.message).toBe(
      'Binary frame length 6 is not a positive multiple of 4 bytes (PCM16 x 2 channel(s))',
    );
  });

  it('stripDataUrl strips only a data-URL prefix', () => {
    expect(
      ['data:audio/webm;base64,AAAA', 'AAAA', 'data:;base64,AA', 'xdata:a;base64,AA', 'data:a,AA'].map(
        stripDataUrl,
      ),
    ).toStrictEqual(['AAAA', 'AAAA', 'AA', 'xdata:a;base64,AA', 'data:a,AA']);
  });
});
