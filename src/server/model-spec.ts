/**
 * Model specs: `provider:model` strings naming AI SDK providers (openai, anthropic, google, groq,
 * openai-compatible), Deepgram's streaming STT (deepgram:MODEL) or Colloquy's embedded components (silero, energy, espeak, pocketsphinx,
 * scripted:FILE). Each resolver validates the spec and builds the model; API keys are read by the
 * providers from their usual environment variables when a request is made.
 */
import { resolve } from 'node:path';
import type { LanguageModel } from 'ai';
import { ConfigError } from '../errors.ts';
import { requireOptional } from '../optional-dependency.ts';
import { SpeechTts } from '../providers/ai-sdk/speech-tts.ts';
import { TranscriptionStt } from '../providers/ai-sdk/transcription-stt.ts';
import { EnergyVad } from '../providers/local/energy-vad.ts';
import { EspeakTts } from '../providers/local/espeak-tts.ts';
import { PocketsphinxStt } from '../providers/local/pocketsphinx-stt.ts';
import { SileroVad, type SileroVadOptions } from '../providers/local/silero-vad.ts';
import { GeminiLiveModel } from '../providers/realtime/gemini-live.ts';
import { OpenAIRealtimeModel } from '../providers/realtime/openai-realtime.ts';
import type { RealtimeModel } from '../providers/realtime/types.ts';
import { createScriptedModel, loadScript } from '../providers/scripted/scripted-model.ts';
import { DeepgramStt } from '../providers/streaming/deepgram-stt.ts';
import type { SttModel, TtsModel, VadModel } from '../providers/types.ts';
import type { RealtimeConfig } from './server-realtime.ts';

// AI SDK provider packages are optional dependencies, loaded when a spec names them (a missing one
// throws MissingDependencyError with the install command). Their types stay out of the declarations.
type OpenAIModule = typeof import('@ai-sdk/openai');
type AnthropicModule = typeof import('@ai-sdk/anthropic');
type GoogleModule = typeof import('@ai-sdk/google');
type GroqModule = typeof import('@ai-sdk/groq');
type CompatibleModule = typeof import('@ai-sdk/openai-compatible');

const createOpenAI: OpenAIModule['createOpenAI'] = (options) =>
  requireOptional<OpenAIModule>('@ai-sdk/openai', 'OpenAI models (openai:…)').createOpenAI(options);
const createAnthropic: AnthropicModule['createAnthropic'] = (options) =>
  requireOptional<AnthropicModule>('@ai-sdk/anthropic', 'Anthropic models (anthropic:…)').createAnthropic(
    options,
  );
const createGoogleGenerativeAI: GoogleModule['createGoogleGenerativeAI'] = (options) =>
  requireOptional<GoogleModule>('@ai-sdk/google', 'Google models (google:…)').createGoogleGenerativeAI(
    options,
  );
const createGroq: GroqModule['createGroq'] = (options) =>
  requireOptional<GroqModule>('@ai-sdk/groq', 'Groq models (groq:…)').createGroq(options);
const createOpenAICompatible: CompatibleModule['createOpenAICompatible'] = (options) =>
  requireOptional<CompatibleModule>(
    '@ai-sdk/openai-compatible',
    'OpenAI-compatible models (openai-compatible:…)',
  ).createOpenAICompatible(options);

export interface ParsedSpec {
  provider: string;
  model: string;
}

/**
 * Splits a model spec `provider:model` (throws `ConfigError` `invalid_model_spec`); `kind` names
 * the setting in the message.
 *
 * @example
 * ```ts
 * import { parseSpec } from 'colloquy/server';
 *
 * const { provider, model } = parseSpec('openai:gpt-4.1-mini', 'LLM'); // 'openai', 'gpt-4.1-mini'
 * ```
 */
export function parseSpec(spec: string, kind: string): ParsedSpec {
  if (typeof spec !== 'string' || !spec.trim())
    throw new ConfigError('invalid_model_spec', `${kind}: empty model spec`);
  const s = spec.trim();
  const i = s.indexOf(':');
  return i < 0 ? { provider: s, model: '' } : { provider: s.slice(0, i), model: s.slice(i + 1) };
}

type Env = Record<string, string | undefined>;

function need(p: ParsedSpec, kind: string, spec: string): string {
  if (!p.model)
    throw new ConfigError(
      'invalid_model_spec',
      `${kind}: "${spec}" needs a model name (${p.provider}:MODEL)`,
    );
  return p.model;
}

