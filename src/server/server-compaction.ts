/**
 * Context compaction on the server: the `compaction` section of the config file and the
 * `COLLOQUY_COMPACTION_*` environment variables (which win), turned into the sessions'
 * `CompactionOptions` (docs/storage.md, "Context compaction").
 *
 *   { "compaction": { "maxTokens": 8000, "triggerRatio": 0.8, "keepRecent": 6,
 *                     "model": "openai:gpt-4.1-mini", "prompt": "Summarise …" } }
 *
 *   COLLOQUY_COMPACTION_MAX_TOKENS, COLLOQUY_COMPACTION_MAX_CHARS, COLLOQUY_COMPACTION_MODEL,
 *   COLLOQUY_COMPACTION_PROMPT, COLLOQUY_COMPACTION=off (turns a configured section off)
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { CompactionOptions } from '../session/context-compaction.ts';
import { zodIssueText } from '../zod-issues.ts';
import type { ModelCache } from './session-factory.ts';

export const CompactionSchema = z
  .object({
    /** Budget in estimated tokens (characters ÷ 4). */
    maxTokens: z.number().int().min(100).max(10_000_000).optional(),
    /** Budget in characters. */
    maxChars: z.number().int().min(400).max(40_000_000).optional(),
    /** Share of the budget at which compaction starts (default 0.8). */
    triggerRatio: z.number().min(0.1).max(1).optional(),
    /** Newest messages always kept verbatim (default 6). */
    keepRecent: z.number().int().min(1).max(1000).optional(),
    /** Summarising model spec (default: the session's LLM). */
    model: z.string().min(1).max(500).optional(),
    /** The summariser's instructions (default: Colloquy's). */
    prompt: z.string().min(1).max(20_000).optional(),
  })
  .strict();

export type CompactionConfig = z.infer<typeof CompactionSchema>;

type Env = Record<string, string | undefined>;

/** The compaction settings from the file section and the environment; undefined when off. */
export function compactionConfig(
  env: Env,
  section: CompactionConfig | undefined,
): CompactionConfig | undefined {
  if (env.COLLOQUY_COMPACTION !== undefined && /^(0|false|off|no)$/i.test(env.COLLOQUY_COMPACTION)) {
    return undefined;
  }
  const merged: CompactionConfig = { ...(section ?? {}) };
  const maxTokens = intEnv(env, 'COLLOQUY_COMPACTION_MAX_TOKENS', 100, 10_000_000);
  const maxChars = intEnv(env, 'COLLOQUY_COMPACTION_MAX_CHARS', 400, 40_000_000);
  if (maxTokens !== undefined) merged.maxTokens = maxTokens;
  if (maxChars !== undefined) merged.maxChars = maxChars;
  if (env.COLLOQUY_COMPACTION_MODEL) merged.model = env.COLLOQUY_COMPACTION_MODEL;
  if (env.COLLOQUY_COMPACTION_PROMPT) merged.prompt = env.COLLOQUY_COMPACTION_PROMPT;
  const parsed = CompactionSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError('invalid_compaction', `compaction: ${zodIssueText(parsed.error, { first: true })}`);
  }
  const c = parsed.data;
  const any = Object.keys(c).length > 0;
  if (!any) return undefined;
  if (c.maxTokens === undefined && c.maxChars === undefined) {
    throw new ConfigError(
      'invalid_compaction',
      'compaction needs a budget: maxTokens or maxChars (COLLOQUY_COMPACTION_MAX_TOKENS / _MAX_CHARS)',
    );
  }
  return c;
}

function intEnv(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      'invalid_compaction',
      `${name} must be an integer ${min}-${max}, got ${raw.slice(0, 40)}`,
    );
  }
  return n;
}

/** The sessions' `CompactionOptions` (the model spec resolved through the server's cache). */
export function serverCompaction(
  config: { compaction?: CompactionConfig },
  models: ModelCache,
): CompactionOptions | undefined {
  const c = config.compaction;
  if (!c) return undefined;
  return {
    ...(c.maxTokens !== undefined ? { maxTokens: c.maxTokens } : {}),
    ...(c.maxChars !== undefined ? { maxChars: c.maxChars } : {}),
    ...(c.triggerRatio !== undefined ? { triggerRatio: c.triggerRatio } : {}),
    ...(c.keepRecent !== undefined ? { keepRecent: c.keepRecent } : {}),
    ...(c.model !== undefined ? { model: models.llm(c.model) } : {}),
    ...(c.prompt !== undefined ? { prompt: c.prompt } : {}),
  };
}
