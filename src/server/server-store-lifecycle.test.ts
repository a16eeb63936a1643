/**
 * `openServerStore`: the store a server opens (the one given, the configured one, the in-memory one
 * when nothing is configured or when the implicit default file lacks its optional package), a store
 * that connects first (its `ready`), the writer's failures in the log (message, write count, the
 * sessions named once each), and `close()`: the writer flushed, then the store closed, each failure
 * logged, once however often it is called.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../../test/support/recording-logger.ts';
import { MissingDependencyError } from '../optional-dependency.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { SqliteSessionStore } from '../store/sqlite-store.ts';
import { StoreError } from '../store/store-error.ts';
import type { SessionStore } from '../store/types.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import { openServerStore } from './server-store.ts';

const memoryConfig = (): ServerConfig => loadServerConfig({ COLLOQUY_STORE: 'memory' });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('which store', () => {
  it('the store given wins over the configured one', async () => {
    const given = new InMemorySessionStore();
    const { logger } = recordingLogger();
    const data = await openServerStore(memoryConfig(), logger, given);
    expect(data.store).toBe(given);
    expect(data.writer.store).toBe(given);
    await data.close();
  });

  it('no store configured: the in-memory one', async () => {
    const { logger, lines } = recordingLogger();
    const data = await openServerStore({ ...memoryConfig(), store: undefined } as never, logger);
    expect(data.store).toBeInstanceOf(InMemorySessionStore);
    expect(lines).toEqual([]);
    await data.close();
  });

  it('the implicit default file without its package: in memory, with a warning that says how to silence it', async () => {
    const missing = new MissingDependencyError('better-sqlite3', 'The SQLite session store');
    vi.spyOn(SqliteSessionStore, 'open').mockImplementation(() => {
      throw missing;
    });
    const { logger, lines } = recordingLogger();
    const config = {
      ...memoryConfig(),
      store: { kind: 'sqlite' as const, path: '/tmp/x.db', implicit: true },
    };
    const data = await openServerStore(config, logger);
    expect(data.store).toBeInstanceOf(InMemorySessionStore);
    expect(lines).toEqual([
      [
        'warn',
        `session store: ${missing.message}. Sessions, transcripts and memory are kept in memory only (set COLLOQUY_STORE=memory to silence this).`,
      ],
    ]);
    await data.close();
  });

  it.each([
    [
      'a file chosen explicitly, its package missing',
      { kind: 'sqlite' as const, path: '/tmp/x.db' },
      'missing',
    ],
    [
      'the implicit file failing otherwise',
      { kind: 'sqlite' as const, path: '/tmp/x.db', implicit: true },
      'other',
    ],
  ])('%s: the error is thrown', async (_, store, failure) => {
    const err =
      failure === 'missing'
        ? new MissingDependencyError('better-sqlite3', 'The SQLite session store')
        : new StoreError('store_locked', 'cannot open');
    vi.spyOn(SqliteSessionStore, 'open').mockImplementation(() => {
      throw err;
    });
    const { logger, lines } = recordingLogger();
    await expect(openServerStore({ ...memoryConfig(), store }, logger)).rejects.toBe(err);
    expect(lines).toEqual([]);
  });

  it('a store that connects first: opened once it is ready; its failure to connect is thrown', async () => {
    let connect!: () => void;
    const ready = new Promise<void>((r) => {
      connect = r;
    });
    const store = Object.assign(new InMemorySessionStore(), { ready });
    const { logger } = recordingLogger();
    let opened = false;
    const opening = openServerStore(memoryConfig(), logger, store).then((d) => {
      opened = true;
      return d;
    });
    await new Promise((r) => setImmediate(r));
    expect(opened).toBe(false);
    connect();
    await (await opening).close();
    expect(opened).toBe(true);

    const refused = new StoreError('store_locked', 'no database');
    const failing = Object.assign(new InMemorySessionStore(), { ready: Promise.reject(refused) });
    await expect(openServerStore(memoryConfig(), logger, failing)).rejects.toBe(refused);
  });
});

describe('the writer and closing', () => {
  /** A store whose writes fail (retryable) and whose close may fail. */
  function failingStore(closeFails = false) {
    const store = new InMemorySessionStore();
    vi.spyOn(store, 'write').mockRejectedValue(
      new StoreError('store_locked', 'database is down', { retryable: true }),
    );
    const close = vi.spyOn(store, 'close');
    if (closeFails) close.mockRejectedValue(new Error('close failed'));
    return { store: store as SessionStore, close };
  }

  it('a failed write is logged with its message, how many writes, and each session once', async () => {
    const { store } = failingStore();
    const { logger, lines } = recordingLogger();
    const data = await openServerStore(memoryConfig(), logger, store);
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's1' });
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's2' });
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's1' });
    await data.writer.flush();
    expect(lines).toEqual([['error', 'session store: database is down (3 writes; sessions s1, s2)']]);
    await data.close();
  });

  it('close(): what the writer could not store and a store that fails to close are both logged; the store is closed once', async () => {
    const { store, close } = failingStore(true);
    const { logger, lines } = recordingLogger();
    const data = await openServerStore(memoryConfig(), logger, store);
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's1' });
    const closing = data.close();
    expect(data.close()).toBe(closing);
    await closing;
    expect(close).toHaveBeenCalledTimes(1);
    expect(lines.slice(1)).toEqual([
      [
        'error',
        'session store: closing the writer',
        expect.objectContaining({
          code: 'store_write_failed',
          message: '1 writes could not be stored before closing',
        }),
      ],
      ['error', 'session store: closing', expect.objectContaining({ message: 'close failed' })],
    ]);
    await data.close();
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('close(): the writer is flushed before the store closes', async () => {
    const store = new InMemorySessionStore();
    const order: string[] = [];
    const write = store.write.bind(store);
    vi.spyOn(store, 'write').mockImplementation(async (w) => {
      order.push('write');
      return write(w);
    });
    vi.spyOn(store, 'close').mockImplementation(async () => {
      order.push('close');
    });
    const { logger, lines } = recordingLogger();
    const data = await openServerStore(memoryConfig(), logger, store);
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's1' });
    await data.close();
    expect(order).toEqual(['write', 'close']);
    expect(lines).toEqual([]);
    // Closed: a late write is refused, and logged.
    data.writer.enqueue({ type: 'snapshot.delete', sessionId: 's9' });
    expect(lines).toEqual([
      ['error', 'session store: The session store writer is closed (1 writes; sessions s9)'],
    ]);
  });
});
