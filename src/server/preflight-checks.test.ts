/**
 * `preflight`'s checks called in process (the `colloquy start` CLI test runs them in a child process,
 * which a mutation run cannot see): each environment value's accepted and refused forms, and for each
 * model kind the exact problem line (a spec that cannot be built, a missing key, a missing program or
 * file), as tables of input → problems.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR } from './config.ts';
import { checkEnv, preflight } from './preflight.ts';

/** Models that need no key, no program check and no file (Deepgram with its key, energy VAD, eSpeak NG). */
const BASE = {
  COLLOQUY_LLM: `scripted:${join(DEMO_DIR, 'demo-script.json')}`,
  COLLOQUY_STT: 'deepgram:nova-3',
  DEEPGRAM_API_KEY: 'dg-test',
  COLLOQUY_TTS: 'espeak',
  COLLOQUY_VAD: 'energy',
};
const problemsOf = async (env: Record<string, string>) => (await preflight({ ...BASE, ...env })).problems;

function configFile(json: unknown): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-preflight-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(json));
  return { file, dir };
}

describe('checkEnv: each value accepted or refused with its line', () => {
  const port = (v: string) => `PORT=${JSON.stringify(v)} is not a port: set a whole number from 0 to 65535`;
  const idle = (v: string) =>
    `COLLOQUY_IDLE_TIMEOUT_MS=${JSON.stringify(v)} is not a duration: set a positive whole number of milliseconds`;
  const host = (v: string) =>
    `HOST=${JSON.stringify(v)} is not an address: set an IP address or a host name (default 0.0.0.0)`;
  const rtvi = (v: string) => `COLLOQUY_RTVI_EVENTS=${JSON.stringify(v)} is not a switch: use true or false`;
  it.each([
    [{}, []],
    [{ PORT: '' }, [port('')]],
    [{ PORT: 'eighty' }, [port('eighty')]],
    [{ PORT: '1' }, []],
    [{ COLLOQUY_IDLE_TIMEOUT_MS: '1' }, []],
    [{ COLLOQUY_IDLE_TIMEOUT_MS: '-5' }, [idle('-5')]],
    [{ COLLOQUY_IDLE_TIMEOUT_MS: 'soon' }, [idle('soon')]],
    [{ COLLOQUY_IDLE_TIMEOUT_MS: ' ' }, [idle(' ')]],
    [{ HOST: '' }, [host('')]],
    [{ HOST: '   ' }, [host('   ')]],
    [{ HOST: ' 127.0.0.1 ' }, []],
    [{ HOST: '::1' }, []],
    [{ HOST: '0.0.0.0' }, []],
    [{ HOST: 'x'.repeat(254) }, [host('x'.repeat(254))]],
    [{ HOST: 'under_score' }, [host('under_score')]],
    ...['1', '0', 'true', 'false', 'TRUE', 'Off', 'on', 'yes', 'no', 'NO'].map(
      (v) => [{ COLLOQUY_RTVI_EVENTS: v }, []] as const,
    ),
    [{ COLLOQUY_RTVI_EVENTS: '' }, [rtvi('')]],
    [{ COLLOQUY_RTVI_EVENTS: 'maybe' }, [rtvi('maybe')]],
    [{ COLLOQUY_RTVI_EVENTS: 'truey' }, [rtvi('truey')]],
    [{ COLLOQUY_RTVI_EVENTS: 'xtrue' }, [rtvi('xtrue')]],
    ...['debug', 'info', 'warn', 'error', 'silent'].map((v) => [{ COLLOQUY_LOG_LEVEL: v }, []] as const),
    [{ COLLOQUY_LOG_FORMAT: 'human' }, []],
    [
      {
        PORT: '70000',
        COLLOQUY_IDLE_TIMEOUT_MS: '0',
        COLLOQUY_LOG_FORMAT: 'yaml',
        COLLOQUY_RTVI_EVENTS: '2',
      },
      [port('70000'), 'COLLOQUY_LOG_FORMAT="yaml" is not a format: use human or json', idle('0'), rtvi('2')],
    ],
  ] as const)('%j → %j', async (env, problems) => {
    expect(await checkEnv(env)).toEqual(problems);
  });

  it('a well-formed host name that does not resolve is named as such, not as a bad address', async () => {
    const name = `${'a'.repeat(60)}.${'b'.repeat(60)}.invalid`;
    expect(await checkEnv({ HOST: name })).toEqual([
      `HOST="${name}" does not resolve: set an IP address or a host name of this machine`,
    ]);
  });
});

