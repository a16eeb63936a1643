/**
 * Server configuration: environment variables plus an optional JSON file (`COLLOQUY_CONFIG`).
 *
 *   PORT, HOST, COLLOQUY_AUTH_TOKEN, COLLOQUY_CONFIG, COLLOQUY_LLM, COLLOQUY_STT, COLLOQUY_TTS,
 *   COLLOQUY_VAD, COLLOQUY_RTVI_EVENTS (set to "false" to turn RTVI events off), COLLOQUY_IDLE_TIMEOUT_MS,
 *   COLLOQUY_STORE (session store: a SQLite file path, default ./.colloquy/colloquy.db; `memory` for none;
 *   `postgres://…` for PostgreSQL),
 *   COLLOQUY_MEMORY (on/off: long-term memory per user), COLLOQUY_MEMORY_EVERY_TURNS,
 *   COLLOQUY_COMPACTION_MAX_TOKENS / _MAX_CHARS / _MODEL / _PROMPT (server-compaction.ts),
 *   COLLOQUY_REALTIME_TURN_DETECTION (provider|local: server-realtime.ts), COLLOQUY_REDIS_URL and the
 *   other cluster settings (cluster/cluster-config.ts), and the
 *   limits (COLLOQUY_MAX_SESSIONS, COLLOQUY_MAX_SESSIONS_PER_CLIENT, COLLOQUY_CONNECTS_PER_MINUTE, …: limits.ts)
 *
 * The file names agents, declarative tools, model specs, the execution mode, and named
 * `configurations` that a client picks with `requestData.config` on `POST /connect`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type ClusterConfig, clusterConfigFromEnv } from '../cluster/cluster-config.ts';
import { ConfigError } from '../errors.ts';
import { parseAllowlist } from '../net/address-policy.ts';
import { USER_MUTE_STRATEGY_NAMES, type UserMuteStrategyName } from '../pipeline/turn-taking/user-mute.ts';
import { parseStoreSpec, type StoreSpec } from '../store/open-store.ts';
import { type DeclarativeTool, DeclarativeToolSchema } from '../tools/declarative/schema.ts';
import { zodIssueText } from '../zod-issues.ts';
import { parseConnectPaths } from './connect-paths.ts';
import { parseOrigins } from './http-guards.ts';
import { LimitsFileSchema, limitsFromEnv, resolveLimits, type ServerLimits } from './limits.ts';
import { defaultSpecs, isRealtimeSpec } from './model-spec.ts';
import { type CompactionConfig, CompactionSchema, compactionConfig } from './server-compaction.ts';
import { type RealtimeConfig, RealtimeFileSchema, realtimeConfig } from './server-realtime.ts';

export const DEMO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/demo');

const ModelsSchema = z
  .object({
    llm: z.string().optional(),
    stt: z.string().optional(),
    tts: z.string().optional(),
    vad: z.string().optional(),
  })
  .strict();

const AgentSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    instructions: z.string(),
    description: z.string().optional(),
    /** Names of top-level tools, or inline declarative tool definitions. */
    tools: z.array(z.union([z.string(), DeclarativeToolSchema])).optional(),
    transfers: z.array(z.string()).optional(),
    subagents: z.array(z.string()).optional(),
    model: z.string().optional(),
    voice: z.string().optional(),
  })
  .strict();

const ProfileSchema = z
  .object({
    mode: z.enum(['agent', 'stream']).optional(),
    models: ModelsSchema.optional(),
    agents: z.array(AgentSchema).min(1).optional(),
    initialAgent: z.string().optional(),
    tools: z.array(DeclarativeToolSchema).optional(),
    greeting: z.string().max(2000).optional(),
    /** When the server stops listening to the user (see docs/server.md, "User mute"). */
    userMute: z
      .array(z.enum(USER_MUTE_STRATEGY_NAMES as [UserMuteStrategyName, ...UserMuteStrategyName[]]))
      .max(USER_MUTE_STRATEGY_NAMES.length)
      .optional(),
  })
  .strict();

const MemorySchema = z
  .object({
    /** Keep long-term memory per user (`requestData.user_id`) in the session store (default false). */
    enabled: z.boolean().optional(),
    /** Also extract facts after every N finished turns (default: only at session close). */
    everyTurns: z.number().int().positive().max(1000).optional(),
    /** Extraction model spec (default: the session's LLM). */
    model: z.string().optional(),
    /** Most facts kept per user (default 50). */
    maxFacts: z.number().int().positive().max(1000).optional(),
  })
  .strict();

