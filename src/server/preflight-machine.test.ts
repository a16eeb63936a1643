/**
 * `preflight` on a machine without what the embedded models use: `preflightProbes` stands in for the
 * PATH, the optional packages and the files, and is put back after each test. Each missing piece is
 * one exact problem or notice, and the checks of a piece stop at the first thing missing.
 */
import { describe, expect, it } from 'vitest';
import { MissingDependencyError } from '../optional-dependency.ts';
import { preflight, preflightProbes } from './preflight.ts';

const BASE = {
  COLLOQUY_LLM: 'openai:gpt-4.1-mini',
  OPENAI_API_KEY: 'sk-test',
  COLLOQUY_STT: 'openai:whisper-1',
  COLLOQUY_TTS: 'openai:gpt-4o-mini-tts',
  COLLOQUY_VAD: 'energy',
};

/** Runs `preflight(env)` with some probes replaced; what the probes were asked is recorded. */
async function onMachine(
  probes: {
    programs?: Record<string, boolean>;
    packages?: Record<string, boolean>;
    files?: Record<string, boolean>;
  },
  env: Record<string, string>,
) {
  const saved = { ...preflightProbes };
  const asked: string[] = [];
  Object.assign(preflightProbes, {
    findExecutable: async (name: string) => {
      asked.push(`program ${name}`);
      return (probes.programs?.[name] ?? true) ? `/usr/bin/${name}` : null;
    },
    hasOptional: (name: string) => {
      asked.push(`package ${name}`);
      return probes.packages?.[name] ?? saved.hasOptional(name);
    },
    existsSync: (path: string) => {
      asked.push(`file ${path}`);
      return probes.files?.[path] ?? saved.existsSync(path);
    },
  });
  try {
    const { problems, notices } = await preflight({ ...BASE, ...env });
    return { problems, notices, asked };
  } finally {
    Object.assign(preflightProbes, saved);
  }
}

describe('preflight on a machine without the embedded models’ programs and packages', () => {
  it('no pocketsphinx program: one problem, nothing more checked for it', async () => {
    const result = await onMachine(
      { programs: { pocketsphinx_continuous: false } },
      { COLLOQUY_STT: 'pocketsphinx' },
    );
    expect(result.problems).toEqual([
      'STT "pocketsphinx" needs the pocketsphinx_continuous program: apt install pocketsphinx pocketsphinx-en-us',
    ]);
    expect(result.asked.filter((a) => a.startsWith('file'))).toEqual([]);
  });

  it('no en-us acoustic model: one problem, the grammar not looked at', async () => {
    const result = await onMachine(
      { files: { '/usr/share/pocketsphinx/model/en-us': false } },
      { COLLOQUY_STT: 'pocketsphinx:/no/such/grammar.jsgf' },
    );
    expect(result.problems).toEqual([
      'STT "pocketsphinx:/no/such/grammar.jsgf" needs the en-us acoustic model (/usr/share/pocketsphinx/model/en-us): apt install pocketsphinx-en-us',
    ]);
    expect(result.asked).toContain('program pocketsphinx_continuous');
    expect(result.asked).not.toContain('file /no/such/grammar.jsgf');
  });

  it('no espeak-ng program but its npm package: a notice, no problem', async () => {
    const result = await onMachine(
      { programs: { 'espeak-ng': false }, packages: { 'espeak-ng': true } },
      { COLLOQUY_TTS: 'espeak' },
    );
    expect(result.problems).toEqual([]);
    expect(result.notices).toEqual([
      'TTS "espeak": the espeak-ng program is not on PATH, so the slower WebAssembly build speaks (apt install espeak-ng for faster speech)',
    ]);
  });

  it('neither the espeak-ng program nor its package: a problem, no notice', async () => {
    const result = await onMachine(
      { programs: { 'espeak-ng': false }, packages: { 'espeak-ng': false } },
      { COLLOQUY_TTS: 'espeak:de' },
    );
    expect(result.problems).toEqual([
      'TTS "espeak:de" needs eSpeak NG: apt install espeak-ng (or npm install espeak-ng)',
    ]);
    expect(result.notices).toEqual([]);
  });

  it('the espeak-ng program present: neither, and the package not asked about', async () => {
    const result = await onMachine({ programs: { 'espeak-ng': true } }, { COLLOQUY_TTS: 'espeak' });
    expect(result).toMatchObject({ problems: [], notices: [] });
    expect(result.asked).not.toContain('package espeak-ng');
  });

  it('without @roamhq/wrtc: the SmallWebRTC notice; with it none', async () => {
    expect((await onMachine({ packages: { '@roamhq/wrtc': false } }, {})).notices).toEqual([
      `SmallWebRTC is off: ${new MissingDependencyError('@roamhq/wrtc', 'the SmallWebRTC transport').message}`,
    ]);
    expect((await onMachine({ packages: { '@roamhq/wrtc': true } }, {})).notices).toEqual([]);
  });

  it('without @orama/orama: each kb tool named with the install command', async () => {
    const result = await onMachine({ packages: { '@orama/orama': false } }, {});
    // the bundled demo (no COLLOQUY_CONFIG) has one kb tool
    expect(result.problems).toEqual([
      `tool "hotel_faq": ${new MissingDependencyError('@orama/orama', 'Knowledge-base tools').message}`,
    ]);
  });

  it('a Silero model file that is there: no problem', async () => {
    const result = await onMachine(
      { files: { '/models/v5.onnx': true } },
      { COLLOQUY_VAD: 'silero:/models/v5.onnx' },
    );
    expect(result.problems).toEqual([]);
    expect(result.asked).toContain('file /models/v5.onnx');
  });
});
