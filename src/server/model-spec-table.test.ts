/**
 * Model specs as tables of spec → what is built (provider, model id, the options the model gets) and
 * spec → the exact `ConfigError` (code and message), and the requests an openai-compatible spec sends
 * (URL, key) to a local server.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateText } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireOptional } from '../optional-dependency.ts';
import { EnergyVad } from '../providers/local/energy-vad.ts';
import type { EspeakTts } from '../providers/local/espeak-tts.ts';
import { defaultSileroModelPath } from '../providers/local/silero-vad.ts';
import { DEMO_DIR } from './config.ts';
import {
  defaultSpecs,
  isRealtimeSpec,
  parseSpec,
  resolveLanguageModel,
  resolveRealtimeModel,
  resolveStt,
  resolveTts,
  resolveVad,
} from './model-spec.ts';

const PROVIDER_PACKAGES = [
  '@ai-sdk/openai',
  '@ai-sdk/anthropic',
  '@ai-sdk/google',
  '@ai-sdk/groq',
  '@ai-sdk/openai-compatible',
];

/** The options a model was built with (a private field of the provider classes). */
const optionsOf = (model: unknown) => (model as { options: Record<string, unknown> }).options;
const identity = (m: unknown) => {
  const { provider, modelId } = m as { provider: string; modelId: string };
  return { provider, modelId };
};

/** A local server answering 400 to everything, recording each request. */
async function withServer(
  run: (url: string, seen: { path?: string; authorization?: string }[]) => Promise<void>,
): Promise<void> {
  const seen: { path?: string; authorization?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ path: req.url, authorization: req.headers.authorization });
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.end('{"error":{"message":"refused"}}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen);
  } finally {
    server.close();
  }
}

describe('parseSpec', () => {
  it.each([
    ['openai:gpt-4.1-mini', { provider: 'openai', model: 'gpt-4.1-mini' }],
    ['  openai:gpt  ', { provider: 'openai', model: 'gpt' }],
    ['scripted:/a:b.json', { provider: 'scripted', model: '/a:b.json' }],
    ['espeak', { provider: 'espeak', model: '' }],
    ['espeak:', { provider: 'espeak', model: '' }],
    [':x', { provider: '', model: 'x' }],
  ])('%j → %j', (spec, parsed) => {
    expect(parseSpec(spec, 'LLM')).toEqual(parsed);
  });

  it('each resolver names its own kind in the empty-spec refusal', () => {
    for (const [build, kind] of [
      [() => resolveStt('', {}), 'STT'],
      [() => resolveTts(' ', {}), 'TTS'],
      [() => resolveLanguageModel('', {}), 'LLM'],
      [() => resolveRealtimeModel('', {}), 'LLM'],
      [() => resolveVad(''), 'VAD'],
    ] as const) {
      expect(build).toThrow(
        expect.objectContaining({ code: 'invalid_model_spec', message: `${kind}: empty model spec` }),
      );
    }
  });

  it.each(['', '   ', undefined, 42])('%j is refused as empty, naming the kind', (spec) => {
    expect(() => parseSpec(spec as string, 'TTS')).toThrow(
      expect.objectContaining({ code: 'invalid_model_spec', message: 'TTS: empty model spec' }),
    );
  });

  it('isRealtimeSpec reads the provider of a trimmed spec', () => {
    expect(isRealtimeSpec(' google-live:g ')).toBe(true);
    expect(isRealtimeSpec('openai-realtime')).toBe(true);
    expect(isRealtimeSpec('google:gemini')).toBe(false);
    expect(isRealtimeSpec('openai-realtimex:m')).toBe(false);
  });
});

