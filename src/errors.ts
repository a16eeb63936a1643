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
 * import { isColloquyError, VoiceSession } from 'colloquy';
 *
 * async function ask(session: VoiceSession, text: string): Promise<string | undefined> {
 *   try {
 *     return (await session.sendText(text)).text;
 *   } catch (err) {
 *     if (isColloquyError(err) && err.code === 'session_closed') return undefined; // see docs/errors.md
 *     throw err;
 *   }
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
 * import { isColloquyError } from 'colloquy';
 *
 * function describe(err: unknown): string {
 *   if (isColloquyError(err, 'tts_failed')) return `speech failed: ${err.message}`; // narrowed by code
 *   if (isColloquyError(err)) return `${err.code}${err.retryable ? ' (retryable)' : ''}`;
 *   return String(err);
 * }
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

/**
 * Input from outside (client message, text, audio, tool arguments) failed validation.
 *
 * @example
 * ```ts
 * import { InvalidInputError, VoiceSession } from 'colloquy';
 *
 * async function ask(session: VoiceSession, text: string): Promise<string> {
 *   try {
 *     return (await session.sendText(text)).text;
 *   } catch (err) {
 *     // empty_text, text_too_long, …: the input was refused, the session goes on
 *     if (err instanceof InvalidInputError) return `Please rephrase (${err.code}).`;
 *     throw err;
 *   }
 * }
 * ```
 */
export class InvalidInputError extends ColloquyError {}
/**
 * The session is in a state that does not allow the call (closed, destroyed, illegal transition).
 *
 * @example
 * ```ts
 * import { SessionStateError, VoiceSession } from 'colloquy';
 *
 * async function sayBye(session: VoiceSession): Promise<void> {
 *   try {
 *     await session.speak('Goodbye!');
 *   } catch (err) {
 *     if (err instanceof SessionStateError && err.code === 'session_closed') return; // already gone
 *     throw err;
 *   }
 * }
 * ```
 */
export class SessionStateError extends ColloquyError {}
/**
 * Agent lookup or transfer problems.
 *
 * @example
 * ```ts
 * import { AgentError, VoiceSession } from 'colloquy';
 *
 * function handOff(session: VoiceSession, agentName: string): boolean {
 *   try {
 *     session.transferTo(agentName, 'asked for by the operator');
 *     return true;
 *   } catch (err) {
 *     if (err instanceof AgentError) return false; // unknown_agent, transfer_to_self, …
 *     throw err;
 *   }
 * }
 * ```
 */
export class AgentError extends ColloquyError {}
/**
 * A tool failed, timed out, or got arguments that fail its schema.
 *
 * @example
 * ```ts
 * import { defineTool, ToolError } from 'colloquy';
 * import { z } from 'zod';
 *
 * const lookupOrder = defineTool({
 *   description: 'Look up an order by its number',
 *   inputSchema: z.object({ orderId: z.string() }),
 *   execute: async ({ orderId }) => {
 *     const res = await fetch(`https://shop.example.com/orders/${encodeURIComponent(orderId)}`);
 *     if (!res.ok) throw new ToolError('tool_failed', `Order service answered ${res.status}`, { retryable: res.status >= 500 });
 *     return res.json();
 *   },
 * });
 * ```
 */
export class ToolError extends ColloquyError {}
/**
 * A model provider (LLM, STT, TTS, VAD) failed or stalled.
 *
 * @example
 * ```ts
 * import { ProviderError, VoiceSession } from 'colloquy';
 *
 * function watchProviders(session: VoiceSession): void {
 *   session.eventBus.subscribe('error', ({ component, error }) => {
 *     // stt_failed, tts_failed, llm_failed, …: retryable says whether trying again may help
 *     if (error instanceof ProviderError) console.warn(`${component}: ${error.code}`, error.retryable ? '(retryable)' : '');
 *   });
 * }
 * ```
 */
export class ProviderError extends ColloquyError {}
/**
 * Timed out waiting for something with a bounded wait.
 *
 * @example
 * ```ts
 * import { TimeoutError } from 'colloquy';
 *
 * async function withDeadline<T>(work: Promise<T>, what: string, ms: number): Promise<T> {
 *   let timer: NodeJS.Timeout | undefined;
 *   const timeout = new Promise<never>((_, reject) => {
 *     timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms); // code 'timeout', retryable
 *   });
 *   try {
 *     return await Promise.race([work, timeout]);
 *   } finally {
 *     clearTimeout(timer);
 *   }
 * }
 * ```
 */
export class TimeoutError extends ColloquyError {
  constructor(what: string, timeoutMs: number, options: ColloquyErrorOptions = {}) {
    super('timeout', `${what} timed out after ${timeoutMs} ms`, { retryable: true, ...options });
  }
}
/**
 * Audio with a wrong format, size or sample rate.
 *
 * @example
 * ```ts
 * import { AudioFormatError, decodeWav } from 'colloquy';
 * import { readFile } from 'node:fs/promises';
 *
 * try {
 *   const wav = decodeWav(await readFile('upload.wav'));
 *   console.log(wav.sampleRate);
 * } catch (err) {
 *   // wav_truncated, wav_bad_header, wav_unsupported_format, …
 *   if (err instanceof AudioFormatError) console.error(`not a usable WAV file (${err.code})`);
 *   else throw err;
 * }
 * ```
 */
export class AudioFormatError extends ColloquyError {}
/**
 * Transport and protocol failures (WebSocket, WebRTC, RTVI).
 *
 * @example
 * ```ts
 * import { TransportError, VoiceSession } from 'colloquy';
 *
 * function watchTransport(session: VoiceSession): void {
 *   session.eventBus.subscribe('error', ({ error, severity }) => {
 *     // the client's connection or protocol failed (WebSocket, WebRTC, RTVI, LiveKit)
 *     if (error instanceof TransportError) console.warn(`transport ${severity}: ${error.code}`, error.message);
 *   });
 * }
 * ```
 */
export class TransportError extends ColloquyError {}
/**
 * Configuration problems (bad model spec, missing file).
 *
 * @example
 * ```ts
 * import { ConfigError, loadScript } from 'colloquy';
 *
 * try {
 *   loadScript('agent-script.json');
 * } catch (err) {
 *   // script_not_found, invalid_script: a configuration problem to fix, not to retry
 *   if (err instanceof ConfigError) {
 *     console.error(`${err.code}: ${err.message}`);
 *     process.exit(1);
 *   }
 *   throw err;
 * }
 * ```
 */
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

/**
 * True when `err` is an abort (an `AbortError`, Node's `ABORT_ERR`, the AI SDK's `ResponseAborted`),
 * which is how a cancelled turn or tool ends, not a failure.
 *
 * @example
 * ```ts
 * import { defineTool, isAbortError } from 'colloquy';
 * import { z } from 'zod';
 *
 * const search = defineTool({
 *   description: 'Search the catalogue',
 *   inputSchema: z.object({ query: z.string() }),
 *   execute: async ({ query }, { abortSignal }) => {
 *     try {
 *       const res = await fetch(`https://api.example.com/search?q=${encodeURIComponent(query)}`, { signal: abortSignal });
 *       return await res.json();
 *     } catch (err) {
 *       if (isAbortError(err)) return { cancelled: true }; // the user interrupted
 *       throw err;
 *     }
 *   },
 * });
 * ```
 */
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
