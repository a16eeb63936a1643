/**
 * One LLM pass of a turn for one agent: `streamText` with multi-step tool calling, every stream part
 * published on the bus with the turn's id, text forwarded to speech as it streams. Once the turn is
 * cut nothing more is published (late output of an aborted turn is dropped).
 */
import {
  type LanguageModel,
  type LanguageModelUsage,
  type ModelMessage,
  NoSuchToolError,
  type StopCondition,
  streamText,
  type ToolSet,
} from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { TokenUsage } from '../bus/events.ts';
import { authFailureStatus, InvalidInputError, ProviderError, toColloquyError } from '../errors.ts';

export interface TextSink {
  pushText(delta: string): void;
}

export interface LlmPassOptions {
  bus: SessionEventBus;
  sessionId: string;
  turnId: string;
  agentName: string;
  model: LanguageModel;
  system: string;
  messages: ModelMessage[];
  tools: ToolSet;
  stopWhen: StopCondition<ToolSet> | Array<StopCondition<ToolSet>>;
  /**
   * The call's own controller, made by the caller for this pass: the caller aborts it when the turn
   * is cut, the watchdog when the model stalls (no listener on a turn signal per pass).
   */
  controller: AbortController;
  /** True once the turn was cut: nothing more is published and the pass ends `abort`. */
  cut(): boolean;
  /** Receives assistant text deltas as they stream (speech, transcript). */
  sink?: TextSink;
  /** Bound on time to the first stream part (0 = none). */
  firstTokenTimeoutMs?: number;
  /** Bound on the gap between stream parts while no tool runs (0 = none). */
  stallTimeoutMs?: number;
  /** True while the turn's tools run (the stream is legitimately quiet then). */
  busy?: () => boolean;
}

export interface LlmPassResult {
  outcome: 'finish' | 'abort' | 'error';
  /** Assistant text of this pass. */
  text: string;
  /** Messages of completed steps (assistant + tool), ready for history. */
  stepMessages: ModelMessage[];
  finishReason?: string;
  usage?: TokenUsage;
  error?: ProviderError;
}

export function toUsage(u: LanguageModelUsage | undefined): TokenUsage {
  const out: TokenUsage = {};
  if (!u) return out;
  if (u.inputTokens !== undefined) out.inputTokens = u.inputTokens;
  const inDetails = definedOnly({
    noCacheTokens: u.inputTokenDetails?.noCacheTokens,
    cacheReadTokens: u.inputTokenDetails?.cacheReadTokens,
    cacheWriteTokens: u.inputTokenDetails?.cacheWriteTokens,
  });
  if (inDetails) out.inputTokenDetails = inDetails;
  if (u.outputTokens !== undefined) out.outputTokens = u.outputTokens;
  const outDetails = definedOnly({
    textTokens: u.outputTokenDetails?.textTokens,
    reasoningTokens: u.outputTokenDetails?.reasoningTokens,
  });
  if (outDetails) out.outputTokenDetails = outDetails;
  if (u.totalTokens !== undefined) out.totalTokens = u.totalTokens;
  const reasoning = u.outputTokenDetails?.reasoningTokens ?? u.reasoningTokens;
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  const cached = u.inputTokenDetails?.cacheReadTokens ?? u.cachedInputTokens;
  if (cached !== undefined) out.cachedInputTokens = cached;
  return out;
}

/** The fields of `o` that are set, or undefined when none is (once per LLM pass, not per part). */
function definedOnly<T extends Record<string, number | undefined>>(
  o: T,
): { [K in keyof T]?: number } | undefined {
  let out: { [K in keyof T]?: number } | undefined;
  for (const key in o) {
    const v = o[key];
    if (v === undefined) continue;
    out ??= {};
    out[key] = v;
  }
  return out;
}

