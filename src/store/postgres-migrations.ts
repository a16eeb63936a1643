/**
 * The PostgreSQL store's schema: the same tables, columns and numbered versions as the SQLite
 * store's (schema-migrations.ts in PostgreSQL's dialect). The table `colloquy_schema` holds the
 * version applied; migrations run in order, each in its own transaction, under an advisory lock so
 * that nodes starting together migrate once.
 */
import { type Migration, migrationsFor } from './schema-migrations.ts';

export const POSTGRES_MIGRATIONS: readonly Migration[] = migrationsFor('postgres');

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
