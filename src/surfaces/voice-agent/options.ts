/** Options, defaults and public types of `VoiceAgent` / `VideoAgent` (seed 001). */
import type { LanguageModel, SpeechModel, StopCondition, ToolSet, TranscriptionModel } from 'ai';
import type { AgentDefinition } from '../../agents/agent.ts';
import type { SubagentUiOptions } from '../../agents/subagent-ui.ts';
import type { FrameTriggerReason, SubagentUiPayload } from '../../bus/events.ts';
import type { Logger } from '../../logger.ts';
import type { SttModel, VadModel } from '../../providers/types.ts';
import type { RealtimeOptions } from '../../session/realtime-config.ts';

export interface StreamingSpeechOptions {
  /** Shortest text chunk sent to the speech model, in characters (default 50). */
  minChunkSize?: number;
  /** Longest text chunk, in characters (default 200). */
  maxChunkSize?: number;
  /** Synthesise several chunks at once (default true); `false` = one request at a time. */
  parallelGeneration?: boolean;
  /** Speech requests running at once (default 3). */
  maxParallelRequests?: number;
  /**
   * Send the first complete sentence of a response to the speech model on its own, however short,
   * so audio starts sooner (default true). `false`: the first chunk obeys `minChunkSize` too.
   */
  fastFirstChunk?: boolean;
}

export interface VoiceAgentOptions {
  /**
   * The LLM (any AI SDK `LanguageModel`, e.g. `openai("gpt-4o")`). With `realtime`, the
   * conversation runs on the realtime model and this one only serves subagents.
   */
  model: LanguageModel;
  /**
   * Run the conversation on a realtime speech-to-speech model (`OpenAIRealtimeModel`,
   * `GeminiLiveModel`) instead of `model` → `speechModel` (Colloquy): text, transcribed recordings
   * and streamed microphone audio go to it, and its own audio is the agent's speech (`audio_chunk`
   * in `pcm16`). The events are the same as for a cascade turn. See docs/realtime.md.
   */
  realtime?: RealtimeOptions;
  /** Speech-to-text for `audio` input (e.g. `openai.transcription("whisper-1")`). */
  transcriptionModel?: TranscriptionModel;
  /**
   * Streaming speech-to-text for streamed binary PCM (e.g. `new DeepgramStt()`): its interim
   * transcripts reach the client as `transcription_interim`. Default: `transcriptionModel`, one
   * request per utterance.
   */
  sttModel?: SttModel;
  /** Text-to-speech (e.g. `openai.speech("gpt-4o-mini-tts")`); without it the agent answers in text. */
  speechModel?: SpeechModel;
  /** System prompt (default "You are a helpful voice assistant."). */
  instructions?: string;
  /**
   * Whose conversation this is (Colloquy; default "voice-agent"). Resume handles are bound to it:
   * `AgentResume.accept(socket, create, {userId})` refuses another user's handle.
   */
  userId?: string;
  /**
   * The session's id, sent in `session_init` (Colloquy; default a random UUID, `vs_<time>_<random>`
   * for a `VideoAgent`). `AgentResume` passes a stored session's id here to rebuild it after a
   * restart.
   */
  sessionId?: string;
  /** Speech voice (default "alloy"). */
  voice?: string;
  /** Style instructions for the speech model. */
  speechInstructions?: string;
  /** Audio format the speech model returns and the client plays (default "opus"). */
  outputFormat?: string;
  streamingSpeech?: StreamingSpeechOptions;
  history?: {
    /** Messages kept (default 100; 0 = unlimited). */
    maxMessages?: number;
    /** Characters kept (default 0 = unlimited). */
    maxTotalChars?: number;
  };
  /** Largest decoded `audio` input in bytes (default 10 MiB). */
  maxAudioInputSize?: number;
  tools?: ToolSet;
  /**
   * Background agents the assistant can hand work to (a `handoff_to_<name>` tool each, Colloquy).
   * They can ask the user through the client (`subagent_ui_request`); the assistant tells the user
   * their result.
   */
  subagents?: AgentDefinition[];
  /** How long a subagent's question waits, and how many may wait at once (defaults 120 000 ms, 4). */
  subagentUi?: SubagentUiOptions;
  /** Multi-step stop condition (default `stepCountIs(5)`). */
  stopWhen?: StopCondition<ToolSet> | Array<StopCondition<ToolSet>>;
  /** URL `connect()` dials when given none (default "ws://localhost:8080"). */
  endpoint?: string;
  /** Inputs (texts, recordings) waiting at most; more are dropped with a warning (default 16). */
  maxQueuedInputs?: number;
  /** VAD for streamed binary PCM audio (default: Colloquy's energy VAD). */
  vad?: VadModel;
  /** Longest transcript message in characters (default 10 000). */
  maxTextLength?: number;
  logger?: Logger;
}