/**
 * The zod schema of the server's JSON config file (`COLLOQUY_CONFIG`): agents, tools, model specs,
 * named configurations, memory, compaction, limits.
 *
 * @example
 * ```ts
 * import { ConfigFileSchema } from 'colloquy/server';
 *
 * const result = ConfigFileSchema.safeParse({
 *   models: { llm: 'openai:gpt-4.1-mini', tts: 'openai:gpt-4o-mini-tts' },
 *   agents: [{ name: 'concierge', instructions: 'You are a hotel concierge.' }],
 *   limits: { maxSessions: 50 },
 * });
 * if (!result.success) console.error(result.error.issues);
 * ```
 */
export const ConfigFileSchema = ProfileSchema.extend({
  configurations: z.record(z.string(), ProfileSchema).optional(),
  idleTimeoutMs: z.number().int().positive().optional(),
  /** HTTP paths answering `startBotAndConnect` (default ["/connect"]); COLLOQUY_CONNECT_PATHS overrides. */
  connectPaths: z.array(z.string().max(200)).max(20).optional(),
  memory: MemorySchema.optional(),
  /** Context compaction (server-compaction.ts); COLLOQUY_COMPACTION_* override it. */
  compaction: CompactionSchema.optional(),
  /** Sizes, depths, queue lengths, sessions and rates (docs/security.md); the environment overrides. */
  limits: LimitsFileSchema.optional(),
  /** Realtime speech-to-speech models (server-realtime.ts); COLLOQUY_REALTIME_TURN_DETECTION overrides. */
  realtime: RealtimeFileSchema.optional(),
}).strict();

export type AgentConfig = z.infer<typeof AgentSchema>;
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/** Everything one session needs, after a configuration was picked. */
export interface SessionProfile {
  mode: 'agent' | 'stream';
  models: { llm: string; stt: string; tts: string; vad: string };
  agents: AgentConfig[];
  initialAgent?: string;
  tools: DeclarativeTool[];
  greeting?: string;
  userMute?: UserMuteStrategyName[];
  /** Who the session is for (`requestData.user_id`, or a connect hook): their memory and stored sessions. */
  userId?: string;
  /**
   * A text chat (`requestData.text_only`): no speech detection, recognition or synthesis; answers
   * and the greeting reach the client as text at once, and audio from the client is refused.
   */
  textOnly?: boolean;
}

export interface ServerConfig {
  port: number;
  host: string;
  authToken?: string;
  rtviEvents: boolean;
  idleTimeoutMs: number;
  /** Directory relative paths in the config resolve against. */
  baseDir: string;
  /** `COLLOQUY_HTTP_ALLOW`: internal hosts, IPs and CIDRs `http` tools may reach (docs/security.md). */
  httpAllow?: string[];
  /** `COLLOQUY_ALLOWED_ORIGINS`: page origins allowed besides same-origin and loopback (`*`: any). */
  allowedOrigins?: string[];
  /** `COLLOQUY_TRUST_PROXY`: honour `X-Forwarded-Proto`/`-Host`. */
  trustProxy?: boolean;
  /** Sizes, depths, queue lengths, sessions and rates: defaults, the file's `limits`, then the environment. */
  limits: ServerLimits;
  file: ConfigFile;
  defaults: SessionProfile['models'];
  /** Paths of the connect endpoint (default `['/connect']`). */
  connectPaths?: string[];
  /** Where sessions, transcripts and memory are kept (in memory when absent). */
  store?: StoreSpec;
  /** How long a dropped client's session waits for it to resume (0: no resume; default 60 000). */
  resumeWindowMs?: number;
  /** Long-term memory per user (off when absent). */
  memory?: { everyTurns?: number; model?: string; maxFacts?: number };
  /** Context compaction of long conversations (off when absent). */
  compaction?: CompactionConfig;
  /** Realtime model settings (turn detection, Gemini compression, OpenAI context budget). */
  realtime?: RealtimeConfig;
  /** Many nodes coordinated through Redis (`COLLOQUY_REDIS_URL`; docs/scaling.md). */
  cluster?: ClusterConfig;
}

const DEFAULT_AGENT: AgentConfig = {
  name: 'assistant',
  instructions: 'You are a helpful voice assistant. Answer in one or two short spoken sentences.',
};

/**
 * The server configuration from the environment (PORT, HOST, COLLOQUY_*) and the JSON file named by
 * `COLLOQUY_CONFIG`; throws `ConfigError` naming what is wrong.
 *
 * @example
 * ```ts
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * const config = loadServerConfig({ ...process.env, PORT: '8080', COLLOQUY_LLM: 'openai:gpt-4.1-mini' });
 * console.log(config.port, config.defaults.llm);
 * const server = await startServer({ config });
 * ```
 */
