import { describe, expect, it } from 'vitest';

describe('package exports map', () => {
  it('"colloquy" exposes the core surface', async () => {
    const core = await import('colloquy');
    for (const name of [
      'VoiceSession',
      'EventBus',
      'attachHooks',
      'defineAgent',
      'defineTool',
      'ColloquyError',
      'InvalidInputError',
      'buildDeclarativeTools',
      'parseDeclarativeTools',
      'InMemoryMemoryStore',
      'VoiceAgent',
      'VideoAgent',
      'ClientChannels',
      'toolContext',
    ]) {
      expect(core, name).toHaveProperty(name);
    }
  });

  it('"colloquy/testing" exposes mocks for every model interface, including the AI SDK ones', async () => {
    const testing = await import('colloquy/testing');
    for (const name of [
      'mockLanguageModel',
      'MockLanguageModelV3',
      'MockSpeechModelV3',
      'MockTranscriptionModelV3',
      'MockVad',
      'MockStt',
      'MockTts',
      'EventRecorder',
    ]) {
      expect(testing, name).toHaveProperty(name);
    }
  });

  it('"colloquy" also exposes audio helpers, the speech pipeline and the embedded providers', async () => {
    const core = await import('colloquy');
    for (const name of [
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
    ]) {
      expect(core, name).toHaveProperty(name);
    }
  });

  it('"colloquy/server" exposes the server and the RTVI surface', async () => {
    const server = await import('colloquy/server');
    for (const name of [
      'startServer',
      'createApp',
      'loadServerConfig',
      'createRtviSession',
      'resolveLanguageModel',
    ]) {
      expect(server, name).toHaveProperty(name);
    }
    expect(server.rtvi).toHaveProperty('RtviProjection');
  });

  it('"colloquy/testing/conformance" exposes the interface conformance suites', async () => {
    const conformance = await import('colloquy/testing/conformance');
    for (const name of ['describeVadModel', 'describeSttModel', 'describeTtsModel']) {
      expect(conformance, name).toHaveProperty(name);
    }
  });

  it('internal modules are not reachable through the package name', async () => {
    const internal = ['colloquy', 'src', 'session', 'turn.ts'].join('/');
    await expect(import(/* @vite-ignore */ internal)).rejects.toThrow();
  });
});