/** `openai-compatible:MODEL` uses COLLOQUY_OPENAI_COMPATIBLE_BASE_URL; `openai-compatible:MODEL@URL` names it inline. */
function compatible(model: string, env: Env, kind: string) {
  const at = model.lastIndexOf('@http');
  const name = at >= 0 ? model.slice(0, at) : model;
  const baseURL = at >= 0 ? model.slice(at + 1) : env.COLLOQUY_OPENAI_COMPATIBLE_BASE_URL;
  if (!baseURL) {
    throw new ConfigError(
      'invalid_model_spec',
      `${kind}: openai-compatible needs a base URL (COLLOQUY_OPENAI_COMPATIBLE_BASE_URL or openai-compatible:MODEL@URL)`,
    );
  }
  const provider = createOpenAICompatible({
    name: 'openai-compatible',
    baseURL,
    apiKey: env.COLLOQUY_OPENAI_COMPATIBLE_API_KEY,
  });
  return { provider, name };
}

/**
 * An AI SDK language model from a spec: `openai:`, `anthropic:`, `google:`, `groq:`,
 * `openai-compatible:` or `scripted:FILE` (keys from `env`).
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { resolveLanguageModel } from 'colloquy/server';
 *
 * const model = resolveLanguageModel(process.env.COLLOQUY_LLM ?? 'anthropic:claude-sonnet-4-5');
 * const session = new VoiceSession({ userId: 'u1', model, agents: [{ name: 'main', instructions: 'Be brief.' }] });
 * ```
 */
export function resolveLanguageModel(
  spec: string,
  env: Env = process.env,
  baseDir = process.cwd(),
): LanguageModel {
  const p = parseSpec(spec, 'LLM');
  switch (p.provider) {
    case 'openai':
      return createOpenAI({})(need(p, 'LLM', spec));
    case 'anthropic':
      return createAnthropic({})(need(p, 'LLM', spec));
    case 'google':
      return createGoogleGenerativeAI({})(need(p, 'LLM', spec));
    case 'groq':
      return createGroq({})(need(p, 'LLM', spec));
    case 'openai-compatible': {
      const { provider, name } = compatible(need(p, 'LLM', spec), env, 'LLM');
      return provider.chatModel(name);
    }
    case 'scripted': {
      const file = resolve(baseDir, need(p, 'LLM', spec));
      return createScriptedModel(loadScript(file), { modelId: file, wordDelayMs: 15 });
    }
    default:
      throw new ConfigError(
        'unknown_provider',
        `LLM: unknown provider "${p.provider}" in "${spec}" (use openai, anthropic, google, groq, openai-compatible, scripted, openai-realtime or google-live)`,
      );
  }
}

/** True for `openai-realtime:MODEL` and `google-live:MODEL` (speech-to-speech models). */
export function isRealtimeSpec(spec: string): boolean {
  const p = parseSpec(spec, 'LLM').provider;
  return p === 'openai-realtime' || p === 'google-live';
}

/**
 * A realtime speech-to-speech model: `openai-realtime:MODEL` (OPENAI_API_KEY,
 * COLLOQUY_OPENAI_REALTIME_URL) or `google-live:MODEL` (GOOGLE_GENERATIVE_AI_API_KEY,
 * COLLOQUY_GOOGLE_LIVE_URL). Keys are checked when a session connects.
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { resolveLanguageModel, resolveRealtimeModel } from 'colloquy/server';
 *
 * const realtime = resolveRealtimeModel('openai-realtime:gpt-realtime'); // or 'google-live:MODEL'
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: resolveLanguageModel('openai:gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   realtime: { model: realtime },
 * });
 * ```
 */
export function resolveRealtimeModel(
  spec: string,
  env: Env = process.env,
  settings: Pick<RealtimeConfig, 'compression' | 'context'> = {},
): RealtimeModel {
  const p = parseSpec(spec, 'LLM');
  switch (p.provider) {
    case 'openai-realtime':
      return new OpenAIRealtimeModel({
        model: need(p, 'LLM', spec),
        ...(settings.context !== undefined ? { context: settings.context } : {}),
        ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
        ...(env.COLLOQUY_OPENAI_REALTIME_URL ? { url: env.COLLOQUY_OPENAI_REALTIME_URL } : {}),
      });
    case 'google-live':
      return new GeminiLiveModel({
        model: need(p, 'LLM', spec),
        ...(settings.compression !== undefined ? { compression: settings.compression } : {}),
        ...(env.GOOGLE_GENERATIVE_AI_API_KEY ? { apiKey: env.GOOGLE_GENERATIVE_AI_API_KEY } : {}),
        ...(env.COLLOQUY_GOOGLE_LIVE_URL ? { url: env.COLLOQUY_GOOGLE_LIVE_URL } : {}),
      });
    default:
      throw new ConfigError(
        'unknown_provider',
        `LLM: "${spec}" is not a realtime model (use openai-realtime:MODEL or google-live:MODEL)`,
      );
  }
}

