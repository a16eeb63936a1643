/**
 * Process-wide diagnostics on `node:diagnostics_channel`, the base for metrics and tracing: any
 * code in the process (an APM agent, a metrics exporter) can subscribe by channel name without a
 * reference to a session. A message is built and published only when its channel has a subscriber.
 *
 * | channel | message |
 * |---|---|
 * | `colloquy:session:created` | `{ sessionId, userId }` |
 * | `colloquy:session:closed` | `{ sessionId, reason }` |
 * | `colloquy:turn:start` | `{ sessionId, turnId }` |
 * | `colloquy:turn:end` | `{ sessionId, turnId, abandoned }` |
 * | `colloquy:provider:call` | `{ sessionId, turnId, processor, model, ttfbMs }` (time to first byte) |
 * | `colloquy:error` | `{ sessionId, component, severity, error }` |
 * | `colloquy:turn:latency` | `{ sessionId, turnId, kind, segments, marks }` (before `turn:end`) |
 * | `colloquy:turn:interrupted` | `{ sessionId, turnId, reason }` |
 * | `colloquy:llm:start` | `{ sessionId, turnId, agentName }` |
 * | `colloquy:llm:usage` | `{ sessionId, turnId, agentName, model, inputTokens, outputTokens }` |
 * | `colloquy:tool:call` | `{ sessionId, turnId, toolCallId, name }` |
 * | `colloquy:tool:result` | `{ sessionId, turnId, toolCallId, name, status, durationMs }` |
 *
 * The metrics (`GET /metrics`) and OpenTelemetry traces of the observability folder are built on
 * these channels.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { EventTable } from './bus/event-bus.ts';
import type { EventMap, InterruptReason, LatencyMarks, LatencySegments, ToolStatus } from './bus/events.ts';
import type { ColloquyError, ErrorSeverity } from './errors.ts';

/**
 * The `node:diagnostics_channel` names Colloquy publishes on (see the table above); a message is
 * built only while its channel has a subscriber.
 *
 * @example
 * ```ts
 * import { DIAGNOSTICS_CHANNELS } from 'colloquy';
 * import diagnosticsChannel from 'node:diagnostics_channel';
 *
 * diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.providerCall, (message) => {
 *   const { processor, model, ttfbMs } = message as { processor: string; model?: string; ttfbMs: number };
 *   console.log(`${processor} ${model ?? ''} first byte after ${ttfbMs} ms`);
 * });
 * ```
 */
export const DIAGNOSTICS_CHANNELS = {
  sessionCreated: 'colloquy:session:created',
  sessionClosed: 'colloquy:session:closed',
  turnStart: 'colloquy:turn:start',
  turnEnd: 'colloquy:turn:end',
  providerCall: 'colloquy:provider:call',
  error: 'colloquy:error',
  turnLatency: 'colloquy:turn:latency',
  turnInterrupted: 'colloquy:turn:interrupted',
  llmStart: 'colloquy:llm:start',
  llmUsage: 'colloquy:llm:usage',
  toolCall: 'colloquy:tool:call',
  toolResult: 'colloquy:tool:result',
} as const;

export interface DiagnosticsMessages {
  sessionCreated: { sessionId: string; userId: string };
  sessionClosed: { sessionId: string; reason: string };
  turnStart: { sessionId: string; turnId: string };
  turnEnd: { sessionId: string; turnId: string; abandoned: boolean };
  providerCall: {
    sessionId: string;
    turnId: string | undefined;
    processor: string;
    model: string | undefined;
    ttfbMs: number;
  };
  error: { sessionId: string | undefined; component: string; severity: ErrorSeverity; error: ColloquyError };
  turnLatency: {
    sessionId: string;
    turnId: string;
    kind: 'cascade' | 'realtime' | 'text';
    segments: LatencySegments;
    marks: LatencyMarks;
  };
  turnInterrupted: { sessionId: string; turnId: string; reason: InterruptReason | undefined };
  llmStart: { sessionId: string; turnId: string; agentName: string };
  llmUsage: {
    sessionId: string;
    turnId: string;
    agentName: string;
    model: string;
    inputTokens: number | undefined;
    outputTokens: number | undefined;
  };
  toolCall: { sessionId: string; turnId: string | undefined; toolCallId: string; name: string };
  toolResult: {
    sessionId: string;
    turnId: string | undefined;
    toolCallId: string;
    name: string | undefined;
    status: ToolStatus;
    durationMs: number | undefined;
  };
}

const channels = {
  sessionCreated: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.sessionCreated),
  sessionClosed: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.sessionClosed),
  turnStart: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.turnStart),
  turnEnd: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.turnEnd),
  providerCall: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.providerCall),
  error: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.error),
  turnLatency: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.turnLatency),
  turnInterrupted: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.turnInterrupted),
  llmStart: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.llmStart),
  llmUsage: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.llmUsage),
  toolCall: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.toolCall),
  toolResult: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.toolResult),
};

/** Publishes on `name`'s channel; `message` is only called when someone subscribes. */
export function diagnose<K extends keyof DiagnosticsMessages>(
  name: K,
  message: () => DiagnosticsMessages[K],
): void {
  const channel = channels[name];
  if (channel.hasSubscribers) channel.publish(message());
}

/**
 * A bus-table entry for channel `name`: `build` (made once, here) turns the event into the message,
 * and runs only when the channel has a subscriber, so nothing is allocated per event while nobody
 * listens.
 */
function route<K extends keyof DiagnosticsMessages, P>(
  name: K,
  build: (p: P) => DiagnosticsMessages[K],
): (p: P) => void {
  const channel = channels[name];
  return (p) => {
    if (channel.hasSubscribers) channel.publish(build(p));
  };
}

/** Bus events → channels (subscribed once per session with `bus.subscribeTable`). */
export const DIAGNOSTICS_TABLE: EventTable<EventMap, undefined> = {
  'session.close': route('sessionClosed', (p: EventMap['session.close']) => ({
    sessionId: p.sessionId,
    reason: p.reason,
  })),
  'turn.start': route('turnStart', (p: EventMap['turn.start']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
  })),
  'turn.end': route('turnEnd', (p: EventMap['turn.end']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    abandoned: p.abandoned === true,
  })),
  'metrics.ttfb': route('providerCall', (p: EventMap['metrics.ttfb']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    processor: p.processor,
    model: p.model,
    ttfbMs: p.valueMs,
  })),
  error: route('error', (p: EventMap['error']) => ({
    sessionId: p.sessionId,
    component: p.component,
    severity: p.severity,
    error: p.error,
  })),
  'turn.latency': route('turnLatency', (p: EventMap['turn.latency']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    kind: p.kind,
    segments: p.segments,
    marks: p.marks,
  })),
  'turn.interrupted': route('turnInterrupted', (p: EventMap['turn.interrupted']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    reason: p.reason,
  })),
  'llm.start': route('llmStart', (p: EventMap['llm.start']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    agentName: p.agentName,
  })),
  'metrics.usage': route('llmUsage', (p: EventMap['metrics.usage']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    agentName: p.agentName,
    model: p.model,
    inputTokens: p.usage.inputTokens,
    outputTokens: p.usage.outputTokens,
  })),
  'tool.call': route('toolCall', (p: EventMap['tool.call']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    toolCallId: p.id,
    name: p.name,
  })),
  'tool.result': route('toolResult', (p: EventMap['tool.result']) => ({
    sessionId: p.sessionId,
    turnId: p.turnId,
    toolCallId: p.toolCallId,
    name: p.name,
    status: p.status,
    durationMs: p.durationMs,
  })),
};
