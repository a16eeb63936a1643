import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { resolveStt } from './model-spec.ts';

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
