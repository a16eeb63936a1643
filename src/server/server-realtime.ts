/**
 * Realtime speech-to-speech models on the server: the `realtime` section of the config file and
 * `COLLOQUY_REALTIME_TURN_DETECTION` (which wins), for sessions whose LLM spec is
 * `openai-realtime:MODEL` or `google-live:MODEL` (docs/realtime.md).
 *
 *   { "realtime": { "turnDetection": "local",
 *                   "providerTurnDetection": { "mode": "semantic_vad", "eagerness": "low" },
 *                   "compression": { "triggerTokens": 100000, "targetTokens": 50000 },
 *                   "context": { "maxTokens": 32000, "triggerRatio": 0.8, "targetRatio": 0.5 } } }
 *
 * `compression` is Gemini Live's sliding window (`false`: none), `context` OpenAI Realtime's budget
 * (`false`: none); `turnDetection: 'local'` lets the server's VAD drive the model.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { RealtimeOptions } from '../session/realtime-config.ts';
import { zodIssueText } from '../zod-issues.ts';

export const RealtimeFileSchema = z
  .object({
    turnDetection: z.enum(['provider', 'local']).optional(),
    providerTurnDetection: z
      .object({
        mode: z.enum(['server_vad', 'semantic_vad']).optional(),
        silenceMs: z.number().int().min(0).max(10_000).optional(),
        eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
      })
      .strict()
      .optional(),
    compression: z
      .union([
        z.literal(false),
        z
          .object({
            triggerTokens: z.number().int().positive().max(10_000_000).optional(),
            targetTokens: z.number().int().positive().max(10_000_000).optional(),
          })
          .strict(),
      ])
      .optional(),
    context: z
      .union([
        z.literal(false),
        z
          .object({
            maxTokens: z.number().int().positive().max(10_000_000).optional(),
            triggerRatio: z.number().gt(0).max(1).optional(),
            targetRatio: z.number().gt(0).lt(1).optional(),
          })
          .strict(),
      ])
      .optional(),
  })
  .strict();

export type RealtimeConfig = z.infer<typeof RealtimeFileSchema>;

/** The realtime settings from the file section and the environment; undefined when none. */
export function realtimeConfig(
  env: Record<string, string | undefined>,
  section: RealtimeConfig | undefined,
): RealtimeConfig | undefined {
  const merged: Record<string, unknown> = { ...(section ?? {}) };
  if (env.COLLOQUY_REALTIME_TURN_DETECTION !== undefined)
    merged.turnDetection = env.COLLOQUY_REALTIME_TURN_DETECTION;
  const parsed = RealtimeFileSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError('invalid_options', `realtime: ${zodIssueText(parsed.error, { first: true })}`);
  }
  const c = parsed.data;
  if (
    c.context &&
    c.context.targetRatio !== undefined &&
    c.context.targetRatio >= (c.context.triggerRatio ?? 0.8)
  )
    throw new ConfigError('invalid_options', 'realtime: context.targetRatio must be below triggerRatio');
  return Object.keys(c).length > 0 ? c : undefined;
}

/** A session's realtime options (besides the model) from the server's settings. */
export function realtimeSessionOptions(c: RealtimeConfig | undefined): Omit<RealtimeOptions, 'model'> {
  return {
    ...(c?.turnDetection ? { turnDetection: c.turnDetection } : {}),
    ...(c?.providerTurnDetection ? { providerTurnDetection: c.providerTurnDetection } : {}),
  };
}
