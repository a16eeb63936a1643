/**
 * Options of a realtime session, what the runner needs from its session, and the provider session
 * config of an agent: instructions (+ memory), tools declared as JSON Schema, voice, turn
 * detection, and either a resumption handle or the conversation replayed as text (newest items
 * within the budget; `context.compact` reports the ones left out).
 */

import type { ToolSet } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import type { SubagentUi } from '../agents/subagent-ui.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { SessionState } from '../bus/events.ts';
import type { ErrorSeverity } from '../errors.ts';
import type { SpeechOutput } from '../pipeline/speech-output.ts';
import type {
  RealtimeHistoryItem,
  RealtimeModel,
  RealtimeSessionConfig,
  RealtimeTurnDetection,
} from '../providers/realtime/types.ts';
import type { RunningTool } from '../tools/tool-runner.ts';
import type { ClientChannels } from './client-channels.ts';
import { type ConversationHistory, messageText } from './history.ts';
import type { LatencyTracker } from './latency.ts';
import { declareTools } from './realtime-tools.ts';
import type { VoiceSessionOptions } from './session-options.ts';

export interface RealtimeOptions {
  model: RealtimeModel;
  /** `provider` (default): the model's own turn detection. `local`: `audio.vad` drives the model manually. */
  turnDetection?: 'provider' | 'local';
  /** Tuning of the provider's turn detection. */
  providerTurnDetection?: Omit<Extract<RealtimeTurnDetection, { type: 'provider' }>, 'type'>;
  /** Transcribe the user's speech (default true). */
  inputTranscription?: boolean;
  /** Reconnection: consecutive failures that are fatal (default 3), first backoff (250 ms), cap (4 000 ms). */
  reconnect?: { maxFailures?: number; initialDelayMs?: number; maxDelayMs?: number };
  /** How long before the provider's connection cap to announce goAway and reconnect (default 60 000). */
  goAwayLeadMs?: number;
  /** Override the provider's connection cap (ms). */
  maxConnectionMs?: number;
  /** Bound on one connect (default 15 000). */
  connectTimeoutMs?: number;
  /** Conversation replayed into a new connection without resumption: most items (default 40). */
  replayMaxItems?: number;
  /**
   * Most of the model's audio received and not yet played, in ms (default 60 000). Providers send
   * audio faster than real time; past this the rest of the response is dropped (audio and
   * transcript), the provider's response cancelled and its item truncated at the audio kept, with a
   * `realtime_audio_ahead` warning. A positive number.
   */
  maxAudioAheadMs?: number;
}

export interface RealtimeRunnerHost {
  readonly bus: SessionEventBus;
  readonly sessionId: string;
  readonly userId: string;
  readonly options: VoiceSessionOptions;
  readonly realtime: RealtimeOptions;
  readonly agents: Map<string, AgentDefinition>;
  readonly conversation: ConversationHistory;
  readonly latency: LatencyTracker;
  readonly running: Map<string, RunningTool>;
  readonly sessionSignal: AbortSignal;
  readonly speech: SpeechOutput | undefined;
  readonly channels: ClientChannels;
  readonly subagentUi?: SubagentUi;
  currentAgent(): string;
  setAgent(name: string): void;
  transition(to: SessionState): void;
  state(): SessionState;
  reportError(component: string, err: unknown, severity: ErrorSeverity): void;
  /** Closes the session (after a fatal error). */
  close(reason: string): void;
  memoryPrompt(): string;
}

/** The provider session config of `agent` with its (wrapped) tools. */
export async function buildSessionConfig(
  h: RealtimeRunnerHost,
  agent: AgentDefinition,
  tools: ToolSet,
  history: { resumeHandle: string } | { replay: boolean },
): Promise<RealtimeSessionConfig> {
  const td: RealtimeTurnDetection =
    h.realtime.turnDetection === 'local'
      ? { type: 'manual' }
      : { type: 'provider', ...(h.realtime.providerTurnDetection ?? {}) };
  const config: RealtimeSessionConfig = {
    instructions: agent.instructions + h.memoryPrompt(),
    tools: await declareTools(tools),
    turnDetection: td,
    ...(agent.voice ? { voice: agent.voice } : {}),
    ...(h.realtime.inputTranscription === false ? { inputTranscription: false } : {}),
  };
  if ('resumeHandle' in history) config.resumeHandle = history.resumeHandle;
  else if (history.replay) config.history = replayHistory(h);
  return config;
}

/** The conversation as text items, newest kept within the budget (`context.compact` for the rest). */
export function replayHistory(h: RealtimeRunnerHost): RealtimeHistoryItem[] {
  const items: RealtimeHistoryItem[] = [];
  for (const m of h.conversation.all) {
    if (m.role !== 'user' && m.role !== 'assistant') continue;
    const text = messageText(m).trim();
    if (text) items.push({ role: m.role, text });
  }
  const max = h.realtime.replayMaxItems ?? 40;
  if (items.length <= max) return items;
  const removed = items.length - max;
  h.bus.publish('context.compact', { sessionId: h.sessionId, removedItems: removed });
  return items.slice(removed);
}
