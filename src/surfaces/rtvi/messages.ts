/**
 * The RTVI wire protocol as Colloquy speaks it (server side of `@pipecat-ai/client-js` 1.x, protocol 2.1.0).
 *
 * Every message is the envelope `{label: 'rtvi-ai', type, id?, data?}`. Client → server messages are
 * validated here with zod and come out as a discriminated union on `type`, or as a typed
 * `RtviProtocolError` that says how to answer (an `error-response` to the request `id` when there is
 * one). Server → client messages are built with the typed builders at the bottom. Facts behind the
 * shapes: docs/pipecat-compat.md.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../errors.ts';
import { checkJsonLimits, type JsonLimitError, parseJsonWithLimits } from '../../json-limits.ts';
import { zodIssueText } from '../../zod-issues.ts';

export const RTVI_LABEL = 'rtvi-ai';
/** The protocol version Colloquy announces in `bot-ready`. */
export const RTVI_PROTOCOL_VERSION = '2.1.0';
/** The only client protocol major version accepted. */
export const RTVI_SUPPORTED_MAJOR = 2;
/** Default cap on one client message (the websocket transport's own send limit is 1 MiB). */
export const RTVI_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Default cap on the nesting depth of one client message (the envelope counts as 1). */
export const RTVI_MAX_JSON_DEPTH = 32;

/** The RTVI envelope. */
export interface RtviEnvelope<T extends string = string, D = unknown> {
  label: typeof RTVI_LABEL;
  type: T;
  id?: string;
  data?: D;
}

// ── Client → server ────────────────────────────────────────────────────────────────

