/**
 * The server's session store: opened at start (a `StoreError` there stops the start with a clear
 * message), one `StoreWriter` for every session (the only writer), closed last on shutdown after
 * the writer flushed.
 */
import type { MemoryOptions } from '../agents/memory.ts';
import type { Logger } from '../logger.ts';
import { MissingDependencyError } from '../optional-dependency.ts';
import { openSessionStore } from '../store/open-store.ts';
import { SessionStoreMemory } from '../store/store-memory.ts';
import { StoreWriter, writeSessionId } from '../store/store-writer.ts';
import type { SessionStore } from '../store/types.ts';
import type { ServerConfig } from './config.ts';
import type { ModelCache } from './session-factory.ts';

export interface ServerStore {
  readonly store: SessionStore;
  readonly writer: StoreWriter;
  /** Flush the writer, then close the store. Never throws (failures are logged). */
  close(): Promise<void>;
}

/** Opens the configured store (a PostgreSQL one is connected and migrated first). Throws `StoreError`. */
export async function openServerStore(
  config: ServerConfig,
  logger: Logger,
  given?: SessionStore,
): Promise<ServerStore> {
  const store = given ?? openConfigured(config, logger);
  // A store that connects (PostgreSQL) says here, at start, when it cannot be used.
  const ready = (store as { ready?: unknown }).ready;
  if (ready instanceof Promise) await ready;
  const writer = new StoreWriter(store, {
    onError: (error, writes) => {
      const sessions = [...new Set(writes.map(writeSessionId))].join(', ');
      logger.error(`session store: ${error.message} (${writes.length} writes; sessions ${sessions})`);
    },
  });
  let closing: Promise<void> | undefined;
  return {
    store,
    writer,
    close: () => {
      closing ??= (async () => {
        try {
          await writer.close();
        } catch (err) {
          logger.error('session store: closing the writer', err);
        }
        try {
          await store.close();
        } catch (err) {
          logger.error('session store: closing', err);
        }
      })();
      return closing;
    },
  };
}

/** The sessions' long-term memory options (facts kept in the store), or undefined when it is off. */
export function serverMemory(
  config: ServerConfig,
  store: SessionStore,
  models: ModelCache,
): MemoryOptions | undefined {
  const m = config.memory;
  if (!m) return undefined;
  return {
    store: new SessionStoreMemory(store),
    ...(m.model !== undefined ? { model: models.llm(m.model) } : {}),
    ...(m.maxFacts !== undefined ? { maxFacts: m.maxFacts } : {}),
    ...(m.everyTurns !== undefined ? { extractEveryTurns: m.everyTurns } : {}),
  };
}

function openConfigured(config: ServerConfig, logger: Logger): SessionStore {
  const spec = config.store ?? { kind: 'memory' };
  try {
    return openSessionStore(spec);
  } catch (err) {
    // The default file needs an optional package; without it (and without an explicit choice) the
    // server still starts, keeping sessions in memory, and says so.
    if (err instanceof MissingDependencyError && spec.kind === 'sqlite' && spec.implicit) {
      logger.warn(
        `session store: ${err.message}. Sessions, transcripts and memory are kept in memory only (set COLLOQUY_STORE=memory to silence this).`,
      );
      return openSessionStore({ kind: 'memory' });
    }
    throw err;
  }
}
