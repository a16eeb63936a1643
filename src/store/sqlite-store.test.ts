/**
 * The SQLite store's own behaviour on a real file: WAL, migrations, and a clear `StoreError` at open
 * for a corrupt file, a locked file, an unwritable location and a schema from the future; a full
 * database fails writes with `store_full` (retryable).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.ts';
import { SqliteSessionStore } from './sqlite-store.ts';
import { StoreError } from './store-error.ts';

const require = createRequire(import.meta.url);
type Db = {
  pragma(s: string, o?: { simple: boolean }): unknown;
  exec(s: string): void;
  prepare(s: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown };
  close(): void;
};
const Database = require('better-sqlite3') as new (path: string, o?: { timeout?: number }) => Db;

function openError(path: string, options = {}): StoreError {
  try {
    SqliteSessionStore.open(path, options).close();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('open succeeded');
}

describe('SqliteSessionStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-sqlite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates its directory, uses WAL and migrates to the current schema version; reopening keeps data', async () => {
    const path = join(dir, 'nested', 'deeper', 'c.db');
    const store = SqliteSessionStore.open(path);
    await store.mergeFacts('ana', { add: ['Likes tea'], at: 1 }, 10);
    await store.close();
    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    const again = SqliteSessionStore.open(path);
    expect((await again.loadFacts('ana')).map((f) => f.fact)).toEqual(['Likes tea']);
    await again.close();
  });

  it('a file of schema version 1 is migrated: its resume snapshots load, without carrier and pending work', async () => {
    const path = join(dir, 'v1.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!.sql);
    raw.pragma('user_version = 1');
    raw
      .prepare(
        'INSERT INTO resume_snapshots (session_id, user_id, agent_name, profile, history, handle_hash, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run('s1', 'ana', 'concierge', '{"mode":"agent"}', '[]', 'abc', 100, 1);
    raw.close();
    const store = SqliteSessionStore.open(path);
    expect(await store.loadSnapshot('s1')).toEqual({
      sessionId: 's1',
      userId: 'ana',
      agentName: 'concierge',
      profile: { mode: 'agent' },
      history: [],
      handleHash: 'abc',
      expiresAt: 100,
      updatedAt: 1,
    });
    await store.close();
    const again = new Database(path);
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('a file that is not a database: store_corrupt naming the file', () => {
    const path = join(dir, 'c.db');
    writeFileSync(path, Buffer.alloc(8192, 'this is not sqlite '));
    const err = openError(path);
    expect(err.code).toBe('store_corrupt');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/not a Colloquy database or it is damaged/);
  });

  it('a damaged database (pages overwritten): store_corrupt', async () => {
    const path = join(dir, 'c.db');
    const store = SqliteSessionStore.open(path);
    await store.write([
      {
        type: 'session.open',
        session: { id: 's', userId: 'u', transport: 't', mode: 'agent', agentName: 'a', startedAt: 1 },
      },
    ]);
    await store.close();
    const raw = new Database(path);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 4096, bytes.length); // every page after the first
    writeFileSync(path, bytes);
    expect(openError(path).code).toBe('store_corrupt');
  });

  it('a file locked by another connection: store_locked after the busy timeout', () => {
    const path = join(dir, 'c.db');
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const err = openError(path, { busyTimeoutMs: 50 });
      expect(err.code).toBe('store_locked');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/another process holds a lock/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('a location that cannot be written (read-only file system): store_unopenable', () => {
    // sysfs refuses new files even to root, like a read-only directory.
    const err = openError('/sys/colloquy-test.db');
    expect(err.code).toBe('store_unopenable');
    expect(err.message).toContain('/sys/colloquy-test.db');
    expect(err.message).toMatch(/check the path and its permissions/);
  });

  it('a path that is a directory: store_unopenable', () => {
    const err = openError(dir);
    expect(err.code).toBe('store_unopenable');
  });

  it('a schema newer than this version: store_too_new', () => {
    const path = join(dir, 'c.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const err = openError(path);
    expect(err.code).toBe('store_too_new');
  });

  it('a full database: the write fails with store_full (retryable) and nothing of the batch is kept', async () => {
    const path = join(dir, 'c.db');
    const store = SqliteSessionStore.open(path);
    await store.write([
      {
        type: 'session.open',
        session: { id: 's', userId: 'u', transport: 't', mode: 'agent', agentName: 'a', startedAt: 1 },
      },
    ]);
    // Cap the file at its current size (a full disk, as SQLite sees it).
    (store as unknown as { db: Db }).db.pragma('max_page_count = 1');
    const big = 'x'.repeat(50_000);
    const err = await store
      .write([
        { type: 'transcript', entry: { sessionId: 's', role: 'user', text: big, interrupted: false, at: 2 } },
      ])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'store_full', retryable: true });
    expect((await store.getSession('s'))?.transcript).toEqual([]);
    await store.close();
  });
});
