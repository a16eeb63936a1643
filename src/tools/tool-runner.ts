/**
 * Wraps a tool set so every execution is observed and bounded: `tool.call` before it runs,
 * `tool.result` after (success, error, timeout, cancelled), a per-tool timeout, cancellation
 * through the turn's AbortSignal, and background execution whose result arrives later.
 */
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { ToolExecution } from '../bus/events.ts';
import { type ColloquyError, isAbortError, TimeoutError, ToolError, toColloquyError } from '../errors.ts';
import type { ClientChannels } from '../session/client-channels.ts';
import { now } from '../session/latency.ts';
import { toolSettings } from './define-tool.ts';
import { createToolContext } from './tool-context.ts';

export interface RunningTool {
  id: string;
  name: string;
  execution: ToolExecution;
  startedAt: number;
  controller: AbortController;
  turnId?: string;
}

export interface BackgroundToolResult {
  toolCallId: string;
  toolName: string;
  status: 'success' | 'error' | 'timeout';
  result: unknown;
}

export interface ToolRunContext {
  bus: SessionEventBus;
  sessionId: string;
  agentName: string;
  turnId?: string;
  /** Aborts inline tools when the turn ends early. */
  signal: AbortSignal;
  /** Aborts background tools (the session's lifetime). */
  sessionSignal: AbortSignal;
  /** Registry of running calls, shared with the session so interruption can cancel them. */
  running: Map<string, RunningTool>;
  defaultTimeoutMs: number;
  /** Receives background results when they arrive. */
  onBackgroundResult?: (result: BackgroundToolResult) => void;
  /** The session's connected client channels (what `toolContext(options)` reports deliveries against). */
  channels?: ClientChannels;
}

/** Message the LLM gets right away for a background tool. */
export const BACKGROUND_STARTED = {
  status: 'started',
  message:
    'The task is running in the background. Its result will arrive later; tell the user you are on it.',
};

function errorMessage(err: ColloquyError): string {
  return err.message;
}

export function wrapTools(tools: ToolSet, ctx: ToolRunContext): ToolSet {
  const out: ToolSet = {};
  for (const [name, t] of Object.entries(tools)) out[name] = wrapTool(name, t, ctx);
  return out;
}

function wrapTool(name: string, t: Tool, ctx: ToolRunContext): Tool {
  const original = t.execute;
  if (!original) return t; // client-side tool: the LLM loop stops and the caller supplies the result
  const settings = toolSettings(t);
  const execution: ToolExecution = settings.execution ?? 'inline';
  const timeoutMs = settings.timeoutMs ?? ctx.defaultTimeoutMs;

  const execute = (input: unknown, options: ToolExecutionOptions): Promise<unknown> => {
    const id = options.toolCallId;
    const parent = execution === 'background' ? ctx.sessionSignal : ctx.signal;
    const controller = new AbortController();
    const onParentAbort = () => controller.abort(parent.reason);
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onParentAbort, { once: true });

    const running: RunningTool = { id, name, execution, startedAt: now(), controller, turnId: ctx.turnId };
    ctx.running.set(id, running);
    ctx.bus.publish('tool.call', {
      sessionId: ctx.sessionId,
      agentName: ctx.agentName,
      id,
      name,
      args: input,
      turnId: ctx.turnId,
      execution,
    });

    const finish = () => {
      parent.removeEventListener('abort', onParentAbort);
      ctx.running.delete(id);
    };
    const experimental_context = ctx.channels
      ? createToolContext(
          { bus: ctx.bus, sessionId: ctx.sessionId, channels: ctx.channels },
          { agentName: ctx.agentName, toolCallId: id, ...(ctx.turnId ? { turnId: ctx.turnId } : {}) },
        )
      : options.experimental_context;
    const work = runBounded(
      () =>
        Promise.resolve(
          original.call(t, input as never, {
            ...options,
            abortSignal: controller.signal,
            experimental_context,
          }),
        ),
      timeoutMs,
      controller.signal,
      name,
      (timeout) => controller.abort(timeout),
    ).then(
      (result) => {
        finish();
        if (controller.signal.aborted && !(controller.signal.reason instanceof TimeoutError)) {
          throw cancelled(name);
        }
        publishResult(ctx, running, 'success', result);
        return result;
      },
      (err: unknown) => {
        finish();
        // Cancelled by interruption: the session publishes tool.cancel and the cancelled results.
        if (controller.signal.aborted && !(controller.signal.reason instanceof TimeoutError))
          throw cancelled(name);
        const timedOut = err instanceof TimeoutError;
        const error = timedOut
          ? new ToolError('tool_timeout', `Tool "${name}" timed out after ${timeoutMs} ms`, {
              cause: err,
              retryable: true,
            })
          : new ToolError('tool_failed', `Tool "${name}" failed: ${toColloquyError(err).message}`, {
              cause: err,
            });
        publishResult(ctx, running, timedOut ? 'timeout' : 'error', { error: errorMessage(error) }, error);
        ctx.bus.publish('error', {
          sessionId: ctx.sessionId,
          component: `tool:${name}`,
          error,
          severity: 'warn',
        });
        throw error;
      },
    );

    if (execution === 'inline') return work;
    work.then(
      (result) => ctx.onBackgroundResult?.({ toolCallId: id, toolName: name, status: 'success', result }),
      (err: unknown) => {
        if (err instanceof ToolError && err.code === 'tool_cancelled') return;
        const status = err instanceof ToolError && err.code === 'tool_timeout' ? 'timeout' : 'error';
        ctx.onBackgroundResult?.({
          toolCallId: id,
          toolName: name,
          status,
          result: { error: toColloquyError(err).message },
        });
      },
    );
    return Promise.resolve(BACKGROUND_STARTED);
  };
  return { ...t, execute } as Tool;
}

