/** The store's single writer against a real SQLite file: batching, bounded queue, loud failures. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteSessionStore } from './sqlite-store.ts';
import type { StoreError } from './store-error.ts';
import { StoreWriter } from './store-writer.ts';
import type { StoreWrite } from './types.ts';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as new (path: string) => { exec(s: string): void; close(): void };

const openS = (id: string): StoreWrite => ({
  type: 'session.open',
  session: { id, userId: 'u', transport: 't', mode: 'agent', agentName: 'a', startedAt: 1 },
});
const said = (sessionId: string, text: string): StoreWrite => ({
  type: 'transcript',
  entry: { sessionId, role: 'user', text, interrupted: false, at: 2 },
});

describe('StoreWriter', () => {
  let dir: string;
  let path: string;
  let store: SqliteSessionStore;
  let errors: Array<{ error: StoreError; writes: readonly StoreWrite[] }>;
  const onError = (error: StoreError, writes: readonly StoreWrite[]) => errors.push({ error, writes });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-writer-'));
    path = join(dir, 'c.db');
    store = SqliteSessionStore.open(path, { busyTimeoutMs: 20 });
    errors = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enqueue returns at once; the writes land together after the flush delay', async () => {
    const writer = new StoreWriter(store, { flushDelayMs: 5, onError });
    const spy = vi.spyOn(store, 'write');
    writer.enqueue(openS('s'));
    writer.enqueue(said('s', 'one'));
    writer.enqueue(said('s', 'two'));
    expect(spy).not.toHaveBeenCalled();
    expect(writer.pending).toBe(3);
    await vi.waitFor(() => expect(writer.pending).toBe(0));
    expect(spy).toHaveBeenCalledTimes(1);
    expect((await store.getSession('s'))?.transcript.map((t) => t.text)).toEqual(['one', 'two']);
    expect(writer.written).toBe(3);
    expect(errors).toEqual([]);
    await writer.close();
  });

  it('a write that can never succeed is reported and dropped; the rest of its batch is stored', async () => {
    const writer = new StoreWriter(store, { flushDelayMs: 1000, onError });
    writer.enqueue(openS('s'));
    writer.enqueue(said('ghost', 'lost'));
    writer.enqueue(said('s', 'kept'));
    await writer.flush();
    expect((await store.getSession('s'))?.transcript.map((t) => t.text)).toEqual(['kept']);
    expect(errors).toHaveLength(1);
    expect(errors[0].writes).toEqual([said('ghost', 'lost')]);
    expect(errors[0].error.code).toBe('store_write_failed');
    expect(writer.dropped).toBe(1);
    await writer.close();
  });

  it('a locked store: reported once, writes kept, stored once the lock goes (nothing lost)', async () => {
    const writer = new StoreWriter(store, { flushDelayMs: 1, retryDelayMs: 10, onError });
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    writer.enqueue(openS('s'));
    writer.enqueue(said('s', 'waited'));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0].error.code).toBe('store_locked');
    expect(writer.pending).toBe(2);
    holder.exec('ROLLBACK');
    holder.close();
    await vi.waitFor(() => expect(writer.pending).toBe(0));
    expect((await store.getSession('s'))?.transcript.map((t) => t.text)).toEqual(['waited']);
    expect(errors).toHaveLength(1);
    expect(writer.dropped).toBe(0);
    await writer.close();
  });

  it('bounded: past maxQueued a write is refused with store_queue_full; close reports what was never stored', async () => {
    const writer = new StoreWriter(store, { flushDelayMs: 1, retryDelayMs: 60_000, maxQueued: 2, onError });
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    writer.enqueue(openS('s'));
    writer.enqueue(said('s', 'a'));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    writer.enqueue(said('s', 'b'));
    expect(errors[1].error.code).toBe('store_queue_full');
    expect(errors[1].writes).toEqual([said('s', 'b')]);
    expect(writer.dropped).toBe(1);
    await expect(writer.close()).rejects.toMatchObject({
      code: 'store_write_failed',
      message: '2 writes could not be stored before closing',
    });
    holder.exec('ROLLBACK');
    holder.close();
  });

  it('close flushes what is queued', async () => {
    const writer = new StoreWriter(store, { flushDelayMs: 60_000, onError });
    writer.enqueue(openS('s'));
    writer.enqueue(said('s', 'last words'));
    await writer.close();
    expect((await store.getSession('s'))?.transcript.map((t) => t.text)).toEqual(['last words']);
    writer.enqueue(said('s', 'too late'));
    expect(errors.at(-1)?.error.code).toBe('store_closed');
  });
});
