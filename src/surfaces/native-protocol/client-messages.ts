/**
 * The native WebSocket protocol (seed 001), client → server side: limits, schemas for every client
 * message, a parser that answers bad input with typed errors, and the binary PCM16 frame check.
 * `docs/websocket-protocol.md` is the prose version; keep the two in step.
 *
 * Wire compatibility: every message a client of the reference implementation sends is accepted
 * (unknown extra fields are ignored).
 */
import { z } from 'zod';
import { subagentUiResponseSchema } from '../../agents/subagent-ui.ts';
import { AudioFormatError, assertNever, type ColloquyError, InvalidInputError } from '../../errors.ts';
import { jsonTextDepth } from '../../json-limits.ts';

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
  /** Deepest JSON nesting of one text message (the message object counts as 1). */
  maxJsonDepth?: number;
}

export const DEFAULT_PROTOCOL_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024 * 1024,
  maxAudioBytes: 10 * 1024 * 1024,
  maxFrameBytes: 5 * 1024 * 1024,
  maxTextChars: 10_000,
  maxBinaryFrameBytes: 256 * 1024,
  maxJsonDepth: 16,
});

export const SUPPORTED_PCM_SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

// ── Client → server schemas ──────────────────────────────────────────────────────

const frameTriggerReason = z.enum(['scene_change', 'user_request', 'timer', 'initial']);
const finiteNumber = z.number().finite();

/** A client's send time (ms since epoch, its own clock): optional on inputs, used for `clientToBackendMs`. */
const clientTimestamp = finiteNumber.optional();

export const transcriptMessageSchema = z.object({
  type: z.literal('transcript'),
  text: z.string(),
  timestamp: clientTimestamp,
});

export const audioMessageSchema = z.object({
  type: z.literal('audio'),
  /** Base64 of a whole recorded utterance (any container the STT model reads: webm, wav, mp3 ...). */
  data: z.string(),
  format: z.string().optional(),
  sampleRate: z.number().int().positive().optional(),
  duration: finiteNumber.nonnegative().optional(),
  sessionId: z.string().optional(),
  timestamp: clientTimestamp,
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
export const audioCommitMessageSchema = z.object({
  type: z.literal('audio_commit'),
  timestamp: clientTimestamp,
});

/** Colloquy: the user's answer to a subagent's question (`subagent_ui_request`). */
export const subagentUiResponseMessageSchema = subagentUiResponseSchema.extend({
  type: z.literal('subagent_ui_response'),
});

/** Colloquy: the first message of a reconnecting socket: take the session of `handle` back (`AgentResume`). */
export const resumeMessageSchema = z.object({
  type: z.literal('resume'),
  handle: z.string().min(1).max(200),
});

export const clientMessageSchema = z.discriminatedUnion('type', [
  transcriptMessageSchema,
  audioMessageSchema,
  interruptMessageSchema,
  videoFrameMessageSchema,
  clientReadyMessageSchema,
  audioConfigMessageSchema,
  audioCommitMessageSchema,
  subagentUiResponseMessageSchema,
  resumeMessageSchema,
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
export type SubagentUiResponseMessage = z.infer<typeof subagentUiResponseMessageSchema>;
export type ResumeMessage = z.infer<typeof resumeMessageSchema>;

const schemasByType: { [K in ClientMessageType]: z.ZodType<Extract<ClientMessage, { type: K }>> } = {
  transcript: transcriptMessageSchema,
  audio: audioMessageSchema,
  interrupt: interruptMessageSchema,
  video_frame: videoFrameMessageSchema,
  client_ready: clientReadyMessageSchema,
  audio_config: audioConfigMessageSchema,
  audio_commit: audioCommitMessageSchema,
  subagent_ui_response: subagentUiResponseMessageSchema,
  resume: resumeMessageSchema,
};

export const CLIENT_MESSAGE_TYPES = Object.keys(schemasByType) as ClientMessageType[];

// ── Parsing ───────────────────────────────────────────────────────────────────────

/** Stable codes of the errors `parseClientMessage` and `parseBinaryAudioFrame` raise. */
export type ProtocolErrorCode =
  | 'message_too_large'
  | 'message_too_deep'
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
  | 'invalid_audio_frame'
  // Raised by the agents (not the parser) once a message parsed:
  | 'invalid_image'
  | 'unsupported_message'
  | 'no_transcription_model'
  | 'input_queue_full';

const AUDIO_CODES: ReadonlySet<ProtocolErrorCode> = new Set<ProtocolErrorCode>([
  'audio_too_large',
  'empty_audio',
  'audio_not_configured',
  'invalid_audio_frame',
]);

/** The typed error for a rejected client message (`details.messageType` names the message). */
export function protocolError(
  code: ProtocolErrorCode,
  message: string,
  messageType?: string,
  details?: object,
): ColloquyError {
  const Ctor = AUDIO_CODES.has(code) ? AudioFormatError : InvalidInputError;
  return new Ctor(code, message, {
    retryable: code === 'input_queue_full',
    details: { ...(messageType ? { messageType } : {}), ...details },
  });
}

function fail(code: ProtocolErrorCode, message: string, messageType?: string, details?: object): never {
  throw protocolError(code, message, messageType, details);
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
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw);
  } catch (err) {
    fail('malformed_json', `Message is not valid JSON: ${(err as Error).message}`);
  }
  // Depth is measured on the text (iteratively) before JSON.parse and zod walk it.
  const maxDepth = limits.maxJsonDepth ?? DEFAULT_PROTOCOL_LIMITS.maxJsonDepth ?? 16;
  if (jsonTextDepth(text, maxDepth) > maxDepth) {
    fail('message_too_deep', `Message is nested deeper than ${maxDepth} levels`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
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
    case 'subagent_ui_response':
    case 'resume':
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