const dtmfButton = z.enum(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']);
const record = z.record(z.string(), z.unknown());

const aboutSchema = z.looseObject({
  library: z.string().max(200),
  library_version: z.string().max(100).optional(),
  platform: z.string().max(200).optional(),
  platform_version: z.string().max(100).optional(),
  platform_details: record.optional(),
});

/** Data schema of every client → server message type Colloquy accepts. */
export const clientDataSchemas = {
  'client-ready': z.object({ version: z.string().max(32), about: aboutSchema }),
  'send-text': z.object({
    content: z.string(),
    options: z
      .object({ run_immediately: z.boolean().optional(), audio_response: z.boolean().optional() })
      .optional(),
  }),
  'client-message': z.object({ t: z.string().min(1).max(200), d: z.unknown().optional() }),
  'llm-function-call-result': z.object({
    function_name: z.string().min(1).max(128),
    tool_call_id: z.string().min(1).max(256),
    arguments: record,
    result: z.union([record, z.string()]),
  }),
  'disconnect-bot': z.object({}).loose(),
  /** 2.1.0 sends `{buttons}`; 2.0.x clients sent one `{button}` per key (normalised to `buttons`). */
  dtmf: z
    .union([z.object({ buttons: z.array(dtmfButton).min(1).max(64) }), z.object({ button: dtmfButton })])
    .transform((d) => ({ buttons: 'buttons' in d ? d.buttons : [d.button] })),
  /** Audio as base64 PCM16 (Pipecat's RTVI processor shape). */
  'raw-audio': z.object({
    base64Audio: z.string().min(1),
    sampleRate: z.number().int().min(8000).max(48000),
    numChannels: z.number().int().min(1).max(2),
  }),
  'ui-event': z.object({ event: z.string().min(1).max(200), payload: z.unknown().optional() }),
  'ui-snapshot': z.object({ tree: z.looseObject({ root: z.unknown(), captured_at: z.number() }) }),
  'ui-cancel-job-group': z.object({ job_id: z.string().min(1), reason: z.string().optional() }),
  /** Deprecated by the client (use `send-text`), still sent by `appendToContext()`. */
  'append-to-context': z.object({
    role: z.enum(['user', 'assistant']),
    content: z.unknown(),
    run_immediately: z.boolean().optional(),
  }),
} as const;

export type RtviClientMessageType = keyof typeof clientDataSchemas;
export type RtviClientDataMap = { [K in RtviClientMessageType]: z.output<(typeof clientDataSchemas)[K]> };

/** A validated client message; `id` is always present on the types that need an answer. */
export type RtviClientMessage = {
  [K in RtviClientMessageType]: {
    type: K;
    id: K extends RtviIdRequiredType ? string : string | undefined;
    data: RtviClientDataMap[K];
  };
}[RtviClientMessageType];

/** Types the server answers by echoing the request id (`bot-ready`, `server-response`). */
export type RtviIdRequiredType = 'client-ready' | 'client-message';
const ID_REQUIRED: ReadonlySet<string> = new Set<RtviIdRequiredType>(['client-ready', 'client-message']);
/** Types whose `data` may be absent on the wire (the schema then sees `{}`). */
const DATA_OPTIONAL: ReadonlySet<string> = new Set(['disconnect-bot']);

export const RTVI_CLIENT_MESSAGE_TYPES = Object.keys(clientDataSchemas) as RtviClientMessageType[];

export type RtviProtocolErrorKind =
  | 'malformed_json'
  | 'not_an_object'
  | 'wrong_label'
  | 'unknown_type'
  | 'missing_id'
  | 'invalid_data'
  | 'oversized'
  | 'too_deep'
  | 'unsupported_version';

/** A client message Colloquy refuses; `code` is `rtvi_<kind>`. The session goes on. */
export class RtviProtocolError extends InvalidInputError {
  readonly kind: RtviProtocolErrorKind;
  /** The request id, when the message carried a usable one. */
  readonly messageId: string | undefined;
  /** The message type, when the message carried one. */
  readonly messageType: string | undefined;

  constructor(
    kind: RtviProtocolErrorKind,
    message: string,
    messageId?: string,
    messageType?: string,
    cause?: unknown,
  ) {
    super(`rtvi_${kind}`, message, { cause, details: { kind, messageId, messageType } });
    this.kind = kind;
    this.messageId = messageId;
    this.messageType = messageType;
  }
}

export type ParseResult = { ok: true; message: RtviClientMessage } | { ok: false; error: RtviProtocolError };

export interface ParseOptions {
  /** Largest accepted message in bytes. Default `RTVI_MAX_MESSAGE_BYTES`. */
  maxBytes?: number;
  /** Deepest accepted nesting. Default `RTVI_MAX_JSON_DEPTH`. */
  maxDepth?: number;
}

const MAX_ID_LENGTH = 128;

/**
 * Validates one client message: a JSON string (text frame, data channel, protobuf `MessageFrame.data`)
 * or an already-parsed value. Never throws.
 */
export function parseClientMessage(raw: string | unknown, options: ParseOptions = {}): ParseResult {
  const limits = {
    maxBytes: options.maxBytes ?? RTVI_MAX_MESSAGE_BYTES,
    maxDepth: options.maxDepth ?? RTVI_MAX_JSON_DEPTH,
  };
  let value: unknown = raw;
  if (typeof raw === 'string') {
    // JSON.parse itself is iterative in V8; the size bound comes first.
    const parsed = parseJsonWithLimits(raw, { ...limits, maxDepth: Number.POSITIVE_INFINITY });
    if (!parsed.ok) return jsonFailure(parsed.error, undefined);
    value = parsed.value;
  }
  // Depth and size are checked before anything walks the value (a deep value overflows the stack
  // of recursive code such as zod, JSON.stringify or history copies).
  const checked = checkJsonLimits(value, limits);
  if (!checked.ok) return jsonFailure(checked.error, value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('not_an_object', 'RTVI message must be a JSON object');
  }
  const envelope = value as Record<string, unknown>;
  const rawId = envelope.id;
  const id =
    typeof rawId === 'string' && rawId.length > 0 && rawId.length <= MAX_ID_LENGTH ? rawId : undefined;
  const type = typeof envelope.type === 'string' ? envelope.type : undefined;
  if (envelope.label !== RTVI_LABEL) {
    return fail('wrong_label', `RTVI message label must be "${RTVI_LABEL}"`, id, type);
  }
  if (type === undefined) return fail('unknown_type', 'RTVI message has no type', id);
  if (!Object.hasOwn(clientDataSchemas, type)) {
    return fail('unknown_type', `Unsupported RTVI message type "${type.slice(0, 64)}"`, id, type);
  }
  const messageType = type as RtviClientMessageType;
  // `null` and '' count as no id; any other non-string or overlong id is refused.
  if (rawId !== undefined && rawId !== null && rawId !== '' && id === undefined) {
    return fail(
      'invalid_data',
      `RTVI message id must be a string of 1..${MAX_ID_LENGTH} characters`,
      undefined,
      type,
    );
  }
  if (id === undefined && ID_REQUIRED.has(messageType)) {
    return fail('missing_id', `RTVI "${type}" needs an id`, undefined, type);
  }
  const data = envelope.data === undefined && DATA_OPTIONAL.has(messageType) ? {} : envelope.data;
  const parsed = clientDataSchemas[messageType].safeParse(data);
  if (!parsed.success) {
    return fail(
      'invalid_data',
      `Invalid "${type}" data: ${zodIssueText(parsed.error, { first: true, pathPrefix: 'data.' })}`,
      id,
      type,
      parsed.error,
    );
  }
  if (messageType === 'client-ready') {
    const version = (parsed.data as RtviClientDataMap['client-ready']).version;
    const check = checkClientVersion(version);
    if (!check.ok) return fail(check.kind, check.reason, id, type);
  }
  return { ok: true, message: { type: messageType, id, data: parsed.data } as RtviClientMessage };
}

/** A message over the size/depth bounds; its top-level `id` and `type` are still read to answer it. */
function jsonFailure(error: JsonLimitError, value: unknown): { ok: false; error: RtviProtocolError } {
  const envelope = (value !== null && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const rawId = envelope.id;
  const id =
    typeof rawId === 'string' && rawId.length > 0 && rawId.length <= MAX_ID_LENGTH ? rawId : undefined;
  const type = typeof envelope.type === 'string' ? envelope.type.slice(0, 64) : undefined;
  switch (error.kind) {
    case 'too_large':
    case 'too_many_nodes':
      return fail('oversized', `RTVI message is too large: ${error.message}`, id, type, error);
    case 'too_deep':
      return fail('too_deep', `RTVI message is too deep: ${error.message}`, id, type, error);
    case 'malformed':
      return fail('malformed_json', 'RTVI message is not valid JSON', undefined, undefined, error.cause);
  }
}

function fail(
  kind: RtviProtocolErrorKind,
  message: string,
  id?: string,
  type?: string,
  cause?: unknown,
): { ok: false; error: RtviProtocolError } {
  return { ok: false, error: new RtviProtocolError(kind, message, id, type, cause) };
}

export type VersionCheck =
  | { ok: true; major: number; minor: number; patch: number }
  | { ok: false; kind: 'invalid_data' | 'unsupported_version'; reason: string };

/** Colloquy speaks 2.1.0: any 2.x client is accepted, every other major is refused. */
export function checkClientVersion(version: string): VersionCheck {
  const match = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:[-+].*)?$/.exec(version);
  if (!match)
    return { ok: false, kind: 'invalid_data', reason: `Invalid RTVI protocol version "${version}"` };
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (major !== RTVI_SUPPORTED_MAJOR) {
    return {
      ok: false,
      kind: 'unsupported_version',
      reason: `RTVI protocol ${version} is not supported: this server speaks ${RTVI_PROTOCOL_VERSION}`,
    };
  }
  return { ok: true, major, minor, patch };
}

// ── Server → client ────────────────────────────────────────────────────────────────

export interface RtviMetricEntry {
  processor: string;
  value: number;
  model?: string;
}
export interface RtviTokenEntry {
  processor: string;
  model?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}
/** Pipecat's arrays (values in seconds, as Pipecat sends them) plus the seed's flat per-turn fields (ms). */
export interface RtviMetricsData {
  processing?: RtviMetricEntry[];
  ttfb?: RtviMetricEntry[];
  characters?: RtviMetricEntry[];
  tokens?: RtviTokenEntry[];
  stt_latency_ms?: number;
  llm_ttfb_ms?: number;
  tts_ttfb_ms?: number;
  total_latency_ms?: number;
  /** Transport segments, when measured: client → server, and the first audio frame → the client. */
  client_to_backend_ms?: number;
  backend_to_client_ms?: number;
  /** Realtime speech-to-speech turns: server → the model's request, its first output → its first audio. */
  backend_to_llm_ms?: number;
  llm_to_backend_ms?: number;
  llm_tokens?: number;
}

export interface RtviBotOutputData {
  text: string;
  /** Protocol 1.x field, kept for older clients. */
  spoken: boolean;
  aggregated_by: string;
  will_be_spoken: boolean;
  spoken_status?: 'new' | 'in-progress' | 'completed';
  segment_id?: number;
}

/** A custom application message, delivered to `onServerMessage(data)`. */
export interface RtviCustomServerMessage<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** The custom server messages of the session lifecycle. */
export type RtviSeedServerMessage =
  | RtviCustomServerMessage<'bot-ready', { version?: string; about?: unknown }>
  | RtviCustomServerMessage<'conversation-start', Record<string, never>>
  | RtviCustomServerMessage<'conversation-end', { reason: string }>
  | RtviCustomServerMessage<'pipeline-error', { processor: string; error: string }>
  | RtviCustomServerMessage<'user-speech-unrecognized', Record<string, never>>;

type Empty = undefined;

/** Data of every server → client message type Colloquy sends. */
export interface RtviServerDataMap {
  'bot-ready': { version: string; about?: unknown };
  error: { error: string; message: string; fatal: boolean };
  'error-response': { error: string };
  'server-response': { t: string; d?: unknown };
  'server-message': unknown;
  metrics: RtviMetricsData;
  'user-started-speaking': Empty;
  'user-stopped-speaking': Empty;
  'user-mute-started': Empty;
  'user-mute-stopped': Empty;
  'user-transcription': { text: string; final: boolean; timestamp: string; user_id: string };
  'user-llm-text': { text: string };
  'bot-started-speaking': Empty;
  'bot-stopped-speaking': Empty;
  /** Not in client-js 1.13.1's handler table: PipecatClient drops it (debug log); other RTVI clients may use it. */
  'bot-interrupted': { reason?: string };
  'bot-output': RtviBotOutputData;
  'bot-llm-started': Empty;
  'bot-llm-text': { text: string };
  'bot-llm-stopped': Empty;
  'bot-llm-search-response': {
    response: unknown;
    search_result?: string;
    rendered_content?: string;
    origins?: unknown[];
  };
  'bot-tts-started': Empty;
  'bot-tts-text': { text: string };
  'bot-tts-stopped': Empty;
  'llm-function-call-started': { function_name: string };
  'llm-function-call-in-progress': {
    tool_call_id: string;
    function_name: string;
    arguments: Record<string, unknown>;
  };
  'llm-function-call-stopped': {
    tool_call_id: string;
    function_name: string;
    arguments: Record<string, unknown>;
    cancelled: boolean;
    result?: unknown;
    transition_to: string | null;
  };
  /** Pipecat's server-side audio levels; client-js 1.13.1 ignores them (its levels are computed locally). */
  'user-audio-level': { value: number };
  'bot-audio-level': { value: number };
}

export type RtviServerMessageType = keyof RtviServerDataMap;
export type RtviServerMessage = {
  [K in RtviServerMessageType]: RtviServerDataMap[K] extends Empty
    ? { label: typeof RTVI_LABEL; type: K; id?: string }
    : { label: typeof RTVI_LABEL; type: K; id?: string; data: RtviServerDataMap[K] };
}[RtviServerMessageType];

export type RtviMessageOf<K extends RtviServerMessageType> = Extract<RtviServerMessage, { type: K }>;

/** Builds a server message; messages without data carry no `data` key. */
export function rtviMessage<K extends RtviServerMessageType>(
  type: K,
  ...args: RtviServerDataMap[K] extends Empty
    ? [data?: undefined, id?: string]
    : [data: RtviServerDataMap[K], id?: string]
): RtviMessageOf<K> {
  const [data, id] = args;
  const message: { label: typeof RTVI_LABEL; type: K; id?: string; data?: unknown } = {
    label: RTVI_LABEL,
    type,
  };
  if (id !== undefined) message.id = id;
  if (data !== undefined) message.data = data;
  return message as RtviMessageOf<K>;
}

/** `bot-ready` answers `client-ready` with the same id. */
export function botReadyMessage(requestId: string | undefined, about?: unknown): RtviMessageOf<'bot-ready'> {
  const data: RtviServerDataMap['bot-ready'] = { version: RTVI_PROTOCOL_VERSION };
  if (about !== undefined) data.about = about;
  return rtviMessage('bot-ready', data, requestId);
}

/** An RTVI `error`; `fatal: true` makes the client disconnect, so only for unrecoverable problems. */
export function errorMessage(message: string, fatal = false): RtviMessageOf<'error'> {
  return rtviMessage('error', { error: message, message, fatal });
}

/** Rejects one client request (the client's `onMessageError`, and rejects `sendClientRequest`). */
export function errorResponseMessage(
  requestId: string | undefined,
  error: string,
): RtviMessageOf<'error-response'> {
  return rtviMessage('error-response', { error }, requestId);
}

/** Answers a `client-message` request; `sendClientRequest` resolves with `d`. */
export function serverResponseMessage(
  requestId: string,
  t: string,
  d?: unknown,
): RtviMessageOf<'server-response'> {
  return rtviMessage('server-response', d === undefined ? { t } : { t, d }, requestId);
}

/** A custom message: the client's `onServerMessage` receives `{type, data}`. */
export function serverMessage<T extends string, D>(type: T, data: D): RtviMessageOf<'server-message'> {
  return rtviMessage('server-message', { type, data } satisfies RtviCustomServerMessage<T, D>);
}

/** How to answer a refused client message: `error-response` to its id, else a non-fatal `error`. */
export function protocolErrorReply(
  error: RtviProtocolError,
): RtviMessageOf<'error-response'> | RtviMessageOf<'error'> {
  return error.messageId !== undefined
    ? errorResponseMessage(error.messageId, error.message)
    : errorMessage(error.message, false);
}
