/**
 * The event catalogue: every event any part of Colloquy publishes, by name, with its payload.
 *
 * Seed 003 names and payloads are kept exactly (agent.*, tool.*, turn.*, gui.*, session.*,
 * context.compact, subagent.*). Everything else is added in the same style. Every event that
 * belongs to a turn carries its `turnId`, so late output from an aborted turn can be dropped.
 * Times are milliseconds since the epoch unless the name says otherwise.
 */
import type { ColloquyError, ErrorSeverity } from '../errors.ts';

export type SessionState = 'created' | 'connecting' | 'active' | 'transferring' | 'reconnecting' | 'closed';

/**
 * Why bot speech stopped early (the `speech_interrupted` reasons): the one list of them.
 *
 * @example
 * ```ts
 * import { INTERRUPT_REASONS, type InterruptReason } from 'colloquy';
 *
 * const counts = Object.fromEntries(INTERRUPT_REASONS.map((r) => [r, 0])) as Record<InterruptReason, number>;
 * ```
 */
export const INTERRUPT_REASONS = ['user_speaking', 'interrupted', 'client_request', 'disconnected'] as const;
export type InterruptReason = (typeof INTERRUPT_REASONS)[number];

const INTERRUPT_REASON_SET: ReadonlySet<unknown> = new Set(INTERRUPT_REASONS);
/**
 * True when `value` is one of `INTERRUPT_REASONS`.
 *
 * @example
 * ```ts
 * import { isInterruptReason, VoiceSession } from 'colloquy';
 *
 * // a reason sent by your own client, checked before it reaches the session
 * function interruptFromClient(session: VoiceSession, reason: unknown): void {
 *   session.interrupt(isInterruptReason(reason) ? reason : 'client_request');
 * }
 * ```
 */
export function isInterruptReason(value: unknown): value is InterruptReason {
  return INTERRUPT_REASON_SET.has(value);
}

export type ToolStatus = 'success' | 'error' | 'timeout' | 'cancelled';
export type ToolExecution = 'inline' | 'background';
export type FrameTriggerReason = 'scene_change' | 'user_request' | 'timer' | 'initial';

/** Token usage, as the AI SDK reports it (`LanguageModelUsage`); fields the provider did not report are absent. */
export interface TokenUsage {
  inputTokens?: number;
  inputTokenDetails?: { noCacheTokens?: number; cacheReadTokens?: number; cacheWriteTokens?: number };
  outputTokens?: number;
  outputTokenDetails?: { textTokens?: number; reasoningTokens?: number };
  totalTokens?: number;
  reasoningTokens?: number;
  /** Same as `inputTokenDetails.cacheReadTokens` (the AI SDK's older name). */
  cachedInputTokens?: number;
}

/**
 * Per-turn latency segments in milliseconds. A cascade turn (VAD → STT → LLM → TTS) and a realtime
 * speech-to-speech turn share the seed's names where they apply; a segment that does not apply to
 * the turn's kind, or whose marks were never reached, is absent.
 */
export interface LatencySegments {
  /** Client sent the turn's input → backend receipt (needs a client timestamp and a measured round trip; absent otherwise). */
  clientToBackendMs?: number;
  /** Cascade: end of user speech → final transcript. */
  sttMs?: number;
  /** Cascade: end-of-turn decision wait after the transcript (endpointing). */
  endpointingMs?: number;
  /** Backend → LLM: turn start (or final transcript) → LLM request sent. */
  backendToLLMMs?: number;
  /** LLM processing: request sent → first token (LLM TTFB). */
  llmProcessingMs?: number;
  /** LLM → backend: first token → first sentence handed to TTS (no speech: first text handed to a client connection). */
  llmToBackendMs?: number;
  /** Cascade: first TTS request → first audio byte (TTS TTFB). */
  ttsMs?: number;
  /** Backend → client: first audio byte → first audio frame sent to the client (no speech: first text handed → written). */
  backendToClientMs?: number;
  /** Total: end of user speech (or text input) → first audio frame out (no speech: first text written to a client; no client: first token). */
  totalE2EMs?: number;
}

