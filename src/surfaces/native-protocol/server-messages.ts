/**
 * The native WebSocket protocol (seed 001), server → client side: a type for every message and a
 * builder for each. Every message keeps the reference's fields; Colloquy only adds optional fields
 * and new message types. `docs/websocket-protocol.md` is the prose version.
 */
import type { FrameTriggerReason, InterruptReason, SubagentUiPayload, TokenUsage } from '../../bus/events.ts';
import type { AudioConfigMessage } from './client-messages.ts';

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
  | Msg<'transcription_interim', { text: string }>
  | Msg<'client_event', TurnScoped & { topic: string; payload: unknown; toolCallId?: string }>
  | Msg<'gui_update', TurnScoped & { data: unknown }>
  | Msg<'gui_notification', TurnScoped & { message: string }>
  // A subagent asks the user something (answer with `subagent_ui_response`), or withdraws the question.
  | Msg<'subagent_ui_request', Omit<Extract<SubagentUiPayload, { type: 'request' }>, 'type'>>
  | Msg<'subagent_ui_cancel', Omit<Extract<SubagentUiPayload, { type: 'cancel' }>, 'type'>>
  // Resume (with `AgentResume`): the handle to come back with after a drop, and the answer to `resume`.
  | Msg<'resume_handle', { sessionId: string; handle: string; expiresAt: number }>
  | Msg<'session_resumed', { sessionId: string }>
  // A graceful server shutdown (`AgentResume` with a store): come back to the restarted server with `handle`.
  | Msg<'server_shutdown', { sessionId: string; handle: string; expiresAt: number; reconnect: true }>;

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

let lastBytes: Uint8Array | undefined;
let lastBase64 = '';

/**
 * Standard base64 of `bytes`. The last result is remembered, so the socket message and the
 * `audio_chunk` event of the same chunk encode it once.
 */
export function base64Of(bytes: Uint8Array): string {
  if (bytes === lastBytes) return lastBase64;
  lastBase64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  lastBytes = bytes;
  return lastBase64;
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
  clientEvent: make('client_event'),
  guiUpdate: make('gui_update'),
  guiNotification: make('gui_notification'),
  /** A subagent's question, or its withdrawal (`subagent.ui.send`). */
  subagentUi: (payload: SubagentUiPayload): ServerMessageOf<'subagent_ui_request' | 'subagent_ui_cancel'> => {
    const { type, ...fields } = payload;
    return type === 'request'
      ? { type: 'subagent_ui_request', ...(fields as Fields<'subagent_ui_request'>) }
      : { type: 'subagent_ui_cancel', ...(fields as Fields<'subagent_ui_cancel'>) };
  },
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
