/** Minimal structured logger; pass your own (pino, winston, console) to any Colloquy class. */
export interface Logger {
  debug(message: string, ...meta: unknown[]): void;
  info(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  error(message: string, ...meta: unknown[]): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

export function createConsoleLogger(
  level: LogLevel = (process.env.COLLOQUY_LOG_LEVEL as LogLevel) ?? 'warn',
): Logger {
  const min = LEVELS[level] ?? LEVELS.warn;
  const at = (l: Exclude<LogLevel, 'silent'>, fn: (...a: unknown[]) => void) =>
    LEVELS[l] >= min
      ? (message: string, ...meta: unknown[]) => fn(`[colloquy] ${message}`, ...meta)
      : () => {};
  return {
    debug: at('debug', console.debug),
    info: at('info', console.info),
    warn: at('warn', console.warn),
    error: at('error', console.error),
  };
}

export const consoleLogger: Logger = createConsoleLogger();

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