/** Absolute step times of one turn (ms since epoch), the raw material of `LatencySegments`. */
export interface LatencyMarks {
  /** The client sent the turn's input (its timestamp, mapped onto the backend's clock). */
  clientSentAt?: number;
  /** The stamped input reached the backend. */
  clientReceivedAt?: number;
  userSpeechEndAt?: number;
  transcriptFinalAt?: number;
  /** `turn.start`: speech start for spoken turns, the text's arrival for text turns. */
  turnStartAt?: number;
  /** The user's text entered the turn (`user.text`): the committed transcript, or the typed text. */
  userTextAt?: number;
  llmRequestAt?: number;
  llmFirstTokenAt?: number;
  firstTextToTtsAt?: number;
  ttsFirstByteAt?: number;
  firstAudioOutAt?: number;
  /** The response's first text was handed to a client connection's send (turns without speech). */
  firstTextHandedAt?: number;
  /** That text left the process (the connection accepted it). */
  firstTextOutAt?: number;
  turnEndAt?: number;
}

/** One field of a subagent's small form. */
export interface SubagentUiField {
  /** Key of the field in the answer's `values` (`[A-Za-z0-9_]`, up to 64). */
  name: string;
  label: string;
  type: 'text' | 'number' | 'boolean' | 'choice';
  /** The choices of a `choice` field. */
  options?: string[];
  /** The answer must fill it (default true). */
  required?: boolean;
}

/**
 * What `subagent.ui.send` carries to the client: a question (`request`: a prompt with options to
 * pick from, or a small form, or neither for a free-text answer), or the withdrawal of one that is
 * no longer waiting (`cancel`: it timed out, the subagent stopped, the session ended).
 */
export type SubagentUiPayload =
  | {
      type: 'request';
      requestId: string;
      subagentName: string;
      prompt: string;
      options?: string[];
      form?: { fields: SubagentUiField[] };
      /** When the question stops waiting (ms since the epoch). */
      expiresAt: number;
    }
  | {
      type: 'cancel';
      requestId: string;
      /** `server_restarted`: the subagent that asked died with its server process. */
      reason: 'timeout' | 'cancelled' | 'session_closed' | 'server_restarted';
    };

/** The client's answer to a subagent UI request: one of `value`, `values` or `declined`. */
export interface SubagentUiResponse {
  requestId: string;
  /** The picked option, or the free-text answer. */
  value?: string;
  /** A form's values by field name. */
  values?: Record<string, string | number | boolean>;
  /** The user dismissed the question. */
  declined?: boolean;
}

export interface ChatMessageSummary {
  role: 'user' | 'assistant' | 'tool' | 'system';
  text: string;
}

export interface EventMap {
  // ── Agent (seed 003) ──────────────────────────────────────────────────────────────
  /** An agent became the active agent. */
  'agent.enter': { sessionId: string; agentName: string };
  /** The active agent is being replaced. */
  'agent.exit': { sessionId: string; agentName: string };
  /** The conversation moved from one agent to another. */
  'agent.transfer': { sessionId: string; fromAgent: string; toAgent: string; reason?: string };
  /** A tool call handed work to a background subagent. */
  'agent.handoff': { sessionId: string; agentName: string; subagentName: string; toolCallId: string };

  // ── Tools (seed 003) ─────────────────────────────────────────────────────────────
  /** The LLM requested a tool call (published before the tool runs). */
  'tool.call': {
    sessionId: string;
    agentName: string;
    id: string;
    name: string;
    args: unknown;
    turnId?: string;
    execution?: ToolExecution;
  };
  /** A tool call finished: success, error, timeout or cancelled. */
  'tool.result': {
    sessionId: string;
    toolCallId: string;
    status: ToolStatus;
    result: unknown;
    name?: string;
    turnId?: string;
    durationMs?: number;
    error?: ColloquyError;
  };
  /** Running tool calls were cancelled (user interruption, session close). */
  'tool.cancel': { sessionId: string; toolCallIds: string[]; turnId?: string };

