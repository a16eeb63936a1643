/**
 * Logging. Colloquy logs through a `Logger`: pass your own (pino, winston, console) to any Colloquy
 * class, or use the console logger here, which writes one line per entry with the time, the level,
 * the session and turn ids, in a human format or as JSON (`COLLOQUY_LOG_FORMAT=json`).
 *
 * Lazy: a disabled level is a no-op function, and metadata (objects, errors) is only formatted when
 * the line is written, so pass objects, never pre-stringified text. The message may also be a
 * function returning the text (`logger.debug(() => expensive())`); it is called only when written.
 *
 * Secrets are never written: metadata fields named like keys, tokens, secrets, passwords or
 * authorization headers are replaced by `[redacted]`, and API-key and Bearer-token shapes are masked
 * in every written line.
 */

/** The text of a log line, or a function computing it (called only when the line is written). */
export type LogMessage = string | (() => string);

/** Minimal structured logger; pass your own (pino, winston, console) to any Colloquy class. */
export interface Logger {
  debug(message: string, ...meta: unknown[]): void;
  info(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  error(message: string, ...meta: unknown[]): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as readonly LogLevel[];
export type LogFormat = 'human' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['human', 'json'];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(LEVELS, value);
}

export function isLogFormat(value: unknown): value is LogFormat {
  return value === 'human' || value === 'json';
}

export interface ConsoleLoggerOptions {
  /** Lowest level written (default: `COLLOQUY_LOG_LEVEL`, else 'warn'). */
  level?: LogLevel;
  /** 'human' (default: `COLLOQUY_LOG_FORMAT`, else 'human') or 'json' (one object per line). */
  format?: LogFormat;
  /** Fields added to every line (e.g. `{ sessionId }`). */
  fields?: Record<string, unknown>;
  /** Where lines go (default: stdout for debug/info, stderr for warn/error). */
  write?: (line: string, level: Exclude<LogLevel, 'silent'>) => void;
  /** Clock for the `time` field (default `Date.now`). */
  now?: () => number;
}

/** A console logger that can derive children carrying more fields (session, turn). */
export interface ConsoleLogger extends Logger {
  debug(message: LogMessage, ...meta: unknown[]): void;
  info(message: LogMessage, ...meta: unknown[]): void;
  warn(message: LogMessage, ...meta: unknown[]): void;
  error(message: LogMessage, ...meta: unknown[]): void;
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** True when lines at `level` are written. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /** A logger whose lines also carry `fields`. */
  child(fields: Record<string, unknown>): ConsoleLogger;
}

const SECRET_KEY = /(api[-_]?key|token|secret|password|passwd|authorization|cookie|credential)/i;
const SECRET_TEXT: Array<[RegExp, string]> = [
  [/\b(sk|rk|pk|gsk|xai|AIza)[-_A-Za-z0-9]{16,}/g, '[redacted]'],
  [/\b(Bearer|Basic)\s+[-._~+/A-Za-z0-9]+=*/gi, '$1 [redacted]'],
];

/** Masks API-key and Bearer-token shapes in a line of text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

const MAX_DEPTH = 4;

/** A JSON-safe copy of metadata: errors as {name, code, message}, secret-named fields redacted. */
function toJsonSafe(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'function' || typeof value === 'symbol') return String(value);
    return value;
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, ...(typeof code === 'string' ? { code } : {}), message: value.message };
  }
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => toJsonSafe(v, depth + 1));
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : toJsonSafe(v, depth + 1);
  return out;
}

function humanValue(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return `${value.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${value.message}`;
  }
  if (typeof value === 'string') return value;
  const safe = toJsonSafe(value);
  return typeof safe === 'string' ? safe : JSON.stringify(safe);
}

const ID_FIELDS = ['sessionId', 'turnId'] as const;
const LEVEL_LABEL = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' } as const;

function envLevel(): LogLevel {
  const v = process.env.COLLOQUY_LOG_LEVEL;
  return isLogLevel(v) ? v : 'warn';
}

function envFormat(): LogFormat {
  const v = process.env.COLLOQUY_LOG_FORMAT;
  return isLogFormat(v) ? v : 'human';
}

