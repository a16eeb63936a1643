import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { createConsoleLogger, redactSecrets } from './logger.ts';

const T0 = Date.UTC(2026, 10, 29, 17, 30, 0, 123);

function capture(options: Parameters<typeof createConsoleLogger>[0] & object) {
  const lines: Array<{ line: string; level: string }> = [];
  const logger = createConsoleLogger({
    now: () => T0,
    write: (line, level) => lines.push({ line, level }),
    ...options,
  });
  return { logger, lines };
}

describe('console logger', () => {
  it('human lines carry time, level, session and turn ids, message, then the other fields', () => {
    const { logger, lines } = capture({ level: 'info', format: 'human' });
    logger.child({ sessionId: 's-1' }).info('turn finished', { turnId: 't-2', totalMs: 840 });
    expect(lines).toEqual([
      {
        line: '2026-11-29T17:30:00.123Z INFO  [session=s-1 turn=t-2] turn finished totalMs=840',
        level: 'info',
      },
    ]);
  });

  it('JSON lines are one object with time, level, msg and the fields; errors keep name, code, message', () => {
    const { logger, lines } = capture({ level: 'debug', format: 'json' });
    logger.warn(
      'stt failed',
      { sessionId: 's-1' },
      new ConfigError('stt_bad_grammar', 'Grammar file not found: x.jsgf'),
    );
    expect(JSON.parse(lines[0]!.line)).toEqual({
      time: '2026-11-29T17:30:00.123Z',
      level: 'warn',
      msg: 'stt failed',
      sessionId: 's-1',
      meta: [{ name: 'ConfigError', code: 'stt_bad_grammar', message: 'Grammar file not found: x.jsgf' }],
    });
    expect(lines[0]!.level).toBe('warn');
  });

  it('does no work for a disabled level: thunks are not called, objects are not read', () => {
    const { logger, lines } = capture({ level: 'warn' });
    let called = 0;
    const meta = {
      get expensive() {
        called++;
        return 1;
      },
    };
    logger.debug(() => {
      called++;
      return 'never';
    }, meta);
    logger.info('nor this', meta);
    expect(called).toBe(0);
    expect(lines).toEqual([]);
    expect(logger.enabled('debug')).toBe(false);
    logger.warn(() => 'computed when written');
    expect(lines.map((l) => l.line)).toEqual(['2026-11-29T17:30:00.123Z WARN  computed when written']);
  });

  it('never writes secrets: secret-named fields and key/token shapes are redacted', () => {
    const { logger, lines } = capture({ level: 'debug', format: 'json' });
    logger.info('calling with Bearer abc.def-123 and sk-proj-abcdefghijklmnopqrstuvwx', {
      apiKey: 'sk-live-123',
      headers: { Authorization: 'Bearer xyz' },
      authToken: 's3cret',
      model: 'gpt-4.1-mini',
    });
    const text = lines[0]!.line;
    for (const secret of ['abc.def-123', 'abcdefghijklmnopqrstuvwx', 'sk-live-123', 'xyz', 's3cret']) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text)).toMatchObject({ apiKey: '[redacted]', model: 'gpt-4.1-mini' });
    expect(redactSecrets('key=AIzaSyA1234567890abcdefghij')).toBe('key=[redacted]');
  });

  it('reads COLLOQUY_LOG_LEVEL and COLLOQUY_LOG_FORMAT when no option is given; keeps the one-argument form', () => {
    const before = { ...process.env };
    try {
      process.env.COLLOQUY_LOG_LEVEL = 'error';
      process.env.COLLOQUY_LOG_FORMAT = 'json';
      const logger = createConsoleLogger({ write: () => {} });
      expect([logger.level, logger.format]).toEqual(['error', 'json']);
      expect(createConsoleLogger('debug').level).toBe('debug');
    } finally {
      process.env.COLLOQUY_LOG_LEVEL = before.COLLOQUY_LOG_LEVEL;
      process.env.COLLOQUY_LOG_FORMAT = before.COLLOQUY_LOG_FORMAT;
      if (before.COLLOQUY_LOG_LEVEL === undefined) delete process.env.COLLOQUY_LOG_LEVEL;
      if (before.COLLOQUY_LOG_FORMAT === undefined) delete process.env.COLLOQUY_LOG_FORMAT;
    }
  });
});