  // ── Turns (seed 003) ─────────────────────────────────────────────────────────────
  /** A user turn began: the user started speaking (spoken turns) or text was sent (text turns). */
  'turn.start': { sessionId: string; turnId: string };
  /**
   * The model finished its response to the turn. `abandoned: true`: a spoken turn whose speech gave
   * no transcript (a cough, noise) ended without reaching the model.
   */
  'turn.end': { sessionId: string; turnId: string; abandoned?: boolean };
  /** The turn was cut short; `reason` says by what. */
  'turn.interrupted': { sessionId: string; turnId: string; reason?: InterruptReason };
  /** Latency breakdown of a finished turn (source of `onTurnLatency` and metrics). */
  'turn.latency': {
    sessionId: string;
    turnId: string;
    kind: 'cascade' | 'realtime' | 'text';
    segments: LatencySegments;
    marks: LatencyMarks;
  };

  // ── GUI (seed 003) ───────────────────────────────────────────────────────────────
  /** UI state update for the client (from a tool's `toolContext(options).gui` or `session.publishGuiUpdate`). */
  'gui.update': { sessionId: string; data: unknown; turnId?: string };
  /** A notification for the client (from a tool's context or `session.publishGuiNotification`). */
  'gui.notification': { sessionId: string; message: string; turnId?: string };
  /** A `client_event` tool published its raw arguments on a data-channel topic (seed 000). */
  'client.event': {
    sessionId: string;
    topic: string;
    payload: unknown;
    toolCallId?: string;
    turnId?: string;
  };

  // ── Session (seed 003) ───────────────────────────────────────────────────────────
  /** The session became active. */
  'session.start': { sessionId: string; userId: string; agentName: string };
  /** The session closed. */
  'session.close': { sessionId: string; reason: string };
  /** The session's state machine moved. */
  'session.stateChange': { sessionId: string; fromState: SessionState; toState: SessionState };
  /** The session was resumed from a handle. */
  'session.resume': { sessionId: string; handle: string };
  /** The model server announced it is going away (`timeLeft` in ms). */
  'session.goaway': { sessionId: string; timeLeft: number };
  /**
   * Conversation context was compressed: `removedItems` messages replaced by `summary` (or left out).
   * On Gemini Live the provider compresses unannounced: inferred from its token counts, with
   * `removedItems` estimated and `removedTokens` a lower bound.
   */
  'context.compact': { sessionId: string; removedItems: number; summary?: string; removedTokens?: number };

  // ── Subagents (seed 003) ─────────────────────────────────────────────────────────
  /** A subagent asks the user something through the client (or withdraws a question it asked). */
  'subagent.ui.send': { sessionId: string; payload: SubagentUiPayload };
  /** The client answered a subagent's UI request (validated; routed to the waiting subagent). */
  'subagent.ui.response': { sessionId: string; response: SubagentUiResponse };
  /** A background subagent finished (or failed) and notifies the session. */
  'subagent.notification': {
    sessionId: string;
    result: unknown;
    event: 'completed' | 'failed' | 'cancelled';
  };
  /** One LLM step of a background subagent finished. */
  'subagent.step': {
    sessionId: string;
    subagentName: string;
    stepNumber: number;
    toolCalls: Array<{ toolCallId: string; toolName: string; args: unknown }>;
    tokensUsed: number;
  };
  /** Long-term memory facts were extracted about a user. */
  'memory.extracted': { sessionId: string; userId: string; factsExtracted: number; durationMs: number };

