/**
 * `limitsFromEnv` and `resolveLimits` as tables: every variable read into its limit, blank values
 * skipped, non-integers refused with the exact message; layers with undefined values; the exact text
 * of refused values (each named with its variable, all of them joined), and the audio buffer kept
 * below the close buffer.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, LIMIT_ENV, limitsFromEnv, resolveLimits, type ServerLimits } from './limits.ts';

describe('limitsFromEnv', () => {
  it('reads every variable into its own limit', () => {
    const env = Object.fromEntries(Object.values(LIMIT_ENV).map((name, i) => [name, String(1000 + i)]));
    expect(limitsFromEnv(env)).toEqual(
      Object.fromEntries(Object.keys(LIMIT_ENV).map((key, i) => [key, 1000 + i])),
    );
  });

  it.each([
    [{}, {}],
    [{ COLLOQUY_MAX_SESSIONS: '' }, {}],
    [{ COLLOQUY_MAX_SESSIONS: '   ' }, {}],
    [{ COLLOQUY_MAX_SESSIONS: ' 7 ' }, { maxSessions: 7 }],
    [{ COLLOQUY_MAX_SESSIONS: '1e3' }, { maxSessions: 1000 }],
    [{ COLLOQUY_MAX_SESSIONS: '-3' }, { maxSessions: -3 }],
    [{ COLLOQUY_MAX_SESSIONS: '0', OTHER: '5' }, { maxSessions: 0 }],
  ])('%j → %j', (env, limits) => {
    expect(limitsFromEnv(env)).toEqual(limits);
  });

  it.each(['1.5', 'lots', 'NaN', 'Infinity', '0x'])('%j is refused naming the variable', (value) => {
    expect(() => limitsFromEnv({ COLLOQUY_READY_TIMEOUT_MS: value })).toThrow(
      expect.objectContaining({
        code: 'invalid_limits',
        message: `COLLOQUY_READY_TIMEOUT_MS must be a whole number, got "${value}"`,
      }),
    );
  });
});

describe('resolveLimits', () => {
  it('undefined layers and undefined values leave the defaults', () => {
    expect(resolveLimits(undefined, { maxSessions: undefined }, {})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxSessions: 5 }, { maxSessions: undefined })).toEqual({
      ...DEFAULT_LIMITS,
      maxSessions: 5,
    });
  });

  it.each<[Partial<Record<keyof ServerLimits | 'bogus', number>>, string]>([
    [{ maxSessions: 0 }, 'limits.maxSessions (COLLOQUY_MAX_SESSIONS): Too small: expected number to be >=1'],
    [
      { readyTimeoutMs: 600_001 },
      'limits.readyTimeoutMs (COLLOQUY_READY_TIMEOUT_MS): Too big: expected number to be <=600000',
    ],
    [
      { maxSessions: 0, connectBurst: 0 },
      'limits.maxSessions (COLLOQUY_MAX_SESSIONS): Too small: expected number to be >=1; limits.connectBurst (COLLOQUY_CONNECT_BURST): Too small: expected number to be >=1',
    ],
    [{ bogus: 1 }, 'limits.: Unrecognized key: "bogus"'],
    [
      { wsAudioBufferBytes: 1024 * 1024, wsCloseBufferBytes: 1024 * 1024 },
      'limits.wsAudioBufferBytes (1048576) must be below limits.wsCloseBufferBytes (1048576)',
    ],
  ])('%j → %s', (layer, message) => {
    expect(() => resolveLimits(layer as never)).toThrow(
      expect.objectContaining({ code: 'invalid_limits', message }),
    );
  });

  it('an audio buffer one byte below the close buffer is taken', () => {
    const limits = resolveLimits({ wsAudioBufferBytes: 1024 * 1024, wsCloseBufferBytes: 1024 * 1024 + 1 });
    expect(limits).toMatchObject({ wsAudioBufferBytes: 1024 * 1024, wsCloseBufferBytes: 1024 * 1024 + 1 });
  });
});
