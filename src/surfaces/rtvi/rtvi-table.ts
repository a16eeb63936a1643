/**
 * The RTVI table: for every event of the catalogue, what it becomes on the RTVI surface (`null`: not
 * projected), per seed 002 and docs/pipecat-compat.md. The table is a mapped type over `EventMap`, so
 * a new event fails to compile until someone decides its RTVI fate. The few mappings that need memory
 * (function-call arguments, the transfer target, per-turn token counts, one `bot-interrupted` per
 * turn) keep it in `RtviState`.
 */
import type { EventMap, EventType, TokenUsage } from '../../bus/events.ts';
import { clientErrorText, clientToolResult } from '../client-safe.ts';
import {
  errorMessage,
  type RtviMetricEntry,
  type RtviMetricsData,
  type RtviServerMessage,
  type RtviTokenEntry,
  rtviMessage,
  serverMessage,
} from './messages.ts';

export type Emit = (message: RtviServerMessage) => void;

interface PendingCall {
  name: string;
  args: Record<string, unknown>;
  started: boolean;
  transitionTo: string | null;
}

interface HeldStop {
  id: string;
  cancelled: boolean;
  result: unknown;
}

/** Per-session memory of the projection. */
export class RtviState {
  userId: string;
  readonly calls = new Map<string, PendingCall>();
  held: HeldStop | undefined;
  /** Turns whose speech/turn was interrupted (bounded), to send one `bot-interrupted` and drop late output. */
  readonly interrupted: string[] = [];
  /** Turns whose TTS started and did not stop yet. */
  readonly ttsActive = new Set<string>();
  /** Turns that produced spoken output (their `assistant.text` is not sent again as unspoken output). */
  readonly spokenTurns: string[] = [];
  readonly tokensByTurn = new Map<string, number>();
  /** Turns that already reported a real `metrics.ttfb`, so the turn summary does not repeat it. */
  readonly ttfbTurns = new Set<string>();
  /** The first fatal error's message: sent as a fatal RTVI `error` after `conversation-end`. */
  fatal: string | undefined;

  constructor(
    userId: string,
    readonly transferToolName: string | undefined,
  ) {
    this.userId = userId;
  }

  isInterrupted(turnId: string): boolean {
    return this.interrupted.includes(turnId);
  }

  markInterrupted(turnId: string): boolean {
    if (this.isInterrupted(turnId)) return false;
    remember(this.interrupted, turnId);
    return true;
  }
}

const MEMORY = 32;
function remember(list: string[], id: string): void {
  if (list.includes(id)) return;
  list.push(id);
  if (list.length > MEMORY) list.shift();
}

/** Components whose `warn` errors still reach the client as `pipeline-error`. */
const PROVIDER_COMPONENTS: ReadonlySet<string> = new Set(['stt', 'tts']);

export type Mapper<K extends EventType> = (payload: EventMap[K], emit: Emit, state: RtviState) => void;
export type RtviTable = { [K in EventType]: Mapper<K> | null };

/** Pipecat's metric values are seconds; ours are ms. */
const toSeconds = (ms: number) => Math.round(ms) / 1000;

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Maps `session.close` reasons onto the seed's `conversation-end` reasons; others pass through. */
export function conversationEndReason(reason: string): string {
  switch (reason) {
    case 'client_disconnected':
    case 'client_disconnect':
    case 'disconnected':
    case 'transport_closed':
    case 'client_left':
      return 'client_disconnected';
    case 'idle_timeout':
    case 'idle':
    case 'timeout':
      return 'idle_timeout';
    default:
      return reason;
  }
}

function tokenEntry(model: string, usage: TokenUsage): RtviTokenEntry {
  const entry: RtviTokenEntry = { processor: 'llm', model };
  if (usage.inputTokens !== undefined) entry.prompt_tokens = usage.inputTokens;
  if (usage.outputTokens !== undefined) entry.completion_tokens = usage.outputTokens;
  const total = usage.totalTokens ?? sumDefined(usage.inputTokens, usage.outputTokens);
  if (total !== undefined) entry.total_tokens = total;
  return entry;
}

function sumDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

function stopCall(id: string, cancelled: boolean, result: unknown, emit: Emit, state: RtviState): void {
  const call = state.calls.get(id);
  if (!call) return;
  state.calls.delete(id);
  const data: Extract<RtviServerMessage, { type: 'llm-function-call-stopped' }>['data'] = {
    tool_call_id: id,
    function_name: call.name,
    arguments: call.args,
    cancelled,
    transition_to: call.transitionTo,
  };
  if (result !== undefined) data.result = result;
  emit(rtviMessage('llm-function-call-stopped', data));
}