/**
 * A streaming STT from a spec: `pocketsphinx[:GRAMMAR_FILE]`, `openai:`, `groq:`, `deepgram:` or
 * `openai-compatible:`.
 *
 * @example
 * ```ts
 * import { resolveStt, resolveVad } from 'colloquy/server';
 *
 * const stt = resolveStt('deepgram:nova-3');
 * const vad = resolveVad('silero');
 * ```
 */
export function resolveStt(spec: string, env: Env = process.env, baseDir = process.cwd()): SttModel {
  const p = parseSpec(spec, 'STT');
  switch (p.provider) {
    case 'pocketsphinx':
      return new PocketsphinxStt(p.model ? { grammarFile: resolve(baseDir, p.model) } : {});
    case 'openai':
      return new TranscriptionStt({ model: createOpenAI({}).transcription(need(p, 'STT', spec)) });
    case 'groq':
      return new TranscriptionStt({ model: createGroq({}).transcription(need(p, 'STT', spec)) });
    case 'deepgram':
      // Streaming with interim results; key DEEPGRAM_API_KEY, endpoint COLLOQUY_DEEPGRAM_URL.
      return new DeepgramStt({ model: need(p, 'STT', spec), env });
    case 'openai-compatible': {
      const baseURL = env.COLLOQUY_OPENAI_COMPATIBLE_BASE_URL;
      if (!baseURL)
        throw new ConfigError(
          'invalid_model_spec',
          'STT: openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL',
        );
      return new TranscriptionStt({
        model: createOpenAI({
          baseURL,
          apiKey: env.COLLOQUY_OPENAI_COMPATIBLE_API_KEY ?? 'none',
        }).transcription(need(p, 'STT', spec)),
      });
    }
    default:
      throw new ConfigError(
        'unknown_provider',
        `STT: unknown provider "${p.provider}" in "${spec}" (use pocketsphinx, deepgram, openai, groq or openai-compatible)`,
      );
  }
}

/**
 * A streaming TTS from a spec: `espeak[:VOICE]`, `openai:MODEL` or `openai-compatible:MODEL`.
 *
 * @example
 * ```ts
 * import { resolveTts } from 'colloquy/server';
 *
 * const tts = resolveTts('openai:gpt-4o-mini-tts');
 * console.log(tts.provider, tts.sampleRate);
 * ```
 */
export function resolveTts(spec: string, env: Env = process.env): TtsModel {
  const p = parseSpec(spec, 'TTS');
  switch (p.provider) {
    case 'espeak':
      return new EspeakTts({ ...(p.model ? { voice: p.model } : {}), ...espeakSlots(env) });
    case 'openai':
      return new SpeechTts({
        model: createOpenAI({}).speech(need(p, 'TTS', spec)),
        outputFormat: 'pcm',
        sampleRate: 24000,
      });
    case 'openai-compatible': {
      const baseURL = env.COLLOQUY_OPENAI_COMPATIBLE_BASE_URL;
      if (!baseURL)
        throw new ConfigError(
          'invalid_model_spec',
          'TTS: openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL',
        );
      return new SpeechTts({
        model: createOpenAI({ baseURL, apiKey: env.COLLOQUY_OPENAI_COMPATIBLE_API_KEY ?? 'none' }).speech(
          need(p, 'TTS', spec),
        ),
        outputFormat: 'wav',
      });
    }
    default:
      throw new ConfigError(
        'unknown_provider',
        `TTS: unknown provider "${p.provider}" in "${spec}" (use espeak, openai or openai-compatible)`,
      );
  }
}