  // ── User input ───────────────────────────────────────────────────────────────────
  /** User text entered the conversation (typed, or a final transcript). */
  'user.text': {
    sessionId: string;
    turnId: string;
    text: string;
    source: 'text' | 'speech';
    hasImage?: boolean;
  };
  /** Raw user audio arrived (before transcription). */
  'audio.received': { sessionId: string; size: number };
  /** VAD: the user started speaking. */
  'user.speech.start': { sessionId: string; at: number };
  /** VAD: the user stopped speaking. */
  'user.speech.stop': { sessionId: string; at: number; durationMs: number };
  /** The user muted their microphone. */
  'user.mute.start': { sessionId: string };
  /** The user unmuted their microphone. */
  'user.mute.stop': { sessionId: string };
  /** Interim (partial) transcript. */
  'transcription.interim': { sessionId: string; text: string; at: number };
  /** Final transcript of a user utterance. */
  'transcription.final': { sessionId: string; text: string; language?: string; at: number };
  /** Transcription failed. */
  'transcription.error': { sessionId: string; error: ColloquyError };
  /** The user pressed telephone keys. */
  'user.dtmf': { sessionId: string; digits: string };
  /** Microphone or bot output level sample, 0..1 (published only when someone listens). */
  'audio.level': { sessionId: string; source: 'user' | 'bot'; level: number };

  // ── LLM stream ───────────────────────────────────────────────────────────────────
  /** An LLM request was sent for the turn. */
  'llm.start': { sessionId: string; turnId: string; agentName: string };
  /** One multi-step step began. */
  'llm.step.start': { sessionId: string; turnId: string; stepNumber: number };
  /** A text part began. */
  'llm.text.start': { sessionId: string; turnId: string; id: string };
  /** A streamed text token. */
  'llm.text.delta': { sessionId: string; turnId: string; id: string; text: string };
  /** A text part ended; `text` is the whole part. */
  'llm.text.end': { sessionId: string; turnId: string; id: string; text: string };
  /** A reasoning part began. */
  'llm.reasoning.start': { sessionId: string; turnId: string; id: string };
  /** A streamed reasoning token. */
  'llm.reasoning.delta': { sessionId: string; turnId: string; id: string; text: string };
  /** A reasoning part ended. */
  'llm.reasoning.end': { sessionId: string; turnId: string; id: string; text: string };
  /** The LLM began streaming a tool call's input. */
  'llm.tool-input.start': { sessionId: string; turnId: string; id: string; toolName: string };
  /** A streamed piece of tool-call input JSON. */
  'llm.tool-input.delta': { sessionId: string; turnId: string; id: string; delta: string };
  /** Tool-call input streaming ended. */
  'llm.tool-input.end': { sessionId: string; turnId: string; id: string };
  /** One multi-step step finished. */
  'llm.step.finish': {
    sessionId: string;
    turnId: string;
    stepNumber: number;
    finishReason: string;
    usage: TokenUsage;
  };
  /** The LLM stream of the turn ended: finished, aborted or failed. */
  'llm.end': {
    sessionId: string;
    turnId: string;
    outcome: 'finish' | 'abort' | 'error';
    /** With `abort`: why the turn was cut. */
    reason?: InterruptReason;
    finishReason?: string;
    usage?: TokenUsage;
    error?: ColloquyError;
  };
  /** Search grounding results returned with an LLM response. */
  'llm.search-response': { sessionId: string; turnId: string; response: unknown };
  /** The assistant's full response text for the turn; `interrupted` marks what was cut short. */
  'assistant.text': {
    sessionId: string;
    turnId: string;
    agentName: string;
    text: string;
    interrupted: boolean;
  };

