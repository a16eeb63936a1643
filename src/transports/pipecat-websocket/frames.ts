/**
 * Pipecat's websocket wire format, hand-written (no protobuf dependency): `frames.proto`, package
 * `pipecat`, as generated into `@pipecat-ai/websocket-transport` 1.7.1:
 *
 *   message TextFrame          { uint64 id = 1; string name = 2; string text = 3; }
 *   message AudioRawFrame      { uint64 id = 1; string name = 2; bytes audio = 3; uint32 sample_rate = 4;
 *                                uint32 num_channels = 5; optional uint64 pts = 6; }
 *   message TranscriptionFrame { uint64 id = 1; string name = 2; string text = 3; string user_id = 4;
 *                                string timestamp = 5; }
 *   message MessageFrame       { string data = 1; }   // one RTVI message as JSON
 *   message Frame { oneof frame { TextFrame text = 1; AudioRawFrame audio = 2;
 *                                 TranscriptionFrame transcription = 3; MessageFrame message = 4; } }
 *
 * Encoding follows proto3 like the generated code: default values are omitted, `pts` is written when set.
 * Decoding never throws: bad input comes back as a `TransportError`. Unknown fields are skipped.
 */
import { type ColloquyErrorCode, TransportError } from '../../errors.ts';

export interface PipecatTextFrame {
  type: 'text';
  id: bigint;
  name: string;
  text: string;
}
export interface PipecatAudioFrame {
  type: 'audio';
  id: bigint;
  name: string;
  /** PCM16 little-endian. On decode, a view into the input bytes (copy it to keep it). */
  audio: Uint8Array;
  sampleRate: number;
  numChannels: number;
  pts?: bigint;
}
export interface PipecatTranscriptionFrame {
  type: 'transcription';
  id: bigint;
  name: string;
  text: string;
  userId: string;
  timestamp: string;
}
export interface PipecatMessageFrame {
  type: 'message';
  /** One RTVI message as JSON text. */
  data: string;
}
export type PipecatFrame =
  | PipecatTextFrame
  | PipecatAudioFrame
  | PipecatTranscriptionFrame
  | PipecatMessageFrame;

/** Default cap on one decoded frame: the client's own send limit (1 MiB) plus framing. */
export const PIPECAT_FRAME_MAX_BYTES = 1024 * 1024 + 1024;

const FIELD = { text: 1, audio: 2, transcription: 3, message: 4 } as const;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// ── Encoding ─────────────────────────────────────────────────────────────────────────

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function bigVarintSize(value: bigint): number {
  let size = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    size++;
  }
  return size;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(value: number): void {
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  bigVarint(value: bigint): void {
    while (value >= 0x80n) {
      this.buf[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buf[this.pos++] = Number(value);
  }

  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire; // every field number here is < 16: one byte
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }
}

/** One encoded field: its size and how to write it. */
type Part = [size: number, write: (w: Writer) => void];

const lenPart = (field: number, value: Uint8Array): Part => [
  1 + varintSize(value.length) + value.length,
  (w) => w.bytes(field, value),
];
const uintPart = (field: number, value: number): Part => [
  1 + varintSize(value),
  (w) => {
    w.tag(field, WIRE_VARINT);
    w.varint(value);
  },
];
const bigPart = (field: number, value: bigint): Part => [
  1 + bigVarintSize(value),
  (w) => {
    w.tag(field, WIRE_VARINT);
    w.bigVarint(value);
  },
];

function checkUint64(value: bigint, what: string): void {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn)
    throw new TransportError('pipecat_frame_invalid', `${what} out of uint64 range`);
}

function checkUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new TransportError('pipecat_frame_invalid', `${what} must be a uint32`);
  }
}

