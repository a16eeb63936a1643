/**
 * The native WebSocket protocol (seed 001): schemas for every client → server message, a parser that
 * answers bad input with typed errors, and types + builders for every server → client message.
 * `docs/websocket-protocol.md` is the prose version of this file; keep the two in step.
 *
 * Wire compatibility: every message a client of the reference implementation sends is accepted (unknown
 * extra fields are ignored), and every server message keeps the reference's fields; Colloquy only adds
 * optional fields and new message types.
 */
import { z } from 'zod';
import type { FrameTriggerReason, InterruptReason, TokenUsage } from '../../bus/events.ts';
import { AudioFormatError, assertNever, type ColloquyError, InvalidInputError } from '../../errors.ts';

export const PROTOCOL_VERSION = 1;

// ── Limits ────────────────────────────────────────────────────────────────────────

export interface ProtocolLimits {
  /** Largest text message, in bytes (characters for a string). Must hold the base64 of the largest audio. */
  maxMessageBytes: number;
  /** Largest decoded `audio` payload, in bytes (reference `maxAudioInputSize`, 10 MiB). */
  maxAudioBytes: number;
  /** Largest decoded `video_frame` image, in bytes (reference `maxFrameInputSize`, 5 MiB). */
  maxFrameBytes: number;
  /** Longest `transcript` text, in characters. */
  maxTextChars: number;
  /** Largest binary PCM16 frame, in bytes. */
  maxBinaryFrameBytes: number;
}

export const DEFAULT_PROTOCOL_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024 * 1024,
  maxAudioBytes: 10 * 1024 * 1024,
  maxFrameBytes: 5 * 1024 * 1024,
  maxTextChars: 10_000,
  maxBinaryFrameBytes: 256 * 1024,
});

export const SUPPORTED_PCM_SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

// ── Client → server schemas ──────────────────────────────────────────────────────

const frameTriggerReason = z.enum(['scene_change', 'user_request', 'timer', 'initial']);
const finiteNumber = z.number().finite();

export const transcriptMessageSchema = z.object({ type: z.literal('transcript'), text: z.string() });

export const audioMessageSchema = z.object({
  type: z.literal('audio'),
  /** Base64 of a whole recorded utterance (any container the STT model reads: webm, wav, mp3 ...). */
  data: z.string(),
  format: z.string().optional(),
  sampleRate: z.number().int().positive().optional(),
  duration: finiteNumber.nonnegative().optional(),
  sessionId: z.string().optional(),
  timestamp: finiteNumber.optional(),
});

export const interruptMessageSchema = z.object({
  type: z.literal('interrupt'),
  reason: z.string().max(200).optional(),
});

export const videoFrameMessageSchema = z.object({
  type: z.literal('video_frame'),
  sessionId: z.string().optional(),
  sequence: z.number().int().nonnegative(),
  timestamp: finiteNumber,
  triggerReason: frameTriggerReason,
  previousFrameRef: z.string().optional(),
  image: z.object({
    data: z.string(),
    format: z.string().min(1),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  }),
});

export const clientReadyMessageSchema = z.object({
  type: z.literal('client_ready'),
  capabilities: z.unknown().optional(),
});

/** Colloquy: announces that binary frames on this socket are raw PCM16 little-endian audio. */
export const audioConfigMessageSchema = z.object({
  type: z.literal('audio_config'),
  sampleRate: z.union(SUPPORTED_PCM_SAMPLE_RATES.map((rate) => z.literal(rate))),
  channels: z.union([z.literal(1), z.literal(2)]).default(1),
  encoding: z.literal('pcm16le').default('pcm16le'),
  /** `true` (default): server-side VAD cuts turns. `false`: the client ends turns with `audio_commit`. */
  vad: z.boolean().default(true),
});

/** Colloquy: ends the current user turn now (push-to-talk release, or `vad: false`). */
export const audioCommitMessageSchema = z.object({ type: z.literal('audio_commit') });

