import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireOptional } from '../optional-dependency.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { parseSpec, resolveLanguageModel, resolveStt, resolveTts, resolveVad } from './model-spec.ts';

/** The AI SDK provider packages the LLM and speech specs below load (optional dependencies). */
const PROVIDER_PACKAGES = [
  '@ai-sdk/openai',
  '@ai-sdk/anthropic',
  '@ai-sdk/google',
  '@ai-sdk/groq',
  '@ai-sdk/openai-compatible',
];

function withConfig(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-cfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('server configuration', () => {
  it('without a key or config file uses the bundled offline demo (scripted LLM, pocketsphinx, espeak, silero)', () => {
    const c = loadServerConfig({});
    expect(c.port).toBe(8080);
    expect(c.rtviEvents).toBe(true);
    expect(c.defaults.llm).toMatch(/^scripted:.*demo-script\.json$/);
    expect(c.defaults.stt).toMatch(/^pocketsphinx:.*demo\.jsgf$/);
    expect(c.defaults).toMatchObject({ tts: 'espeak', vad: 'silero' });
    expect(resolveProfile(c).agents.map((a) => a.name)).toEqual(['concierge', 'spa']);
  });

  it('environment names override the file: PORT, COLLOQUY_AUTH_TOKEN, COLLOQUY_LLM/STT/TTS/VAD, COLLOQUY_RTVI_EVENTS', () => {
    const c = loadServerConfig({
      PORT: '9001',
      COLLOQUY_AUTH_TOKEN: 'sekret',
      COLLOQUY_LLM: 'openai:gpt-4.1-mini',
      COLLOQUY_STT: 'openai:whisper-1',
      COLLOQUY_TTS: 'espeak:en-us',
      COLLOQUY_VAD: 'energy',
      COLLOQUY_RTVI_EVENTS: 'false',
    });
    expect(c).toMatchObject({ port: 9001, authToken: 'sekret', rtviEvents: false });
    expect(c.defaults).toEqual({
      llm: 'openai:gpt-4.1-mini',
      stt: 'openai:whisper-1',
      tts: 'espeak:en-us',
      vad: 'energy',
    });
  });

  it('requestData picks a named configuration, the first agent and the mode', () => {
    const file = withConfig({
      agents: [
        { name: 'a', instructions: 'A' },
        { name: 'b', instructions: 'B' },
      ],
      configurations: { sales: { mode: 'stream', models: { tts: 'espeak:en-gb' } } },
    });
    const c = loadServerConfig({ COLLOQUY_CONFIG: file });
    const p = resolveProfile(c, { config: 'sales', agent: 'b' });
    expect(p).toMatchObject({ mode: 'stream', initialAgent: 'b' });
    expect(p.models.tts).toBe('espeak:en-gb');
    expect(() => resolveProfile(c, { config: 'nope' })).toThrowError(
      expect.objectContaining({ code: 'unknown_configuration' }),
    );
    expect(() => resolveProfile(c, { agent: 'zed' })).toThrowError(
      expect.objectContaining({ code: 'unknown_agent' }),
    );
  });

  it.each([
    [{ agents: [] }, 'agents'],
    [{ mode: 'turbo' }, 'mode'],
    [{ tools: [{ name: 'x', kind: 'nope' }] }, 'tools.0'],
    [{ unexpected: 1 }, 'unexpected'],
  ])('rejects a bad config file naming the field (%#)', (json, field) => {
    expect(() => loadServerConfig({ COLLOQUY_CONFIG: withConfig(json) })).toThrowError(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining(field) }),
    );
  });
});

describe('numbers from the environment', () => {
  it.each([
    [{ PORT: '65536' }, 'invalid_port'],
    [{ PORT: '-1' }, 'invalid_port'],
    [{ PORT: '80.5' }, 'invalid_port'],
    [{ COLLOQUY_RESUME_WINDOW_MS: '86400001' }, 'invalid_resume_window'],
    [{ COLLOQUY_RESUME_WINDOW_MS: '-1' }, 'invalid_resume_window'],
    [{ COLLOQUY_RESUME_WINDOW_MS: '1.5' }, 'invalid_resume_window'],
  ])('%j is refused as %s', (env, code) => {
    expect(() => loadServerConfig(env)).toThrowError(expect.objectContaining({ code }));
  });

  it('the bounds themselves are taken: PORT 0 and 65535, a resume window of 0 and of a day', () => {
    expect(loadServerConfig({ PORT: '0' }).port).toBe(0);
    expect(loadServerConfig({ PORT: '65535' }).port).toBe(65535);
    expect(loadServerConfig({ COLLOQUY_RESUME_WINDOW_MS: '0' }).resumeWindowMs).toBe(0);
    expect(loadServerConfig({ COLLOQUY_RESUME_WINDOW_MS: '86400000' }).resumeWindowMs).toBe(86_400_000);
    expect(loadServerConfig({}).resumeWindowMs).toBe(60_000);
  });
});

describe('realtime settings', () => {
  it('COLLOQUY_REALTIME_TURN_DETECTION sets the realtime turn detection; none set, no realtime section', () => {
    expect(loadServerConfig({ COLLOQUY_REALTIME_TURN_DETECTION: 'local' }).realtime).toEqual({
      turnDetection: 'local',
    });
    expect(loadServerConfig({}).realtime).toBeUndefined();
  });
});