describe('preflight: what stops the checks early', () => {
  it('a bad idle timeout stops them before the config is loaded; a bad HOST does not', async () => {
    const stopped = await preflight({
      ...BASE,
      COLLOQUY_IDLE_TIMEOUT_MS: '0',
      COLLOQUY_CONFIG: '/no/such.json',
    });
    expect(stopped).toEqual({
      problems: [
        'COLLOQUY_IDLE_TIMEOUT_MS="0" is not a duration: set a positive whole number of milliseconds',
      ],
      notices: [],
    });
    const goesOn = await preflight({ ...BASE, HOST: 'bad host!', COLLOQUY_CONFIG: '/no/such.json' });
    expect(goesOn).toEqual({
      problems: [
        'HOST="bad host!" is not an address: set an IP address or a host name (default 0.0.0.0)',
        "Cannot read COLLOQUY_CONFIG /no/such.json: ENOENT: no such file or directory, open '/no/such.json'",
      ],
      notices: [],
    });
  });

  it('a valid setup: no problem, no notice, and the loaded config', async () => {
    const result = await preflight(BASE);
    expect(result.problems).toEqual([]);
    expect(result.notices).toEqual([]);
    expect(result.config?.defaults).toEqual({
      llm: BASE.COLLOQUY_LLM,
      stt: 'deepgram:nova-3',
      tts: 'espeak',
      vad: 'energy',
    });
  });
});

describe('preflight: model specs, one line each', () => {
  it.each([
    // LLM: a spec that cannot be built (the kind's own prefix not repeated), then the API keys
    [
      { COLLOQUY_LLM: 'foo:bar' },
      [
        'LLM "foo:bar": unknown provider "foo" in "foo:bar" (use openai, anthropic, google, groq, openai-compatible, scripted, openai-realtime or google-live)',
      ],
    ],
    [{ COLLOQUY_LLM: 'openai' }, ['LLM "openai": "openai" needs a model name (openai:MODEL)']],
    [
      { COLLOQUY_LLM: 'openai-realtime' },
      ['LLM "openai-realtime": "openai-realtime" needs a model name (openai-realtime:MODEL)'],
    ],
    [
      { COLLOQUY_LLM: 'openai:gpt-4.1-mini' },
      ['LLM "openai:gpt-4.1-mini" needs an API key: set OPENAI_API_KEY'],
    ],
    [{ COLLOQUY_LLM: 'openai:gpt-4.1-mini', OPENAI_API_KEY: 'sk' }, []],
    [
      { COLLOQUY_LLM: 'anthropic:claude' },
      ['LLM "anthropic:claude" needs an API key: set ANTHROPIC_API_KEY'],
    ],
    [{ COLLOQUY_LLM: 'anthropic:claude', ANTHROPIC_API_KEY: 'a' }, []],
    [
      { COLLOQUY_LLM: 'google:gemini' },
      ['LLM "google:gemini" needs an API key: set GOOGLE_GENERATIVE_AI_API_KEY'],
    ],
    [{ COLLOQUY_LLM: 'groq:llama' }, ['LLM "groq:llama" needs an API key: set GROQ_API_KEY']],
    [
      { COLLOQUY_LLM: 'groq:llama', GROQ_API_KEY: '' },
      ['LLM "groq:llama" needs an API key: set GROQ_API_KEY'],
    ],
    [
      { COLLOQUY_LLM: 'openai-realtime:gpt-realtime' },
      ['LLM "openai-realtime:gpt-realtime" needs an API key: set OPENAI_API_KEY'],
    ],
    [{ COLLOQUY_LLM: 'openai-compatible:llama3@http://127.0.0.1:9/v1' }, []],
    // STT
    [
      { COLLOQUY_STT: 'whisper' },
      [
        'STT "whisper": unknown provider "whisper" in "whisper" (use pocketsphinx, deepgram, openai, groq or openai-compatible)',
      ],
    ],
    [
      { COLLOQUY_STT: 'groq:whisper-large-v3' },
      ['STT "groq:whisper-large-v3" needs an API key: set GROQ_API_KEY'],
    ],
    [{ COLLOQUY_STT: 'openai:whisper-1' }, ['STT "openai:whisper-1" needs an API key: set OPENAI_API_KEY']],
    // TTS
    [
      { COLLOQUY_TTS: 'piper' },
      ['TTS "piper": unknown provider "piper" in "piper" (use espeak, openai or openai-compatible)'],
    ],
    [{ COLLOQUY_TTS: 'openai:tts-1' }, ['TTS "openai:tts-1" needs an API key: set OPENAI_API_KEY']],
    [
      { COLLOQUY_TTS: 'espeak', COLLOQUY_ESPEAK_MAX_PROCESSES: '0' },
      ['TTS "espeak": COLLOQUY_ESPEAK_MAX_PROCESSES must be an integer from 1 to 256, got "0"'],
    ],
    [
      { COLLOQUY_TTS: 'openai-compatible:kokoro' },
      ['TTS "openai-compatible:kokoro": openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL'],
    ],
    // VAD
    [
      { COLLOQUY_VAD: 'webrtc' },
      ['VAD "webrtc": unknown provider "webrtc" in "webrtc" (use silero or energy)'],
    ],
    [{ COLLOQUY_VAD: 'silero' }, []],
    [
      { COLLOQUY_VAD: 'silero:/no/such/v5.onnx' },
      ['VAD "silero:/no/such/v5.onnx": Silero model file /no/such/v5.onnx not found: fix the path'],
    ],
    // every kind at once, in the order LLM, STT, TTS, VAD
    [
      { COLLOQUY_LLM: 'anthropic:c', COLLOQUY_STT: 'groq:w', COLLOQUY_TTS: 'openai:t', COLLOQUY_VAD: 'x' },
      [
        'LLM "anthropic:c" needs an API key: set ANTHROPIC_API_KEY',
        'STT "groq:w" needs an API key: set GROQ_API_KEY',
        'TTS "openai:t" needs an API key: set OPENAI_API_KEY',
        'VAD "x": unknown provider "x" in "x" (use silero or energy)',
      ],
    ],
  ])('%j → %j', async (env, problems) => {
    expect(await problemsOf(env)).toEqual(problems);
  });

  it('checks the specs of the config file: its models, each configuration and each agent', async () => {
    const { file } = configFile({
      models: { llm: 'anthropic:top' },
      agents: [
        { name: 'a', instructions: 'A', model: 'groq:agent-model' },
        { name: 'b', instructions: 'B' },
      ],
      configurations: {
        one: { models: { stt: 'bogus:x', tts: 'openai:voice' } },
        two: {
          models: { vad: 'silero:/missing.onnx' },
          agents: [{ name: 'c', instructions: 'C', model: 'google:g' }],
        },
      },
    });
    // COLLOQUY_LLM etc. are unset here, so the file's own models are the defaults
    expect(
      (
        await preflight({
          COLLOQUY_CONFIG: file,
          COLLOQUY_STT: 'deepgram:nova-3',
          DEEPGRAM_API_KEY: 'k',
          COLLOQUY_TTS: 'espeak',
          COLLOQUY_VAD: 'energy',
        })
      ).problems,
    ).toEqual([
      'LLM "anthropic:top" needs an API key: set ANTHROPIC_API_KEY',
      'LLM "groq:agent-model" needs an API key: set GROQ_API_KEY',
      'LLM "google:g" needs an API key: set GOOGLE_GENERATIVE_AI_API_KEY',
      'STT "bogus:x": unknown provider "bogus" in "bogus:x" (use pocketsphinx, deepgram, openai, groq or openai-compatible)',
      'TTS "openai:voice" needs an API key: set OPENAI_API_KEY',
      'VAD "silero:/missing.onnx": Silero model file /missing.onnx not found: fix the path',
    ]);
  });
});

