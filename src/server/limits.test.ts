import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { loadServerConfig } from './config.ts';
import { DEFAULT_LIMITS, LIMIT_ENV, limitsFromEnv, resolveLimits } from './limits.ts';

describe('server limits', () => {
  it('defaults: every limit has a safe value', () => {
    const limits = resolveLimits();
    expect(limits).toEqual(DEFAULT_LIMITS);
    expect(limits).toMatchObject({
      connectBodyBytes: 65536,
      maxSessions: 100,
      maxSessionsPerClient: 10,
      connectsPerMinute: 120,
      connectBurst: 40,
      rtviJsonDepth: 32,
      ttsSpeakQueue: 8,
      rtviMessagesPerSecond: 50,
      micAudioSpeed: 2,
    });
    // Every limit can be set from the environment.
    expect(Object.keys(LIMIT_ENV).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  it('layers: file, then environment, then code; later wins', () => {
    const limits = resolveLimits(
      { maxSessions: 50, connectBurst: 5 },
      { maxSessions: 60 },
      { connectBurst: 7 },
    );
    expect(limits.maxSessions).toBe(60);
    expect(limits.connectBurst).toBe(7);
    expect(limits.readyTimeoutMs).toBe(30_000);
  });

  it('the environment sets limits by name', () => {
    expect(
      limitsFromEnv({
        COLLOQUY_MAX_SESSIONS_PER_CLIENT: '3',
        COLLOQUY_CONNECTS_PER_MINUTE: '30',
        OTHER: 'x',
      }),
    ).toEqual({ maxSessionsPerClient: 3, connectsPerMinute: 30 });
  });

  it.each([
    [{ maxSessionsPerClient: 0 }, /limits\.maxSessionsPerClient \(COLLOQUY_MAX_SESSIONS_PER_CLIENT\)/],
    [{ connectBodyBytes: 10 }, /limits\.connectBodyBytes/],
    [{ rtviJsonDepth: 100_000 }, /limits\.rtviJsonDepth/],
    [{ micAudioSpeed: 0 }, /limits\.micAudioSpeed \(COLLOQUY_MIC_AUDIO_SPEED\)/],
    [{ wsFramesPerSecond: 10 }, /limits\.wsFramesPerSecond/],
    [
      { wsAudioBufferBytes: 4 * 1024 * 1024, wsCloseBufferBytes: 1024 * 1024 },
      /wsAudioBufferBytes \(4194304\) must be below limits\.wsCloseBufferBytes/,
    ],
    [{ bogus: 1 } as never, /bogus|Unrecognized/],
  ])('refuses %j at start with invalid_limits', (layer, message) => {
    let error: unknown;
    try {
      resolveLimits(layer);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('invalid_limits');
    expect((error as Error).message).toMatch(message);
  });

  it('loadServerConfig: a non-number in the environment is refused, a number applied', () => {
    const base = { PORT: '0', COLLOQUY_STORE: 'memory' };
    expect(() => loadServerConfig({ ...base, COLLOQUY_MAX_SESSIONS: 'lots' })).toThrow(
      /COLLOQUY_MAX_SESSIONS must be a whole number/,
    );
    expect(() => loadServerConfig({ ...base, COLLOQUY_MAX_BODY_BYTES: '12' })).toThrow(ConfigError);
    const config = loadServerConfig({ ...base, COLLOQUY_MAX_SESSIONS: '7', COLLOQUY_TTS_SPEAK_QUEUE: '2' });
    expect(config.limits).toMatchObject({ maxSessions: 7, ttsSpeakQueue: 2, maxSessionsPerClient: 10 });
  });
});
