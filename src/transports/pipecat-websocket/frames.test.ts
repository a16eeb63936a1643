import { ProtobufFrameSerializer } from '@pipecat-ai/websocket-transport';
import { LongType, MessageType, ScalarType } from '@protobuf-ts/runtime';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../errors.ts';
import {
  decodeFrame,
  encodeAudioFrame,
  encodeFrame,
  encodeMessageFrame,
  type PipecatFrame,
} from './frames.ts';

function decoded(bytes: Uint8Array | ArrayBuffer): PipecatFrame {
  const r = decodeFrame(bytes);
  if (!r.ok) throw r.error;
  return r.frame;
}

function decodeError(bytes: Uint8Array, options?: { maxBytes?: number }): TransportError {
  const r = decodeFrame(bytes, options);
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('decoded');
  expect(r.error).toBeInstanceOf(TransportError);
  return r.error;
}

const pcm = new Uint8Array(new Int16Array([0, 1, -1, 32767, -32768, 1234]).buffer);

describe('round trip', () => {
  const frames: PipecatFrame[] = [
    { type: 'text', id: 7n, name: 'TextFrame#1', text: 'héllo 👋' },
    { type: 'text', id: 0n, name: '', text: '' },
    { type: 'audio', id: 3n, name: 'audio', audio: pcm, sampleRate: 24000, numChannels: 1 },
    {
      type: 'audio',
      id: 0n,
      name: 'audio',
      audio: pcm,
      sampleRate: 16000,
      numChannels: 2,
      pts: 123_456_789_012n,
    },
    {
      type: 'audio',
      id: 0xffff_ffff_ffff_ffffn,
      name: '',
      audio: new Uint8Array(0),
      sampleRate: 0,
      numChannels: 0,
      pts: 0n,
    },
    {
      type: 'transcription',
      id: 1n,
      name: 't',
      text: 'hi',
      userId: 'u-1',
      timestamp: '2025-01-01T00:00:00.000Z',
    },
    {
      type: 'message',
      data: JSON.stringify({ label: 'rtvi-ai', type: 'bot-ready', id: 'a', data: { version: '2.1.0' } }),
    },
    { type: 'message', data: '' },
  ];
  it.each(frames.map((f) => [f.type, f]))('%s', (_t, frame) => {
    expect(decoded(encodeFrame(frame))).toEqual(frame);
  });

  it('a large audio frame (multi-byte lengths)', () => {
    const big = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const f = decoded(encodeAudioFrame(big, 24000));
    expect(f.type === 'audio' && Buffer.from(f.audio).equals(Buffer.from(big))).toBe(true);
  });

  it('rejects numbers the wire cannot carry', () => {
    expect(() =>
      encodeFrame({ type: 'audio', id: -1n, name: '', audio: pcm, sampleRate: 1, numChannels: 1 }),
    ).toThrow(TransportError);
    expect(() =>
      encodeFrame({ type: 'audio', id: 0n, name: '', audio: pcm, sampleRate: 1.5, numChannels: 1 }),
    ).toThrow(TransportError);
  });
});