describe('memory settings from the environment', () => {
  it.each([
    ['5', { everyTurns: 5 }],
    ['1', { everyTurns: 1 }],
    ['1000', { everyTurns: 1000 }],
  ])('COLLOQUY_MEMORY_EVERY_TURNS=%s is applied', (everyTurns, memory) => {
    expect(
      loadServerConfig({ COLLOQUY_MEMORY: '1', COLLOQUY_MEMORY_EVERY_TURNS: everyTurns }).memory,
    ).toEqual(memory);
  });

  it.each(['0', '1001', '2.5', 'often', ''])(
    'COLLOQUY_MEMORY_EVERY_TURNS=%j is refused with invalid_memory',
    (everyTurns) => {
      expect(() =>
        loadServerConfig({ COLLOQUY_MEMORY: '1', COLLOQUY_MEMORY_EVERY_TURNS: everyTurns }),
      ).toThrowError(
        expect.objectContaining({
          code: 'invalid_memory',
          message: expect.stringContaining('must be 1-1000'),
        }),
      );
    },
  );
});

describe('model specs', () => {
  // Loading a provider package takes a while (each is a large module graph): on a loaded machine the
  // first OpenAI spec resolved passed the 5 s test timeout of a mutation run. The packages are loaded
  // once before the tests, with a limit of their own; the tests then time what they are about.
  beforeAll(() => {
    for (const name of PROVIDER_PACKAGES) requireOptional(name, name);
  }, 120_000);

  it('parses provider:model', () => {
    expect(parseSpec('openai:gpt-4.1-mini', 'LLM')).toEqual({ provider: 'openai', model: 'gpt-4.1-mini' });
    expect(parseSpec('openai-compatible:llama3@http://127.0.0.1:11434/v1', 'LLM')).toEqual({
      provider: 'openai-compatible',
      model: 'llama3@http://127.0.0.1:11434/v1',
    });
    expect(parseSpec('silero', 'VAD')).toEqual({ provider: 'silero', model: '' });
  });

  it.each([
    ['openai:gpt-4.1-mini', 'openai.chat', 'gpt-4.1-mini'],
    ['anthropic:claude-sonnet-4-5', 'anthropic.messages', 'claude-sonnet-4-5'],
    ['google:gemini-2.5-flash', 'google.generative-ai', 'gemini-2.5-flash'],
    ['groq:llama-3.3-70b-versatile', 'groq.chat', 'llama-3.3-70b-versatile'],
    ['openai-compatible:llama3@http://127.0.0.1:11434/v1', 'openai-compatible.chat', 'llama3'],
  ])('resolves the LLM %s to an AI SDK model', (spec, provider, modelId) => {
    const m = resolveLanguageModel(spec, {}) as { provider: string; modelId: string };
    expect(m.modelId).toBe(modelId);
    expect(m.provider.startsWith(provider.split('.')[0])).toBe(true);
  });

  it('resolves embedded STT/TTS/VAD and AI SDK speech models', () => {
    expect(resolveStt('pocketsphinx', {}).provider).toBe('pocketsphinx');
    expect(resolveStt('openai:whisper-1', {}).modelId).toBe('whisper-1');
    expect(resolveTts('espeak', {}).provider).toBe('espeak-ng');
    expect(resolveTts('openai:gpt-4o-mini-tts', {}).modelId).toBe('gpt-4o-mini-tts');
    expect(resolveVad('silero').provider).toBe('silero');
    expect(resolveVad('energy').modelId).toMatch(/energy/);
  });

  it.each([
    [() => resolveLanguageModel('foo:bar', {}), 'unknown_provider'],
    [() => resolveLanguageModel('openai', {}), 'invalid_model_spec'],
    [() => resolveLanguageModel('openai-compatible:llama3', {}), 'invalid_model_spec'],
    [() => resolveLanguageModel('scripted:/no/such/file.json', {}), 'script_not_found'],
    [() => resolveVad('webrtc'), 'unknown_provider'],
    [() => resolveTts('', {}), 'invalid_model_spec'],
  ])('rejects a bad spec with a typed ConfigError (%#)', (fn, code) => {
    expect(fn).toThrowError(expect.objectContaining({ code }));
  });
});

describe('cluster settings from the environment', () => {
  it('COLLOQUY_REDIS_URL makes the server a cluster node with its settings; none set, no cluster', () => {
    const config = loadServerConfig({
      COLLOQUY_REDIS_URL: 'redis://127.0.0.1:6379',
      COLLOQUY_NODE_ID: 'node-a',
      COLLOQUY_PUBLIC_URL: 'https://a.voice.example.com',
      COLLOQUY_DRAIN_TIMEOUT_MS: '5000',
    });
    expect(config.cluster).toMatchObject({
      nodeId: 'node-a',
      publicUrl: 'https://a.voice.example.com',
      drainTimeoutMs: 5000,
    });
    expect(loadServerConfig({}).cluster).toBeUndefined();
  });
});

describe('an unreadable config file', () => {
  it.each([
    [
      'missing',
      '/no/such/dir/config.json',
      /^Cannot read COLLOQUY_CONFIG \/no\/such\/dir\/config\.json: ENOENT/,
    ],
    ['not JSON', 'bad.json', /^Cannot read COLLOQUY_CONFIG .*bad\.json: .*JSON/],
  ])('%s: config_unreadable, naming the file and the cause', (_what, name, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "agents": [');
    const path = name.startsWith('/') ? name : join(dir, name);
    expect(() => loadServerConfig({ COLLOQUY_CONFIG: path })).toThrow(
      expect.objectContaining({ code: 'config_unreadable', message: expect.stringMatching(message) }),
    );
  });
});
