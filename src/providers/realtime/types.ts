/**
 * The realtime speech-to-speech model interface: one provider connection that takes user audio (or
 * text) and answers with audio, transcripts and tool calls. `OpenAIRealtimeModel` and
 * `GeminiLiveModel` implement it over the providers' WebSocket protocols; a session drives it
 * through `RealtimeRunner`. Audio is PCM16 mono at the model's `inputSampleRate` (in) and
 * `outputSampleRate` (out).
 */
import type { ProviderError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';

/**
 * Version of this interface; adapters declare the one they implement.
 *
 * @example
 * ```ts
 * import { REALTIME_SPECIFICATION_VERSION, type RealtimeModel } from 'colloquy';
 *
 * function isCurrent(model: RealtimeModel): boolean {
 *   return model.specificationVersion === REALTIME_SPECIFICATION_VERSION;
 * }
 * ```
 */
export const REALTIME_SPECIFICATION_VERSION = SPECIFICATION_VERSIONS.realtime;

/**
 * Who decides when the user's turn ends. `provider`: the model's own detection (OpenAI
 * `server_vad`/`semantic_vad`, Gemini automatic activity detection). `manual`: the application (or
 * Colloquy's local VAD) calls `startInput` / `commitInput`.
 */
export type RealtimeTurnDetection =
  | {
      type: 'provider';
      mode?: 'server_vad' | 'semantic_vad';
      silenceMs?: number;
      eagerness?: 'low' | 'medium' | 'high' | 'auto';
    }
  | { type: 'manual' };

/** A function the model may call; `parameters` is a JSON Schema object. */
export interface RealtimeToolDeclaration {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** Conversation replayed into a fresh connection (after a reconnect without resumption). */
export interface RealtimeHistoryItem {
  role: 'user' | 'assistant';
  text: string;
}

export interface RealtimeSessionConfig {
  instructions: string;
  tools: RealtimeToolDeclaration[];
  voice?: string;
  turnDetection: RealtimeTurnDetection;
  /** Transcribe the user's audio (default true). */
  inputTranscription?: boolean;
  /** Prior conversation to seed the connection with. */
  history?: RealtimeHistoryItem[];
  /** Provider resumption handle (Gemini) from an earlier connection of the same conversation. */
  resumeHandle?: string;
}

export interface RealtimeUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  inputAudioTokens?: number;
  outputAudioTokens?: number;
  cachedTokens?: number;
}

/** How bad a provider error is: ignore it, reconnect, or give up. */
export type RealtimeErrorSeverity = 'harmless' | 'retryable' | 'fatal';

export type RealtimeEvent =
  /** The provider session is set up and accepts input. */
  | { type: 'ready'; providerSessionId?: string }
  /** Model audio (PCM16 at `outputSampleRate`) of output item `itemId`. */
  | { type: 'audio'; itemId: string; pcm: Int16Array }
  /** User transcript: `text` is the delta when interim, the whole utterance when final. */
  | { type: 'input-transcript'; itemId: string; text: string; final: boolean }
  /** Model speech transcript: `text` is the delta when interim, the whole item's text when final. */
  | { type: 'output-transcript'; itemId: string; text: string; final: boolean }
  /** The provider's turn detection heard the user start / stop speaking. */
  | { type: 'speech-started' }
  | { type: 'speech-stopped' }
  /** The model began a response. */
  | { type: 'response-started'; responseId: string }
  /** The model finished (or abandoned) its response. */
  | {
      type: 'response-done';
      responseId: string;
      status: 'completed' | 'cancelled' | 'interrupted' | 'incomplete' | 'failed';
    }
  /** The provider itself cut its response short (the user spoke over it). */
  | { type: 'interrupted' }
  | { type: 'tool-call'; callId: string; name: string; argumentsJson: string }
  /** The provider withdrew tool calls it had asked for. */
  | { type: 'tool-cancel'; callIds: string[] }
  | { type: 'usage'; usage: RealtimeUsage }
  /**
   * Older conversation items left the provider's context: deleted by the adapter near the budget
   * (OpenAI), or dropped by the provider's own compression and inferred from its token counts
   * (Gemini: `removedItems` is then an estimate and `removedTokens` a lower bound).
   */
  | { type: 'context-compacted'; removedItems: number; removedTokens?: number }
  /** The provider will close this connection in `timeLeftMs`. */
  | { type: 'goaway'; timeLeftMs: number }
  /** A handle to resume the conversation on a new connection (only resumable ones are reported). */
  | { type: 'resumption'; handle: string }
  | { type: 'error'; error: ProviderError; severity: RealtimeErrorSeverity }
  /** The connection closed; `expected` when `close()` asked for it. */
  | { type: 'closed'; code: number; reason: string; expected: boolean };

export type RealtimeEventType = RealtimeEvent['type'];

export interface RealtimeConnectOptions {
  /** Receives every event, in order. Never throws into the adapter (exceptions are caught). */
  onEvent: (event: RealtimeEvent) => void;
  signal?: AbortSignal;
  /** Bound on the WebSocket open plus the provider's setup acknowledgement (default 15 000 ms). */
  timeoutMs?: number;
}

export interface RealtimeCapabilities {
  /** The provider hands out resumption handles (Gemini). */
  resumption: boolean;
  /** `truncate` tells the provider what was heard (OpenAI); otherwise the provider tracks it. */
  truncation: boolean;
  /** `updateSession` applies instructions/tools/voice live; otherwise a reconnect is needed. */
  liveUpdate: boolean;
  /** The provider reports speech start/stop from its own turn detection. */
  speechEvents: boolean;
  /** Longest a connection may live (the runner reconnects ahead of it), if the provider has a cap. */
  maxConnectionMs?: number;
}

export interface RealtimeModel {
  readonly specificationVersion: typeof REALTIME_SPECIFICATION_VERSION;
  readonly provider: string;
  readonly modelId: string;
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;
  readonly capabilities: RealtimeCapabilities;
  /** Opens a provider session; resolves once it is ready (`ready` was emitted). */
  connect(config: RealtimeSessionConfig, options: RealtimeConnectOptions): Promise<RealtimeConnection>;
}

export interface RealtimeConnection {
  /** User audio, PCM16 mono at the model's `inputSampleRate`. Dropped once closed. */
  sendAudio(pcm: Int16Array): void;
  /** Manual turn detection: the user started speaking. */
  startInput(): void;
  /** Manual turn detection: the user finished; the model answers. */
  commitInput(): void;
  /** A typed user turn; the model answers. */
  sendText(text: string): void;
  /**
   * The model says `text` to the user as its own turn (a greeting, an announcement), as close to
   * word for word as the provider allows. No user turn is added where the provider can avoid it.
   *
   * Optional: it came after `colloquy-realtime-v1` was defined, and a v1 connection need not have
   * it. Without it, `session.speak(text)` sends the same request as a bracketed text turn through
   * `sendText` (what Gemini Live's `say` does too): the model says it, but the provider's
   * conversation then holds the request as a user turn.
   */
  say?(text: string): void;
  /** Result of a `tool-call`; the model goes on with it. */
  sendToolResult(callId: string, name: string, result: { output: unknown } | { error: string }): void;
  /** Stop the response being generated. */
  cancelResponse(): void;
  /** Tell the provider the user heard only `audioEndMs` of item `itemId` (0: nothing; the item goes). */
  truncate(itemId: string, audioEndMs: number): void;
  /** Apply new instructions, tools and voice; false when the provider needs a new connection. */
  updateSession(config: RealtimeSessionConfig): boolean;
  close(): void;
  readonly open: boolean;
}