function cancelled(name: string): ToolError {
  return new ToolError('tool_cancelled', `Tool "${name}" was cancelled`);
}

function publishResult(
  ctx: ToolRunContext,
  running: RunningTool,
  status: 'success' | 'error' | 'timeout',
  result: unknown,
  error?: ColloquyError,
): void {
  ctx.bus.publish('tool.result', {
    sessionId: ctx.sessionId,
    toolCallId: running.id,
    status,
    result,
    name: running.name,
    turnId: running.turnId,
    durationMs: Math.round((now() - running.startedAt) * 100) / 100,
    ...(error ? { error } : {}),
  });
}

/**
 * Run `fn` with a timeout. On timeout `onTimeout` gets the TimeoutError (to abort the work) and the
 * result rejects with it; when `signal` aborts first, the result rejects with its reason.
 */
export function runBounded<T>(
  fn: () => Promise<T>,
  timeoutMs: number,
  signal: AbortSignal,
  what: string,
  onTimeout: (error: TimeoutError) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer =
      timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            if (settled) return;
            settled = true;
            const err = new TimeoutError(what, timeoutMs);
            onTimeout(err);
            reject(err);
          }, timeoutMs)
        : undefined;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      reject(signal.reason ?? new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (settle: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    fn().then(
      (v) => done(() => resolve(v)),
      (e) => done(() => reject(isAbortError(e) && signal.reason ? signal.reason : e)),
    );
  });
}

/** Cancel every running call in `running` that matches `filter`; publishes tool.cancel + results. */
export function cancelRunningTools(
  bus: SessionEventBus,
  sessionId: string,
  running: Map<string, RunningTool>,
  filter: (t: RunningTool) => boolean,
  turnId?: string,
): string[] {
  const victims = [...running.values()].filter(filter);
  if (victims.length === 0) return [];
  const ids = victims.map((v) => v.id);
  for (const v of victims) running.delete(v.id);
  bus.publish('tool.cancel', { sessionId, toolCallIds: ids, ...(turnId ? { turnId } : {}) });
  for (const v of victims) {
    v.controller.abort(new ToolError('tool_cancelled', `Tool "${v.name}" was cancelled`));
    bus.publish('tool.result', {
      sessionId,
      toolCallId: v.id,
      status: 'cancelled',
      result: null,
      name: v.name,
      turnId: v.turnId,
      durationMs: Math.round((now() - v.startedAt) * 100) / 100,
    });
  }
  return ids;
}