function innerParts(frame: PipecatFrame): Part[] {
  const parts: Part[] = [];
  const str = (field: number, value: string) => {
    if (value !== '') parts.push(lenPart(field, utf8Encoder.encode(value)));
  };
  if (frame.type === 'message') {
    str(1, frame.data);
    return parts;
  }
  checkUint64(frame.id, 'id');
  if (frame.id !== 0n) parts.push(bigPart(1, frame.id));
  str(2, frame.name);
  switch (frame.type) {
    case 'text':
      str(3, frame.text);
      break;
    case 'transcription':
      str(3, frame.text);
      str(4, frame.userId);
      str(5, frame.timestamp);
      break;
    case 'audio':
      checkUint32(frame.sampleRate, 'sampleRate');
      checkUint32(frame.numChannels, 'numChannels');
      if (frame.audio.length) parts.push(lenPart(3, frame.audio));
      if (frame.sampleRate !== 0) parts.push(uintPart(4, frame.sampleRate));
      if (frame.numChannels !== 0) parts.push(uintPart(5, frame.numChannels));
      if (frame.pts !== undefined) {
        checkUint64(frame.pts, 'pts');
        parts.push(bigPart(6, frame.pts));
      }
      break;
  }
  return parts;
}

/** Encodes one frame into a fresh buffer. Throws `TransportError` for out-of-range numbers. */
export function encodeFrame(frame: PipecatFrame): Uint8Array<ArrayBuffer> {
  const parts = innerParts(frame);
  let inner = 0;
  for (const [size] of parts) inner += size;
  const out = new Uint8Array(1 + varintSize(inner) + inner);
  const w = new Writer(out);
  w.tag(FIELD[frame.type], WIRE_LEN);
  w.varint(inner);
  for (const [, write] of parts) write(w);
  return out;
}

/** Bot audio for the client (it plays 24 kHz mono PCM16 whatever `sampleRate` says). */
export function encodeAudioFrame(
  pcm: Uint8Array,
  sampleRate: number,
  numChannels = 1,
): Uint8Array<ArrayBuffer> {
  // Per-frame path (50 frames/s per session): written directly, the same bytes `encodeFrame` gives.
  checkUint32(sampleRate, 'sampleRate');
  checkUint32(numChannels, 'numChannels');
  let inner = AUDIO_NAME_FIELD.length;
  if (pcm.length) inner += 1 + varintSize(pcm.length) + pcm.length;
  if (sampleRate !== 0) inner += 1 + varintSize(sampleRate);
  if (numChannels !== 0) inner += 1 + varintSize(numChannels);
  const out = new Uint8Array(1 + varintSize(inner) + inner);
  const w = new Writer(out);
  w.tag(FIELD.audio, WIRE_LEN);
  w.varint(inner);
  out.set(AUDIO_NAME_FIELD, w.pos);
  w.pos += AUDIO_NAME_FIELD.length;
  if (pcm.length) w.bytes(3, pcm);
  if (sampleRate !== 0) {
    w.tag(4, WIRE_VARINT);
    w.varint(sampleRate);
  }
  if (numChannels !== 0) {
    w.tag(5, WIRE_VARINT);
    w.varint(numChannels);
  }
  return out;
}

/** Field 2 (`name`) = "audio", encoded once. */
const AUDIO_NAME_FIELD = Uint8Array.of((2 << 3) | WIRE_LEN, 5, ...utf8Encoder.encode('audio'));

/** One RTVI message (object or JSON text) in a `MessageFrame`. */
export function encodeMessageFrame(message: unknown): Uint8Array<ArrayBuffer> {
  return encodeFrame({
    type: 'message',
    data: typeof message === 'string' ? message : JSON.stringify(message),
  });
}

// ── Decoding ─────────────────────────────────────────────────────────────────────────

export type DecodeResult = { ok: true; frame: PipecatFrame } | { ok: false; error: TransportError };

export interface DecodeOptions {
  maxBytes?: number;
}

class Malformed extends Error {}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as [low 32 bits, high 32 bits]. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Malformed('truncated varint');
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new Malformed('varint longer than 10 bytes');
  }

  uint32(): number {
    return this.varint64()[0];
  }

  uint64(): bigint {
    const [lo, hi] = this.varint64();
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Start and end of a length-delimited field. */
  span(): [number, number] {
    const [len, hi] = this.varint64();
    if (hi !== 0 || len > this.end - this.pos) throw new Malformed('length past the end of the frame');
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  string(): string {
    const [start, end] = this.span();
    try {
      return utf8Decoder.decode(this.buf.subarray(start, end));
    } catch {
      throw new Malformed('string field is not valid UTF-8');
    }
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new Malformed(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw new Malformed('truncated fixed-width field');
    this.pos += n;
  }

  tag(): [field: number, wire: number] {
    const tag = this.uint32();
    const field = tag >>> 3;
    if (field === 0) throw new Malformed('field number 0');
    return [field, tag & 7];
  }
}

function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) throw new Malformed(`wrong wire type for ${field}`);
}

