/**
 * The SQLite store's schema (schema-migrations.ts in SQLite's dialect). `PRAGMA user_version` holds
 * the version applied; each migration runs once, in its own transaction, in order.
 */
import { type Migration, migrationsFor } from './schema-migrations.ts';

export type { Migration } from './schema-migrations.ts';

export const MIGRATIONS: readonly Migration[] = migrationsFor('sqlite');

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