  // ── Speech output (TTS) ──────────────────────────────────────────────────────────
  /** A text chunk entered the TTS queue. */
  'speech.chunk.queued': { sessionId: string; turnId: string; chunkId: number; text: string };
  /** TTS generation began for a response (the first chunk went to the speech model). */
  'speech.start': { sessionId: string; turnId: string; streaming: boolean };
  /** One chunk's synthesized audio is ready and was released to the output, in text order. */
  'speech.chunk': {
    sessionId: string;
    turnId: string;
    chunkId: number;
    text: string;
    audio: Uint8Array;
    format: string;
    sampleRate?: number;
  };
  /** A chunk failed to synthesize; it is skipped and the response goes on. */
  'speech.chunk.error': {
    sessionId: string;
    turnId: string;
    chunkId: number;
    text: string;
    error: ColloquyError;
  };
  /** All chunks of the response were generated and sent. */
  'speech.complete': { sessionId: string; turnId: string; streaming: boolean };
  /** Speech was cancelled; `heardText` is what the user actually heard. */
  'speech.interrupted': { sessionId: string; turnId: string; reason: InterruptReason; heardText: string };
  /** Full (non-streaming) TTS audio of a text. */
  'speech.full': { sessionId: string; text: string; audio: Uint8Array; format: string; sampleRate?: number };
  /** Playout paused because the user may be interrupting. */
  'speech.paused': { sessionId: string; turnId: string };
  /** Playout resumed after a false interruption (noise, a short "mhm"). */
  'speech.resumed': { sessionId: string; turnId: string };
  /** The first audio frame of a response left for the client (bot audibly started). */
  'bot.speaking.start': { sessionId: string; turnId: string };
  /** The last audio frame of a response left (or playout was cut). */
  'bot.speaking.stop': { sessionId: string; turnId: string; interrupted: boolean };
  /** A chunk's text started playing: the words the user hears now. */
  'bot.tts.text': { sessionId: string; turnId: string; chunkId: number; text: string };

  // ── Video ────────────────────────────────────────────────────────────────────────
  /** A video frame passed validation and entered the context buffer. */
  'video.frame': {
    sessionId: string;
    sequence: number;
    timestamp: number;
    triggerReason: FrameTriggerReason;
    size: number;
    dimensions: { width: number; height: number };
  };
  /** The agent asked the client to capture a frame. */
  'video.frame.requested': { sessionId: string; reason: FrameTriggerReason };

  // ── History ──────────────────────────────────────────────────────────────────────
  /** Old messages were removed to respect the history limits. */
  'history.trimmed': { sessionId: string; removedCount: number; reason: 'max_messages' | 'max_chars' };
  /** History was cleared. */
  'history.cleared': { sessionId: string };
  /** A message was appended to history. */
  'history.append': { sessionId: string; message: ChatMessageSummary };

  // ── Transport and client ─────────────────────────────────────────────────────────
  /** A client transport connected. */
  'transport.connected': { sessionId: string; transport: string };
  /** A client transport disconnected. */
  'transport.disconnected': { sessionId: string; transport: string; reason?: string };
  /** A client published data (LiveKit `publishData` or a text stream): parsed JSON, or the text. */
  'client.data': { sessionId: string; transport: string; topic?: string; payload: unknown };
  /** The client reported readiness and capabilities. */
  'client.ready': { sessionId: string; capabilities: unknown };
  /** The session configuration changed at run time. */
  'config.changed': { sessionId: string; config: unknown };

  // ── Metrics, warnings, errors ────────────────────────────────────────────────────
  /** Token usage of one LLM call. */
  'metrics.usage': { sessionId: string; turnId: string; agentName: string; model: string; usage: TokenUsage };
  /** Time to first byte of a provider call (`processor` names the component). */
  'metrics.ttfb': { sessionId: string; turnId?: string; processor: string; model?: string; valueMs: number };
  /** Non-fatal problem that did not stop processing. */
  warning: { sessionId: string; component: string; code: string; message: string };
  /** Any framework error, with the component it came from and its severity. */
  error: { sessionId?: string; component: string; error: ColloquyError; severity: ErrorSeverity };
}

export type EventType = keyof EventMap;

/** The catalogue as a discriminated union on `type` (what an observe-all subscriber receives). */
export type BusEvent = { [K in EventType]: { type: K; payload: EventMap[K] } }[EventType];