describe('preflight: pocketsphinx grammars', () => {
  it('a grammar that decodes passes; one pocketsphinx cannot parse is named with its error', async () => {
    expect(await problemsOf({ COLLOQUY_STT: `pocketsphinx:${join(DEMO_DIR, 'demo.jsgf')}` })).toEqual([]);
    const { dir } = configFile({});
    writeFileSync(join(dir, 'bad.jsgf'), 'this is not jsgf at all <<<\n');
    const problems = await problemsOf({ COLLOQUY_STT: `pocketsphinx:${join(dir, 'bad.jsgf')}` });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(
        `^STT "pocketsphinx:${join(dir, 'bad.jsgf')}": pocketsphinx could not decode with it \\(\\S(.*\\S)?\\): check the grammar's JSGF syntax$`,
      ),
    );
  });

  it('a relative grammar path is read from the config file directory', async () => {
    const { file, dir } = configFile({ models: { stt: 'pocketsphinx:grammar/none.jsgf' } });
    const { COLLOQUY_STT: _stt, ...rest } = BASE;
    expect((await preflight({ ...rest, COLLOQUY_CONFIG: file })).problems).toEqual([
      `STT "pocketsphinx:grammar/none.jsgf": grammar file ${join(dir, 'grammar/none.jsgf')} not found: fix the path`,
    ]);
  });
});

describe('preflight: knowledge-base tools', () => {
  it("names each kb tool that cannot load once, top-level, a configuration's and an agent's inline tool", async () => {
    const faq = { name: 'faq', kind: 'kb', description: 'Answers', config: { file: 'missing.json' } };
    const { file, dir } = configFile({
      tools: [
        faq,
        {
          name: 'ok',
          kind: 'kb',
          description: 'Fine',
          config: { documents: [{ id: 'a', text: 'A fact.' }] },
        },
      ],
      agents: [
        {
          name: 'a',
          instructions: 'A',
          tools: ['ok', { name: 'inline', kind: 'kb', description: 'Inline', config: { file: 'gone.json' } }],
        },
      ],
      // the same failing tool again in a configuration: reported once
      configurations: { other: { tools: [faq] } },
    });
    expect(await problemsOf({ COLLOQUY_CONFIG: file })).toEqual([
      `tool "faq": cannot read ${join(dir, 'missing.json')}`,
      `tool "inline": cannot read ${join(dir, 'gone.json')}`,
    ]);
  });
});
