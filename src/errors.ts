/**
 * Every error Colloquy raises or publishes is a `ColloquyError` with a stable `code`,
 * a `retryable` flag and an optional `cause`. Subclasses group codes by area.
 */
import type { ColloquyErrorCode } from './error-codes.ts';

export { type ColloquyErrorCode, ERROR_CODES, failureCode, isErrorCode } from './error-codes.ts';

export type ErrorSeverity = 'warn' | 'error' | 'fatal';

export interface ColloquyErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

/**
 * Marks every ColloquyError. `Symbol.for` gives the same symbol to every copy of this module, so the
 * check in `isColloquyError` also recognises errors made by another installed copy of Colloquy
 * (where `instanceof` is false).
 */
const MARKER = Symbol.for('colloquy.error');

/**
 * The base of every error Colloquy raises or publishes.
 *
 * @example
 * ```ts
 * import { isColloquyError } from 'colloquy';
 *
 * try {
 *   await session.sendText(text);
 * } catch (err) {
 *   if (isColloquyError(err) && err.code === 'session_closed') return; // see docs/errors.md
 *   throw err;
 * }
 * ```
 */
export class ColloquyError extends Error {
  readonly code: ColloquyErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ColloquyErrorCode, message: string, options: ColloquyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    Object.defineProperty(this, MARKER, { value: true });
  }

  toJSON(): { name: string; code: ColloquyErrorCode; message: string; retryable: boolean } {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
  }
}

/**
 * True when `value` is a ColloquyError, also one made by another installed copy of the package;
 * with `code`, only when it carries that code.
 *
 * @example
 * ```ts
 * session.eventBus.subscribe('error', ({ error }) => {
 *   if (isColloquyError(error, 'tts_failed')) console.warn('TTS failed:', error.message);
 * });
 * ```
 */
export function isColloquyError<C extends ColloquyErrorCode>(
  value: unknown,
  code?: C,
): value is ColloquyError & { readonly code: C } {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [MARKER]?: unknown })[MARKER] !== true) return false;
  return code === undefined || (value as ColloquyError).code === code;
}

/** Input from outside (client message, text, audio, tool arguments) failed validation. */
export class InvalidInputError extends ColloquyError {}
/** The session is in a state that does not allow the call (closed, destroyed, illegal transition). */
export class SessionStateError extends ColloquyError {}
/** Agent lookup or transfer problems. */
export class AgentError extends ColloquyError {}
/** A tool failed, timed out, or got arguments that fail its schema. */
export class ToolError extends ColloquyError {}
/** A model provider (LLM, STT, TTS, VAD) failed or stalled. */
export class ProviderError extends ColloquyError {}
/** Timed out waiting for something with a bounded wait. */
export class TimeoutError extends ColloquyError {
  constructor(what: string, timeoutMs: number, options: ColloquyErrorOptions = {}) {
    super('timeout', `${what} timed out after ${timeoutMs} ms`, { retryable: true, ...options });
  }
}
/** Audio with a wrong format, size or sample rate. */
export class AudioFormatError extends ColloquyError {}
/** Transport and protocol failures (WebSocket, WebRTC, RTVI). */
export class TransportError extends ColloquyError {}
/** Configuration problems (bad model spec, missing file). */
export class ConfigError extends ColloquyError {}

/** Wraps anything thrown into a ColloquyError, keeping ColloquyErrors as they are. */
export function toColloquyError(err: unknown, code: ColloquyErrorCode = 'internal_error'): ColloquyError {
  if (isColloquyError(err)) return err;
  if (err instanceof Error) return new ColloquyError(code, err.message, { cause: err });
  return new ColloquyError(code, String(err), { cause: err });
}

/**
 * The HTTP status (401 or 403) when `err`, or an error in its `cause` chain, is a provider refusing
 * the credentials (the AI SDK's `APICallError` carries `statusCode`); undefined otherwise.
 */
export function authFailureStatus(err: unknown): number | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur !== null && typeof cur === 'object'; depth++) {
    const status = (cur as { statusCode?: unknown }).statusCode;
    if (status === 401 || status === 403) return status;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'AbortError' ||
      (err as { code?: string }).code === 'ABORT_ERR' ||
      err.name === 'ResponseAborted')
  );
}

export function assertNever(value: never, what = 'value'): never {
  throw new ColloquyError('unreachable', `Unexpected ${what}: ${JSON.stringify(value)}`);
}