function blank(type: PipecatFrame['type']): PipecatFrame {
  switch (type) {
    case 'message':
      return { type, data: '' };
    case 'text':
      return { type, id: 0n, name: '', text: '' };
    case 'transcription':
      return { type, id: 0n, name: '', text: '', userId: '', timestamp: '' };
    case 'audio':
      return { type, id: 0n, name: '', audio: new Uint8Array(0), sampleRate: 0, numChannels: 0 };
  }
}

/** Reads one inner message into `frame` (protobuf merges repeated occurrences of a message field). */
function readInner(r: Reader, frame: PipecatFrame): void {
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (frame.type === 'message') {
      if (field === 1) {
        expectWire(wire, WIRE_LEN, 'data');
        frame.data = r.string();
      } else r.skip(wire);
      continue;
    }
    if (field === 1) {
      expectWire(wire, WIRE_VARINT, 'id');
      frame.id = r.uint64();
    } else if (field === 2) {
      expectWire(wire, WIRE_LEN, 'name');
      frame.name = r.string();
    } else if (frame.type === 'audio' && field === 3) {
      expectWire(wire, WIRE_LEN, 'audio');
      const [start, end] = r.span();
      frame.audio = r.buf.subarray(start, end);
    } else if (frame.type === 'audio' && (field === 4 || field === 5)) {
      expectWire(wire, WIRE_VARINT, field === 4 ? 'sample_rate' : 'num_channels');
      if (field === 4) frame.sampleRate = r.uint32();
      else frame.numChannels = r.uint32();
    } else if (frame.type === 'audio' && field === 6) {
      expectWire(wire, WIRE_VARINT, 'pts');
      frame.pts = r.uint64();
    } else if (frame.type !== 'audio' && field === 3) {
      expectWire(wire, WIRE_LEN, 'text');
      frame.text = r.string();
    } else if (frame.type === 'transcription' && (field === 4 || field === 5)) {
      expectWire(wire, WIRE_LEN, field === 4 ? 'user_id' : 'timestamp');
      if (field === 4) frame.userId = r.string();
      else frame.timestamp = r.string();
    } else r.skip(wire);
  }
}

const KIND: Record<number, PipecatFrame['type']> = {
  1: 'text',
  2: 'audio',
  3: 'transcription',
  4: 'message',
};

/** Decodes one websocket binary message. Never throws. */
export function decodeFrame(input: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodeResult {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const maxBytes = options.maxBytes ?? PIPECAT_FRAME_MAX_BYTES;
  if (bytes.length > maxBytes) {
    return fail(
      'pipecat_frame_oversized',
      `Pipecat frame of ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  try {
    const r = new Reader(bytes, 0, bytes.length);
    let frame: PipecatFrame | undefined;
    while (r.pos < r.end) {
      const [field, wire] = r.tag();
      const kind = KIND[field];
      if (kind === undefined) {
        r.skip(wire);
        continue;
      }
      expectWire(wire, WIRE_LEN, kind);
      const [start, end] = r.span();
      if (frame === undefined || frame.type !== kind) frame = blank(kind);
      readInner(new Reader(bytes, start, end), frame);
    }
    if (frame === undefined)
      return fail('pipecat_frame_empty', 'Pipecat frame holds no text, audio, transcription or message');
    return { ok: true, frame };
  } catch (err) {
    if (err instanceof Malformed)
      return fail('pipecat_frame_malformed', `Malformed Pipecat frame: ${err.message}`, err);
    return fail('pipecat_frame_malformed', 'Malformed Pipecat frame', err);
  }
}

function fail(
  code: ColloquyErrorCode,
  message: string,
  cause?: unknown,
): { ok: false; error: TransportError } {
  return { ok: false, error: new TransportError(code, message, { cause }) };
}
