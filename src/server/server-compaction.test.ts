import { describe, expect, it } from 'vitest';
import { compactionConfig, serverCompaction } from './server-compaction.ts';
import { ModelCache } from './session-factory.ts';

describe('server compaction config', () => {
  it('is off without a section or env; the file section and the env (which wins) set it', () => {
    expect(compactionConfig({}, undefined)).toBeUndefined();
    expect(
      compactionConfig({}, { maxTokens: 8000, model: 'openai:gpt-4.1-mini', prompt: 'Sum up.' }),
    ).toEqual({
      maxTokens: 8000,
      model: 'openai:gpt-4.1-mini',
      prompt: 'Sum up.',
    });
    expect(
      compactionConfig(
        {
          COLLOQUY_COMPACTION_MAX_TOKENS: '2000',
          COLLOQUY_COMPACTION_MODEL: 'scripted:s.json',
          COLLOQUY_COMPACTION_PROMPT: 'Be short.',
        },
        { maxTokens: 8000, keepRecent: 4, triggerRatio: 0.5 },
      ),
    ).toEqual({
      maxTokens: 2000,
      keepRecent: 4,
      triggerRatio: 0.5,
      model: 'scripted:s.json',
      prompt: 'Be short.',
    });
    expect(compactionConfig({ COLLOQUY_COMPACTION_MAX_CHARS: '4000' }, undefined)).toEqual({
      maxChars: 4000,
    });
    expect(compactionConfig({ COLLOQUY_COMPACTION: 'off' }, { maxTokens: 8000 })).toBeUndefined();
  });

  it.each([
    [
      { COLLOQUY_COMPACTION_MAX_TOKENS: 'lots' },
      undefined,
      'COLLOQUY_COMPACTION_MAX_TOKENS must be an integer',
    ],
    [{ COLLOQUY_COMPACTION_MAX_CHARS: '10' }, undefined, 'COLLOQUY_COMPACTION_MAX_CHARS must be an integer'],
    [{}, { keepRecent: 4 }, 'needs a budget'],
    [{ COLLOQUY_COMPACTION_PROMPT: 'x' }, undefined, 'needs a budget'],
    [{}, { maxTokens: 8000, triggerRatio: 3 }, 'compaction: triggerRatio'],
    [{}, { maxTokens: 8000, extra: 1 } as never, 'compaction: Unrecognized key: "extra"'],
  ])('refuses bad settings with ConfigError (%#)', (env, section, message) => {
    expect(() => compactionConfig(env, section)).toThrowError(
      expect.objectContaining({ code: 'invalid_compaction', message: expect.stringContaining(message) }),
    );
  });
});

describe("serverCompaction: the sessions' compaction options", () => {
  it('passes each configured setting on, the summary model resolved; none without a section', () => {
    const models = new ModelCache(process.cwd());
    expect(serverCompaction({}, models)).toBeUndefined();
    // Unset settings are absent (not undefined keys over the session's defaults).
    expect(serverCompaction({ compaction: { maxChars: 9000 } }, models)).toStrictEqual({ maxChars: 9000 });
    const all = serverCompaction(
      {
        compaction: {
          maxTokens: 8000,
          triggerRatio: 0.5,
          keepRecent: 3,
          model: 'openai-compatible:summary@http://127.0.0.1:9/v1',
          prompt: 'Summarise.',
        },
      },
      models,
    );
    expect(all).toMatchObject({ maxTokens: 8000, triggerRatio: 0.5, keepRecent: 3, prompt: 'Summarise.' });
    expect(all?.model).toBe(models.llm('openai-compatible:summary@http://127.0.0.1:9/v1'));
  });
});
