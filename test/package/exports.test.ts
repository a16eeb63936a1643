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

  it('internal modules are not reachable through the package name', async () => {
    const internal = ['colloquy', 'src', 'session', 'turn.ts'].join('/');
    await expect(import(/* @vite-ignore */ internal)).rejects.toThrow();
  });
});
