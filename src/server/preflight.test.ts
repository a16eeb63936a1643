import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasOptional } from '../optional-dependency.ts';
import { checkEnv, preflight } from './preflight.ts';

/** Start checks of a setup whose other models need nothing (energy VAD). */
const check = (env: Record<string, string>) =>
  preflight({ COLLOQUY_VAD: 'energy', COLLOQUY_TTS: 'espeak', COLLOQUY_STT: 'openai:whisper-1', ...env });

describe('start checks: speech-to-speech models', () => {
  it('accepts openai-realtime: and google-live: specs with their keys', async () => {
    expect(
      (await check({ COLLOQUY_LLM: 'openai-realtime:gpt-realtime', OPENAI_API_KEY: 'sk-test' })).problems,
    ).toEqual([]);
    expect(
      (
        await check({
          COLLOQUY_LLM: 'google-live:gemini-2.5-flash-native-audio-preview-12-2025',
          GOOGLE_GENERATIVE_AI_API_KEY: 'g-test',
          OPENAI_API_KEY: 'sk-test',
        })
      ).problems,
    ).toEqual([]);
  });

  it('names the missing key of a speech-to-speech model', async () => {
    expect(
      (await check({ COLLOQUY_LLM: 'google-live:gemini-live', OPENAI_API_KEY: 'sk-test' })).problems,
    ).toEqual(['LLM "google-live:gemini-live" needs an API key: set GOOGLE_GENERATIVE_AI_API_KEY']);
  });
});

describe('start checks: environment values', () => {
  it.each([
    [{ PORT: '0' }, []],
    [{ PORT: '8080' }, []],
    [{ PORT: '65535' }, []],
    [{ PORT: '-1' }, ['PORT="-1" is not a port: set a whole number from 0 to 65535']],
    [{ PORT: '65536' }, ['PORT="65536" is not a port: set a whole number from 0 to 65535']],
    [{ PORT: '80.5' }, ['PORT="80.5" is not a port: set a whole number from 0 to 65535']],
    [{ PORT: ' ' }, ['PORT=" " is not a port: set a whole number from 0 to 65535']],
    [{ COLLOQUY_IDLE_TIMEOUT_MS: '30000' }, []],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '0' },
      ['COLLOQUY_IDLE_TIMEOUT_MS="0" is not a duration: set a positive whole number of milliseconds'],
    ],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '1.5' },
      ['COLLOQUY_IDLE_TIMEOUT_MS="1.5" is not a duration: set a positive whole number of milliseconds'],
    ],
    [
      { COLLOQUY_IDLE_TIMEOUT_MS: '' },
      ['COLLOQUY_IDLE_TIMEOUT_MS="" is not a duration: set a positive whole number of milliseconds'],
    ],
    [{ COLLOQUY_LOG_LEVEL: 'warn' }, []],
    [{ COLLOQUY_LOG_FORMAT: 'json' }, []],
    [{ COLLOQUY_LOG_FORMAT: 'xml' }, ['COLLOQUY_LOG_FORMAT="xml" is not a format: use human or json']],
    [
      { COLLOQUY_LOG_LEVEL: 'loud' },
      ['COLLOQUY_LOG_LEVEL="loud" is not a level: use debug, info, warn, error, silent'],
    ],
    [{ HOST: '127.0.0.1' }, []],
    [
      { HOST: 'bad host!' },
      ['HOST="bad host!" is not an address: set an IP address or a host name (default 0.0.0.0)'],
    ],
  ])('%j → %j', async (env, problems) => {
    expect(await checkEnv(env)).toEqual(problems);
  });

  it('a host name must resolve', async () => {
    expect(await checkEnv({ HOST: 'localhost' })).toEqual([]);
    expect(await checkEnv({ HOST: 'no-such-host.invalid' })).toEqual([
      'HOST="no-such-host.invalid" does not resolve: set an IP address or a host name of this machine',
    ]);
  });

  it('a pocketsphinx grammar file that does not exist is named', async () => {
    const result = await check({ COLLOQUY_STT: 'pocketsphinx:/no/such/grammar.jsgf' });
    expect(result.problems).toEqual([
      'STT "pocketsphinx:/no/such/grammar.jsgf": grammar file /no/such/grammar.jsgf not found: fix the path',
    ]);
  });

  it('a speech-to-text spec that cannot be built is named as the STT, with what to set', async () => {
    const result = await check({ COLLOQUY_STT: 'openai-compatible:whisper-1' });
    expect(result.problems).toEqual([
      'STT "openai-compatible:whisper-1": openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL',
    ]);
  });

  it('a bad PORT or idle timeout stops the checks before the config is loaded', async () => {
    const result = await check({ PORT: '-1', COLLOQUY_CONFIG: '/no/such/config.json' });
    expect(result.problems).toEqual(['PORT="-1" is not a port: set a whole number from 0 to 65535']);
    expect(result.config).toBeUndefined();
  });
});

describe('start checks: knowledge-base tools and optional transports', () => {
  it('names a kb tool whose documents file cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-preflight-'));
    const config = join(dir, 'config.json');
    const tools = [{ name: 'faq', kind: 'kb', description: 'Answers', config: { file: 'missing.json' } }];
    writeFileSync(config, JSON.stringify({ tools }));
    const { problems } = await check({ COLLOQUY_CONFIG: config, OPENAI_API_KEY: 'sk-test' });
    expect(problems).toEqual([`tool "faq": cannot read ${join(dir, 'missing.json')}`]);
  });

  it('notes that SmallWebRTC is off exactly when @roamhq/wrtc is not installed', async () => {
    const { notices } = await check({ OPENAI_API_KEY: 'sk-test' });
    const off = notices.filter((n) => n.startsWith('SmallWebRTC is off'));
    expect(off).toHaveLength(hasOptional('@roamhq/wrtc') ? 0 : 1);
  });
});

describe('start checks: Silero options in a VAD spec', () => {
  it('checks the VAD specs of COLLOQUY_VAD and of the config file: options and the model file without them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-preflight-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        models: { vad: 'silero?inference=worker&runTimeoutMs=2500' },
        configurations: {
          broken: { models: { vad: 'silero?inference=worker&runTimeoutMs=soon' } },
          elsewhere: { models: { vad: 'silero:/no/such/silero.onnx?inference=worker' } },
        },
      }),
    );
    const { problems } = await check({
      COLLOQUY_CONFIG: config,
      COLLOQUY_VAD: 'silero?inference=gpu',
      OPENAI_API_KEY: 'sk-test',
    });
    expect(problems).toEqual([
      'VAD "silero?inference=gpu": inference must be main or worker, got "gpu" in "silero?inference=gpu"',
      'VAD "silero?inference=worker&runTimeoutMs=soon": runTimeoutMs must be a whole number of ms from 1 to 60000, got "soon" in "silero?inference=worker&runTimeoutMs=soon"',
      'VAD "silero:/no/such/silero.onnx?inference=worker": Silero model file /no/such/silero.onnx not found: fix the path',
    ]);
    // valid specs pass: the file's default and the worker with the default model
    expect(
      (
        await check({
          COLLOQUY_CONFIG: config,
          OPENAI_API_KEY: 'sk-test',
          COLLOQUY_VAD: 'silero?inference=worker',
        })
      ).problems,
    ).toEqual(problems.slice(1));
  });
});
