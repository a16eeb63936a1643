/**
 * The PostgreSQL store's own behaviour on a real server: migrations (once, also when nodes open the
 * store together), the same versions as SQLite's, a clear `StoreError` at open for an unreachable
 * server, a missing database and a schema from the future (never with the password in it), and two
 * nodes seeing each other's writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type PostgresService, startPostgres } from '../../test/support/services.ts';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './postgres-migrations.ts';
import { PostgresSessionStore } from './postgres-store.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.ts';
import { StoreError } from './store-error.ts';

let pg: PostgresService;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

async function openError(url: string): Promise<StoreError> {
  const store = PostgresSessionStore.open(url, { connectTimeoutMs: 2000 });
  const err = await store.ready.then(
    () => undefined,
    (e: unknown) => e,
  );
  await store.close();
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe('PostgresSessionStore', () => {
  it('has the SQLite schema versions', () => {
    expect(POSTGRES_MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(POSTGRES_SCHEMA_VERSION).toBe(SCHEMA_VERSION);
  });

  it('nodes opening one database together migrate it once; each sees the others’ writes', async () => {
    const url = pg.createDatabase('together');
    const stores = [1, 2, 3].map(() => PostgresSessionStore.open(url));
    await Promise.all(stores.map((s) => s.ready));
    const [a, b] = stores as [PostgresSessionStore, PostgresSessionStore];
    await a.write([
      {
        type: 'session.open',
        session: {
          id: 's1',
          userId: 'ana',
          transport: 'websocket',
          mode: 'agent',
          agentName: 'front',
          startedAt: 1,
        },
      },
    ]);
    await a.saveSnapshot({
      sessionId: 's1',
      userId: 'ana',
      agentName: 'front',
      profile: {},
      history: [{ role: 'user', content: 'hi' }],
      handleHash: 'h',
      // Millisecond times past 2^31 come back as numbers.
      expiresAt: 4_102_444_800_000,
      updatedAt: 1_764_460_800_000,
    });
    expect((await b.getSession('s1'))?.session).toMatchObject({ id: 's1', state: 'active', startedAt: 1 });
    expect(await b.loadSnapshot('s1')).toMatchObject({
      expiresAt: 4_102_444_800_000,
      history: [{ content: 'hi' }],
    });
    await Promise.all(stores.map((s) => s.close()));
    const again = PostgresSessionStore.open(url);
    await again.ready;
    expect((await again.listSessions({})).sessions.map((s) => s.id)).toEqual(['s1']);
    await again.close();
  });

  it('an unreachable server: store_unopenable naming the address, never the password', async () => {
    const port = await freePort();
    const err = await openError(`postgres://colloquy:hunter2secret@127.0.0.1:${port}/x`);
    expect(err.code).toBe('store_unopenable');
    expect(err.message).toContain(`postgres://127.0.0.1:${port}/x`);
    expect(err.message).toMatch(/connection refused/);
    expect(err.message).not.toContain('hunter2secret');
  });

  it('a database that does not exist: store_unopenable', async () => {
    const err = await openError(pg.url.replace(/\/colloquy$/, '/nowhere'));
    expect(err.code).toBe('store_unopenable');
    expect(err.message).toMatch(/nowhere/);
  });

  it('a schema newer than this version: store_too_new', async () => {
    const url = pg.createDatabase('future');
    const store = PostgresSessionStore.open(url);
    await store.ready;
    await (store as unknown as { pool: { query(s: string): Promise<unknown> } }).pool.query(
      `UPDATE colloquy_schema SET version = ${POSTGRES_SCHEMA_VERSION + 1}`,
    );
    await store.close();
    expect((await openError(url)).code).toBe('store_too_new');
  });

  it('calls after close fail with store_closed', async () => {
    const store = PostgresSessionStore.open(pg.createDatabase('closing'));
    await store.ready;
    await store.close();
    await expect(store.loadFacts('ana')).rejects.toMatchObject({ code: 'store_closed' });
  });
});
