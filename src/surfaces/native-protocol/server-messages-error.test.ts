/**
 * The native `error` and `transcription_error` builders for every kind of thrown value (an Error, a
 * string, null, an object with odd fields), and the builders that stamp the current time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ColloquyError } from '../../errors.ts';
import { serverMessages } from './server-messages.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('serverMessages.error: the text, code, retryable and messageType of any thrown value', () => {
  const withDetails = Object.assign(new ColloquyError('invalid_message', 'bad', { retryable: true }), {
    details: { messageType: 'audio' },
  });
  it.each<[string, unknown, string | undefined, unknown]>([
    [
      'a ColloquyError with a messageType in its details',
      withDetails,
      undefined,
      { error: 'bad', code: 'invalid_message', retryable: true, messageType: 'audio' },
    ],
    [
      'the messageType given wins over the details',
      withDetails,
      'video_frame',
      { error: 'bad', code: 'invalid_message', retryable: true, messageType: 'video_frame' },
    ],
    [
      'a plain Error: no code, no retryable',
      new Error('boom'),
      undefined,
      { error: 'boom', code: undefined, retryable: undefined, messageType: undefined },
    ],
    [
      'a string',
      'plain',
      'audio',
      { error: 'plain', code: undefined, retryable: undefined, messageType: 'audio' },
    ],
    [
      'null',
      null,
      undefined,
      { error: 'null', code: undefined, retryable: undefined, messageType: undefined },
    ],
    [
      'an object whose code, retryable and messageType are not of their types',
      { code: 7, retryable: 'yes', details: { messageType: 5 } },
      undefined,
      { error: '[object Object]', code: undefined, retryable: undefined, messageType: undefined },
    ],
    [
      'an object with a string code and boolean retryable',
      { code: 'x_failed', retryable: false },
      undefined,
      { error: '[object Object]', code: 'x_failed', retryable: false, messageType: undefined },
    ],
  ])('%s', (_name, error, messageType, expected) => {
    expect(serverMessages.error(error, messageType)).toStrictEqual({
      type: 'error',
      ...(expected as object),
    });
  });

  it('transcription_error of a string, and of an Error without code', () => {
    expect(serverMessages.transcriptionError('deaf')).toStrictEqual({
      type: 'transcription_error',
      error: 'deaf',
      code: undefined,
    });
    expect(serverMessages.transcriptionError(new Error('mute'))).toStrictEqual({
      type: 'transcription_error',
      error: 'mute',
      code: undefined,
    });
  });

  it('tool_error takes the text of an Error or of a string', () => {
    expect(serverMessages.toolError({ toolName: 't', toolCallId: 'c', error: 'timeout' })).toStrictEqual({
      type: 'tool_error',
      toolName: 't',
      toolCallId: 'c',
      error: 'timeout',
    });
  });
});

describe('serverMessages: time stamps and the file message', () => {
  it('frame_ack, capture_frame and the user speech messages default to the current time', () => {
    vi.spyOn(Date, 'now').mockReturnValue(1234);
    expect([
      serverMessages.frameAck(1),
      serverMessages.captureFrame('initial'),
      serverMessages.userSpeechStart(),
      serverMessages.userSpeechStop(50),
    ]).toStrictEqual([
      { type: 'frame_ack', sequence: 1, timestamp: 1234 },
      { type: 'capture_frame', reason: 'initial', timestamp: 1234 },
      { type: 'user_speech_start', timestamp: 1234 },
      { type: 'user_speech_stop', timestamp: 1234, durationMs: 50 },
    ]);
  });

  it('a file of a turn', () => {
    const bytes = new Uint8Array([0, 1, 2, 3, 4]);
    expect(
      serverMessages.file({
        file: { uint8Array: bytes.subarray(1, 4), mediaType: 'image/gif' },
        turnId: 't9',
      }),
    ).toStrictEqual({ type: 'file', turnId: 't9', file: { base64: 'AQID', mediaType: 'image/gif' } });
  });

  it('a subagent question keeps every field of its payload but the type', () => {
    expect(
      serverMessages.subagentUi({
        type: 'request',
        requestId: 'q',
        subagentName: 's',
        prompt: 'p',
        options: ['a'],
        expiresAt: 3,
      }),
    ).toStrictEqual({
      type: 'subagent_ui_request',
      requestId: 'q',
      subagentName: 's',
      prompt: 'p',
      options: ['a'],
      expiresAt: 3,
    });
  });
});
