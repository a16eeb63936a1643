/**
 * `loadServerConfig` and `resolveProfile` as tables: the whole configuration of an empty environment
 * (every default, and no optional key), each variable's accepted and refused forms with the exact
 * message, which layer wins (environment, file, defaults), and how a profile is merged from the file,
 * a named configuration and the request.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR, loadServerConfig, parseConfigFile, resolveProfile, type ServerConfig } from './config.ts';
import { DEFAULT_LIMITS } from './limits.ts';

function withConfig(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-cfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

const DEMO_FILE = JSON.parse(readFileSync(join(DEMO_DIR, 'demo-config.json'), 'utf8'));

describe('loadServerConfig: the defaults', () => {
  it('an empty environment: the demo, every default, no optional key', () => {
    expect(loadServerConfig({})).toStrictEqual({
      port: 8080,
      host: '0.0.0.0',
      rtviEvents: true,
      idleTimeoutMs: 120_000,
      baseDir: DEMO_DIR,
      limits: DEFAULT_LIMITS,
      file: parseConfigFile(DEMO_FILE, 'demo-config.json'),
      connectPaths: ['/connect'],
      store: { kind: 'sqlite', path: resolve('.colloquy/colloquy.db'), implicit: true },
      resumeWindowMs: 60_000,
      defaults: {
        llm: `scripted:${join(DEMO_DIR, 'demo-script.json')}`,
        stt: `pocketsphinx:${join(DEMO_DIR, 'demo.jsgf')}`,
        tts: 'espeak',
        vad: 'silero',
      },
    });
  });

  it('a config file: its directory is the base, its models and idle timeout apply unless the environment sets them', () => {
    const file = withConfig({
      idleTimeoutMs: 5000,
      models: { llm: 'groq:file-llm', stt: 'groq:file-stt', tts: 'openai:file-tts', vad: 'energy' },
    });
    const c = loadServerConfig({ COLLOQUY_CONFIG: file, OPENAI_API_KEY: 'sk' });
    expect({ baseDir: c.baseDir, idle: c.idleTimeoutMs, defaults: c.defaults }).toEqual({
      baseDir: dirname(file),
      idle: 5000,
      defaults: { llm: 'groq:file-llm', stt: 'groq:file-stt', tts: 'openai:file-tts', vad: 'energy' },
    });
    const env = loadServerConfig({
      COLLOQUY_CONFIG: file,
      COLLOQUY_IDLE_TIMEOUT_MS: '7000',
      COLLOQUY_LLM: 'a:1',
      COLLOQUY_STT: 'b:2',
      COLLOQUY_TTS: 'c:3',
      COLLOQUY_VAD: 'd',
    });
    expect({ idle: env.idleTimeoutMs, defaults: env.defaults }).toEqual({
      idle: 7000,
      defaults: { llm: 'a:1', stt: 'b:2', tts: 'c:3', vad: 'd' },
    });
    // neither: the cloud defaults with a key
    expect(loadServerConfig({ COLLOQUY_CONFIG: withConfig({}), OPENAI_API_KEY: 'sk' }).defaults).toEqual({
      llm: 'openai:gpt-4.1-mini',
      stt: 'openai:gpt-4o-mini-transcribe',
      tts: 'openai:gpt-4o-mini-tts',
      vad: 'silero',
    });
  });
});

describe('loadServerConfig: one variable at a time', () => {
  const pick = (c: ServerConfig, keys: readonly string[]) =>
    Object.fromEntries(keys.map((k) => [k, (c as unknown as Record<string, unknown>)[k]]));
  const KEYS = ['host', 'authToken', 'rtviEvents', 'httpAllow', 'allowedOrigins', 'trustProxy'] as const;
  const NONE = {
    host: '0.0.0.0',
    authToken: undefined,
    rtviEvents: true,
    httpAllow: undefined,
    allowedOrigins: undefined,
    trustProxy: undefined,
  };
  it.each<readonly [Record<string, string>, Record<string, unknown>]>([
    [{ HOST: '127.0.0.1' }, { host: '127.0.0.1' }],
    [{ COLLOQUY_AUTH_TOKEN: '' }, {}],
    [{ COLLOQUY_AUTH_TOKEN: 'tok' }, { authToken: 'tok' }],
    ...['0', 'false', 'off', 'no', 'OFF', 'False'].map(
      (v) => [{ COLLOQUY_RTVI_EVENTS: v }, { rtviEvents: false }] as const,
    ),
    ...['1', 'true', 'on', 'yes', 'nope', '0ff', 'false!'].map(
      (v) => [{ COLLOQUY_RTVI_EVENTS: v }, {}] as const,
    ),
    [{ COLLOQUY_HTTP_ALLOW: '' }, {}],
    [{ COLLOQUY_HTTP_ALLOW: '10.0.0.0/8, intranet.local' }, { httpAllow: ['10.0.0.0/8', 'intranet.local'] }],
    [{ COLLOQUY_ALLOWED_ORIGINS: '' }, {}],
    [
      { COLLOQUY_ALLOWED_ORIGINS: 'https://a.example https://b.example' },
      { allowedOrigins: ['https://a.example', 'https://b.example'] },
    ],
    ...['1', 'true', 'yes', 'on', 'TRUE', 'On'].map(
      (v) => [{ COLLOQUY_TRUST_PROXY: v }, { trustProxy: true }] as const,
    ),
    ...['0', 'false', '', 'no', 'truex', 'xon'].map((v) => [{ COLLOQUY_TRUST_PROXY: v }, {}] as const),
  ])('%j → %j', (env, expected) => {
    const c = loadServerConfig(env);
    expect(pick(c, KEYS)).toEqual({ ...NONE, ...expected });
    for (const key of KEYS) if (pick(c, [key])[key] === undefined) expect(key in c).toBe(false);
  });

  it.each([
    [{ PORT: 'x' }, 'invalid_port', 'PORT must be 0-65535, got x'],
    [{ PORT: '65536' }, 'invalid_port', 'PORT must be 0-65535, got 65536'],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '0' },
      'invalid_idle_timeout',
      'COLLOQUY_IDLE_TIMEOUT_MS must be a positive whole number of ms, got 0',
    ],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '-1' },
      'invalid_idle_timeout',
      'COLLOQUY_IDLE_TIMEOUT_MS must be a positive whole number of ms, got -1',
    ],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '2.5' },
      'invalid_idle_timeout',
      'COLLOQUY_IDLE_TIMEOUT_MS must be a positive whole number of ms, got 2.5',
    ],
    [
      { COLLOQUY_RESUME_WINDOW_MS: 'soon' },
      'invalid_resume_window',
      'COLLOQUY_RESUME_WINDOW_MS must be 0-86400000, got soon',
    ],
    [
      { COLLOQUY_RESUME_WINDOW_MS: '86400001' },
      'invalid_resume_window',
      'COLLOQUY_RESUME_WINDOW_MS must be 0-86400000, got 86400001',
    ],
    [
      { COLLOQUY_MEMORY: 'on', COLLOQUY_MEMORY_EVERY_TURNS: '0' },
      'invalid_memory',
      'COLLOQUY_MEMORY_EVERY_TURNS must be 1-1000, got 0',
    ],
    [
      { COLLOQUY_CONNECT_PATHS: '/ws' },
      'invalid_connect_paths',
      'COLLOQUY_CONNECT_PATHS: "/ws" is used by the server itself',
    ],
  ])('%j → %s: %s', (env, code, message) => {
    expect(() => loadServerConfig(env)).toThrow(expect.objectContaining({ code, message }));
  });

  it('the idle timeout: 1 ms is the smallest', () => {
    expect(loadServerConfig({ COLLOQUY_IDLE_TIMEOUT_MS: '1' }).idleTimeoutMs).toBe(1);
  });

  it('connect paths: the environment over the file, the file over the default', () => {
    const file = withConfig({ connectPaths: ['/file/connect'] });
    expect(loadServerConfig({ COLLOQUY_CONFIG: file }).connectPaths).toEqual(['/file/connect']);
    expect(
      loadServerConfig({ COLLOQUY_CONFIG: file, COLLOQUY_CONNECT_PATHS: '/a/connect, /b/connect' })
        .connectPaths,
    ).toEqual(['/a/connect', '/b/connect']);
    expect(() => loadServerConfig({ COLLOQUY_CONFIG: withConfig({ connectPaths: ['/health'] }) })).toThrow(
      expect.objectContaining({ message: 'connectPaths: "/health" is used by the server itself' }),
    );
  });

  it('the store, the limits of the file under those of the environment', () => {
    const file = withConfig({ limits: { maxSessions: 7, maxSessionsPerClient: 3 } });
    const c = loadServerConfig({
      COLLOQUY_CONFIG: file,
      COLLOQUY_MAX_SESSIONS: '9',
      COLLOQUY_STORE: 'memory',
    });
    expect(c.store).toEqual({ kind: 'memory' });
    expect(c.limits).toEqual({ ...DEFAULT_LIMITS, maxSessions: 9, maxSessionsPerClient: 3 });
  });
});

describe('loadServerConfig: long-term memory', () => {
  it.each([
    [{}, {}, undefined],
    [{ enabled: true }, {}, {}],
    [
      { enabled: true, everyTurns: 4, model: 'openai:mini', maxFacts: 20 },
      {},
      { everyTurns: 4, model: 'openai:mini', maxFacts: 20 },
    ],
    [{ enabled: true, everyTurns: 4 }, { COLLOQUY_MEMORY_EVERY_TURNS: '6' }, { everyTurns: 6 }],
    [{ enabled: true }, { COLLOQUY_MEMORY: 'off' }, undefined],
    [{ enabled: true }, { COLLOQUY_MEMORY: 'maybe' }, undefined],
    [{ enabled: false }, { COLLOQUY_MEMORY: 'YES' }, {}],
    [{}, { COLLOQUY_MEMORY: 'true' }, {}],
    [{}, { COLLOQUY_MEMORY: 'on' }, {}],
    [{}, { COLLOQUY_MEMORY: 'yes!' }, undefined],
    [{}, { COLLOQUY_MEMORY: 'xon' }, undefined],
    [{}, { COLLOQUY_MEMORY_EVERY_TURNS: '0' }, undefined],
  ])('file %j, environment %j → %j', (memory, env, expected) => {
    const c = loadServerConfig({ COLLOQUY_CONFIG: withConfig({ memory }), ...env });
    expect(c.memory).toStrictEqual(expected);
    expect('memory' in c).toBe(expected !== undefined);
  });
});

describe('parseConfigFile', () => {
  it('names the origin and the first field at fault', () => {
    expect(() => parseConfigFile({ greeting: 'x'.repeat(2001) }, 'my.json')).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringMatching(/^my\.json: greeting: /),
      }),
    );
    expect(() => loadServerConfig({ COLLOQUY_CONFIG: withConfig({ memory: { everyTurns: 0 } }) })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/\/config\.json: memory\.everyTurns: /) }),
    );
  });
});

describe('resolveProfile', () => {
  const config = (file: unknown) =>
    loadServerConfig({
      COLLOQUY_CONFIG: withConfig(file),
      COLLOQUY_LLM: 'openai:gpt',
      COLLOQUY_STT: 'openai:stt',
      COLLOQUY_TTS: 'espeak',
      COLLOQUY_VAD: 'energy',
    });
  const MODELS = { llm: 'openai:gpt', stt: 'openai:stt', tts: 'espeak', vad: 'energy' };

  it('a file without agents: the default assistant, agent mode, no optional key', () => {
    expect(resolveProfile(config({}))).toStrictEqual({
      mode: 'agent',
      models: MODELS,
      agents: [
        {
          name: 'assistant',
          instructions: 'You are a helpful voice assistant. Answer in one or two short spoken sentences.',
        },
      ],
      tools: [],
    });
  });

  const FILE = {
    mode: 'stream',
    initialAgent: 'b',
    greeting: 'Base hello',
    userMute: ['first-speech'],
    agents: [
      { name: 'a', instructions: 'A' },
      { name: 'b', instructions: 'B' },
    ],
    tools: [{ name: 'base_tool', kind: 'client_event', description: 'd', config: { topic: 't' } }],
    configurations: {
      named: {
        mode: 'agent',
        initialAgent: 'n2',
        greeting: 'Named hello',
        userMute: ['function-call'],
        models: { tts: 'openai:named-tts' },
        agents: [
          { name: 'n1', instructions: 'N1' },
          { name: 'n2', instructions: 'N2', model: 'google-live:g' },
        ],
        tools: [{ name: 'named_tool', kind: 'client_event', description: 'd', config: { topic: 'u' } }],
      },
      bare: {},
      realtime: { models: { llm: 'openai-realtime:gpt-realtime' } },
    },
  };

  it('the file alone, then a named configuration over it, then the request over both', () => {
    const c = config(FILE);
    expect(resolveProfile(c)).toStrictEqual({
      mode: 'stream',
      models: MODELS,
      agents: FILE.agents,
      initialAgent: 'b',
      tools: [FILE.tools[0]],
      greeting: 'Base hello',
      userMute: ['first-speech'],
    });
    expect(resolveProfile(c, { config: 'named' })).toStrictEqual({
      mode: 'agent',
      models: { ...MODELS, tts: 'openai:named-tts' },
      agents: FILE.configurations.named.agents,
      initialAgent: 'n2',
      tools: [FILE.tools[0], FILE.configurations.named.tools[0]],
      greeting: 'Named hello',
      userMute: ['function-call'],
    });
    expect(
      resolveProfile(c, { config: 'bare', agent: 'a', mode: 'agent', user_id: 'u-9', text_only: true }),
    ).toEqual({
      mode: 'agent',
      models: MODELS,
      agents: FILE.agents,
      initialAgent: 'a',
      tools: [FILE.tools[0]],
      greeting: 'Base hello',
      userMute: ['first-speech'],
      userId: 'u-9',
      textOnly: true,
    });
    expect(resolveProfile(c, { text_only: false, user_id: '' })).not.toHaveProperty('textOnly');
  });

  it('refusals: an unknown configuration or agent, a text chat with a realtime model (of the profile or of an agent)', () => {
    const c = config(FILE);
    expect(() => resolveProfile(c, { config: 'nope' })).toThrow(
      expect.objectContaining({ code: 'unknown_configuration', message: 'No configuration named "nope"' }),
    );
    expect(() => resolveProfile(c, { agent: 'n1' })).toThrow(
      expect.objectContaining({ code: 'unknown_agent', message: 'No agent named "n1"' }),
    );
    const textOnly = expect.objectContaining({
      code: 'text_only_unsupported',
      message:
        'text_only: this configuration uses a realtime speech-to-speech model, which has no text-only session',
    });
    expect(() => resolveProfile(c, { config: 'realtime', text_only: true })).toThrow(textOnly);
    expect(() => resolveProfile(c, { config: 'named', text_only: true })).toThrow(textOnly);
    expect(resolveProfile(c, { config: 'realtime' }).models.llm).toBe('openai-realtime:gpt-realtime');
  });

  it('a named configuration built in code: its undefined models keep the defaults; a bad spec is no realtime model', () => {
    const c = config({});
    const built: ServerConfig = {
      ...c,
      file: {
        configurations: {
          code: {
            models: { llm: undefined, tts: 'openai:t' },
            agents: [{ name: 'x', instructions: 'X', model: '' }],
          },
        },
      },
    };
    const p = resolveProfile(built, { config: 'code', text_only: true });
    expect(p.models).toEqual({ ...MODELS, tts: 'openai:t' });
    expect(p.textOnly).toBe(true);
  });
});
