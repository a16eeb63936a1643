/**
 * Lifecycle hooks (seed 003): nine structured callbacks derived from bus events. The pipeline never
 * calls a hook; `attachHooks` subscribes to the bus and projects events onto hook shapes. A hook
 * that throws (or rejects) is caught and logged; it never reaches the session.
 */
import type { ColloquyError, ErrorSeverity } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SessionEventBus, Unsubscribe } from './event-bus.ts';
import type { LatencySegments, ToolExecution, ToolStatus } from './events.ts';

export interface SessionStartHookEvent {
  sessionId: string;
  userId: string;
  agentName: string;
}
export interface SessionEndHookEvent {
  sessionId: string;
  durationMs: number;
  reason: string;
}
export interface TurnLatencyHookEvent {
  sessionId: string;
  turnId: string;
  kind: 'cascade' | 'realtime' | 'text';
  segments: LatencySegments;
}
export interface ToolCallHookEvent {
  sessionId: string;
  toolCallId: string;
  toolName: string;
  execution: ToolExecution;
  agentName: string;
}
export interface ToolResultHookEvent {
  toolCallId: string;
  durationMs: number;
  status: ToolStatus;
  error?: ColloquyError;
}
export interface AgentTransferHookEvent {
  sessionId: string;
  fromAgent: string;
  toAgent: string;
  reconnectMs: number;
}
export interface SubagentStepHookEvent {
  subagentName: string;
  stepNumber: number;
  toolCalls: Array<{ toolCallId: string; toolName: string; args: unknown }>;
  tokensUsed: number;
}
export interface MemoryExtractionHookEvent {
  userId: string;
  factsExtracted: number;
  durationMs: number;
}
export interface ErrorHookEvent {
  sessionId?: string;
  component: string;
  error: ColloquyError;
  severity: ErrorSeverity;
}

type MaybePromise = void | Promise<void>;

export interface SessionHooks {
  onSessionStart?: (e: SessionStartHookEvent) => MaybePromise;
  onSessionEnd?: (e: SessionEndHookEvent) => MaybePromise;
  onTurnLatency?: (e: TurnLatencyHookEvent) => MaybePromise;
  onToolCall?: (e: ToolCallHookEvent) => MaybePromise;
  onToolResult?: (e: ToolResultHookEvent) => MaybePromise;
  onAgentTransfer?: (e: AgentTransferHookEvent) => MaybePromise;
  onSubagentStep?: (e: SubagentStepHookEvent) => MaybePromise;
  onMemoryExtraction?: (e: MemoryExtractionHookEvent) => MaybePromise;
  onError?: (e: ErrorHookEvent) => MaybePromise;
}

/**
 * Subscribe `hooks` to `bus`. Returns a function that detaches every hook. (A `VoiceSession` does
 * this for its `hooks` option.)
 *
 * @example
 * ```ts
 * import { attachHooks, consoleLogger, VoiceSession } from 'colloquy';
 *
 * function logLatency(session: VoiceSession): () => void {
 *   const detach = attachHooks(session.eventBus, { onTurnLatency: (e) => console.log(e.segments) }, consoleLogger);
 *   return detach; // call it to detach every hook
 * }
 * ```
 */
export function attachHooks(
  bus: SessionEventBus,
  hooks: SessionHooks,
  logger: Logger,
  now: () => number = Date.now,
): Unsubscribe {
  const call = <E>(name: keyof SessionHooks, fn: ((e: E) => MaybePromise) | undefined, event: E): void => {
    if (!fn) return;
    try {
      const out = fn(event);
      if (out && typeof (out as Promise<void>).catch === 'function') {
        (out as Promise<void>).catch((err) => logger.error(`hook ${name} rejected`, err));
      }
    } catch (err) {
      // Never republish as an `error` event: a throwing onError would loop.
      logger.error(`hook ${name} threw`, err);
    }
  };

  const startedAt = new Map<string, number>();
  const pendingTransfer = new Map<string, { fromAgent: string; toAgent: string; at: number }>();
  const offs: Unsubscribe[] = [
    bus.subscribe('session.start', (p) => {
      startedAt.set(p.sessionId, now());
      call('onSessionStart', hooks.onSessionStart, {
        sessionId: p.sessionId,
        userId: p.userId,
        agentName: p.agentName,
      });
    }),
    bus.subscribe('session.close', (p) => {
      const start = startedAt.get(p.sessionId);
      startedAt.delete(p.sessionId);
      call('onSessionEnd', hooks.onSessionEnd, {
        sessionId: p.sessionId,
        durationMs: start === undefined ? 0 : Math.max(0, now() - start),
        reason: p.reason,
      });
    }),
    bus.subscribe('turn.latency', (p) =>
      call('onTurnLatency', hooks.onTurnLatency, {
        sessionId: p.sessionId,
        turnId: p.turnId,
        kind: p.kind,
        segments: p.segments,
      }),
    ),
    bus.subscribe('tool.call', (p) =>
      call('onToolCall', hooks.onToolCall, {
        sessionId: p.sessionId,
        toolCallId: p.id,
        toolName: p.name,
        execution: p.execution ?? 'inline',
        agentName: p.agentName,
      }),
    ),
    bus.subscribe('tool.result', (p) => {
      const e: ToolResultHookEvent = {
        toolCallId: p.toolCallId,
        durationMs: p.durationMs ?? 0,
        status: p.status,
      };
      if (p.error) e.error = p.error;
      call('onToolResult', hooks.onToolResult, e);
    }),
    // A transfer completes when the new agent enters; reconnectMs is the time in between.
    bus.subscribe('agent.transfer', (p) => {
      pendingTransfer.set(p.sessionId, { fromAgent: p.fromAgent, toAgent: p.toAgent, at: now() });
    }),
    bus.subscribe('agent.enter', (p) => {
      const t = pendingTransfer.get(p.sessionId);
      if (!t || t.toAgent !== p.agentName) return;
      pendingTransfer.delete(p.sessionId);
      call('onAgentTransfer', hooks.onAgentTransfer, {
        sessionId: p.sessionId,
        fromAgent: t.fromAgent,
        toAgent: t.toAgent,
        reconnectMs: Math.max(0, now() - t.at),
      });
    }),
    bus.subscribe('subagent.step', (p) =>
      call('onSubagentStep', hooks.onSubagentStep, {
        subagentName: p.subagentName,
        stepNumber: p.stepNumber,
        toolCalls: p.toolCalls,
        tokensUsed: p.tokensUsed,
      }),
    ),
    bus.subscribe('memory.extracted', (p) =>
      call('onMemoryExtraction', hooks.onMemoryExtraction, {
        userId: p.userId,
        factsExtracted: p.factsExtracted,
        durationMs: p.durationMs,
      }),
    ),
    bus.subscribe('error', (p) => {
      const e: ErrorHookEvent = { component: p.component, error: p.error, severity: p.severity };
      if (p.sessionId !== undefined) e.sessionId = p.sessionId;
      call('onError', hooks.onError, e);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
