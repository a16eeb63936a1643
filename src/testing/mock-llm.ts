/**
 * Scripted language models on the AI SDK's own `MockLanguageModelV3`: each model call plays the next
 * scripted response as a real provider stream (text deltas, tool calls, reasoning, errors), with
 * optional delays, honouring the abort signal like a real provider.
 */
import type {
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
} from '@ai-sdk/provider';
import { MockLanguageModelV3 } from 'ai/test';
import { sleep } from './abortable.ts';

export type MockPart =
  | {
      text: string /** split into deltas of about this many characters (default: per word) */;
      chunk?: number;
    }
  | { reasoning: string }
  | { toolCall: { name: string; args: unknown; id?: string } }
  | { error: unknown }
  | { delayMs: number };

export interface MockResponse {
  parts: MockPart[];
  /** Delay before the first part (time to first token). */
  initialDelayMs?: number;
  /** Delay between stream parts. */
  chunkDelayMs?: number;
  usage?: {
    inputTokens?: number;
    outputTokens?: number;
    /** Input token details (absent unless given). */
    noCacheTokens?: number;
    cacheReadTokens?: number;
    cacheWriteTokens?: number;
    /** Output token details (absent unless given). */
    textTokens?: number;
    reasoningTokens?: number;
  };
}

export type MockResponseInput = MockResponse | MockPart[] | string;

function normalize(r: MockResponseInput): MockResponse {
  if (typeof r === 'string') return { parts: [{ text: r }] };
  if (Array.isArray(r)) return { parts: r };
  return r;
}

/** Split text into word-sized deltas, keeping spaces with the following word. */
export function splitDeltas(text: string, chunk?: number): string[] {
  if (chunk && chunk > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += chunk) out.push(text.slice(i, i + chunk));
    return out;
  }
  return text.match(/\s*\S+|\s+$/g) ?? [text];
}

let idCounter = 0;

function toStreamParts(r: MockResponse): Array<LanguageModelV3StreamPart | { delayMs: number }> {
  const out: Array<LanguageModelV3StreamPart | { delayMs: number }> = [
    { type: 'stream-start', warnings: [] },
  ];
  let hasTool = false;
  for (const p of r.parts) {
    if ('delayMs' in p) out.push({ delayMs: p.delayMs });
    else if ('text' in p) {
      const id = `txt-${++idCounter}`;
      out.push({ type: 'text-start', id });
      for (const d of splitDeltas(p.text, p.chunk)) out.push({ type: 'text-delta', id, delta: d });
      out.push({ type: 'text-end', id });
    } else if ('reasoning' in p) {
      const id = `rsn-${++idCounter}`;
      out.push({ type: 'reasoning-start', id });
      for (const d of splitDeltas(p.reasoning)) out.push({ type: 'reasoning-delta', id, delta: d });
      out.push({ type: 'reasoning-end', id });
    } else if ('toolCall' in p) {
      hasTool = true;
      const toolCallId = p.toolCall.id ?? `call-${++idCounter}`;
      const input = JSON.stringify(p.toolCall.args ?? {});
      out.push({ type: 'tool-input-start', id: toolCallId, toolName: p.toolCall.name });
      out.push({ type: 'tool-input-delta', id: toolCallId, delta: input });
      out.push({ type: 'tool-input-end', id: toolCallId });
      out.push({ type: 'tool-call', toolCallId, toolName: p.toolCall.name, input });
    } else if ('error' in p) out.push({ type: 'error', error: p.error });
  }
  out.push({
    type: 'finish',
    finishReason: { unified: hasTool ? 'tool-calls' : 'stop', raw: hasTool ? 'tool_calls' : 'stop' },
    usage: {
      inputTokens: {
        total: r.usage?.inputTokens ?? 10,
        noCache: r.usage?.noCacheTokens,
        cacheRead: r.usage?.cacheReadTokens,
        cacheWrite: r.usage?.cacheWriteTokens,
      },
      outputTokens: {
        total: r.usage?.outputTokens ?? 20,
        text: r.usage?.textTokens,
        reasoning: r.usage?.reasoningTokens,
      },
    },
  });
  return out;
}

