import { describe, expect, it } from 'vitest';
import { preflight } from './preflight.ts';

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
