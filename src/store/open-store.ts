/**
 * `COLLOQUY_STORE` → a `SessionStore`: unset means the SQLite file `./.colloquy/colloquy.db` under
 * the working directory, `memory` means nothing is kept past the process, `postgres://…` (or
 * `postgresql://…`) is a PostgreSQL database shared by every node, anything else is the path of the
 * SQLite file (`sqlite:` prefix allowed). Fails at once with a `StoreError` when the file cannot be
 * used; a PostgreSQL store settles `ready` once connected and migrated.
 */
import { resolve } from 'node:path';
import { InMemorySessionStore } from './memory-store.ts';
import { PostgresSessionStore } from './postgres-store.ts';
import { SqliteSessionStore, type SqliteSessionStoreOptions } from './sqlite-store.ts';
import { StoreError } from './store-error.ts';
import type { SessionStore } from './types.ts';

export const DEFAULT_STORE_PATH = '.colloquy/colloquy.db';

/** `implicit`: nobody chose the default file (COLLOQUY_STORE unset). */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string; implicit?: boolean }
  | { kind: 'postgres'; url: string };

export function parseStoreSpec(value: string | undefined, cwd: string = process.cwd()): StoreSpec {
  const v = value?.trim();
  if (!v) return { kind: 'sqlite', path: resolve(cwd, DEFAULT_STORE_PATH), implicit: true };
  if (v.toLowerCase() === 'memory') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//i.test(v)) {
    if (!URL.canParse(v) || v.length > 2000) {
      throw new StoreError('store_invalid_spec', 'COLLOQUY_STORE: a postgres:// URL that cannot be parsed');
    }
    return { kind: 'postgres', url: v };
  }
  const path = v.startsWith('sqlite:') ? v.slice('sqlite:'.length) : v;
  if (!path || path.includes('\0')) {
    throw new StoreError(
      'store_invalid_spec',
      `COLLOQUY_STORE must be "memory", a postgres:// URL or a file path, got "${v}"`,
    );
  }
  return { kind: 'sqlite', path: resolve(cwd, path) };
}

/**
 * @example
 * ```ts
 * import { openSessionStore, StoreWriter } from 'colloquy';
 *
 * // a SQLite file (the optional `better-sqlite3` package), or { kind: 'memory' }
 * const store = openSessionStore({ kind: 'sqlite', path: './data/colloquy.db' });
 * const writer = new StoreWriter(store);
 * ```
 */
export function openSessionStore(spec: StoreSpec, options: SqliteSessionStoreOptions = {}): SessionStore {
  switch (spec.kind) {
    case 'memory':
      return new InMemorySessionStore();
    case 'sqlite':
      return SqliteSessionStore.open(spec.path, options);
    case 'postgres':
      return PostgresSessionStore.open(spec.url);
    default: {
      const never: never = spec;
      throw new StoreError('store_invalid_spec', `Unknown store ${JSON.stringify(never)}`);
    }
  }
}
