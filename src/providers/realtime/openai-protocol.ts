/**
 * OpenAI Realtime (GA) wire shapes: the `session` body of `session.update`, the classes of the
 * documented `error` codes, and `response.done` usage.
 */
import type { OpenAIRealtimeOptions } from './openai-realtime.ts';
import { num, obj } from './realtime-socket.ts';
import type { RealtimeErrorSeverity, RealtimeSessionConfig, RealtimeUsage } from './types.ts';

/** The `session` of a `session.update` (`voice` undefined: leave the voice as it is). */
export function openAISessionBody(
  config: RealtimeSessionConfig,
  options: OpenAIRealtimeOptions,
  voice: string | undefined,
): Record<string, unknown> {
  const td = config.turnDetection;
  const turnDetection =
    td.type === 'manual'
      ? null
      : td.mode === 'semantic_vad'
        ? {
            type: 'semantic_vad',
            eagerness: td.eagerness ?? 'auto',
            create_response: true,
            interrupt_response: true,
          }
        : {
            type: 'server_vad',
            create_response: true,
            interrupt_response: true,
            ...(td.silenceMs !== undefined ? { silence_duration_ms: td.silenceMs } : {}),
          };
  return {
    type: 'realtime',
    instructions: config.instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        turn_detection: turnDetection,
        ...(config.inputTranscription === false
          ? {}
          : { transcription: { model: options.transcriptionModel ?? 'gpt-4o-mini-transcribe' } }),
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, ...(voice !== undefined ? { voice } : {}) },
    },
    tools: config.tools.map((t) => ({
      type: 'function',
      name: t.name,
      description: t.description ?? '',
      parameters: t.parameters,
    })),
    tool_choice: 'auto',
  };
}

/** Error codes after which the connection is still fine (a request just did not apply). */
const HARMLESS_CODES = new Set([
  'response_cancel_not_active',
  'conversation_already_has_active_response',
  'input_audio_buffer_commit_empty',
]);
/** Error codes no reconnect can fix. */
const FATAL_CODES = new Set([
  'invalid_api_key',
  'insufficient_quota',
  'model_not_found',
  'beta_api_shape_disabled',
]);

/** Classifies an OpenAI `error` event from its documented type and code. */
export function classifyOpenAIError(
  type: string | undefined,
  code: string | undefined,
): RealtimeErrorSeverity {
  if (code !== undefined && FATAL_CODES.has(code)) return 'fatal';
  if (code !== undefined && HARMLESS_CODES.has(code)) return 'harmless';
  if (type === 'authentication_error' || type === 'permission_error') return 'fatal';
  if (type === 'server_error') return 'retryable';
  // invalid_request_error and the rest: the request failed, the socket stays usable.
  return 'harmless';
}

export function openAIUsage(u: Record<string, unknown> | undefined): RealtimeUsage | undefined {
  if (!u) return undefined;
  const out: RealtimeUsage = {};
  const set = (k: keyof RealtimeUsage, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('inputTokens', num(u.input_tokens));
  set('outputTokens', num(u.output_tokens));
  set('totalTokens', num(u.total_tokens));
  set('inputAudioTokens', num(obj(u.input_token_details)?.audio_tokens));
  set('cachedTokens', num(obj(u.input_token_details)?.cached_tokens));
  set('outputAudioTokens', num(obj(u.output_token_details)?.audio_tokens));
  return out;
}
