/**
 * Builds what one server session needs from a `SessionProfile`: the models (shared across sessions
 * where they are stateless or heavy: VAD, STT, TTS are cached per spec), the agents with their
 * declarative tools bound to the session bus, and the VoiceSession options.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LanguageModel, ToolSet } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { ConfigError } from '../errors.ts';
import type { RealtimeModel } from '../providers/realtime/types.ts';
import type { SttModel, TtsModel, VadModel } from '../providers/types.ts';
import {
  buildDeclarativeTools,
  type ClientFunctionCall,
  type DeclarativeTool,
  KbDocumentSchema,
} from '../tools/declarative/index.ts';
import { DEMO_DIR, type SessionProfile } from './config.ts';
import {
  defaultSpecs,
  isRealtimeSpec,
  resolveLanguageModel,
  resolveRealtimeModel,
  resolveStt,
  resolveTts,
  resolveVad,
} from './model-spec.ts';
import type { RealtimeConfig } from './server-realtime.ts';

export interface SessionModels {
  /** The text LLM (with a realtime `llm` spec: the default text model, for subagents and memory). */
  llm: LanguageModel;
  /** Set when the `llm` spec names a realtime speech-to-speech model. */
  realtime?: RealtimeModel;
  stt: SttModel;
  tts: TtsModel;
  vad: VadModel;
}

type Env = Record<string, string | undefined>;

/**
 * Caches models by spec. Silero shares one inference session per model file anyway; caching the
 * wrappers also avoids re-reading grammars, scripts and kb files per session.
 *
 * @example
 * ```ts
 * import { ModelCache } from 'colloquy/server';
 *
 * const models = new ModelCache(process.cwd()); // relative paths (grammars, scripts) resolve here
 * const { llm, stt, tts, vad } = models.models({ llm: 'openai:gpt-4.1-mini', stt: 'pocketsphinx', tts: 'espeak', vad: 'energy' });
 * console.log(models.llm('openai:gpt-4.1-mini') === llm); // true: cached by spec
 * ```
 */
export class ModelCache {
  private readonly llms = new Map<string, LanguageModel>();
  private readonly realtimes = new Map<string, RealtimeModel>();
  private readonly stts = new Map<string, SttModel>();
  private readonly ttss = new Map<string, TtsModel>();
  private readonly vads = new Map<string, VadModel>();
  private readonly kbFiles = new Map<string, DeclarativeTool>();

  constructor(
    private readonly baseDir: string,
    private readonly env: Env = process.env,
    /** The server's `realtime` settings that shape realtime models (Gemini compression, OpenAI context). */
    private readonly realtimeSettings: RealtimeConfig = {},
  ) {}

  /** Resolves (or reuses) the four models of a profile. Throws `ConfigError` for a bad spec. */
  models(specs: SessionProfile['models']): SessionModels {
    const realtime = isRealtimeSpec(specs.llm) ? this.realtime(specs.llm) : undefined;
    return {
      llm: this.llm(realtime ? defaultSpecs(this.env, DEMO_DIR).llm : specs.llm),
      ...(realtime ? { realtime } : {}),
      stt: memo(this.stts, specs.stt, () => resolveStt(specs.stt, this.env, this.baseDir)),
      tts: memo(this.ttss, specs.tts, () => resolveTts(specs.tts, this.env)),
      vad: memo(this.vads, specs.vad, () => resolveVad(specs.vad)),
    };
  }

  realtime(spec: string): RealtimeModel {
    return memo(this.realtimes, spec, () => resolveRealtimeModel(spec, this.env, this.realtimeSettings));
  }

  llm(spec: string): LanguageModel {
    return memo(this.llms, spec, () => resolveLanguageModel(spec, this.env, this.baseDir));
  }

  /** A kb tool whose documents live in `config.file` gets them loaded (relative to the config dir). */
  loadTool(def: DeclarativeTool): DeclarativeTool {
    if (def.kind !== 'kb' || def.config.documents || !def.config.file) return def;
    const path = resolve(this.baseDir, def.config.file);
    return memo(this.kbFiles, `${def.name}\0${path}`, () => {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(path, 'utf8'));
      } catch (cause) {
        throw new ConfigError('kb_file_unreadable', `kb tool "${def.name}": cannot read ${path}`, { cause });
      }
      const docs = KbDocumentSchema.array().safeParse(raw);
      if (!docs.success) {
        throw new ConfigError(
          'kb_file_invalid',
          `kb tool "${def.name}": ${path} is not an array of documents`,
        );
      }
      return { ...def, config: { ...def.config, documents: docs.data } };
    });
  }
}

function memo<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export interface AgentBuildContext {
  bus: SessionEventBus;
  sessionId: string;
  cache: ModelCache;
  callClient?: (call: ClientFunctionCall, signal: AbortSignal) => Promise<unknown>;
  /** Internal hosts/IPs/CIDRs `http` tools may reach (`ServerConfig.httpAllow`). */
  httpAllow?: readonly string[];
}

/**
 * The profile's agents as `AgentDefinition`s. Top-level tools are offered to the agents that name
 * them (every agent when none names any); inline tool definitions belong to their agent.
 */
export function buildAgents(profile: SessionProfile, ctx: AgentBuildContext): AgentDefinition[] {
  const toolCtx = {
    bus: ctx.bus,
    sessionId: ctx.sessionId,
    ...(ctx.callClient ? { callClient: ctx.callClient } : {}),
    ...(ctx.httpAllow ? { httpAllow: ctx.httpAllow } : {}),
  };
  const shared = buildDeclarativeTools(
    profile.tools.map((t) => ctx.cache.loadTool(t)),
    toolCtx,
  );
  const anyNamed = profile.agents.some((a) => a.tools !== undefined);
  return profile.agents.map((agent) => {
    let tools: ToolSet = {};
    if (agent.tools === undefined) {
      if (!anyNamed) tools = { ...shared };
    } else {
      const inline: DeclarativeTool[] = [];
      for (const ref of agent.tools) {
        if (typeof ref === 'string') {
          const hit = shared[ref];
          if (!hit)
            throw new ConfigError('unknown_tool', `Agent "${agent.name}" names unknown tool "${ref}"`);
          tools[ref] = hit;
        } else inline.push(ctx.cache.loadTool(ref));
      }
      tools = { ...tools, ...buildDeclarativeTools(inline, toolCtx) };
    }
    const def: AgentDefinition = { name: agent.name, instructions: agent.instructions, tools };
    if (agent.description !== undefined) def.description = agent.description;
    if (agent.transfers !== undefined) def.transfers = agent.transfers;
    if (agent.subagents !== undefined) def.subagents = agent.subagents;
    if (agent.voice !== undefined) def.voice = agent.voice;
    if (agent.model !== undefined) {
      if (isRealtimeSpec(agent.model)) def.realtime = ctx.cache.realtime(agent.model);
      else def.model = ctx.cache.llm(agent.model);
    }
    return def;
  });
}
