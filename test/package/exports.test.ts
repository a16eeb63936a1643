/**
 * The exports map as Node resolves it for a user: a child `node` (no source condition) imports the
 * package by name, so these names come from the built dist/ (rebuilt by test/support/build-once.ts).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** The runtime export names of `specifier`, and the file Node resolved it to. */
async function exportsOf(specifier: string): Promise<{ file: string; names: string[] }> {
  const script = `const m = await import(${JSON.stringify(specifier)});
console.log(JSON.stringify({ file: import.meta.resolve(${JSON.stringify(specifier)}), names: Object.keys(m) }));`;
  const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: root });
  return JSON.parse(stdout) as { file: string; names: string[] };
}

describe('package exports map (the built package, as Node resolves it)', () => {
  it('"colloquy" resolves to dist/ and exposes what an application builds with', async () => {
    const core = await exportsOf('colloquy');
    expect(core.file).toMatch(/\/dist\/index\.js$/);
    expect(core.names).toEqual(
      expect.arrayContaining([
        'VoiceSession',
        'EventBus',
        'attachHooks',
        'defineAgent',
        'defineTool',
        'toolContext',
        'ColloquyError',
        'InvalidInputError',
        'isColloquyError',
        'ERROR_CODES',
        'buildDeclarativeTools',
        'parseDeclarativeTools',
        'InMemoryMemoryStore',
        'VoiceAgent',
        'VideoAgent',
        'ClientChannels',
        'SileroVad',
        'EnergyVad',
        'EspeakTts',
        'PocketsphinxStt',
        'TranscriptionStt',
        'SpeechTts',
        'SpeechOutput',
        'UserAudioInput',
        'resample',
        'encodeWav',
        'decodeWav',
        'createScriptedModel',
      ]),
    );
  });

  it('"colloquy" keeps internals out: parsers, projections, tables and helpers are not exported', async () => {
    const { names } = await exportsOf('colloquy');
    for (const internal of [
      'AGENT_EVENT_TABLE',
      'NativeProjection',
      'parseClientMessage',
      'SocketLink',
      'SessionStateMachine',
      'runBounded',
      'requireOptional',
      'CLIENT_MESSAGE_TYPES',
      'failureCode',
    ]) {
      expect(names, internal).not.toContain(internal);
    }
    expect(names.length).toBeLessThan(110);
  });

  it('"colloquy/server" exposes the server and the RTVI surface, with no name that means something else in "colloquy"', async () => {
    const server = await exportsOf('colloquy/server');
    const core = await exportsOf('colloquy');
    expect(server.file).toMatch(/\/dist\/server\/index\.js$/);
    expect(server.names).toEqual(
      expect.arrayContaining([
        'startServer',
        'createApp',
        'loadServerConfig',
        'createRtviSession',
        'resolveLanguageModel',
        'requireBearer',
        'rtvi',
      ]),
    );
    expect(server.names.filter((n) => core.names.includes(n))).toEqual([]);
  });

  it('"colloquy/testing" exposes exactly the doubles, fakes and helpers a user tests with', async () => {
    const { file, names } = await exportsOf('colloquy/testing');
    expect(file).toMatch(/\/dist\/testing\/index\.js$/);
    expect([...names].sort()).toEqual([
      'EventRecorder',
      'FakeDeepgramServer',
      'FakeGeminiLiveServer',
      'FakeOpenAIRealtimeServer',
      'MockLanguageModelV3',
      'MockSpeechModelV3',
      'MockStt',
      'MockTranscriptionModelV3',
      'MockTts',
      'MockVad',
      'lastUserText',
      'mockLanguageModel',
      'peak',
      'sleep',
      'synthesizeAll',
      'tone',
      'until',
    ]);
  });

  it('"colloquy/testing/conformance" exposes the interface conformance suites', async () => {
    const { names } = await exportsOf('colloquy/testing/conformance');
    expect(names).toEqual(
      expect.arrayContaining(['describeVadModel', 'describeSttModel', 'describeTtsModel']),
    );
  });

  it('"colloquy/livekit" exposes the LiveKit routes, with no name of "colloquy" or "colloquy/server"', async () => {
    const livekit = await exportsOf('colloquy/livekit');
    expect(livekit.file).toMatch(/\/dist\/server\/livekit\.js$/);
    expect(livekit.names.sort()).toEqual(['liveKitAvailable', 'mintLiveKitToken', 'registerLiveKitRoutes']);
    const others = [...(await exportsOf('colloquy')).names, ...(await exportsOf('colloquy/server')).names];
    expect(livekit.names.filter((n) => others.includes(n))).toEqual([]);
  });

  it('internal modules are not reachable through the package name', async () => {
    await expect(exportsOf('colloquy/src/session/turn.ts')).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    await expect(exportsOf('colloquy/dist/session/turn.js')).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
