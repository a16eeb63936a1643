import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../../errors.ts';
import {
  type AudioConfigMessage,
  encodeServerMessage,
  parseClientMessage,
  serverMessages,
  tryParseClientMessage,
} from './index.ts';

const b64 = (bytes: number[] | Uint8Array) => Buffer.from(bytes).toString('base64');

function errorOf(raw: string): ColloquyError {
  const result = tryParseClientMessage(raw);
  if (result.ok) throw new Error(`expected a parse error, got ${JSON.stringify(result.message)}`);
  return result.error;
}

describe('server message builders', () => {
  it('builds stream, text, tool and response messages with the reference fields', () => {
    expect(serverMessages.streamStart()).toEqual({ type: 'stream_start' });
    expect(serverMessages.textDelta({ id: 't1', text: 'Hi', turnId: 'turn-1' })).toEqual({
      type: 'text_delta',
      id: 't1',
      text: 'Hi',
      turnId: 'turn-1',
    });
    expect(serverMessages.toolResult({ toolName: 'w', toolCallId: 'c1', result: { t: 20 } })).toEqual({
      type: 'tool_result',
      toolName: 'w',
      toolCallId: 'c1',
      result: { t: 20 },
    });
    expect(
      serverMessages.toolError({ toolName: 'w', toolCallId: 'c1', error: new Error('boom') }).error,
    ).toBe('boom');
    const done = serverMessages.responseComplete({
      text: 'Sunny.',
      toolCalls: [],
      toolResults: [],
      reasoning: undefined,
    });
    expect(encodeServerMessage(done)).toBe(
      '{"type":"response_complete","text":"Sunny.","toolCalls":[],"toolResults":[]}',
    );
    expect(
      serverMessages.streamFinish({ finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 5 } }),
    ).toMatchObject({
      type: 'stream_finish',
      usage: { inputTokens: 3 },
    });
  });

  it('base64-encodes audio from a view without its neighbours', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const msg = serverMessages.audioChunk({
      chunkId: 0,
      audio: backing.subarray(2, 5),
      format: 'mp3',
      text: 'Hello.',
    });
    expect(msg).toEqual({
      type: 'audio_chunk',
      chunkId: 0,
      data: b64([1, 2, 3]),
      format: 'mp3',
      text: 'Hello.',
    });
    expect(serverMessages.audio({ audio: new Uint8Array([1]), format: 'opus' })).toEqual({
      type: 'audio',
      data: 'AQ==',
      format: 'opus',
    });
    const file = serverMessages.file({
      file: { uint8Array: new Uint8Array([1, 2]), mediaType: 'image/png' },
    });
    expect(JSON.parse(encodeServerMessage(file))).toEqual({
      type: 'file',
      file: { base64: 'AQI=', mediaType: 'image/png' },
    });
  });

  it('turns a parse error into an error message a reference client can read', () => {
    const err = errorOf('{"type":"nope"}');
    const msg = serverMessages.error(err);
    expect(msg).toEqual({
      type: 'error',
      error: 'Unknown message type "nope"',
      code: 'unknown_message_type',
      retryable: false,
      messageType: 'nope',
    });
    expect(JSON.parse(encodeServerMessage(serverMessages.error('plain')))).toEqual({
      type: 'error',
      error: 'plain',
    });
    expect(
      serverMessages.transcriptionError(new ColloquyError('empty_transcript', 'Empty transcript')),
    ).toEqual({
      type: 'transcription_error',
      error: 'Empty transcript',
      code: 'empty_transcript',
    });
  });

  it('builds speech, video and session messages', () => {
    expect(serverMessages.speechInterrupted({ reason: 'user_speaking', heardText: 'Hello' })).toEqual({
      type: 'speech_interrupted',
      reason: 'user_speaking',
      heardText: 'Hello',
    });
    expect(serverMessages.speechStreamEnd()).toEqual({ type: 'speech_stream_end' });
    expect(serverMessages.frameAck(4, 123)).toEqual({ type: 'frame_ack', sequence: 4, timestamp: 123 });
    expect(serverMessages.captureFrame('user_request', 5)).toEqual({
      type: 'capture_frame',
      reason: 'user_request',
      timestamp: 5,
    });
    expect(serverMessages.sessionInit({ sessionId: 'vs_1' })).toEqual({
      type: 'session_init',
      sessionId: 'vs_1',
    });
    const config = parseClientMessage('{"type":"audio_config","sampleRate":24000}') as AudioConfigMessage;
    expect(serverMessages.audioConfigAck(config)).toEqual({
      type: 'audio_config_ack',
      sampleRate: 24000,
      channels: 1,
      encoding: 'pcm16le',
      vad: true,
    });
    expect(serverMessages.userSpeechStop(800, 10)).toEqual({
      type: 'user_speech_stop',
      timestamp: 10,
      durationMs: 800,
    });
  });
});