describe('resolvers: spec → model', () => {
  beforeAll(() => {
    for (const name of PROVIDER_PACKAGES) requireOptional(name, name);
  }, 120_000);

  it.each([
    ['openai:gpt-4.1-mini', { provider: 'openai.responses', modelId: 'gpt-4.1-mini' }],
    ['anthropic:claude-x', { provider: 'anthropic.messages', modelId: 'claude-x' }],
    ['google:gemini-2.5-flash', { provider: 'google.generative-ai', modelId: 'gemini-2.5-flash' }],
    ['groq:llama', { provider: 'groq.chat', modelId: 'llama' }],
    [
      'openai-compatible:org@httpx@http://127.0.0.1:9/v1',
      { provider: 'openai-compatible.chat', modelId: 'org@httpx' },
    ],
  ])('LLM %s → %j', (spec, model) => {
    expect(identity(resolveLanguageModel(spec, {}))).toEqual(model);
  });

  it('scripted:FILE is read relative to the base directory and named by its full path', () => {
    const model = resolveLanguageModel('scripted:demo-script.json', {}, DEMO_DIR);
    expect(identity(model)).toEqual({ provider: 'scripted', modelId: join(DEMO_DIR, 'demo-script.json') });
  });

  it.each([
    ['pocketsphinx', { provider: 'pocketsphinx', modelId: 'en-us' }, {}],
    [
      'pocketsphinx:demo.jsgf',
      { provider: 'pocketsphinx', modelId: 'en-us-jsgf' },
      { grammarFile: join(DEMO_DIR, 'demo.jsgf') },
    ],
  ])('STT %s → %j, options %j', (spec, model, options) => {
    const stt = resolveStt(spec, {}, DEMO_DIR);
    expect(identity(stt)).toEqual(model);
    expect(optionsOf(stt)).toStrictEqual(options);
  });

  it.each([
    ['openai:whisper-1', { provider: 'openai.transcription', modelId: 'whisper-1' }],
    ['groq:whisper-large-v3', { provider: 'groq.transcription', modelId: 'whisper-large-v3' }],
    ['deepgram:nova-3', { provider: 'deepgram', modelId: 'nova-3' }],
  ])('STT %s → %j', (spec, model) => {
    expect(identity(resolveStt(spec, { DEEPGRAM_API_KEY: 'k' }))).toEqual(model);
  });

  it.each([
    [
      'openai:gpt-4o-mini-tts',
      { provider: 'openai.speech', modelId: 'gpt-4o-mini-tts', sampleRate: 24000, outputFormat: 'pcm' },
    ],
    [
      'openai-compatible:kokoro',
      { provider: 'openai.speech', modelId: 'kokoro', sampleRate: 24000, outputFormat: 'wav' },
    ],
  ])('TTS %s → %j', (spec, expected) => {
    const tts = resolveTts(spec, { COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:9/v1' });
    const { provider, modelId } = identity(tts);
    expect({
      provider,
      modelId,
      sampleRate: tts.sampleRate,
      outputFormat: optionsOf(tts).outputFormat,
    }).toEqual(expected);
  });

  it('realtime specs pass the settings and the environment on, and only what is set', () => {
    expect(optionsOf(resolveRealtimeModel('openai-realtime:gpt-realtime', {}))).toStrictEqual({
      model: 'gpt-realtime',
    });
    expect(
      optionsOf(
        resolveRealtimeModel(
          'openai-realtime:gpt-realtime',
          {
            OPENAI_API_KEY: 'sk',
            COLLOQUY_OPENAI_REALTIME_URL: 'ws://127.0.0.1:9/rt',
            GOOGLE_GENERATIVE_AI_API_KEY: 'g',
          },
          { context: { maxTokens: 1000 } as never, compression: { triggerTokens: 5 } as never },
        ),
      ),
    ).toEqual({
      model: 'gpt-realtime',
      context: { maxTokens: 1000 },
      apiKey: 'sk',
      url: 'ws://127.0.0.1:9/rt',
    });
    expect(optionsOf(resolveRealtimeModel('google-live:gemini-live', {}))).toStrictEqual({
      model: 'gemini-live',
    });
    expect(
      optionsOf(
        resolveRealtimeModel(
          'google-live:gemini-live',
          {
            GOOGLE_GENERATIVE_AI_API_KEY: 'g',
            COLLOQUY_GOOGLE_LIVE_URL: 'ws://127.0.0.1:9/live',
            OPENAI_API_KEY: 'sk',
          },
          { context: { maxTokens: 1000 } as never, compression: { triggerTokens: 5 } as never },
        ),
      ),
    ).toEqual({
      model: 'gemini-live',
      compression: { triggerTokens: 5 },
      apiKey: 'g',
      url: 'ws://127.0.0.1:9/live',
    });
  });

  it('VAD specs: the Silero model path and options reach the VAD; energy has none', () => {
    const engine = (v: unknown) => {
      const { modelPath, inference, runTimeoutMs } = (v as { engine: Record<string, unknown> }).engine;
      return { modelPath, inference, runTimeoutMs };
    };
    expect(engine(resolveVad('silero:/models/v5.onnx?inference=worker&runTimeoutMs=1234'))).toEqual({
      modelPath: '/models/v5.onnx',
      inference: 'worker',
      runTimeoutMs: 1234,
    });
    expect(engine(resolveVad('silero?inference=worker&runTimeoutMs=1')).runTimeoutMs).toBe(1);
    expect(engine(resolveVad('silero?inference=main'))).toEqual({
      modelPath: defaultSileroModelPath(),
      inference: 'main',
      runTimeoutMs: 0,
    });
    expect(resolveVad('energy')).toBeInstanceOf(EnergyVad);
  });
});

describe('resolvers: the exact refusal', () => {
  beforeAll(() => {
    for (const name of PROVIDER_PACKAGES) requireOptional(name, name);
  }, 120_000);

  const URL_ENV = { COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:9/v1' };
  it.each([
    [
      () => resolveLanguageModel('anthropic', {}),
      'invalid_model_spec',
      'LLM: "anthropic" needs a model name (anthropic:MODEL)',
    ],
    [
      () => resolveLanguageModel('google:', {}),
      'invalid_model_spec',
      'LLM: "google:" needs a model name (google:MODEL)',
    ],
    [
      () => resolveLanguageModel('groq', {}),
      'invalid_model_spec',
      'LLM: "groq" needs a model name (groq:MODEL)',
    ],
    [
      () => resolveLanguageModel('scripted', {}),
      'invalid_model_spec',
      'LLM: "scripted" needs a model name (scripted:MODEL)',
    ],
    [
      () => resolveLanguageModel('openai-compatible', URL_ENV),
      'invalid_model_spec',
      'LLM: "openai-compatible" needs a model name (openai-compatible:MODEL)',
    ],
    [
      () => resolveLanguageModel('openai-compatible:llama3', {}),
      'invalid_model_spec',
      'LLM: openai-compatible needs a base URL (COLLOQUY_OPENAI_COMPATIBLE_BASE_URL or openai-compatible:MODEL@URL)',
    ],
    [
      () => resolveLanguageModel('openai-compatible:llama3@ftp://x', {}),
      'invalid_model_spec',
      'LLM: openai-compatible needs a base URL (COLLOQUY_OPENAI_COMPATIBLE_BASE_URL or openai-compatible:MODEL@URL)',
    ],
    [
      () => resolveRealtimeModel('google-live', {}),
      'invalid_model_spec',
      'LLM: "google-live" needs a model name (google-live:MODEL)',
    ],
    [
      () => resolveRealtimeModel('openai:gpt-4o', {}),
      'unknown_provider',
      'LLM: "openai:gpt-4o" is not a realtime model (use openai-realtime:MODEL or google-live:MODEL)',
    ],
    [() => resolveStt('openai', {}), 'invalid_model_spec', 'STT: "openai" needs a model name (openai:MODEL)'],
    [() => resolveStt('groq', {}), 'invalid_model_spec', 'STT: "groq" needs a model name (groq:MODEL)'],
    [
      () => resolveStt('openai-compatible', URL_ENV),
      'invalid_model_spec',
      'STT: "openai-compatible" needs a model name (openai-compatible:MODEL)',
    ],
    [
      () => resolveStt('openai-compatible:whisper', {}),
      'invalid_model_spec',
      'STT: openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL',
    ],
    [
      () => resolveStt('vosk:small', {}),
      'unknown_provider',
      'STT: unknown provider "vosk" in "vosk:small" (use pocketsphinx, deepgram, openai, groq or openai-compatible)',
    ],
    [() => resolveTts('openai', {}), 'invalid_model_spec', 'TTS: "openai" needs a model name (openai:MODEL)'],
    [
      () => resolveTts('openai-compatible:kokoro', {}),
      'invalid_model_spec',
      'TTS: openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL',
    ],
    [
      () => resolveTts('piper:en', {}),
      'unknown_provider',
      'TTS: unknown provider "piper" in "piper:en" (use espeak, openai or openai-compatible)',
    ],
    [
      () => resolveVad('webrtc'),
      'unknown_provider',
      'VAD: unknown provider "webrtc" in "webrtc" (use silero or energy)',
    ],
  ])('%# → %s: %s', (build, code, message) => {
    expect(build).toThrow(expect.objectContaining({ code, message }));
  });
});

describe('eSpeak NG pool bounds (COLLOQUY_ESPEAK_MAX_PROCESSES 1-256, COLLOQUY_ESPEAK_MAX_WAITING 0-100000)', () => {
  const slots = (env: Record<string, string>) => {
    const { maxRunning, maxWaiting } = (resolveTts('espeak', env) as EspeakTts).slots;
    return { maxRunning, maxWaiting };
  };
  it.each([
    [
      { COLLOQUY_ESPEAK_MAX_PROCESSES: '1', COLLOQUY_ESPEAK_MAX_WAITING: '0' },
      { maxRunning: 1, maxWaiting: 0 },
    ],
    [
      { COLLOQUY_ESPEAK_MAX_PROCESSES: '256', COLLOQUY_ESPEAK_MAX_WAITING: '100000' },
      { maxRunning: 256, maxWaiting: 100000 },
    ],
    [
      { COLLOQUY_ESPEAK_MAX_PROCESSES: '7', COLLOQUY_ESPEAK_MAX_WAITING: '' },
      { maxRunning: 7, maxWaiting: 256 },
    ],
  ])('%j → %j', (env, expected) => {
    expect(slots(env)).toEqual(expected);
  });

  it.each([
    [
      'COLLOQUY_ESPEAK_MAX_PROCESSES',
      '0',
      'COLLOQUY_ESPEAK_MAX_PROCESSES must be an integer from 1 to 256, got "0"',
    ],
    [
      'COLLOQUY_ESPEAK_MAX_PROCESSES',
      '257',
      'COLLOQUY_ESPEAK_MAX_PROCESSES must be an integer from 1 to 256, got "257"',
    ],
    [
      'COLLOQUY_ESPEAK_MAX_PROCESSES',
      ' 4',
      'COLLOQUY_ESPEAK_MAX_PROCESSES must be an integer from 1 to 256, got " 4"',
    ],
    [
      'COLLOQUY_ESPEAK_MAX_PROCESSES',
      '4x',
      'COLLOQUY_ESPEAK_MAX_PROCESSES must be an integer from 1 to 256, got "4x"',
    ],
    [
      'COLLOQUY_ESPEAK_MAX_WAITING',
      '100001',
      'COLLOQUY_ESPEAK_MAX_WAITING must be an integer from 0 to 100000, got "100001"',
    ],
  ])('%s=%j → %s', (name, value, message) => {
    expect(() => resolveTts('espeak', { [name]: value })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message }),
    );
  });

  it('the voice of espeak:VOICE, en-us without one', () => {
    const voice = (spec: string) => (resolveTts(spec, {}) as unknown as { voice: string }).voice;
    expect(voice('espeak:de')).toBe('de');
    expect(voice('espeak')).toBe('en-us');
  });
});

describe('openai-compatible requests: the URL and the key', () => {
  beforeAll(() => {
    for (const name of PROVIDER_PACKAGES) requireOptional(name, name);
  }, 120_000);

  it('the LLM of COLLOQUY_OPENAI_COMPATIBLE_BASE_URL with COLLOQUY_OPENAI_COMPATIBLE_API_KEY', async () => {
    await withServer(async (url, seen) => {
      const model = resolveLanguageModel('openai-compatible:llama3', {
        COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: url,
        COLLOQUY_OPENAI_COMPATIBLE_API_KEY: 'local-key',
      });
      await expect(generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toThrow();
      expect(seen).toEqual([{ path: '/v1/chat/completions', authorization: 'Bearer local-key' }]);
    });
  });

  it('the STT of COLLOQUY_OPENAI_COMPATIBLE_BASE_URL, with the key "none" when no key is set, or the key', async () => {
    const audio = async function* () {
      yield new Int16Array(160);
    };
    const transcribe = async (env: Record<string, string>) => {
      const stt = resolveStt('openai-compatible:whisper-1', env);
      for await (const _ of stt.transcribe(audio(), { sampleRate: 16000 }));
    };
    await withServer(async (url, seen) => {
      await expect(transcribe({ COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: url })).rejects.toThrow();
      await expect(
        transcribe({ COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: url, COLLOQUY_OPENAI_COMPATIBLE_API_KEY: 'k2' }),
      ).rejects.toThrow();
      expect(seen).toEqual([
        { path: '/v1/audio/transcriptions', authorization: 'Bearer none' },
        { path: '/v1/audio/transcriptions', authorization: 'Bearer k2' },
      ]);
    });
  });
});

describe('defaultSpecs', () => {
  it('cloud models with an OpenAI key, the offline demo without one', () => {
    expect(defaultSpecs({ OPENAI_API_KEY: 'sk' }, '/demo')).toEqual({
      llm: 'openai:gpt-4.1-mini',
      stt: 'openai:gpt-4o-mini-transcribe',
      tts: 'openai:gpt-4o-mini-tts',
      vad: 'silero',
    });
    expect(defaultSpecs({ OPENAI_API_KEY: '' }, '/demo')).toEqual({
      llm: 'scripted:/demo/demo-script.json',
      stt: 'pocketsphinx:/demo/demo.jsgf',
      tts: 'espeak',
      vad: 'silero',
    });
  });
});
