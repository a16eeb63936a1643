/** Errors of the session store (opening, migrating, reading, writing). */
import { ColloquyError } from '../errors.ts';

export type StoreErrorCode =
  | 'store_unopenable'
  | 'store_corrupt'
  | 'store_locked'
  | 'store_read_only'
  | 'store_full'
  | 'store_too_new'
  | 'store_closed'
  | 'store_write_failed'
  | 'store_read_failed'
  | 'store_queue_full'
  | 'store_invalid_spec'
  | 'store_invalid_cursor';

/**
 * A session store problem; `code` says which (stable), `retryable` when waiting may help.
 *
 * @example
 * ```ts
 * import { SqliteSessionStore, StoreError } from 'colloquy';
 *
 * try {
 *   SqliteSessionStore.open('./data/colloquy.db');
 * } catch (err) {
 *   // store_locked, store_corrupt, store_too_new, …; retryable when waiting may help
 *   if (err instanceof StoreError) console.error(err.code, err.retryable, err.message);
 *   else throw err;
 * }
 * ```
 */
export class StoreError extends ColloquyError {
  declare readonly code: StoreErrorCode;
  constructor(
    code: StoreErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