/** `COLLOQUY_ESPEAK_MAX_PROCESSES` / `COLLOQUY_ESPEAK_MAX_WAITING`: the eSpeak NG process pool. */
function espeakSlots(env: Env): { maxProcesses?: number; maxWaiting?: number } {
  const read = (name: string, min: number, max: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigError(
        'invalid_config',
        `${name} must be an integer from ${min} to ${max}, got "${raw}"`,
      );
    }
    return value;
  };
  const maxProcesses = read('COLLOQUY_ESPEAK_MAX_PROCESSES', 1, 256);
  const maxWaiting = read('COLLOQUY_ESPEAK_MAX_WAITING', 0, 100_000);
  return {
    ...(maxProcesses !== undefined ? { maxProcesses } : {}),
    ...(maxWaiting !== undefined ? { maxWaiting } : {}),
  };
}

/** The Silero options a VAD spec may set after `?` (`silero?inference=worker&runTimeoutMs=2000`). */
const SILERO_SPEC_OPTIONS = ['inference', 'runTimeoutMs'] as const;

/**
 * Splits a VAD spec `provider[:MODEL][?key=value&…]` (throws `ConfigError` `invalid_model_spec`).
 * Only `silero` takes options: `inference` (`main` or `worker`) and, with `inference=worker`,
 * `runTimeoutMs` (1-60000). The last `?` starts them, so a model path may not contain one.
 */
export function parseVadSpec(spec: string): ParsedSpec & {
  options: Pick<SileroVadOptions, 'inference' | 'runTimeoutMs'>;
} {
  const q = typeof spec === 'string' ? spec.lastIndexOf('?') : -1;
  const p = parseSpec(q < 0 ? spec : spec.slice(0, q), 'VAD');
  const options: Pick<SileroVadOptions, 'inference' | 'runTimeoutMs'> = {};
  if (q < 0) return { ...p, options };
  const bad = (why: string) => new ConfigError('invalid_model_spec', `VAD: ${why} in "${spec}"`);
  if (p.provider !== 'silero') throw bad(`only silero takes options after "?"`);
  const seen = new Set<string>();
  for (const pair of spec.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!(SILERO_SPEC_OPTIONS as readonly string[]).includes(key)) {
      throw bad(`unknown option "${key}" (use ${SILERO_SPEC_OPTIONS.join(', ')})`);
    }
    if (seen.has(key)) throw bad(`option "${key}" is given twice`);
    seen.add(key);
    if (key === 'inference') {
      if (value !== 'main' && value !== 'worker')
        throw bad(`inference must be main or worker, got "${value}"`);
      options.inference = value;
    } else {
      const ms = Number(value);
      if (!/^\d{1,5}$/.test(value) || ms < 1 || ms > 60_000) {
        throw bad(`runTimeoutMs must be a whole number of ms from 1 to 60000, got "${value}"`);
      }
      options.runTimeoutMs = ms;
    }
  }
  if (options.runTimeoutMs !== undefined && options.inference !== 'worker') {
    throw bad('runTimeoutMs applies to inference=worker only');
  }
  return { ...p, options };
}

/**
 * A VAD from a spec: `silero[:MODEL.onnx][?inference=worker[&runTimeoutMs=MS]]` or `energy`.
 *
 * @example
 * ```ts
 * import { resolveVad } from 'colloquy/server';
 *
 * const vad = resolveVad(process.env.COLLOQUY_VAD ?? 'energy');
 * console.log(vad.frameSamples, vad.sampleRate);
 * ```
 */
export function resolveVad(spec: string): VadModel {
  const p = parseVadSpec(spec);
  switch (p.provider) {
    case 'silero':
      return new SileroVad({ ...(p.model ? { modelPath: p.model } : {}), ...p.options });
    case 'energy':
      return new EnergyVad();
    default:
      throw new ConfigError(
        'unknown_provider',
        `VAD: unknown provider "${p.provider}" in "${spec}" (use silero or energy)`,
      );
  }
}

/** Default specs: cloud models when an OpenAI key is present, the embedded offline stack otherwise. */
export function defaultSpecs(
  env: Env,
  demoDir: string,
): { llm: string; stt: string; tts: string; vad: string } {
  if (env.OPENAI_API_KEY) {
    return {
      llm: 'openai:gpt-4.1-mini',
      stt: 'openai:gpt-4o-mini-transcribe',
      tts: 'openai:gpt-4o-mini-tts',
      vad: 'silero',
    };
  }
  return {
    llm: `scripted:${resolve(demoDir, 'demo-script.json')}`,
    stt: `pocketsphinx:${resolve(demoDir, 'demo.jsgf')}`,
    tts: 'espeak',
    vad: 'silero',
  };
}