export function flushHeld(emit: Emit, state: RtviState): void {
  const held = state.held;
  if (!held) return;
  state.held = undefined;
  stopCall(held.id, held.cancelled, held.result, emit, state);
}

function startCall(id: string, name: string, emit: Emit, state: RtviState): PendingCall {
  let call = state.calls.get(id);
  if (!call) {
    call = { name, args: {}, started: false, transitionTo: null };
    state.calls.set(id, call);
  }
  if (!call.started) {
    call.started = true;
    emit(rtviMessage('llm-function-call-started', { function_name: name }));
  }
  return call;
}

function interrupted(turnId: string, reason: string | undefined, emit: Emit, state: RtviState): void {
  if (state.ttsActive.delete(turnId)) emit(rtviMessage('bot-tts-stopped'));
  if (!state.markInterrupted(turnId)) return;
  emit(rtviMessage('bot-interrupted', reason === undefined ? {} : { reason }));
}

/** The projection table: bus event → RTVI message(s). */
export const RTVI_TABLE: RtviTable = {
  // Agents: the transfer target becomes `transition_to` of the call that caused it.
  'agent.enter': null,
  'agent.exit': null,
  'agent.transfer': (p, emit, state) => {
    const preferred = state.transferToolName;
    const candidates = [...state.calls.entries()].filter(
      ([, c]) => preferred === undefined || c.name === preferred,
    );
    const target = candidates.at(-1);
    if (target) target[1].transitionTo = p.toAgent;
    if (state.held && state.held.id === target?.[0]) flushHeld(emit, state);
  },
  'agent.handoff': null,

  // Function calls (agent mode only).
  'tool.call': (p, emit, state) => {
    flushHeld(emit, state);
    const call = startCall(p.id, p.name, emit, state);
    call.args = asRecord(p.args);
    emit(
      rtviMessage('llm-function-call-in-progress', {
        tool_call_id: p.id,
        function_name: call.name,
        arguments: call.args,
      }),
    );
  },
  'tool.result': (p, emit, state) => {
    const call = state.calls.get(p.toolCallId);
    if (!call) return;
    const cancelled = p.status === 'cancelled';
    // Bounded and redacted: the client sees no upstream error bodies or oversized results.
    const result = clientToolResult(p.status, p.result, p.error);
    if (!cancelled && call.transitionTo === null && call.name === state.transferToolName) {
      flushHeld(emit, state);
      state.held = { id: p.toolCallId, cancelled, result };
      return;
    }
    stopCall(p.toolCallId, cancelled, result, emit, state);
  },
  'tool.cancel': (p, emit, state) => {
    for (const id of p.toolCallIds) {
      if (state.held?.id === id) state.held = undefined;
      stopCall(id, true, undefined, emit, state);
    }
  },

  // Turns.
  'turn.start': null,
  'turn.end': (p, emit, state) => {
    flushHeld(emit, state);
    // Speech that gave no transcript (a cough, noise, a recogniser that heard nothing): the client
    // learns its turn ended without an answer instead of waiting for one.
    if (p.abandoned) emit(serverMessage('user-speech-unrecognized', {}));
  },
  'turn.interrupted': (p, emit, state) => {
    flushHeld(emit, state);
    interrupted(p.turnId, p.reason, emit, state);
  },
  'turn.latency': (p, emit, state) => {
    const seg = p.segments;
    const data: RtviMetricsData = {};
    const processing: RtviMetricEntry[] = [];
    if (seg.sttMs !== undefined) processing.push({ processor: 'stt', value: toSeconds(seg.sttMs) });
    if (seg.totalE2EMs !== undefined)
      processing.push({ processor: 'turn', value: toSeconds(seg.totalE2EMs) });
    if (processing.length) data.processing = processing;
    if (!state.ttfbTurns.delete(p.turnId)) {
      const ttfb: RtviMetricEntry[] = [];
      if (seg.llmProcessingMs !== undefined)
        ttfb.push({ processor: 'llm', value: toSeconds(seg.llmProcessingMs) });
      if (seg.ttsMs !== undefined) ttfb.push({ processor: 'tts', value: toSeconds(seg.ttsMs) });
      if (ttfb.length) data.ttfb = ttfb;
    }
    if (seg.sttMs !== undefined) data.stt_latency_ms = seg.sttMs;
    if (seg.llmProcessingMs !== undefined) data.llm_ttfb_ms = seg.llmProcessingMs;
    if (seg.ttsMs !== undefined) data.tts_ttfb_ms = seg.ttsMs;
    if (seg.totalE2EMs !== undefined) data.total_latency_ms = seg.totalE2EMs;
    if (seg.clientToBackendMs !== undefined) data.client_to_backend_ms = seg.clientToBackendMs;
    if (seg.backendToLLMMs !== undefined) data.backend_to_llm_ms = seg.backendToLLMMs;
    if (seg.llmToBackendMs !== undefined) data.llm_to_backend_ms = seg.llmToBackendMs;
    if (seg.backendToClientMs !== undefined) data.backend_to_client_ms = seg.backendToClientMs;
    const tokens = state.tokensByTurn.get(p.turnId);
    state.tokensByTurn.delete(p.turnId);
    if (tokens !== undefined) data.llm_tokens = tokens;
    emit(rtviMessage('metrics', data));
  },

  // GUI and client events.
  'gui.update': (p, emit) => emit(serverMessage('gui-update', { data: p.data })),
  'gui.notification': (p, emit) => emit(serverMessage('gui-notification', { message: p.message })),
  'client.event': (p, emit) => emit(serverMessage(p.topic, p.payload)),

  // Session lifecycle → the seed's custom server messages.
  'session.start': (p, emit, state) => {
    if (!state.userId) state.userId = p.userId;
    emit(serverMessage('conversation-start', {}));
  },
  'session.close': (p, emit, state) => {
    flushHeld(emit, state);
    emit(serverMessage('conversation-end', { reason: conversationEndReason(p.reason) }));
    if (state.fatal !== undefined) emit(errorMessage(state.fatal, true));
  },
  'session.stateChange': null,
  'session.resume': null,
  'session.goaway': null,
  'context.compact': null,
  // A subagent's question (or its withdrawal); the client answers with `ui-event` (see docs/subagents.md).
  'subagent.ui.send': (p, emit) =>
    emit(
      serverMessage(p.payload.type === 'request' ? 'subagent-ui-request' : 'subagent-ui-cancel', p.payload),
    ),
  'subagent.ui.response': null,
  'subagent.notification': null,
  'subagent.step': null,
  'memory.extracted': null,

  // User input.
  'user.text': (p, emit) => emit(rtviMessage('user-llm-text', { text: p.text })),
  'audio.received': null,
  'user.speech.start': (_p, emit) => emit(rtviMessage('user-started-speaking')),
  'user.speech.stop': (_p, emit) => emit(rtviMessage('user-stopped-speaking')),
  'user.mute.start': (_p, emit) => emit(rtviMessage('user-mute-started')),
  'user.mute.stop': (_p, emit) => emit(rtviMessage('user-mute-stopped')),
  'transcription.interim': (p, emit, state) =>
    emit(
      rtviMessage('user-transcription', {
        text: p.text,
        final: false,
        timestamp: new Date(p.at).toISOString(),
        user_id: state.userId,
      }),
    ),
  'transcription.final': (p, emit, state) =>
    emit(
      rtviMessage('user-transcription', {
        text: p.text,
        final: true,
        timestamp: new Date(p.at).toISOString(),
        user_id: state.userId,
      }),
    ),
  'transcription.error': null, // the session publishes it as an `error` event too
  'user.dtmf': null,
  'audio.level': (p, emit) =>
    emit(rtviMessage(p.source === 'user' ? 'user-audio-level' : 'bot-audio-level', { value: p.level })),

  // LLM stream (agent mode only).
  'llm.start': (_p, emit) => emit(rtviMessage('bot-llm-started')),
  'llm.step.start': null,
  'llm.text.start': null,
  'llm.text.delta': (p, emit, state) => {
    if (!state.isInterrupted(p.turnId)) emit(rtviMessage('bot-llm-text', { text: p.text }));
  },
  'llm.text.end': null,
  'llm.reasoning.start': null,
  'llm.reasoning.delta': null,
  'llm.reasoning.end': null,
  'llm.tool-input.start': (p, emit, state) => {
    startCall(p.id, p.toolName, emit, state);
  },
  'llm.tool-input.delta': null,
  'llm.tool-input.end': null,
  'llm.step.finish': null,
  'llm.end': (_p, emit) => emit(rtviMessage('bot-llm-stopped')),
  'llm.search-response': (p, emit) => {
    const r = asRecord(p.response);
    const data: Extract<RtviServerMessage, { type: 'bot-llm-search-response' }>['data'] = {
      response: p.response,
    };
    if (typeof r.search_result === 'string') data.search_result = r.search_result;
    if (typeof r.rendered_content === 'string') data.rendered_content = r.rendered_content;
    if (Array.isArray(r.origins)) data.origins = r.origins;
    emit(rtviMessage('bot-llm-search-response', data));
  },
  'assistant.text': (p, emit, state) => {
    if (state.spokenTurns.includes(p.turnId) || p.text.length === 0) return;
    emit(
      rtviMessage('bot-output', {
        text: p.text,
        spoken: false,
        aggregated_by: 'turn',
        will_be_spoken: false,
      }),
    );
  },

  // Speech output.
  'speech.chunk.queued': null,
  'speech.start': (p, emit, state) => {
    remember(state.spokenTurns, p.turnId);
    if (state.ttsActive.has(p.turnId)) return;
    state.ttsActive.add(p.turnId);
    emit(rtviMessage('bot-tts-started'));
  },
  'speech.chunk': null,
  // A sentence that could not be synthesized still reaches the client, as unspoken output.
  'speech.chunk.error': (p, emit, state) => {
    if (state.isInterrupted(p.turnId) || p.text.length === 0) return;
    emit(
      rtviMessage('bot-output', {
        text: p.text,
        spoken: false,
        aggregated_by: 'sentence',
        will_be_spoken: false,
      }),
    );
  },
  'speech.complete': (p, emit, state) => {
    if (state.ttsActive.delete(p.turnId)) emit(rtviMessage('bot-tts-stopped'));
  },
  'speech.interrupted': (p, emit, state) => interrupted(p.turnId, p.reason, emit, state),
  'speech.full': null,
  'speech.paused': null,
  'speech.resumed': null,
  'bot.speaking.start': (_p, emit) => emit(rtviMessage('bot-started-speaking')),
  'bot.speaking.stop': (_p, emit) => emit(rtviMessage('bot-stopped-speaking')),
  'bot.tts.text': (p, emit, state) => {
    if (state.isInterrupted(p.turnId)) return;
    remember(state.spokenTurns, p.turnId);
    emit(rtviMessage('bot-tts-text', { text: p.text }));
    emit(
      rtviMessage('bot-output', {
        text: p.text,
        spoken: true,
        aggregated_by: 'sentence',
        will_be_spoken: true,
        spoken_status: 'completed',
        segment_id: p.chunkId,
      }),
    );
  },

  // Video, history, transport: not part of the RTVI surface.
  'video.frame': null,
  'video.frame.requested': null,
  'history.trimmed': null,
  'history.cleared': null,
  'history.append': null,
  'transport.connected': null,
  'transport.disconnected': null,
  'client.ready': null,
  'client.data': null,
  'config.changed': null,

  // Metrics and errors.
  'metrics.usage': (p, emit, state) => {
    const entry = tokenEntry(p.model, p.usage);
    if (entry.total_tokens !== undefined) {
      state.tokensByTurn.set(p.turnId, (state.tokensByTurn.get(p.turnId) ?? 0) + entry.total_tokens);
    }
    emit(rtviMessage('metrics', { tokens: [entry] }));
  },
  'metrics.ttfb': (p, emit, state) => {
    if (p.turnId !== undefined) state.ttfbTurns.add(p.turnId);
    const entry: RtviMetricEntry = { processor: p.processor, value: toSeconds(p.valueMs) };
    if (p.model !== undefined) entry.model = p.model;
    emit(rtviMessage('metrics', { ttfb: [entry] }));
  },
  warning: null,
  error: (p, emit, state) => {
    // Warnings are not RTVI errors, except a provider's (a skipped TTS sentence, a lost utterance).
    if (p.severity === 'warn' && !PROVIDER_COMPONENTS.has(p.component)) return;
    // Redacted: a provider's error text may echo its API key or the system prompt.
    const text = clientErrorText(p.component, p.error);
    emit(serverMessage('pipeline-error', { processor: p.component, error: text }));
    if (p.severity === 'warn') return;
    // A fatal `error` makes the client disconnect: it is sent after `conversation-end`.
    if (p.severity === 'fatal') state.fatal ??= text;
    else emit(errorMessage(text, false));
  },
};
