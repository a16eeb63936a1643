/**
 * Start checks: everything `colloquy start` will need, checked before it listens, each problem one
 * line saying what to fix. Environment values, the config file, every model spec of every
 * configuration (provider, API key, optional package, script file), the programs and files the
 * embedded models use (pocketsphinx and its grammar — decoded once on a little silence — eSpeak NG,
 * the Silero model), and knowledge-base tools. Notices are things that work but not at their best.
 */

import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS } from '../logger.ts';
import { hasOptional, MissingDependencyError } from '../optional-dependency.ts';
import { findExecutable } from '../providers/local/child-process.ts';
import { defaultSileroModelPath } from '../providers/local/silero-vad.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import {
  isRealtimeSpec,
  parseSpec,
  parseVadSpec,
  resolveLanguageModel,
  resolveRealtimeModel,
  resolveStt,
  resolveTts,
  resolveVad,
} from './model-spec.ts';
import { ModelCache } from './session-factory.ts';

type Env = Record<string, string | undefined>;

export interface PreflightResult {
  /** The loaded configuration (absent when it could not be loaded). */
  config?: ServerConfig;
  /** One line per problem, each saying what to fix; empty when the server can start. */
  problems: string[];
  /** Things that work, but not at their best (e.g. the slower eSpeak build). */
  notices: string[];
}

/** API key variable read by each AI SDK provider. */
const KEYS: Record<string, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
  groq: 'GROQ_API_KEY',
  'openai-realtime': 'OPENAI_API_KEY',
  'google-live': 'GOOGLE_GENERATIVE_AI_API_KEY',
};

/**
 * What the checks look up on this machine (programs on PATH, optional packages, files). Tests replace
 * an entry to check a machine without it, and put it back.
 */
export const preflightProbes = { findExecutable, hasOptional, existsSync };

const POCKETSPHINX_BINARY = 'pocketsphinx_continuous';
const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

/** Checks the environment values the server reads; one line per bad value. */
export async function checkEnv(env: Env): Promise<string[]> {
  const problems: string[] = [];
  if (env.PORT !== undefined) {
    const port = Number(env.PORT);
    if (env.PORT.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
      problems.push(`PORT=${JSON.stringify(env.PORT)} is not a port: set a whole number from 0 to 65535`);
    }
  }
  if (env.HOST !== undefined) {
    const host = env.HOST.trim();
    if (!host || (isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host))) {
      problems.push(
        `HOST=${JSON.stringify(env.HOST)} is not an address: set an IP address or a host name (default 0.0.0.0)`,
      );
    } else if (isIP(host) === 0) {
      try {
        await lookup(host);
      } catch {
        problems.push(
          `HOST=${JSON.stringify(env.HOST)} does not resolve: set an IP address or a host name of this machine`,
        );
      }
    }
  }
  if (env.COLLOQUY_LOG_LEVEL !== undefined && !isLogLevel(env.COLLOQUY_LOG_LEVEL)) {
    problems.push(
      `COLLOQUY_LOG_LEVEL=${JSON.stringify(env.COLLOQUY_LOG_LEVEL)} is not a level: use ${LOG_LEVELS.join(', ')}`,
    );
  }
  if (env.COLLOQUY_LOG_FORMAT !== undefined && !isLogFormat(env.COLLOQUY_LOG_FORMAT)) {
    problems.push(
      `COLLOQUY_LOG_FORMAT=${JSON.stringify(env.COLLOQUY_LOG_FORMAT)} is not a format: use ${LOG_FORMATS.join(' or ')}`,
    );
  }
  if (env.COLLOQUY_IDLE_TIMEOUT_MS !== undefined) {
    const ms = Number(env.COLLOQUY_IDLE_TIMEOUT_MS);
    if (env.COLLOQUY_IDLE_TIMEOUT_MS.trim() === '' || !Number.isInteger(ms) || ms <= 0) {
      problems.push(
        `COLLOQUY_IDLE_TIMEOUT_MS=${JSON.stringify(env.COLLOQUY_IDLE_TIMEOUT_MS)} is not a duration: set a positive whole number of milliseconds`,
      );
    }
  }
  if (
    env.COLLOQUY_RTVI_EVENTS !== undefined &&
    !/^(1|0|true|false|on|off|yes|no)$/i.test(env.COLLOQUY_RTVI_EVENTS)
  ) {
    problems.push(
      `COLLOQUY_RTVI_EVENTS=${JSON.stringify(env.COLLOQUY_RTVI_EVENTS)} is not a switch: use true or false`,
    );
  }
  return problems;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every model spec the configuration can use, by kind. */
function specsOf(config: ServerConfig): Record<'llm' | 'stt' | 'tts' | 'vad', Set<string>> {
  const out = {
    llm: new Set<string>(),
    stt: new Set<string>(),
    tts: new Set<string>(),
    vad: new Set<string>(),
  };
  const profiles = [config.file, ...Object.values(config.file.configurations ?? {})];
  for (const kind of ['llm', 'stt', 'tts', 'vad'] as const) out[kind].add(config.defaults[kind]);
  for (const p of profiles) {
    for (const kind of ['llm', 'stt', 'tts', 'vad'] as const) {
      const spec = p.models?.[kind];
      if (spec !== undefined) out[kind].add(spec);
    }
    for (const agent of p.agents ?? []) if (agent.model) out.llm.add(agent.model);
  }
  return out;
}

function keyProblem(kind: string, spec: string, env: Env): string | undefined {
  const { provider } = parseSpec(spec, kind);
  const key = KEYS[provider];
  if (key && !env[key]) return `${kind} "${spec}" needs an API key: set ${key}`;
  return undefined;
}