export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  let file: ConfigFile = {};
  let baseDir = process.cwd();
  if (env.COLLOQUY_CONFIG) {
    const path = resolve(env.COLLOQUY_CONFIG);
    baseDir = dirname(path);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (cause) {
      throw new ConfigError(
        'config_unreadable',
        `Cannot read COLLOQUY_CONFIG ${path}: ${(cause as Error).message}`,
        { cause },
      );
    }
    file = parseConfigFile(raw, path);
  } else {
    file = parseConfigFile(
      JSON.parse(readFileSync(resolve(DEMO_DIR, 'demo-config.json'), 'utf8')),
      'demo-config.json',
    );
    baseDir = DEMO_DIR;
  }
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('invalid_port', `PORT must be 0-65535, got ${env.PORT}`);
  const idle = Number(env.COLLOQUY_IDLE_TIMEOUT_MS ?? file.idleTimeoutMs ?? 120_000);
  if (!Number.isInteger(idle) || idle <= 0)
    throw new ConfigError(
      'invalid_idle_timeout',
      `COLLOQUY_IDLE_TIMEOUT_MS must be a positive whole number of ms, got ${env.COLLOQUY_IDLE_TIMEOUT_MS}`,
    );
  const specs = defaultSpecs(env, DEMO_DIR);
  return {
    port,
    host: env.HOST ?? '0.0.0.0',
    ...(env.COLLOQUY_AUTH_TOKEN ? { authToken: env.COLLOQUY_AUTH_TOKEN } : {}),
    rtviEvents: !/^(0|false|off|no)$/i.test(env.COLLOQUY_RTVI_EVENTS ?? 'true'),
    idleTimeoutMs: idle,
    baseDir,
    ...(env.COLLOQUY_HTTP_ALLOW ? { httpAllow: parseAllowlist(env.COLLOQUY_HTTP_ALLOW) } : {}),
    ...securityEnv(env),
    limits: resolveLimits(file.limits, limitsFromEnv(env)),
    file,
    connectPaths: env.COLLOQUY_CONNECT_PATHS
      ? parseConnectPaths(env.COLLOQUY_CONNECT_PATHS, 'COLLOQUY_CONNECT_PATHS')
      : parseConnectPaths(file.connectPaths, 'connectPaths'),
    store: parseStoreSpec(env.COLLOQUY_STORE),
    resumeWindowMs: resumeWindow(env.COLLOQUY_RESUME_WINDOW_MS),
    ...memoryConfig(env, file),
    ...optional('compaction', compactionConfig(env, file.compaction)),
    ...optional('realtime', realtimeConfig(env, file.realtime)),
    ...optional('cluster', clusterConfigFromEnv(env)),
    defaults: {
      llm: env.COLLOQUY_LLM ?? file.models?.llm ?? specs.llm,
      stt: env.COLLOQUY_STT ?? file.models?.stt ?? specs.stt,
      tts: env.COLLOQUY_TTS ?? file.models?.tts ?? specs.tts,
      vad: env.COLLOQUY_VAD ?? file.models?.vad ?? specs.vad,
    },
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function resumeWindow(value: string | undefined): number {
  if (value === undefined) return 60_000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 86_400_000) {
    throw new ConfigError(
      'invalid_resume_window',
      `COLLOQUY_RESUME_WINDOW_MS must be 0-86400000, got ${value}`,
    );
  }
  return ms;
}

function memoryConfig(
  env: Record<string, string | undefined>,
  file: ConfigFile,
): Pick<ServerConfig, 'memory'> {
  const m = file.memory ?? {};
  const flag = env.COLLOQUY_MEMORY;
  const enabled = flag !== undefined ? /^(1|true|on|yes)$/i.test(flag) : (m.enabled ?? false);
  if (!enabled) return {};
  let everyTurns = m.everyTurns;
  if (env.COLLOQUY_MEMORY_EVERY_TURNS !== undefined) {
    everyTurns = Number(env.COLLOQUY_MEMORY_EVERY_TURNS);
    if (!Number.isInteger(everyTurns) || everyTurns < 1 || everyTurns > 1000) {
      throw new ConfigError(
        'invalid_memory',
        `COLLOQUY_MEMORY_EVERY_TURNS must be 1-1000, got ${env.COLLOQUY_MEMORY_EVERY_TURNS}`,
      );
    }
  }
  return {
    memory: {
      ...(everyTurns !== undefined ? { everyTurns } : {}),
      ...(m.model !== undefined ? { model: m.model } : {}),
      ...(m.maxFacts !== undefined ? { maxFacts: m.maxFacts } : {}),
    },
  };
}