export interface ScriptedModel extends MockLanguageModelV3 {
  /** The prompts the model received, one per call. */
  readonly calls: LanguageModelV3CallOptions[];
}

/**
 * A model that answers each call with the next scripted response (the last one repeats).
 * A function response gets the call options (e.g. to answer based on the prompt).
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { lastUserText, mockLanguageModel } from 'colloquy/testing';
 *
 * const model = mockLanguageModel([
 *   [{ toolCall: { name: 'weather', args: { city: 'Paris' } } }], // first call: a tool call
 *   (options) => `You said: ${lastUserText(options)}`, // then: an answer built from the prompt
 * ]);
 * const session = new VoiceSession({ userId: 'u1', agents: [{ name: 'main', instructions: 'Be brief.' }], model });
 * ```
 */
export function mockLanguageModel(
  responses: Array<MockResponseInput | ((options: LanguageModelV3CallOptions) => MockResponseInput)>,
  modelId = 'mock-model',
): ScriptedModel {
  let call = 0;
  const next = (options: LanguageModelV3CallOptions): MockResponse => {
    const spec = responses[Math.min(call++, responses.length - 1)];
    return normalize(typeof spec === 'function' ? spec(options) : spec);
  };
  const model = new MockLanguageModelV3({
    provider: 'mock',
    modelId,
    doGenerate: async (options) => {
      const response = next(options);
      const content: LanguageModelV3Content[] = [];
      let finish: Extract<LanguageModelV3StreamPart, { type: 'finish' }> | undefined;
      for (const part of toStreamParts(response)) {
        if ('delayMs' in part) await sleep(part.delayMs, options.abortSignal);
        else if (part.type === 'text-delta') {
          const last = content.at(-1);
          if (last?.type === 'text') last.text += part.delta;
          else content.push({ type: 'text', text: part.delta });
        } else if (part.type === 'tool-call') content.push(part);
        else if (part.type === 'error') throw part.error;
        else if (part.type === 'finish') finish = part;
      }
      if (response.initialDelayMs) await sleep(response.initialDelayMs, options.abortSignal);
      const result: LanguageModelV3GenerateResult = {
        content,
        finishReason: finish!.finishReason,
        usage: finish!.usage,
        warnings: [],
      };
      return result;
    },
    doStream: async (options) => {
      const response = next(options);
      const parts = toStreamParts(response);
      const signal = options.abortSignal;
      let index = 0;
      let first = true;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async pull(controller) {
          try {
            while (index < parts.length) {
              const part = parts[index++];
              if ('delayMs' in part) {
                await sleep(part.delayMs, signal);
                continue;
              }
              // stream-start goes out at once; the first content part waits `initialDelayMs`.
              const wait =
                part.type === 'stream-start'
                  ? 0
                  : first
                    ? (response.initialDelayMs ?? 0)
                    : (response.chunkDelayMs ?? 0);
              if (part.type !== 'stream-start') first = false;
              if (wait > 0) await sleep(wait, signal);
              if (signal?.aborted) throw signal.reason;
              controller.enqueue(part);
              return;
            }
            controller.close();
          } catch (err) {
            controller.error(err);
          }
        },
      });
      return { stream };
    },
  }) as ScriptedModel;
  Object.defineProperty(model, 'calls', { get: () => model.doStreamCalls });
  return model;
}

/**
 * Text of the last user message in a call's prompt.
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { lastUserText, mockLanguageModel } from 'colloquy/testing';
 *
 * // an echoing model: each response is computed from the call's prompt
 * const model = mockLanguageModel([(options) => `You said: ${lastUserText(options)}`]);
 * const session = new VoiceSession({ userId: 'u1', model, agents: [{ name: 'main', instructions: 'Echo.' }] });
 * console.log((await session.sendText('hello')).text); // You said: hello
 * ```
 */
export function lastUserText(options: LanguageModelV3CallOptions): string {
  for (let i = options.prompt.length - 1; i >= 0; i--) {
    const m = options.prompt[i];
    if (m.role === 'user') {
      return m.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
    }
  }
  return '';
}