async function checkPocketsphinx(spec: string, env: Env, baseDir: string, problems: string[]): Promise<void> {
  if (!(await preflightProbes.findExecutable(POCKETSPHINX_BINARY))) {
    problems.push(
      `STT "${spec}" needs the ${POCKETSPHINX_BINARY} program: apt install pocketsphinx pocketsphinx-en-us`,
    );
    return;
  }
  if (!preflightProbes.existsSync(POCKETSPHINX_MODEL_DIR)) {
    problems.push(
      `STT "${spec}" needs the en-us acoustic model (${POCKETSPHINX_MODEL_DIR}): apt install pocketsphinx-en-us`,
    );
    return;
  }
  const stt = resolveStt(spec, env, baseDir);
  const { model } = parseSpec(spec, 'STT');
  if (model && !preflightProbes.existsSync(resolve(baseDir, model))) {
    problems.push(`STT "${spec}": grammar file ${resolve(baseDir, model)} not found: fix the path`);
    return;
  }
  // Decode a little silence: this loads the acoustic model and parses the grammar.
  try {
    const silence = (async function* () {
      yield new Int16Array(1600);
    })();
    for await (const _ of stt.transcribe(silence, {
      sampleRate: 16000,
      abortSignal: AbortSignal.timeout(20_000),
    }));
  } catch (err) {
    problems.push(
      `STT "${spec}": pocketsphinx could not decode with it (${message(err).trim()}): check the grammar's JSGF syntax`,
    );
  }
}

async function checkEspeak(spec: string, problems: string[], notices: string[]): Promise<void> {
  if (await preflightProbes.findExecutable('espeak-ng')) return;
  if (preflightProbes.hasOptional('espeak-ng')) {
    notices.push(
      `TTS "${spec}": the espeak-ng program is not on PATH, so the slower WebAssembly build speaks (apt install espeak-ng for faster speech)`,
    );
    return;
  }
  problems.push(`TTS "${spec}" needs eSpeak NG: apt install espeak-ng (or npm install espeak-ng)`);
}

/** Runs every start check; never throws. */
export async function preflight(env: Env = process.env): Promise<PreflightResult> {
  const problems = await checkEnv(env);
  const notices: string[] = [];
  if (problems.some((p) => p.startsWith('PORT=') || p.startsWith('COLLOQUY_IDLE_TIMEOUT_MS='))) {
    return { problems, notices };
  }
  let config: ServerConfig;
  try {
    config = loadServerConfig(env);
  } catch (err) {
    problems.push(message(err));
    return { problems, notices };
  }
  const specs = specsOf(config);
  const { baseDir } = config;

  for (const spec of specs.llm) {
    try {
      // Speech-to-speech models (openai-realtime:, google-live:) are LLM specs of their own kind.
      if (isRealtimeSpec(spec)) resolveRealtimeModel(spec, env);
      else resolveLanguageModel(spec, env, baseDir);
    } catch (err) {
      problems.push(prefixed('LLM', spec, err));
      continue;
    }
    const key = keyProblem('LLM', spec, env);
    if (key) problems.push(key);
  }
  for (const spec of specs.stt) {
    try {
      resolveStt(spec, env, baseDir);
    } catch (err) {
      problems.push(prefixed('STT', spec, err));
      continue;
    }
    const key = keyProblem('STT', spec, env);
    if (key) problems.push(key);
    if (parseSpec(spec, 'STT').provider === 'pocketsphinx')
      await checkPocketsphinx(spec, env, baseDir, problems);
  }
  for (const spec of specs.tts) {
    try {
      resolveTts(spec, env);
    } catch (err) {
      problems.push(prefixed('TTS', spec, err));
      continue;
    }
    const key = keyProblem('TTS', spec, env);
    if (key) problems.push(key);
    if (parseSpec(spec, 'TTS').provider === 'espeak') await checkEspeak(spec, problems, notices);
  }
  for (const spec of specs.vad) {
    try {
      resolveVad(spec);
    } catch (err) {
      problems.push(prefixed('VAD', spec, err));
      continue;
    }
    const { provider, model } = parseVadSpec(spec);
    if (provider === 'silero') {
      const file = model || defaultSileroModelPath();
      if (!preflightProbes.existsSync(file))
        problems.push(`VAD "${spec}": Silero model file ${file} not found: fix the path`);
    }
  }
  checkTools(config, env, problems);
  if (!preflightProbes.hasOptional('@roamhq/wrtc')) {
    notices.push(
      `SmallWebRTC is off: ${new MissingDependencyError('@roamhq/wrtc', 'the SmallWebRTC transport').message}`,
    );
  }
  return { config, problems: [...new Set(problems)], notices };
}

function prefixed(kind: string, spec: string, err: unknown): string {
  const text = message(err).replace(new RegExp(`^${kind}: `), '');
  return `${kind} "${spec}": ${text}`;
}

function checkTools(config: ServerConfig, env: Env, problems: string[]): void {
  const cache = new ModelCache(config.baseDir, env, config.realtime);
  const profiles = [config.file, ...Object.values(config.file.configurations ?? {})];
  for (const p of profiles) {
    const tools = [
      ...(p.tools ?? []),
      ...(p.agents ?? []).flatMap((a) => (a.tools ?? []).filter((t) => typeof t !== 'string')),
    ];
    for (const tool of tools) {
      if (tool.kind !== 'kb') continue;
      try {
        cache.loadTool(tool);
      } catch (err) {
        problems.push(`tool "${tool.name}": ${message(err).replace(`kb tool "${tool.name}": `, '')}`);
        continue;
      }
      if (!preflightProbes.hasOptional('@orama/orama')) {
        problems.push(
          `tool "${tool.name}": ${new MissingDependencyError('@orama/orama', 'Knowledge-base tools').message}`,
        );
      }
    }
  }
}