/**
 * Validates a config file's JSON (throws `ConfigError` `invalid_config` naming `origin` and the field).
 *
 * @example
 * ```ts
 * import { parseConfigFile } from 'colloquy/server';
 * import { readFile } from 'node:fs/promises';
 *
 * const file = parseConfigFile(JSON.parse(await readFile('colloquy.json', 'utf8')), 'colloquy.json');
 * console.log(file.agents?.map((a) => a.name));
 * ```
 */
export function parseConfigFile(raw: unknown, origin: string): ConfigFile {
  const r = ConfigFileSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError('invalid_config', `${origin}: ${zodIssueText(r.error)}`);
  }
  return r.data;
}

/**
 * What a client may send as `requestData` on `POST /connect` (`config`, `agent`, `mode`,
 * `user_id`, `resume_handle`; other fields pass through to a connect hook).
 *
 * @example
 * ```ts
 * import { RequestDataSchema } from 'colloquy/server';
 *
 * const parsed = RequestDataSchema.safeParse({ agent: 'billing', user_id: 'user-7', lead_id: 42 });
 * if (parsed.success) console.log(parsed.data.agent, parsed.data.user_id);
 * ```
 */
export const RequestDataSchema = z
  .object({
    config: z.string().max(100).optional(),
    agent: z.string().max(64).optional(),
    mode: z.enum(['agent', 'stream']).optional(),
    /** A text chat: no audio in or out, answers arrive as text at once (WebSocket transport only). */
    text_only: z.boolean().optional(),
    /** A resume handle from `bot-ready`'s `about`: reconnect to that session. */
    resume_handle: z.string().min(16).max(200).optional(),
    /** The user the session is for (memory and stored sessions are per user). */
    user_id: z
      .string()
      .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'user_id: 1-128 characters of A-Z a-z 0-9 _ . : @ -')
      .optional(),
  })
  .passthrough();
export type RequestData = z.infer<typeof RequestDataSchema>;

/** Merge the base config with the named configuration and request overrides. */
export function resolveProfile(config: ServerConfig, requestData: RequestData = {}): SessionProfile {
  const base = config.file;
  let named: z.infer<typeof ProfileSchema> = {};
  if (requestData.config !== undefined) {
    const hit = base.configurations?.[requestData.config];
    if (!hit)
      throw new ConfigError('unknown_configuration', `No configuration named "${requestData.config}"`);
    named = hit;
  }
  const agents = named.agents ?? base.agents ?? [DEFAULT_AGENT];
  const initialAgent = requestData.agent ?? named.initialAgent ?? base.initialAgent;
  if (initialAgent !== undefined && !agents.some((a) => a.name === initialAgent)) {
    throw new ConfigError('unknown_agent', `No agent named "${initialAgent}"`);
  }
  const models = { ...config.defaults, ...stripUndefined(named.models ?? {}) };
  if (requestData.text_only && [models.llm, ...agents.map((a) => a.model)].some(speaksItself)) {
    throw new ConfigError(
      'text_only_unsupported',
      'text_only: this configuration uses a realtime speech-to-speech model, which has no text-only session',
    );
  }
  return {
    mode: requestData.mode ?? named.mode ?? base.mode ?? 'agent',
    models,
    agents,
    ...(initialAgent ? { initialAgent } : {}),
    tools: [...(base.tools ?? []), ...(named.tools ?? [])],
    ...((named.greeting ?? base.greeting) ? { greeting: named.greeting ?? base.greeting } : {}),
    ...((named.userMute ?? base.userMute) ? { userMute: named.userMute ?? base.userMute } : {}),
    ...(requestData.user_id ? { userId: requestData.user_id } : {}),
    ...(requestData.text_only ? { textOnly: true } : {}),
  };
}

/** A realtime speech-to-speech model spec (a bad spec is reported where models are built). */
function speaksItself(spec: string | undefined): boolean {
  try {
    return spec !== undefined && isRealtimeSpec(spec);
  } catch {
    return false;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The hostile-input settings from the environment (docs/security.md). */
function securityEnv(
  env: Record<string, string | undefined>,
): Pick<ServerConfig, 'allowedOrigins' | 'trustProxy'> {
  const out: Pick<ServerConfig, 'allowedOrigins' | 'trustProxy'> = {};
  if (env.COLLOQUY_ALLOWED_ORIGINS) out.allowedOrigins = parseOrigins(env.COLLOQUY_ALLOWED_ORIGINS);
  if (/^(1|true|yes|on)$/i.test(env.COLLOQUY_TRUST_PROXY ?? '')) out.trustProxy = true;
  return out;
}
