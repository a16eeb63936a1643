/**
 * `scripted:FILE` — a deterministic LanguageModel for tests and offline demos (not an AI).
 *
 *   { "rules": [{ "when": "<case-insensitive regex on the last user message>",
 *                 "call": { "name": "<tool>", "args": { ... } },   // optional
 *                 "say": "<text>" }],
 *     "fallback": "<text>" }
 *
 * The first matching rule either calls its tool and, once the tool result is back, streams `say`
 * word by word; or just streams `say`. No match streams `fallback`. `say` may use `{{result}}` or
 * `{{result.path}}` to quote the tool result.
 */
import { readFileSync } from 'node:fs';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { zodIssueText } from '../../zod-issues.ts';

export const ScriptSchema = z.object({
  rules: z
    .array(
      z.object({
        when: z.string().min(1),
        call: z
          .object({ name: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}) })
          .optional(),
        say: z.string().default(''),
      }),
    )
    .default([]),
  fallback: z.string().default("Sorry, I don't know how to answer that."),
});
export type Script = z.infer<typeof ScriptSchema>;

interface CompiledRule {
  when: RegExp;
  call?: { name: string; args: Record<string, unknown> };
  say: string;
}

/**
 * Validates a script (rules of `when` regex → `say` text or a tool `call`, and a `fallback`);
 * throws `ConfigError` (`invalid_script`).
 *
 * @example
 * ```ts
 * import { createScriptedModel, parseScript } from 'colloquy';
 *
 * const script = parseScript({
 *   rules: [
 *     { when: 'weather', call: { name: 'get_weather', args: { city: 'Paris' } }, say: 'It is {{temperature}} degrees.' },
 *     { when: '^(hi|hello)', say: 'Hello! How can I help?' },
 *   ],
 *   fallback: 'Sorry, I did not get that.',
 * });
 * const model = createScriptedModel(script);
 * ```
 */
export function parseScript(raw: unknown, origin = 'script'): { rules: CompiledRule[]; fallback: string } {
  const r = ScriptSchema.safeParse(raw);
  if (!r.success) throw new ConfigError('invalid_script', `${origin}: ${zodIssueText(r.error)}`);
  const rules = r.data.rules.map((rule, i) => {
    let when: RegExp;
    try {
      when = new RegExp(rule.when, 'i');
    } catch (cause) {
      throw new ConfigError('invalid_script', `${origin}: rules.${i}.when is not a valid regex`, { cause });
    }
    return { when, say: rule.say, ...(rule.call ? { call: rule.call } : {}) };
  });
  return { rules, fallback: r.data.fallback };
}

/**
 * Reads and validates a script file (JSON); throws `ConfigError` (`script_not_found`, `invalid_script`).
 *
 * @example
 * ```ts
 * import { createScriptedModel, loadScript } from 'colloquy';
 *
 * const model = createScriptedModel(loadScript('demo-script.json'), { wordDelayMs: 30 });
 * ```
 */
export function loadScript(file: string): { rules: CompiledRule[]; fallback: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('script_not_found', `Cannot read script file ${file}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError('invalid_script', `${file} is not valid JSON`, { cause });
  }
  return parseScript(json, file);
}

const USAGE: LanguageModelV3Usage = {
  inputTokens: { total: 0, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 0, text: undefined, reasoning: undefined },
};

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: { type?: string; text?: string }) => (p.type === 'text' ? (p.text ?? '') : ''))
    .join('');
}

function lookup(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('.').filter(Boolean))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

function render(say: string, result: unknown): string {
  return say.replace(/\{\{\s*result((?:\.[A-Za-z0-9_]+)*)\s*\}\}/g, (_m, path: string) => {
    const v = lookup(result, path);
    return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
  });
}

/** Decide the reply: a tool call, or text to stream. */
function decide(
  prompt: LanguageModelV3Prompt,
  script: { rules: CompiledRule[]; fallback: string },
): LanguageModelV3Content[] {
  let lastUser = '';
  let toolResult: { toolName: string; output: unknown } | undefined;
  for (let i = prompt.length - 1; i >= 0; i--) {
    const m = prompt[i];
    if (m.role === 'tool' && toolResult === undefined && i === prompt.length - 1) {
      const part = m.content.find((p) => p.type === 'tool-result');
      if (part && part.type === 'tool-result') {
        const out = part.output as { type: string; value?: unknown };
        toolResult = { toolName: part.toolName, output: out.value ?? out };
      }
    }
    if (m.role === 'user') {
      lastUser = textOf(m.content);
      break;
    }
  }
  const rule = script.rules.find((r) => r.when.test(lastUser));
  if (!rule) return [{ type: 'text', text: script.fallback }];
  if (rule.call && !toolResult) {
    return [
      {
        type: 'tool-call',
        toolCallId: `scripted-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        toolName: rule.call.name,
        input: JSON.stringify(rule.call.args),
      },
    ];
  }
  return [{ type: 'text', text: render(rule.say, toolResult?.output) }];
}

/**
 * An AI SDK language model that answers by rules instead of an LLM: offline demos and tests.
 *
 * @example
 * ```ts
 * import { createScriptedModel, parseScript, VoiceSession } from 'colloquy';
 *
 * const model = createScriptedModel(parseScript({ rules: [{ when: 'hours', say: 'We are open 9 to 5.' }] }));
 * const session = new VoiceSession({ userId: 'u1', model, agents: [{ name: 'main', instructions: 'Answer questions.' }] });
 * console.log((await session.sendText('What are your hours?')).text); // We are open 9 to 5.
 * ```
 */
export function createScriptedModel(
  script: { rules: CompiledRule[]; fallback: string },
  options: { modelId?: string; wordDelayMs?: number } = {},
): LanguageModelV3 {
  const wordDelayMs = options.wordDelayMs ?? 0;
  return {
    specificationVersion: 'v3',
    provider: 'scripted',
    modelId: options.modelId ?? 'script',
    supportedUrls: {},
    async doGenerate(call: LanguageModelV3CallOptions) {
      const content = decide(call.prompt, script);
      const isCall = content[0].type === 'tool-call';
      return {
        content,
        finishReason: { unified: isCall ? 'tool-calls' : 'stop', raw: undefined },
        usage: USAGE,
        warnings: [],
      };
    },
    async doStream(call: LanguageModelV3CallOptions) {
      const content = decide(call.prompt, script);
      const signal = call.abortSignal;
      const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
      const first = content[0];
      if (first.type === 'tool-call') {
        parts.push(first);
      } else if (first.type === 'text') {
        parts.push({ type: 'text-start', id: 't0' });
        for (const word of first.text.match(/\s*\S+/g) ?? [])
          parts.push({ type: 'text-delta', id: 't0', delta: word });
        parts.push({ type: 'text-end', id: 't0' });
      }
      parts.push({
        type: 'finish',
        finishReason: { unified: first.type === 'tool-call' ? 'tool-calls' : 'stop', raw: undefined },
        usage: USAGE,
      });
      let i = 0;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async pull(controller) {
          if (signal?.aborted) return controller.error(signal.reason);
          if (i >= parts.length) return controller.close();
          const part = parts[i++];
          if (wordDelayMs > 0 && part.type === 'text-delta')
            await new Promise((r) => setTimeout(r, wordDelayMs));
          controller.enqueue(part);
        },
      });
      return { stream };
    },
  };
}