describe('interop with the client package (@pipecat-ai/websocket-transport 1.7.1)', () => {
  const serializer = new ProtobufFrameSerializer();

  it('decodes the mic audio frames the client sends', () => {
    const bytes = serializer.serializeAudio(pcm.slice().buffer, 16000, 1);
    expect(decoded(bytes)).toEqual({
      type: 'audio',
      id: 0n,
      name: 'audio',
      audio: pcm,
      sampleRate: 16000,
      numChannels: 1,
    });
    // Byte-identical to what we would send with the same content.
    expect(Buffer.from(encodeAudioFrame(pcm, 16000, 1)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes the RTVI messages the client sends', () => {
    const msg = {
      label: 'rtvi-ai',
      type: 'client-ready',
      id: 'abcd1234',
      data: { version: '2.1.0', about: { library: 'x' } },
    };
    expect(decoded(serializer.serializeMessage(msg as never))).toEqual({
      type: 'message',
      data: JSON.stringify(msg),
    });
  });

  it('the client decodes our audio and message frames', async () => {
    const audio = await serializer.deserialize(new Blob([encodeAudioFrame(pcm, 24000)]));
    expect(audio.type).toBe('audio');
    expect(Array.from((audio as { audio: Int16Array }).audio)).toEqual([0, 1, -1, 32767, -32768, 1234]);
    const msg = { label: 'rtvi-ai', type: 'bot-ready', id: 'abcd1234', data: { version: '2.1.0' } };
    expect(await serializer.deserialize(new Blob([encodeMessageFrame(msg)]))).toEqual({
      type: 'message',
      message: msg,
    });
  });

  // The package exports only the audio/message serializer; text and transcription frames are cross-checked
  // with the same runtime (@protobuf-ts/runtime) and the field table copied from its generated dist code.
  const TextFrame = new MessageType('pipecat.TextFrame', [
    { no: 1, name: 'id', kind: 'scalar', T: ScalarType.UINT64, L: LongType.BIGINT },
    { no: 2, name: 'name', kind: 'scalar', T: ScalarType.STRING },
    { no: 3, name: 'text', kind: 'scalar', T: ScalarType.STRING },
  ]);
  const TranscriptionFrame = new MessageType('pipecat.TranscriptionFrame', [
    { no: 1, name: 'id', kind: 'scalar', T: ScalarType.UINT64, L: LongType.BIGINT },
    { no: 2, name: 'name', kind: 'scalar', T: ScalarType.STRING },
    { no: 3, name: 'text', kind: 'scalar', T: ScalarType.STRING },
    { no: 4, name: 'user_id', kind: 'scalar', T: ScalarType.STRING },
    { no: 5, name: 'timestamp', kind: 'scalar', T: ScalarType.STRING },
  ]);
  const Frame = new MessageType('pipecat.Frame', [
    { no: 1, name: 'text', kind: 'message', oneof: 'frame', T: () => TextFrame },
    { no: 3, name: 'transcription', kind: 'message', oneof: 'frame', T: () => TranscriptionFrame },
  ]);

  it('text and transcription frames match protobuf-ts byte for byte', () => {
    const text = Frame.toBinary(
      Frame.create({ frame: { oneofKind: 'text', text: { id: 5n, name: 'n', text: 'héllo' } } } as never),
    );
    expect(decoded(text)).toEqual({ type: 'text', id: 5n, name: 'n', text: 'héllo' });
    expect(
      Buffer.from(encodeFrame({ type: 'text', id: 5n, name: 'n', text: 'héllo' })).equals(Buffer.from(text)),
    ).toBe(true);
    const tr = { id: 2n, name: 'stt', text: 'hi', userId: 'u', timestamp: '2025-01-01T00:00:00Z' };
    const bytes = Frame.toBinary(
      Frame.create({ frame: { oneofKind: 'transcription', transcription: tr } } as never),
    );
    expect(decoded(bytes)).toEqual({ type: 'transcription', ...tr });
    const back = Frame.fromBinary(encodeFrame({ type: 'transcription', ...tr })) as unknown as {
      frame: { oneofKind: string; transcription: typeof tr };
    };
    expect(back.frame.transcription).toEqual(tr);
  });
});

describe('malformed input is a typed error, never a throw', () => {
  const valid = encodeMessageFrame({ label: 'rtvi-ai', type: 'x' });

  it.each([
    ['empty input', new Uint8Array(0), 'pipecat_frame_empty'],
    ['only unknown fields', new Uint8Array([0x28, 0x01]), 'pipecat_frame_empty'],
    ['truncated', valid.subarray(0, valid.length - 3), 'pipecat_frame_malformed'],
    ['length past the end', new Uint8Array([0x22, 0x7f, 0x0a, 0x00]), 'pipecat_frame_malformed'],
    ['huge length', new Uint8Array([0x22, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'pipecat_frame_malformed'],
    [
      'runaway varint',
      new Uint8Array([0x12, 0x03, 0x08, ...new Array(11).fill(0xff)]),
      'pipecat_frame_malformed',
    ],
    ['field number 0', new Uint8Array([0x02, 0x00]), 'pipecat_frame_malformed'],
    ['wrong wire type for a frame', new Uint8Array([0x20, 0x01]), 'pipecat_frame_malformed'],
    ['wrong wire type inside', new Uint8Array([0x12, 0x02, 0x18, 0x01]), 'pipecat_frame_malformed'],
    ['group wire type', new Uint8Array([0x12, 0x02, 0x33, 0x00]), 'pipecat_frame_malformed'],
    ['invalid UTF-8 string', new Uint8Array([0x22, 0x04, 0x0a, 0x02, 0xc3, 0x28]), 'pipecat_frame_malformed'],
    ['JSON text, not protobuf', new TextEncoder().encode('{"label":"rtvi-ai"}'), 'pipecat_frame_malformed'],
  ])('%s', (_name, bytes, code) => {
    expect(decodeError(bytes as Uint8Array).code).toBe(code);
  });

  it('oversized input is refused before parsing', () => {
    const e = decodeError(encodeAudioFrame(new Uint8Array(2000), 16000), { maxBytes: 1000 });
    expect(e.code).toBe('pipecat_frame_oversized');
  });

  it('random bytes never throw', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(1 + (rand() % 40)).map(rand);
      expect(() => decodeFrame(bytes)).not.toThrow();
    }
  });

  it('skips unknown fields and fixed-width fields; the last oneof wins', () => {
    const unknown = new Uint8Array([0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x35, 1, 2, 3, 4, 0x3a, 0x01, 0x00]);
    const both = new Uint8Array([
      ...unknown,
      ...encodeFrame({ type: 'text', id: 0n, name: '', text: 'a' }),
      ...valid,
    ]);
    expect(decoded(both)).toEqual({ type: 'message', data: '{"label":"rtvi-ai","type":"x"}' });
  });

  it('accepts an ArrayBuffer', () => {
    expect(decoded(valid.slice().buffer).type).toBe('message');
  });
});