export async function runLlmPass(o: LlmPassOptions): Promise<LlmPassResult> {
  const { bus, sessionId, turnId, controller } = o;
  let text = '';
  let stepMessages: ModelMessage[] = [];
  let stepNumber = 0;
  let streamError: unknown;
  const textParts = new Map<string, string>();
  const reasoningParts = new Map<string, string>();

  // Watchdog: no stream part for firstTokenTimeoutMs (before the first) or stallTimeoutMs (between
  // parts, while no tool of the turn runs) aborts the call. One timer, re-armed lazily: a part costs
  // one clock read.
  let gotPart = false;
  let lastPartAt = performance.now();
  const firstMs = o.firstTokenTimeoutMs ?? 0;
  const stallMs = o.stallTimeoutMs ?? 0;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const limit = gotPart ? stallMs : firstMs;
    if (limit <= 0) return;
    if (o.busy?.()) lastPartAt = performance.now();
    const idle = performance.now() - lastPartAt;
    if (idle < limit) {
      watchdog = setTimeout(check, limit - idle);
      return;
    }
    streamError = new ProviderError(
      gotPart ? 'llm_stalled' : 'llm_timeout',
      gotPart ? `LLM stream stalled for ${stallMs} ms` : `LLM sent nothing for ${firstMs} ms`,
      { retryable: true },
    );
    controller.abort(streamError);
  };
  if (firstMs > 0) watchdog = setTimeout(check, firstMs);

  bus.publish('llm.start', { sessionId, turnId, agentName: o.agentName });
  let finishReason: string | undefined;
  let usage: TokenUsage | undefined;
  try {
    const result = streamText({
      model: o.model,
      system: o.system,
      messages: o.messages,
      tools: o.tools,
      stopWhen: o.stopWhen,
      abortSignal: controller.signal,
      maxRetries: 0,
      // The stream's `error` parts are read below; this only replaces the AI SDK's default, which
      // writes every error to the console.
      onError: () => {},
      onStepFinish: (step) => {
        stepMessages = step.response.messages as ModelMessage[];
      },
    });
    for await (const part of result.fullStream) {
      lastPartAt = performance.now();
      // `start` / `start-step` come before the provider answers: they are not a first token.
      if (!gotPart && part.type !== 'start' && part.type !== 'start-step') {
        gotPart = true;
        // The first-token timer may be longer than the stall limit: the stall limit applies from now.
        if (watchdog !== undefined && stallMs < firstMs) {
          clearTimeout(watchdog);
          watchdog = undefined;
        }
        if (watchdog === undefined && stallMs > 0) watchdog = setTimeout(check, stallMs);
      }
      if (o.cut()) break;
      switch (part.type) {
        case 'start-step':
          bus.publish('llm.step.start', { sessionId, turnId, stepNumber });
          break;
        case 'finish-step':
          bus.publish('llm.step.finish', {
            sessionId,
            turnId,
            stepNumber,
            finishReason: part.finishReason,
            usage: toUsage(part.usage),
          });
          bus.publish('metrics.usage', {
            sessionId,
            turnId,
            agentName: o.agentName,
            model: typeof o.model === 'string' ? o.model : o.model.modelId,
            usage: toUsage(part.usage),
          });
          stepNumber++;
          break;
        case 'text-start':
          textParts.set(part.id, '');
          bus.publish('llm.text.start', { sessionId, turnId, id: part.id });
          break;
        case 'text-delta':
          if (!part.text) break;
          text += part.text;
          textParts.set(part.id, (textParts.get(part.id) ?? '') + part.text);
          bus.publish('llm.text.delta', { sessionId, turnId, id: part.id, text: part.text });
          o.sink?.pushText(part.text);
          break;
        case 'text-end':
          bus.publish('llm.text.end', { sessionId, turnId, id: part.id, text: textParts.get(part.id) ?? '' });
          textParts.delete(part.id);
          break;
        case 'reasoning-start':
          reasoningParts.set(part.id, '');
          bus.publish('llm.reasoning.start', { sessionId, turnId, id: part.id });
          break;
        case 'reasoning-delta':
          reasoningParts.set(part.id, (reasoningParts.get(part.id) ?? '') + part.text);
          bus.publish('llm.reasoning.delta', { sessionId, turnId, id: part.id, text: part.text });
          break;
        case 'reasoning-end':
          bus.publish('llm.reasoning.end', {
            sessionId,
            turnId,
            id: part.id,
            text: reasoningParts.get(part.id) ?? '',
          });
          reasoningParts.delete(part.id);
          break;
        case 'tool-input-start':
          bus.publish('llm.tool-input.start', { sessionId, turnId, id: part.id, toolName: part.toolName });
          break;
        case 'tool-input-delta':
          bus.publish('llm.tool-input.delta', { sessionId, turnId, id: part.id, delta: part.delta });
          break;
        case 'tool-input-end':
          bus.publish('llm.tool-input.end', { sessionId, turnId, id: part.id });
          break;
        case 'tool-call':
          // A call the AI SDK refused before running it (arguments failing the schema, an unknown
          // tool) comes marked `invalid`: the wrapper never saw it, so it is reported here, once.
          if (part.invalid === true) {
            reportRefusedToolCall(o, part.toolCallId, part.toolName, part.input, part.error);
          }
          break;
        case 'tool-error':
        case 'tool-result':
          // Calls that ran were reported by the tool wrapper (tool.call before, tool.result after).
          break;
        case 'source':
          bus.publish('llm.search-response', { sessionId, turnId, response: part });
          break;
        case 'finish':
          finishReason = part.finishReason;
          usage = toUsage(part.totalUsage);
          break;
        case 'error':
          streamError = part.error;
          break;
        case 'start':
        case 'abort':
        case 'raw':
        case 'file':
        case 'tool-output-denied':
        case 'tool-approval-request':
          // Nothing to project: the abort is handled by the turn; files, raw chunks and tool approvals
          // (Colloquy runs tools without approval) have no consumer.
          break;
        default: {
          // Exhaustive at compile time; a part kind added by a newer AI SDK is ignored at run time.
          const unhandled: never = part;
          void unhandled;
        }
      }
    }
  } catch (err) {
    if (!o.cut() && streamError === undefined) streamError = err;
  } finally {
    if (watchdog) clearTimeout(watchdog);
  }

  if (o.cut()) return { outcome: 'abort', text, stepMessages };
  if (streamError !== undefined) {
    const authStatus = authFailureStatus(streamError);
    // The provider refusing the credentials is fatal: no later turn can succeed.
    const error =
      authStatus !== undefined
        ? new ProviderError(
            'llm_auth_failed',
            `The language model provider refused the credentials (HTTP ${authStatus})`,
            { cause: streamError },
          )
        : streamError instanceof ProviderError
          ? streamError
          : new ProviderError(
              'llm_stream_failed',
              `LLM stream failed: ${toColloquyError(streamError).message}`,
              {
                cause: streamError,
                retryable: true,
              },
            );
    bus.publish('llm.end', { sessionId, turnId, outcome: 'error', error });
    bus.publish('error', {
      sessionId,
      component: 'llm',
      error,
      severity: authStatus !== undefined ? 'fatal' : 'error',
    });
    return { outcome: 'error', text, stepMessages, error };
  }
  bus.publish('llm.end', { sessionId, turnId, outcome: 'finish', finishReason, usage });
  return { outcome: 'finish', text, stepMessages, finishReason, usage };
}

/** Tool calls the AI SDK refused to run (bad arguments, unknown tool) still get call + result events. */
function reportRefusedToolCall(
  o: LlmPassOptions,
  toolCallId: string,
  toolName: string,
  input: unknown,
  cause: unknown,
): void {
  const { bus, sessionId, turnId } = o;
  const error = NoSuchToolError.isInstance(cause)
    ? new InvalidInputError('unknown_tool', `The model called an unknown tool "${toolName}"`, { cause })
    : new InvalidInputError(
        'invalid_tool_args',
        `Tool "${toolName}" got invalid arguments: ${toColloquyError(cause).message}`,
        { cause },
      );
  bus.publish('tool.call', {
    sessionId,
    agentName: o.agentName,
    id: toolCallId,
    name: toolName,
    args: input,
    turnId,
  });
  bus.publish('tool.result', {
    sessionId,
    toolCallId,
    status: 'error',
    result: { error: error.message },
    name: toolName,
    turnId,
    durationMs: 0,
    error,
  });
  bus.publish('error', { sessionId, component: `tool:${toolName}`, error, severity: 'warn' });
}