export interface VideoAgentConfig {
  /** Frames kept and given to the model with each user turn (default 10). */
  maxContextFrames: number;
}

export interface VideoAgentOptions extends VoiceAgentOptions {
  /** Largest decoded frame in bytes (default 5 MiB). */
  maxFrameInputSize?: number;
  /** Frames kept as visual context (default 10). */
  maxContextFrames?: number;
}

export const DEFAULT_INSTRUCTIONS = 'You are a helpful voice assistant.';
export const DEFAULT_VIDEO_INSTRUCTIONS = [
  'You are a helpful multimodal assistant that can see through the user’s camera.',
  'Use the attached images when the user asks about what they show.',
  'Answer briefly and conversationally; your answers are spoken aloud.',
  'Say so when the images are unclear or do not show what the user asks about.',
].join('\n');
export const DEFAULT_VOICE = 'alloy';
export const DEFAULT_OUTPUT_FORMAT = 'opus';
export const DEFAULT_ENDPOINT = 'ws://localhost:8080';
export const DEFAULT_MAX_QUEUED_INPUTS = 16;

/** seed 001 `text` payload. */
export interface TextEvent {
  role: 'user' | 'assistant';
  text: string;
  hasImage?: boolean;
}

export interface AudioChunkEvent {
  chunkId: number;
  /** Base64 of `uint8Array`. */
  data: string;
  format: string;
  text: string;
  uint8Array: Uint8Array;
}

export interface FrameReceivedEvent {
  sequence: number;
  timestamp: number;
  triggerReason: FrameTriggerReason;
  size: number;
  dimensions: { width: number; height: number };
}

/** Every event a `VoiceAgent` / `VideoAgent` emits, with its listener arguments (seed 001). */
/** `subagent_ui_request`: a subagent's question (the native `subagent_ui_request` message's fields). */
export type SubagentUiRequestEvent = Omit<Extract<SubagentUiPayload, { type: 'request' }>, 'type'>;
/** `subagent_ui_cancel`: the question stopped waiting. */
export type SubagentUiCancelEvent = Omit<Extract<SubagentUiPayload, { type: 'cancel' }>, 'type'>;

export interface AgentEventMap {
  text: [TextEvent];
  'chunk:text_delta': [{ id: string; text: string }];
  'chunk:reasoning_delta': [{ id: string; text: string }];
  speech_start: [{ streaming: boolean }];
  speech_complete: [{ streaming: boolean }];
  speech_interrupted: [{ reason: string }];
  speech_chunk_queued: [{ id: number; text: string }];
  audio_chunk: [AudioChunkEvent];
  audio: [{ data: string; format: string; uint8Array: Uint8Array }];
  'chunk:tool_call': [{ toolName: string; toolCallId: string; input: unknown }];
  tool_result: [{ name: string; toolCallId: string; result: unknown }];
  transcription: [{ text: string; language?: string }];
  audio_received: [{ size: number }];
  history_cleared: [];
  history_trimmed: [{ removedCount: number; reason: 'max_messages' | 'max_chars' }];
  connected: [];
  disconnected: [];
  frame_received: [FrameReceivedEvent];
  frame_requested: [{ reason: FrameTriggerReason }];
  client_ready: [unknown];
  /** A `client_event` tool (or `session.publishClientEvent`) published `payload` on `topic` (Colloquy). */
  client_event: [{ topic: string; payload: unknown; toolCallId?: string }];
  /** `gui.update` from a tool's context or `session.publishGuiUpdate` (Colloquy). */
  gui_update: [{ data: unknown }];
  /** `gui.notification` from a tool's context or `session.publishGuiNotification` (Colloquy). */
  gui_notification: [{ message: string }];
  config_changed: [VideoAgentConfig];
  /** A subagent asks the user something; answer with `answerSubagent` (Colloquy). */
  subagent_ui_request: [SubagentUiRequestEvent];
  /** A subagent's question stopped waiting (timeout, cancelled, session closed) (Colloquy). */
  subagent_ui_cancel: [SubagentUiCancelEvent];
  error: [Error];
  warning: [string];
  /** `startListening()` (the reference's event). */
  listening: [];
  /** `stopListening()` (the reference's event). */
  stopped: [];
}
