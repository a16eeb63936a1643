import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateText } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { requireOptional } from '../optional-dependency.ts';
import { EspeakTts } from '../providers/local/espeak-tts.ts';
import { defaultSileroModelPath, SileroVad, sileroTestHooks } from '../providers/local/silero-vad.ts';
import { parseVadSpec, resolveLanguageModel, resolveStt, resolveTts, resolveVad } from './model-spec.ts';

describe('model spec: deepgram:MODEL', () => {
  it('builds a streaming Deepgram STT with the key and endpoint from the environment', () => {
    const stt = resolveStt('deepgram:nova-3', {
      DEEPGRAM_API_KEY: 'k',
      COLLOQUY_DEEPGRAM_URL: 'ws://127.0.0.1:9/v1/listen',
    });
    expect(stt.provider).toBe('deepgram');
    expect(stt.modelId).toBe('nova-3');
  });

  it('fails at start with a typed error naming the missing key, or the missing model', () => {
    expect(() => resolveStt('deepgram:nova-3', {})).toThrow(ConfigError);
    expect(() => resolveStt('deepgram:nova-3', {})).toThrow(/DEEPGRAM_API_KEY/);
    expect(() => resolveStt('deepgram', { DEEPGRAM_API_KEY: 'k' })).toThrow(/deepgram:MODEL/);
  });
});

describe('model spec: espeak[:VOICE] and its process pool', () => {
  it('COLLOQUY_ESPEAK_MAX_PROCESSES and COLLOQUY_ESPEAK_MAX_WAITING bound the programs and the queue', () => {
    const tts = resolveTts('espeak:en-gb', {
      COLLOQUY_ESPEAK_MAX_PROCESSES: '3',
      COLLOQUY_ESPEAK_MAX_WAITING: '0',
    }) as EspeakTts;
    expect(tts).toBeInstanceOf(EspeakTts);
    expect(tts.slots).toMatchObject({ maxRunning: 3, maxWaiting: 0 });
    expect((resolveTts('espeak', {}) as EspeakTts).slots.maxWaiting).toBe(256);
  });

  it('speaks with the voice the spec names', async () => {
    const speak = async (tts: EspeakTts) => {
      const parts: Int16Array[] = [];
      for await (const chunk of tts.synthesize({ text: 'Guten Tag.' })) parts.push(chunk);
      return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    };
    const german = await speak(resolveTts('espeak:de', {}) as EspeakTts);
    expect(german.equals(await speak(new EspeakTts({ voice: 'de' })))).toBe(true);
    // Not the default voice (en-us): the same words come out differently.
    expect(german.equals(await speak(resolveTts('espeak', {}) as EspeakTts))).toBe(false);
  });

  it('refuses values that are not integers in range, naming the variable', () => {
    for (const [name, value] of [
      ['COLLOQUY_ESPEAK_MAX_PROCESSES', '0'],
      ['COLLOQUY_ESPEAK_MAX_PROCESSES', '2.5'],
      ['COLLOQUY_ESPEAK_MAX_PROCESSES', '1000'],
      ['COLLOQUY_ESPEAK_MAX_WAITING', '-1'],
      ['COLLOQUY_ESPEAK_MAX_WAITING', 'lots'],
    ] as const) {
      expect(() => resolveTts('espeak', { [name]: value }), `${name}=${value}`).toThrow(
        expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining(name) }),
      );
    }
    expect(() => resolveTts('espeak', { COLLOQUY_ESPEAK_MAX_WAITING: 'x' })).toThrow(ConfigError);
  });
});

describe('model spec: openai-compatible:MODEL@URL', () => {
  // The provider package is a large module graph: loaded before the test, with a limit of its own (a
  // loaded mutation run gives a test 5 s).
  beforeAll(() => {
    requireOptional('@ai-sdk/openai-compatible', '@ai-sdk/openai-compatible');
  }, 120_000);

  it('sends the chat request for MODEL to the URL named after the @', async () => {
    const seen: { path?: string; model?: unknown }[] = [];
    // A local server speaking the OpenAI chat-completions wire format.
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ path: req.url, model: (JSON.parse(body) as { model?: unknown }).model });
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 0,
            model: 'llama3',
            choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const model = resolveLanguageModel(`openai-compatible:llama3@http://127.0.0.1:${port}/v1`, {});
      const { text } = await generateText({ model, prompt: 'hi' });
      expect(text).toBe('hello');
      expect(seen).toEqual([{ path: '/v1/chat/completions', model: 'llama3' }]);
    } finally {
      server.close();
    }
  });
});

