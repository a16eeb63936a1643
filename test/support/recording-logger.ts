import type { Logger } from '../../src/logger.ts';

/** A logger that keeps its lines, `[level, message, ...meta]`, for tests that read what was logged. */
export function recordingLogger(): { logger: Logger; lines: unknown[][] } {
  const lines: unknown[][] = [];
  const at =
    (level: string) =>
    (message: string, ...meta: unknown[]) =>
      void lines.push([level, message, ...meta]);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}
