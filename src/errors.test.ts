import { describe, expect, it, vi } from 'vitest';
import { ColloquyError, isColloquyError, ProviderError, TimeoutError, toColloquyError } from './errors.ts';

describe('isColloquyError', () => {
  it('recognises ColloquyErrors and their subclasses, and nothing else', () => {
    expect(isColloquyError(new ProviderError('tts_failed', 'down'))).toBe(true);
    expect(isColloquyError(new TimeoutError('LLM', 10))).toBe(true);
    expect(isColloquyError(new Error('plain'))).toBe(false);
    expect(isColloquyError({ code: 'tts_failed', message: 'look-alike', retryable: false })).toBe(false);
    expect(isColloquyError(null)).toBe(false);
    expect(isColloquyError('tts_failed')).toBe(false);
  });

  it('with a code, checks the code too', () => {
    const err: unknown = new ProviderError('tts_failed', 'down');
    expect(isColloquyError(err, 'tts_failed')).toBe(true);
    expect(isColloquyError(err, 'stt_failed')).toBe(false);
  });

  it('recognises an error made by another copy of the package, where instanceof fails', async () => {
    vi.resetModules();
    const other = (await import('./errors.ts')) as typeof import('./errors.ts');
    expect(other.ColloquyError).not.toBe(ColloquyError);
    const foreign: unknown = new other.ProviderError('stt_failed', 'from the other copy');
    expect(foreign instanceof ColloquyError).toBe(false);
    expect(isColloquyError(foreign, 'stt_failed')).toBe(true);
    // …and toColloquyError keeps it as it is instead of wrapping it as internal_error.
    expect(toColloquyError(foreign)).toBe(foreign);
    expect(other.isColloquyError(new ColloquyError('timeout', 'this copy'))).toBe(true);
  });

  it('the mark does not show up in JSON or enumeration', () => {
    const err = new ProviderError('tts_failed', 'down', { retryable: true });
    expect(Object.keys(err)).not.toContain(Symbol.for('colloquy.error').toString());
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'ProviderError',
      code: 'tts_failed',
      message: 'down',
      retryable: true,
    });
  });
});