export const clientMessageSchema = z.discriminatedUnion('type', [
  transcriptMessageSchema,
  audioMessageSchema,
  interruptMessageSchema,
  videoFrameMessageSchema,
  clientReadyMessageSchema,
  audioConfigMessageSchema,
  audioCommitMessageSchema,
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export type TranscriptMessage = z.infer<typeof transcriptMessageSchema>;
export type AudioMessage = z.infer<typeof audioMessageSchema>;
export type InterruptMessage = z.infer<typeof interruptMessageSchema>;
export type VideoFrameMessage = z.infer<typeof videoFrameMessageSchema>;
export type ClientReadyMessage = z.infer<typeof clientReadyMessageSchema>;
export type AudioConfigMessage = z.infer<typeof audioConfigMessageSchema>;
export type AudioCommitMessage = z.infer<typeof audioCommitMessageSchema>;

const schemasByType: { [K in ClientMessageType]: z.ZodType<Extract<ClientMessage, { type: K }>> } = {
  transcript: transcriptMessageSchema,
  audio: audioMessageSchema,
  interrupt: interruptMessageSchema,
  video_frame: videoFrameMessageSchema,
  client_ready: clientReadyMessageSchema,
  audio_config: audioConfigMessageSchema,
  audio_commit: audioCommitMessageSchema,
};

export const CLIENT_MESSAGE_TYPES = Object.keys(schemasByType) as ClientMessageType[];

// ── Parsing ───────────────────────────────────────────────────────────────────────

/** Stable codes of the errors `parseClientMessage` and `parseBinaryAudioFrame` raise. */
export type ProtocolErrorCode =
  | 'message_too_large'
  | 'malformed_json'
  | 'invalid_message'
  | 'unknown_message_type'
  | 'missing_field'
  | 'invalid_field'
  | 'empty_text'
  | 'text_too_long'
  | 'invalid_base64'
  | 'empty_audio'
  | 'audio_too_large'
  | 'empty_frame'
  | 'frame_too_large'
  | 'audio_not_configured'
  | 'invalid_audio_frame';

function fail(code: ProtocolErrorCode, message: string, messageType?: string, details?: object): never {
  const audio = code === 'audio_too_large' || code === 'empty_audio' || code === 'audio_not_configured';
  const Ctor = audio || code === 'invalid_audio_frame' ? AudioFormatError : InvalidInputError;
  throw new Ctor(code, message, { details: { ...(messageType ? { messageType } : {}), ...details } });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL_PREFIX = /^data:[^,]{0,200};base64,/;

/** Strips an optional `data:<mime>;base64,` prefix (browsers' `toDataURL` output). */
export function stripDataUrl(data: string): string {
  return data.startsWith('data:') ? data.replace(DATA_URL_PREFIX, '') : data;
}

/**
 * Decoded size of a base64 string without decoding it, or -1 if it is not valid base64
 * (standard alphabet; padding optional; no whitespace).
 */
export function base64DecodedLength(data: string): number {
  const rem = data.length % 4;
  if (rem === 1 || !BASE64.test(data)) return -1;
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  if (padding > 0 && rem !== 0) return -1;
  return Math.floor((data.length * 3) / 4) - padding;
}

function checkBase64(
  data: string,
  what: string,
  type: string,
  field: string,
  max: number,
  tooLarge: ProtocolErrorCode,
  empty: ProtocolErrorCode,
): void {
  const body = stripDataUrl(data);
  if (body.length === 0) fail(empty, `${what} is empty`, type, { field });
  const size = base64DecodedLength(body);
  if (size < 0) fail('invalid_base64', `${field} is not valid base64`, type, { field });
  if (size > max) {
    fail(tooLarge, `${what} is too large (${size} bytes; the limit is ${max} bytes)`, type, {
      field,
      size,
      max,
    });
  }
}

function valueAt(obj: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/**
 * Parses one text WebSocket message (a string, or the UTF-8 bytes `ws` hands over for a text frame)
 * into a typed client message. Throws `InvalidInputError` / `AudioFormatError` with a
 * `ProtocolErrorCode` as `code` and `details.messageType` when the type was readable.
 * Base64 payloads are validated and size-checked without being decoded; a data-URL prefix is allowed.
 */
export function parseClientMessage(
  raw: string | Uint8Array,
  limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS,
): ClientMessage {
  const size = typeof raw === 'string' ? raw.length : raw.byteLength;
  if (size > limits.maxMessageBytes) {
    fail('message_too_large', `Message is too large (${size} bytes; the limit is ${limits.maxMessageBytes})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : utf8.decode(raw));
  } catch (err) {
    fail('malformed_json', `Message is not valid JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail('invalid_message', 'Message must be a JSON object with a string "type"');
  }
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string') fail('invalid_message', 'Message must be a JSON object with a string "type"');
  if (!Object.hasOwn(schemasByType, type)) {
    fail('unknown_message_type', `Unknown message type "${type.slice(0, 64)}"`, type, {
      expected: CLIENT_MESSAGE_TYPES,
    });
  }
  const result = schemasByType[type as ClientMessageType].safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.');
    const missing = valueAt(json, issue.path) === undefined;
    if (missing) fail('missing_field', `"${type}" message is missing "${field}"`, type, { field });
    fail('invalid_field', `"${type}" message has an invalid "${field}": ${issue.message}`, type, { field });
  }
  const message = result.data;
  switch (message.type) {
    case 'transcript':
      if (message.text.trim().length === 0) fail('empty_text', 'Transcript text is empty', 'transcript');
      if (message.text.length > limits.maxTextChars) {
        fail(
          'text_too_long',
          `Transcript text is longer than ${limits.maxTextChars} characters`,
          'transcript',
        );
      }
      break;
    case 'audio':
      checkBase64(
        message.data,
        'Audio',
        'audio',
        'data',
        limits.maxAudioBytes,
        'audio_too_large',
        'empty_audio',
      );
      message.data = stripDataUrl(message.data);
      break;
    case 'video_frame': {
      const img = message.image;
      checkBase64(
        img.data,
        'Video frame',
        'video_frame',
        'image.data',
        limits.maxFrameBytes,
        'frame_too_large',
        'empty_frame',
      );
      img.data = stripDataUrl(img.data);
      break;
    }
    case 'interrupt':
    case 'client_ready':
    case 'audio_config':
    case 'audio_commit':
      break;
    default:
      assertNever(message, 'client message');
  }
  return message;
}

/** Like `parseClientMessage`, but returns the error instead of throwing. */
export function tryParseClientMessage(
  raw: string | Uint8Array,
  limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS,
): { ok: true; message: ClientMessage } | { ok: false; error: ColloquyError } {
  try {
    return { ok: true, message: parseClientMessage(raw, limits) };
  } catch (error) {
    return { ok: false, error: error as ColloquyError };
  }
}

/** One binary WebSocket frame of PCM16 LE audio, after `audio_config`. `pcm` is a view, not a copy. */
export interface PcmAudioFrame {
  pcm: Uint8Array;
  sampleRate: number;
  channels: 1 | 2;
  /** Samples per channel in this frame. */
  samples: number;
}

/** Validates a binary frame against the socket's current `audio_config` (per-frame path: no copies). */
export function parseBinaryAudioFrame(
  data: Uint8Array,
  config: AudioConfigMessage | undefined,
  limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS,
): PcmAudioFrame {
  if (!config) {
    fail('audio_not_configured', 'Binary audio received before an "audio_config" message', 'binary');
  }
  if (data.byteLength > limits.maxBinaryFrameBytes) {
    fail('invalid_audio_frame', `Binary frame is larger than ${limits.maxBinaryFrameBytes} bytes`, 'binary');
  }
  const blockAlign = 2 * config.channels;
  if (data.byteLength === 0 || data.byteLength % blockAlign !== 0) {
    fail(
      'invalid_audio_frame',
      `Binary frame length ${data.byteLength} is not a positive multiple of ${blockAlign} bytes (PCM16 x ${config.channels} channel(s))`,
      'binary',
    );
  }
  return {
    pcm: data,
    sampleRate: config.sampleRate,
    channels: config.channels,
    samples: data.byteLength / blockAlign,
  };
}

// ── Server → client messages ─────────────────────────────────────────────────────

/** Optional on every message that belongs to a turn (Colloquy addition; lets clients drop late output). */
interface TurnScoped {
  turnId?: string;
}
/** Distributes over `T`, so `Msg<'a' | 'b', F>` is two union members. */
type Msg<T extends string, F = object> = T extends string ? { type: T } & F : never;

export type ServerMessage =
  // LLM stream lifecycle (mirrors AI SDK `fullStream` parts)
  | Msg<'stream_start', TurnScoped>
  | Msg<'stream_finish', TurnScoped & { finishReason: string; usage: TokenUsage }>
  | Msg<'stream_error', TurnScoped & { error: string }>
  | Msg<'stream_abort', TurnScoped & { reason?: string }>
  | Msg<'step_start', TurnScoped & { warnings: unknown[] }>
  | Msg<'step_finish', TurnScoped & { finishReason: string; usage: TokenUsage }>
  | Msg<
      'text_start' | 'text_end' | 'reasoning_start' | 'reasoning_end' | 'tool_input_end',
      TurnScoped & { id: string }
    >
  | Msg<'text_delta' | 'reasoning_delta', TurnScoped & { id: string; text: string }>
  | Msg<'tool_input_start', TurnScoped & { id: string; toolName: string }>
  | Msg<'tool_input_delta', TurnScoped & { id: string; delta: string }>
  | Msg<'tool_call', TurnScoped & { toolName: string; toolCallId: string; input: unknown }>
  | Msg<'tool_result', TurnScoped & { toolName: string; toolCallId: string; result: unknown }>
  | Msg<'tool_error', TurnScoped & { toolName: string; toolCallId: string; error: string }>
  | Msg<'source', TurnScoped & { source: unknown }>
  | Msg<'file', TurnScoped & { file: { base64: string; mediaType: string } }>
  | Msg<'response_complete', TurnScoped & ResponseCompleteFields>
  // Speech output
  | Msg<'speech_stream_start' | 'speech_stream_end', TurnScoped>
  | Msg<
      'audio_chunk',
      TurnScoped & { chunkId: number; data: string; format: string; text: string; sampleRate?: number }
    >
  | Msg<'audio', { data: string; format: string; sampleRate?: number }>
  | Msg<'speech_interrupted', TurnScoped & { reason: InterruptReason | (string & {}); heardText?: string }>
  // Input
  | Msg<'transcription_result', TurnScoped & { text: string; language?: string }>
  | Msg<'transcription_error', { error: string; code?: string }>
  | Msg<'error', { error: string; code?: string; retryable?: boolean; messageType?: string }>
  // Video and session
  | Msg<'session_init', { sessionId: string; protocolVersion?: number; capabilities?: ServerCapabilities }>
  | Msg<'frame_ack', { sequence: number; timestamp: number }>
  | Msg<'capture_frame', { reason: FrameTriggerReason; timestamp: number }>
  // Colloquy additions
  | Msg<'audio_config_ack', { sampleRate: number; channels: 1 | 2; encoding: 'pcm16le'; vad: boolean }>
  | Msg<'user_speech_start', { timestamp: number }>
  | Msg<'user_speech_stop', { timestamp: number; durationMs: number }>
  | Msg<'transcription_interim', { text: string }>;

export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

export interface ResponseCompleteFields {
  /** Everything the model generated (reference semantics, also when interrupted). */
  text: string;
  reasoning?: string;
  toolCalls: Array<{ toolName: string; toolCallId: string; input: unknown }>;
  toolResults: Array<{ toolName: string; toolCallId: string; output: unknown }>;
  sources?: unknown[];
  files?: unknown[];
  /** VideoAgent only. */
  sessionId?: string;
  frameContext?: { frameCount: number; lastFrameSequence: number };
  /** Colloquy: the response was cut short by barge-in or `interrupt`. */
  interrupted?: boolean;
  /** Colloquy: the part of `text` the user actually heard (what history keeps). */
  spokenText?: string;
}

export interface ServerCapabilities {
  binaryAudio: boolean;
  serverVad: boolean;
  video: boolean;
  pcmSampleRates: readonly number[];
}

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

type Fields<T extends ServerMessageType> = Omit<ServerMessageOf<T>, 'type'>;

/** A builder for a message whose fields are passed through unchanged. */
function make<T extends ServerMessageType>(
  type: T,
): (...args: object extends Fields<T> ? [fields?: Fields<T>] : [fields: Fields<T>]) => ServerMessageOf<T> {
  return (...args) => ({ type, ...args[0] }) as ServerMessageOf<T>;
}

/** Builders for every server → client message. Audio is passed as bytes and base64-encoded here. */
export const serverMessages = {
  streamStart: make('stream_start'),
  streamFinish: make('stream_finish'),
  streamError: make('stream_error'),
  streamAbort: make('stream_abort'),
  stepStart: make('step_start'),
  stepFinish: make('step_finish'),
  textStart: make('text_start'),
  textDelta: make('text_delta'),
  textEnd: make('text_end'),
  reasoningStart: make('reasoning_start'),
  reasoningDelta: make('reasoning_delta'),
  reasoningEnd: make('reasoning_end'),
  toolInputStart: make('tool_input_start'),
  toolInputDelta: make('tool_input_delta'),
  toolInputEnd: make('tool_input_end'),
  toolCall: make('tool_call'),
  toolResult: make('tool_result'),
  toolError: (
    f: Omit<Fields<'tool_error'>, 'error'> & { error: unknown },
  ): ServerMessageOf<'tool_error'> => ({
    type: 'tool_error',
    ...f,
    error: errorText(f.error),
  }),
  source: make('source'),
  file: (f: {
    file: { uint8Array: Uint8Array; mediaType: string };
    turnId?: string;
  }): ServerMessageOf<'file'> => ({
    type: 'file',
    turnId: f.turnId,
    file: { base64: base64Of(f.file.uint8Array), mediaType: f.file.mediaType },
  }),
  responseComplete: make('response_complete'),
  speechStreamStart: make('speech_stream_start'),
  speechStreamEnd: make('speech_stream_end'),
  audioChunk: (
    f: Omit<Fields<'audio_chunk'>, 'data'> & { audio: Uint8Array },
  ): ServerMessageOf<'audio_chunk'> => {
    const { audio, ...rest } = f;
    return { type: 'audio_chunk', ...rest, data: base64Of(audio) };
  },
  audio: (f: Omit<Fields<'audio'>, 'data'> & { audio: Uint8Array }): ServerMessageOf<'audio'> => {
    const { audio, ...rest } = f;
    return { type: 'audio', ...rest, data: base64Of(audio) };
  },
  speechInterrupted: make('speech_interrupted'),
  transcriptionResult: make('transcription_result'),
  transcriptionError: (error: unknown): ServerMessageOf<'transcription_error'> => ({
    type: 'transcription_error',
    error: errorText(error),
    code: errorCode(error),
  }),
  /** `error` keeps the reference's string field and adds `code`, `retryable`, `messageType`. */
  error: (error: unknown, messageType?: string): ServerMessageOf<'error'> => {
    const details = (error as { details?: { messageType?: unknown } } | null)?.details;
    const fromDetails = typeof details?.messageType === 'string' ? details.messageType : undefined;
    return {
      type: 'error',
      error: errorText(error),
      code: errorCode(error),
      retryable:
        typeof (error as { retryable?: unknown })?.retryable === 'boolean'
          ? (error as { retryable: boolean }).retryable
          : undefined,
      messageType: messageType ?? fromDetails,
    };
  },
  sessionInit: (f: Fields<'session_init'>): ServerMessageOf<'session_init'> => ({
    type: 'session_init',
    ...f,
  }),
  frameAck: (sequence: number, now = Date.now()): ServerMessageOf<'frame_ack'> => ({
    type: 'frame_ack',
    sequence,
    timestamp: now,
  }),
  captureFrame: (reason: FrameTriggerReason, now = Date.now()): ServerMessageOf<'capture_frame'> => ({
    type: 'capture_frame',
    reason,
    timestamp: now,
  }),
  audioConfigAck: (config: AudioConfigMessage): ServerMessageOf<'audio_config_ack'> => ({
    type: 'audio_config_ack',
    sampleRate: config.sampleRate,
    channels: config.channels,
    encoding: config.encoding,
    vad: config.vad,
  }),
  userSpeechStart: (now = Date.now()): ServerMessageOf<'user_speech_start'> => ({
    type: 'user_speech_start',
    timestamp: now,
  }),
  userSpeechStop: (durationMs: number, now = Date.now()): ServerMessageOf<'user_speech_stop'> => ({
    type: 'user_speech_stop',
    timestamp: now,
    durationMs,
  }),
  transcriptionInterim: (text: string): ServerMessageOf<'transcription_interim'> => ({
    type: 'transcription_interim',
    text,
  }),
} as const;

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : String(error);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Serializes a server message; `undefined` fields are left out, as the reference does. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}