describe('model spec: openai-compatible TTS', () => {
  beforeAll(() => {
    requireOptional('@ai-sdk/openai', '@ai-sdk/openai');
  }, 120_000);

  it('a spec without a model is refused, named as the TTS', () => {
    expect(() =>
      resolveTts('openai-compatible:', { COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:9/v1' }),
    ).toThrowError(
      expect.objectContaining({
        code: 'invalid_model_spec',
        message: 'TTS: "openai-compatible:" needs a model name (openai-compatible:MODEL)',
      }),
    );
  });

  it('asks the server of COLLOQUY_OPENAI_COMPATIBLE_BASE_URL for MODEL, with the key "none" when no key is set', async () => {
    const seen: { path?: string; authorization?: string; model?: unknown }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({
          path: req.url,
          authorization: req.headers.authorization,
          model: (JSON.parse(body) as { model?: unknown }).model,
        });
        res.statusCode = 400; // not retried
        res.end('{"error":{"message":"no such voice"}}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const tts = resolveTts('openai-compatible:kokoro', {
        COLLOQUY_OPENAI_COMPATIBLE_BASE_URL: `http://127.0.0.1:${port}/v1`,
      });
      const failure = await (async () => {
        for await (const _pcm of tts.synthesize({
          text: 'Hello.',
          abortSignal: new AbortController().signal,
        }));
      })().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(Error); // the server's 400
      expect(seen).toEqual([{ path: '/v1/audio/speech', authorization: 'Bearer none', model: 'kokoro' }]);
    } finally {
      server.close();
    }
  });
});

describe('model spec: silero[:MODEL][?inference=worker&runTimeoutMs=MS]', () => {
  it('inference=worker scores in a worker thread, with the run timeout the spec sets; without options in this thread', async () => {
    const frame = new Int16Array(512);
    const score = async (spec: string) => {
      const vad = resolveVad(spec) as SileroVad;
      expect(vad).toBeInstanceOf(SileroVad);
      const workers = vad.stats.workers;
      const stream = vad.createStream();
      try {
        return { p: await stream.process(frame), workers: vad.stats.workers - workers };
      } finally {
        stream.close();
        await vad.close();
      }
    };
    const inThread = await score('silero');
    expect(inThread.workers).toBe(0);
    const worker = await score(`silero:${defaultSileroModelPath()}?inference=worker`);
    expect(worker).toEqual({ p: expect.closeTo(inThread.p, 5), workers: 1 });
    // the timeout reaches the worker: one stuck at its first run is given up on after 300 ms
    sileroTestHooks.hangAtRun = 1;
    try {
      await expect(score('silero?inference=worker&runTimeoutMs=300')).rejects.toMatchObject({
        code: 'vad_inference_failed',
        message: expect.stringContaining('timed out after 300 ms'),
      });
    } finally {
      delete sileroTestHooks.hangAtRun;
    }
    expect(parseVadSpec('silero:/models/v5.onnx?runTimeoutMs=60000&inference=worker')).toEqual({
      provider: 'silero',
      model: '/models/v5.onnx',
      options: { inference: 'worker', runTimeoutMs: 60000 },
    });
    // a spec that is not a string (a config built in code) is refused like an empty one
    expect(() => parseVadSpec(undefined as unknown as string)).toThrow(
      expect.objectContaining({ code: 'invalid_model_spec', message: 'VAD: empty model spec' }),
    );
    expect(parseVadSpec('silero?inference=main')).toEqual({
      provider: 'silero',
      model: '',
      options: { inference: 'main' },
    });
  });

  it.each([
    ['silero?inference=gpu', 'inference must be main or worker, got "gpu"'],
    ['silero?inference=', 'inference must be main or worker, got ""'],
    ['silero?inference', 'inference must be main or worker, got ""'],
    ['silero?', 'unknown option "" (use inference, runTimeoutMs)'],
    ['silero?batch=4', 'unknown option "batch" (use inference, runTimeoutMs)'],
    ['silero?inference=worker&inference=main', 'option "inference" is given twice'],
    ['silero?runTimeoutMs=500', 'runTimeoutMs applies to inference=worker only'],
    ['silero?inference=main&runTimeoutMs=500', 'runTimeoutMs applies to inference=worker only'],
    [
      'silero?inference=worker&runTimeoutMs=0',
      'runTimeoutMs must be a whole number of ms from 1 to 60000, got "0"',
    ],
    ['silero?inference=worker&runTimeoutMs=60001', 'from 1 to 60000, got "60001"'],
    ['silero?inference=worker&runTimeoutMs=1.5', 'from 1 to 60000, got "1.5"'],
    ['silero?inference=worker&runTimeoutMs=1e3', 'from 1 to 60000, got "1e3"'],
    ['energy?inference=worker', 'only silero takes options after "?"'],
  ])('refuses %s with a ConfigError naming the spec', (spec, why) => {
    expect(() => resolveVad(spec)).toThrow(
      expect.objectContaining({
        code: 'invalid_model_spec',
        message: expect.stringContaining(`${why} in "${spec}"`),
      }),
    );
  });
});
