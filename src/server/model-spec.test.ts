import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { EspeakTts } from '../providers/local/espeak-tts.ts';
import { resolveStt, resolveTts } from './model-spec.ts';

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
