/**
 * The bounds and messages of two server settings, as tables: `realtimeConfig` (the `realtime`
 * section and `COLLOQUY_REALTIME_TURN_DETECTION`; what a session's realtime options keep) and
 * `compactionConfig` (the `COLLOQUY_COMPACTION_*` integers at and past their bounds, the values of
 * `COLLOQUY_COMPACTION` that turn it off, the env model and prompt only when non-empty).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { compactionConfig } from './server-compaction.ts';
import { realtimeConfig, realtimeSessionOptions } from './server-realtime.ts';

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

describe('realtimeConfig', () => {
  it('none: undefined; the env turn detection over the file’s', () => {
    expect(realtimeConfig({}, undefined)).toBeUndefined();
    expect(realtimeConfig({}, {})).toBeUndefined();
    expect(realtimeConfig({ COLLOQUY_REALTIME_TURN_DETECTION: 'local' }, undefined)).toEqual({
      turnDetection: 'local',
    });
    expect(
      realtimeConfig(
        { COLLOQUY_REALTIME_TURN_DETECTION: 'provider' },
        { turnDetection: 'local', compression: false },
      ),
    ).toEqual({ turnDetection: 'provider', compression: false });
  });

  it.each([
    // context, accepted
    [{ targetRatio: 0.5 }, true],
    [{ targetRatio: 0.79 }, true],
    [{ targetRatio: 0.8 }, false],
    [{ targetRatio: 0.9 }, false],
    [{ triggerRatio: 0.6, targetRatio: 0.59 }, true],
    [{ triggerRatio: 0.6, targetRatio: 0.6 }, false],
    [{ triggerRatio: 0.95, targetRatio: 0.9 }, true],
    [{ triggerRatio: 0.5 }, true],
    [{ maxTokens: 32000 }, true],
  ])('context %j: accepted %s (targetRatio below triggerRatio, 0.8 by default)', (context, ok) => {
    if (ok) {
      expect(realtimeConfig({}, { context })).toEqual({ context });
      return;
    }
    const err = thrown(() => realtimeConfig({}, { context }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: 'invalid_options',
      message: 'realtime: context.targetRatio must be below triggerRatio',
    });
  });

  it('context false (no budget): accepted', () => {
    expect(realtimeConfig({}, { context: false })).toEqual({ context: false });
  });

  it.each([
    [{ COLLOQUY_REALTIME_TURN_DETECTION: 'server' }, undefined],
    [{}, { turnDetection: 'both' }],
    [{}, { providerTurnDetection: { silenceMs: 10_001 } }],
    [{}, { unknown: 1 }],
  ])('a bad value (%j %j): ConfigError invalid_options, prefixed `realtime: `', (env, section) => {
    const err = thrown(() => realtimeConfig(env, section as never));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'invalid_options', message: expect.stringMatching(/^realtime: \S/) });
  });

  it('a session’s realtime options: turn detection and provider turn detection only, when set', () => {
    expect(realtimeSessionOptions(undefined)).toStrictEqual({});
    expect(realtimeSessionOptions({ compression: false, context: false })).toStrictEqual({});
    expect(
      realtimeSessionOptions({
        turnDetection: 'local',
        providerTurnDetection: { mode: 'semantic_vad', eagerness: 'low' },
        compression: { triggerTokens: 10 },
      }),
    ).toStrictEqual({
      turnDetection: 'local',
      providerTurnDetection: { mode: 'semantic_vad', eagerness: 'low' },
    });
  });
});

describe('compactionConfig bounds', () => {
  it.each([
    // name, value, accepted
    ['COLLOQUY_COMPACTION_MAX_TOKENS', '100', true],
    ['COLLOQUY_COMPACTION_MAX_TOKENS', '99', false],
    ['COLLOQUY_COMPACTION_MAX_TOKENS', '10000000', true],
    ['COLLOQUY_COMPACTION_MAX_TOKENS', '10000001', false],
    ['COLLOQUY_COMPACTION_MAX_TOKENS', '1500.5', false],
    ['COLLOQUY_COMPACTION_MAX_CHARS', '400', true],
    ['COLLOQUY_COMPACTION_MAX_CHARS', '399', false],
    ['COLLOQUY_COMPACTION_MAX_CHARS', '40000000', true],
    ['COLLOQUY_COMPACTION_MAX_CHARS', '40000001', false],
  ])('%s=%s: accepted %s', (name, value, ok) => {
    const key = name.endsWith('TOKENS') ? 'maxTokens' : 'maxChars';
    const [min, max] = key === 'maxTokens' ? [100, 10_000_000] : [400, 40_000_000];
    if (ok) {
      expect(compactionConfig({ [name]: value }, undefined)).toEqual({ [key]: Number(value) });
      return;
    }
    const err = thrown(() => compactionConfig({ [name]: value }, undefined));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: 'invalid_compaction',
      message: `${name} must be an integer ${min}-${max}, got ${value}`,
    });
  });

  it('the refused value is quoted up to 40 characters', () => {
    const raw = `x${'9'.repeat(60)}`;
    expect(thrown(() => compactionConfig({ COLLOQUY_COMPACTION_MAX_TOKENS: raw }, undefined))).toMatchObject({
      message: `COLLOQUY_COMPACTION_MAX_TOKENS must be an integer 100-10000000, got ${raw.slice(0, 40)}`,
    });
  });

  it('empty env values count as unset (the file’s settings stay)', () => {
    expect(
      compactionConfig(
        {
          COLLOQUY_COMPACTION_MAX_TOKENS: '',
          COLLOQUY_COMPACTION_MAX_CHARS: '',
          COLLOQUY_COMPACTION_MODEL: '',
          COLLOQUY_COMPACTION_PROMPT: '',
        },
        { maxChars: 5000, model: 'scripted:a.json', prompt: 'Short.' },
      ),
    ).toEqual({ maxChars: 5000, model: 'scripted:a.json', prompt: 'Short.' });
  });

  it.each([
    ['0', undefined],
    ['false', undefined],
    ['OFF', undefined],
    ['No', undefined],
    ['on', { maxTokens: 8000 }],
    ['offline', { maxTokens: 8000 }],
    ['1', { maxTokens: 8000 }],
  ])('COLLOQUY_COMPACTION=%s over a configured section → %j', (value, expected) => {
    expect(compactionConfig({ COLLOQUY_COMPACTION: value }, { maxTokens: 8000 })).toEqual(expected);
  });

  it('a budget in the env with nothing else configured turns it on; both budgets kept', () => {
    expect(
      compactionConfig(
        { COLLOQUY_COMPACTION_MAX_TOKENS: '3000', COLLOQUY_COMPACTION_MAX_CHARS: '9000' },
        undefined,
      ),
    ).toEqual({ maxTokens: 3000, maxChars: 9000 });
  });

  it('settings without a budget: ConfigError naming both ways to set one', () => {
    expect(thrown(() => compactionConfig({}, { triggerRatio: 0.5 }))).toMatchObject({
      code: 'invalid_compaction',
      message:
        'compaction needs a budget: maxTokens or maxChars (COLLOQUY_COMPACTION_MAX_TOKENS / _MAX_CHARS)',
    });
  });
});