const defaultWrite = (line: string, level: Exclude<LogLevel, 'silent'>) => {
  (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
};

/**
 * Creates a console logger. `createConsoleLogger('info')` keeps the older one-argument form.
 * Metadata that is a plain object is merged into the line's fields; errors and other values are
 * appended (human) or listed under `meta` (JSON).
 *
 * @example
 * ```ts
 * import { createConsoleLogger, VoiceSession } from 'colloquy';
 * import { mockLanguageModel } from 'colloquy/testing';
 *
 * const logger = createConsoleLogger({ level: 'info', format: 'json', fields: { service: 'front-desk' } });
 * logger.info('starting', { port: 8080 });
 * const session = new VoiceSession({ userId: 'u1', logger, model: mockLanguageModel(['Hi!']), agents: [{ name: 'main', instructions: 'Greet.' }] });
 * ```
 */
export function createConsoleLogger(options: LogLevel | ConsoleLoggerOptions = {}): ConsoleLogger {
  const o: ConsoleLoggerOptions = typeof options === 'string' ? { level: options } : options;
  const level = isLogLevel(o.level) ? o.level : envLevel();
  const format = isLogFormat(o.format) ? o.format : envFormat();
  const write = o.write ?? defaultWrite;
  const now = o.now ?? Date.now;
  const base = o.fields ?? {};
  const min = LEVELS[level];

  const emit = (l: Exclude<LogLevel, 'silent'>, message: LogMessage, meta: unknown[]) => {
    const text = typeof message === 'function' ? message() : message;
    const fields: Record<string, unknown> = { ...base };
    const extra: unknown[] = [];
    for (const m of meta) {
      if (m !== null && typeof m === 'object' && !(m instanceof Error) && !Array.isArray(m)) {
        Object.assign(fields, m);
      } else if (m !== undefined) {
        extra.push(m);
      }
    }
    const time = new Date(now()).toISOString();
    let line: string;
    if (format === 'json') {
      const safe = toJsonSafe(fields) as Record<string, unknown>;
      line = JSON.stringify({
        time,
        level: l,
        msg: text,
        ...safe,
        ...(extra.length ? { meta: extra.map((e) => toJsonSafe(e)) } : {}),
      });
    } else {
      const ids = ID_FIELDS.filter((k) => fields[k] !== undefined).map(
        (k) => `${k === 'sessionId' ? 'session' : 'turn'}=${String(fields[k])}`,
      );
      const rest = Object.entries(fields)
        .filter(([k, v]) => !(ID_FIELDS as readonly string[]).includes(k) && v !== undefined)
        .map(([k, v]) => `${k}=${SECRET_KEY.test(k) ? '[redacted]' : humanValue(v)}`);
      line = [
        time,
        LEVEL_LABEL[l],
        ids.length ? `[${ids.join(' ')}]` : '',
        text,
        ...extra.map(humanValue),
        ...rest,
      ]
        .filter((part) => part !== '')
        .join(' ');
    }
    write(redactSecrets(line), l);
  };

  const at = (l: Exclude<LogLevel, 'silent'>) =>
    LEVELS[l] >= min ? (message: LogMessage, ...meta: unknown[]) => emit(l, message, meta) : () => {};

  return {
    level,
    format,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    enabled: (l) => LEVELS[l] >= min,
    child: (fields) => createConsoleLogger({ ...o, level, format, fields: { ...base, ...fields } }),
  };
}

/**
 * @example
 * ```ts
 * import { consoleLogger } from 'colloquy';
 *
 * // the default logger: level from COLLOQUY_LOG_LEVEL (else 'warn'), format from COLLOQUY_LOG_FORMAT
 * consoleLogger.warn('model slow to answer', { ttfbMs: 2400 });
 * ```
 */
export const consoleLogger: Logger = createConsoleLogger();

/**
 * @example
 * ```ts
 * import { silentLogger, VoiceSession } from 'colloquy';
 * import { mockLanguageModel } from 'colloquy/testing';
 *
 * // a test that should print nothing
 * const session = new VoiceSession({ userId: 'u1', logger: silentLogger, model: mockLanguageModel(['Hi!']), agents: [{ name: 'main', instructions: 'Greet.' }] });
 * ```
 */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
