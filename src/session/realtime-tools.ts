/**
 * Tools for a realtime model: the same tool set a cascade turn gets (shared, agent, transfer,
 * subagent handoff tools, wrapped for events, timeouts, cancellation and background execution),
 * declared to the provider as JSON Schema, and one provider tool call run against it with its
 * arguments parsed and validated at the edge. An unknown tool or bad arguments answer the model
 * with an error (and publish `tool.call` + `tool.result {status:'error'}` + a warn), never throw.
 */
import { asSchema, type ToolSet } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { InvalidInputError, ToolError, toColloquyError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { RealtimeToolDeclaration } from '../providers/realtime/types.ts';

/** Longest tool-call argument JSON accepted from a provider. */
export const MAX_TOOL_ARGS_BYTES = 64 * 1024;
/** Deepest tool arguments a realtime model may send (as for declarative tool arguments). */
export const MAX_TOOL_ARGS_DEPTH = 16;

/** The provider's declarations of a tool set (tools without a schema take an empty object). */
export async function declareTools(tools: ToolSet): Promise<RealtimeToolDeclaration[]> {
  const out: RealtimeToolDeclaration[] = [];
  for (const [name, t] of Object.entries(tools)) {
    const schema = t.inputSchema
      ? await asSchema(t.inputSchema).jsonSchema
      : { type: 'object', properties: {} };
    const { $schema: _drop, ...parameters } = schema as Record<string, unknown>;
    out.push({ name, ...(t.description ? { description: t.description } : {}), parameters });
  }
  return out;
}

export interface RealtimeToolCall {
  callId: string;
  name: string;
  argumentsJson: string;
}

export interface ToolCallContext {
  bus: SessionEventBus;
  sessionId: string;
  agentName: string;
  turnId: string | undefined;
}

/** Runs one call; resolves with what goes back to the model. Cancellation resolves as `cancelled`. */
export async function runRealtimeToolCall(
  tools: ToolSet,
  call: RealtimeToolCall,
  ctx: ToolCallContext,
  signal: AbortSignal,
): Promise<{ output: unknown } | { error: string } | 'cancelled'> {
  const t = tools[call.name];
  let args: unknown;
  let problem: InvalidInputError | undefined;
  if (!t?.execute) {
    problem = new InvalidInputError('unknown_tool', `The model called an unknown tool "${call.name}"`);
  } else if (call.argumentsJson.length > MAX_TOOL_ARGS_BYTES) {
    problem = new InvalidInputError(
      'invalid_tool_args',
      `Tool "${call.name}" arguments exceed ${MAX_TOOL_ARGS_BYTES} bytes`,
    );
  } else {
    const parsed = call.argumentsJson.trim()
      ? parseJsonWithLimits(call.argumentsJson, {
          maxBytes: MAX_TOOL_ARGS_BYTES,
          maxDepth: MAX_TOOL_ARGS_DEPTH,
        })
      : ({ ok: true, value: {} } as const);
    if (parsed.ok) args = parsed.value;
    else {
      const what =
        parsed.error.kind === 'malformed' ? 'are not JSON' : `are refused: ${parsed.error.message}`;
      problem = new InvalidInputError('invalid_tool_args', `Tool "${call.name}" arguments ${what}`, {
        cause: parsed.error,
      });
    }
    if (!problem && t.inputSchema) {
      const validate = asSchema(t.inputSchema).validate;
      const result = validate ? await validate(args) : { success: true as const, value: args };
      if (result.success) args = result.value;
      else
        problem = new InvalidInputError(
          'invalid_tool_args',
          `Tool "${call.name}" got invalid arguments: ${result.error.message}`,
        );
    }
  }
  if (problem) {
    reportRejected(call, args, problem, ctx);
    return { error: problem.message };
  }
  try {
    const output = await t!.execute!(args as never, {
      toolCallId: call.callId,
      messages: [],
      abortSignal: signal,
    });
    return { output };
  } catch (err) {
    if (err instanceof ToolError && err.code === 'tool_cancelled') return 'cancelled';
    return { error: toColloquyError(err).message };
  }
}

/** A call the tool wrapper never ran still gets `tool.call` + `tool.result` and a warn. */
function reportRejected(
  call: RealtimeToolCall,
  args: unknown,
  error: InvalidInputError,
  ctx: ToolCallContext,
): void {
  const { bus, sessionId, turnId } = ctx;
  bus.publish('tool.call', {
    sessionId,
    agentName: ctx.agentName,
    id: call.callId,
    name: call.name,
    args: args ?? null,
    ...(turnId ? { turnId } : {}),
  });
  bus.publish('tool.result', {
    sessionId,
    toolCallId: call.callId,
    status: 'error',
    result: { error: error.message },
    name: call.name,
    ...(turnId ? { turnId } : {}),
    durationMs: 0,
    error,
  });
  bus.publish('error', { sessionId, component: `tool:${call.name}`, error, severity: 'warn' });
}
