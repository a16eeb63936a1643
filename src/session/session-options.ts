/** Options and result types of `VoiceSession`. */

import type { LanguageModel, ModelMessage, StopCondition, ToolSet } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import type { MemoryOptions } from '../agents/memory.ts';
import type { SubagentUiOptions } from '../agents/subagent-ui.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { InterruptReason } from '../bus/events.ts';
import type { SessionHooks } from '../bus/hooks.ts';
import type { ColloquyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ClientChannels } from './client-channels.ts';
import type { ClientTiming } from './client-clock.ts';
import type { CompactionOptions } from './context-compaction.ts';
import type { HistoryLimits } from './history.ts';
import type { RealtimeOptions } from './realtime-config.ts';
import type { SpeechPort, SpeechResponse } from './speech-port.ts';
import type { VoiceAudioOptions } from './voice-pipeline.ts';

export interface VoiceSessionOptions {
  sessionId?: string;
  userId: string;
  agents: AgentDefinition[];
  /** Name of the first active agent (default: the first agent). */
  initialAgent?: string;
  /** Default LLM (any AI SDK `LanguageModel`); an agent may override it. */
  model: LanguageModel;
  hooks?: SessionHooks;
  history?: HistoryLimits;
  /** Summarise older turns when the history nears a budget (`context.compact`). Off by default. */
  compaction?: CompactionOptions;
  /** Tools every agent gets in addition to its own. */
  tools?: ToolSet;
  /** Default per-tool timeout (default 10 000 ms). */
  toolTimeoutMs?: number;
  /** Multi-step stop condition (default `stepCountIs(5)`). */
  stopWhen?: StopCondition<ToolSet> | Array<StopCondition<ToolSet>>;
  /** Longest a user text may be (default 8 000 characters). */
  maxTextLength?: number;
  /** Bound on the wait for the LLM's first stream part (default 30 000 ms). */
  llmFirstTokenTimeoutMs?: number;
  /** Bound on a pause in the LLM stream while no tool runs (default 30 000 ms). */
  llmStallTimeoutMs?: number;
  /** After a background tool or subagent finishes, let the agent tell the user (default true). */
  announceBackgroundResults?: boolean;
  /** Subagents' questions to the user (`ask_user`): how long they wait, how many at once. */
  subagentUi?: SubagentUiOptions;
  /** Long-term memory: facts loaded at start, extracted at close (`onMemoryExtraction`). */
  memory?: MemoryOptions;
  /** Audio: VAD, STT, TTS, turn-taking and barge-in. Without it the session is text-only. */
  audio?: VoiceAudioOptions;
  /** `agent` runs the LLM on each user turn; `stream` runs no LLM: the app decides what the bot says (`speak`). */
  mode?: 'agent' | 'stream';
  /**
   * Run the conversation on a realtime speech-to-speech model (OpenAI Realtime, Gemini Live) instead
   * of STT → LLM → TTS. `audio.output` still receives the speech; `audio.vad` is needed only for
   * `turnDetection: 'local'`. `model` stays the default for subagents and memory.
   */
  realtime?: RealtimeOptions;
  /** A custom speech output (instead of the one built from `audio.tts`). */
  speech?: SpeechPort;
  logger?: Logger;
  /** Use an existing bus (e.g. shared with a transport); a new one by default. */
  eventBus?: SessionEventBus;
  /** Use an existing client-channel registry (e.g. created with the bus before the session); a new one by default. */
  clientChannels?: ClientChannels;
}

/** An image given to the model with one user turn (e.g. a camera frame); it does not enter history. */
export interface UserImage {
  /** Image bytes, or their base64. */
  data: Uint8Array | string;
  /** e.g. 'image/jpeg'. */
  mediaType: string;
}

/** Extras of one user input (`sendText`, `commitUserSpeech`). */
export interface UserInputOptions {
  /** Images given to the model with this turn's user message only (history keeps the text). */
  images?: UserImage[];
  /** When the client sent this input and it arrived (its `clientToBackendMs`; see `ClientClock`). */
  client?: ClientTiming;
  /** A transcript of a whole recording: when the recording arrived (the end of the user's speech, ms since epoch). */
  speechEndAt?: number;
}

export interface TurnResult {
  turnId: string;
  agentName: string;
  /** The assistant's text (what was heard, when interrupted). */
  text: string;
  interrupted: boolean;
  reason?: InterruptReason;
  error?: ColloquyError;
}

/** The running turn (internal). */
export interface ActiveTurn {
  id: string;
  controller: AbortController;
  /** The running LLM call's own controller (aborted with the turn; the watchdog aborts it alone). */
  llm?: AbortController;
  agentName: string;
  /** Assistant text streamed so far in this turn (all passes). */
  text: string;
  /** Text of the LLM pass that is still streaming (not yet in `pending`). */
  inflight: string;
  /** Completed-step messages not yet committed to history. */
  pending: ModelMessage[];
  /** The turn's user message as stored in history, and the multimodal version the model gets instead. */
  visual?: { stored: ModelMessage; sent: ModelMessage };
  llmStreaming: boolean;
  speech?: SpeechResponse;
  resolve: (r: TurnResult) => void;
}
