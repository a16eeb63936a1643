/**
 * The default `SessionStore`: one SQLite file (better-sqlite3, an optional dependency), WAL
 * journal, one connection per process (the server's `StoreWriter` is its only writer), versioned
 * migrations. Opening fails at once with a `StoreError` naming the problem: the file cannot be
 * created or opened, it is not a database or is corrupt, another process holds a lock on it, or it is
 * read-only.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ModelMessage } from 'ai';
import { requireOptional } from '../optional-dependency.ts';
import { factKey, mergeFacts } from './facts.ts';
import { decodeCursor, encodeCursor, pageSize } from './paging.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-migrations.ts';
import { type Database, prepare } from './sqlite-rows.ts';
import { StoreError, type StoreErrorCode } from './store-error.ts';
import {
  type SessionRow,
  type SnapshotRow,
  type SummaryRow,
  snapshotValues,
  type ToolRow,
  type TranscriptRow,
  toolCallValues,
  toolResultValues,
  toSession,
  toSnapshot,
  toToolCall,
  toTranscript,
  transcriptValues,
} from './store-rows.ts';
import type {
  DeletedUserData,
  FactChange,
  MemoryFact,
  ResumeSnapshot,
  SessionDetail,
  SessionPage,
  SessionQuery,
  SessionStore,
  StoreWrite,
} from './types.ts';

type DatabaseConstructor = new (filename: string, options?: { timeout?: number }) => Database;

export interface SqliteSessionStoreOptions {
  /** How long to wait for another connection's lock before failing (default 2 000 ms). */
  busyTimeoutMs?: number;
  /** Run `PRAGMA quick_check` when opening (default true). */
  checkIntegrity?: boolean;
}

/**
 * The SQLite `SessionStore` (the optional `better-sqlite3` package): sessions, transcripts, tool
 * calls, memory facts and resume snapshots in one file.
 *
 * @example
 * ```ts
 * import { SqliteSessionStore } from 'colloquy';
 *
 * const store = SqliteSessionStore.open('./data/colloquy.db', { busyTimeoutMs: 5000 });
 * const page = await store.listSessions({ userId: 'user-7', limit: 20 });
 * for (const s of page.sessions) console.log(s.id, s.startedAt, s.turnCount);
 * await store.close();
 * ```
 */
export class SqliteSessionStore implements SessionStore {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly db: Database;
  private readonly stmts: ReturnType<typeof prepare>;
  private closed = false;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
    this.stmts = prepare(db);
  }

  /** Opens (creating when needed) and migrates the store at `path`. Throws `StoreError`. */
  static open(path: string, options: SqliteSessionStoreOptions = {}): SqliteSessionStore {
    const Sqlite = requireOptional<DatabaseConstructor>('better-sqlite3', 'The SQLite session store');
    const file = resolve(path);
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (cause) {
      throw new StoreError(
        'store_unopenable',
        `Cannot create the directory of the session store ${file}: ${(cause as Error).message}`,
        { cause },
      );
    }
    let db: Database | undefined;
    try {
      db = new Sqlite(file, { timeout: options.busyTimeoutMs ?? 2000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if (options.checkIntegrity ?? true) {
        const check = db.pragma('quick_check(1)', { simple: true });
        if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
      }
      migrate(db, file);
      return new SqliteSessionStore(file, db);
    } catch (cause) {
      try {
        db?.close();
      } catch {
        // already failing
      }
      if (cause instanceof StoreError) throw cause;
      throw sqliteError(cause, file, 'open');
    }
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    this.assertOpen();
    if (batch.length === 0) return;
    try {
      this.applyBatch(batch);
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  private readonly applyBatch = (batch: readonly StoreWrite[]): void => {
    this.db
      .transaction(() => {
        for (const w of batch) this.apply(w);
      })
      .immediate();
  };

  private apply(w: StoreWrite): void {
    const s = this.stmts;
    switch (w.type) {
      case 'session.open': {
        const x = w.session;
        s.openSession.run(x.id, x.userId, x.transport, x.mode, x.agentName, x.startedAt, x.startedAt);
        return;
      }
      case 'session.agent':
        s.setAgent.run(w.agentName, w.at, w.sessionId);
        return;
      case 'session.state':
        s.setState.run(w.state, w.at, w.sessionId);
        return;
      case 'session.close':
        s.closeSession.run(w.at, w.reason, w.at, w.sessionId);
        return;
      case 'transcript':
        s.addTranscript.run(...transcriptValues(w.entry));
        return;
      case 'tool.call':
        s.addToolCall.run(...toolCallValues(w.call));
        return;
      case 'tool.result':
        s.setToolResult.run(...toolResultValues(w));
        return;
      case 'session.history':
        s.setHistory.run(JSON.stringify(w.history), w.at, w.sessionId);
        return;
      case 'summary':
        s.addSummary.run(w.summary.sessionId, w.summary.removedItems, w.summary.summary, w.summary.at);
        return;
      case 'snapshot.save':
        this.runSaveSnapshot(w.snapshot);
        return;
      case 'snapshot.delete':
        s.deleteSnapshot.run(w.sessionId);
        return;
      default: {
        const never: never = w;
        throw new StoreError('store_write_failed', `Unknown write ${JSON.stringify(never)}`);
      }
    }
  }

  async listSessions(query: SessionQuery): Promise<SessionPage> {
    this.assertOpen();
    const limit = pageSize(query);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.userId !== undefined) {
      where.push('user_id = ?');
      params.push(query.userId);
    }
    if (query.from !== undefined) {
      where.push('started_at >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('started_at < ?');
      params.push(query.to);
    }
    if (after) {
      where.push('(started_at < ? OR (started_at = ? AND id < ?))');
      params.push(after.startedAt, after.startedAt, after.id);
    }
    const sql = `SELECT s.id, s.user_id, s.transport, s.mode, s.agent_name, s.state, s.started_at, s.updated_at,
      s.closed_at, s.close_reason, (SELECT COUNT(*) FROM transcript t WHERE t.session_id = s.id) AS turn_count
      FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, id DESC LIMIT ?`;
    const rows = this.read(() => this.db.prepare(sql).all(...params, limit + 1)) as SessionRow[];
    const sessions = rows.slice(0, limit).map(toSession);
    const last = sessions[sessions.length - 1];
    return rows.length > limit && last ? { sessions, nextCursor: encodeCursor(last) } : { sessions };
  }

  async getSession(sessionId: string): Promise<SessionDetail | undefined> {
    this.assertOpen();
    const s = this.stmts;
    return this.read(() => {
      const row = s.getSession.get(sessionId) as SessionRow | undefined;
      if (!row) return undefined;
      return {
        session: toSession(row),
        transcript: (s.transcriptOf.all(sessionId) as TranscriptRow[]).map(toTranscript),
        toolCalls: (s.toolCallsOf.all(sessionId) as ToolRow[]).map(toToolCall),
        summaries: (s.summariesOf.all(sessionId) as SummaryRow[]).map((r) => ({
          sessionId: r.session_id,
          removedItems: r.removed_items,
          summary: r.summary,
          at: r.at,
        })),
        history: row.history ? (JSON.parse(row.history) as ModelMessage[]) : [],
      };
    });
  }

  async deleteUser(userId: string): Promise<DeletedUserData> {
    this.assertOpen();
    const s = this.stmts;
    try {
      return this.db
        .transaction(() => {
          s.deleteSnapshotsOfUser.run(userId);
          const sessions = s.deleteSessionsOfUser.run(userId).changes;
          const facts = s.deleteAllFacts.run(userId).changes;
          return { sessions, facts };
        })
        .immediate();
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  async loadFacts(userId: string): Promise<MemoryFact[]> {
    this.assertOpen();
    return this.read(() => this.factsOf(userId));
  }

  private factsOf(userId: string): MemoryFact[] {
    return (this.stmts.factsOf.all(userId) as Array<{ fact: string; updated_at: number }>).map((r) => ({
      fact: r.fact,
      updatedAt: r.updated_at,
    }));
  }

  async mergeFacts(
    userId: string,
    change: FactChange,
    maxFacts: number,
  ): Promise<{ facts: MemoryFact[]; added: number }> {
    this.assertOpen();
    const s = this.stmts;
    try {
      return this.db
        .transaction(() => {
          const merged = mergeFacts(this.factsOf(userId), change, maxFacts);
          s.deleteAllFacts.run(userId);
          for (const f of merged.facts) s.addFact.run(userId, factKey(f.fact), f.fact, f.updatedAt);
          return merged;
        })
        .immediate();
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  async deleteFacts(userId: string, fact?: string): Promise<number> {
    this.assertOpen();
    try {
      return fact === undefined
        ? this.stmts.deleteAllFacts.run(userId).changes
        : this.stmts.deleteFact.run(userId, factKey(fact)).changes;
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  async saveSnapshot(x: ResumeSnapshot): Promise<void> {
    this.assertOpen();
    try {
      this.runSaveSnapshot(x);
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  private runSaveSnapshot(x: ResumeSnapshot): void {
    this.stmts.saveSnapshot.run(...snapshotValues(x));
  }

  async loadSnapshot(sessionId: string): Promise<ResumeSnapshot | undefined> {
    this.assertOpen();
    const row = this.read(() => this.stmts.getSnapshot.get(sessionId)) as SnapshotRow | undefined;
    return row ? toSnapshot(row) : undefined;
  }

  async deleteSnapshot(sessionId: string): Promise<void> {
    this.assertOpen();
    try {
      this.stmts.deleteSnapshot.run(sessionId);
    } catch (cause) {
      throw sqliteError(cause, this.path, 'write');
    }
  }

  async listSnapshots(now: number): Promise<ResumeSnapshot[]> {
    this.assertOpen();
    return (this.read(() => this.stmts.liveSnapshots.all(now)) as SnapshotRow[]).map(toSnapshot);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw sqliteError(cause, this.path, 'read');
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store_closed', `The session store ${this.path} is closed`);
  }
}

function migrate(db: Database, file: string): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current > SCHEMA_VERSION) {
    throw new StoreError(
      'store_too_new',
      `The session store ${file} has schema version ${current}; this Colloquy knows up to ${SCHEMA_VERSION}. Upgrade Colloquy or use another file.`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

const SQLITE_CODES: Record<string, StoreErrorCode> = {
  SQLITE_NOTADB: 'store_corrupt',
  SQLITE_CORRUPT: 'store_corrupt',
  SQLITE_BUSY: 'store_locked',
  SQLITE_LOCKED: 'store_locked',
  SQLITE_READONLY: 'store_read_only',
  SQLITE_CANTOPEN: 'store_unopenable',
  SQLITE_PERM: 'store_unopenable',
  SQLITE_FULL: 'store_full',
};

const HINTS: Partial<Record<StoreErrorCode, string>> = {
  store_corrupt:
    'it is not a Colloquy database or it is damaged; move it away or set COLLOQUY_STORE to another file',
  store_locked: 'another process holds a lock on it',
  store_read_only: 'the file or its directory is read-only',
  store_unopenable: 'check the path and its permissions',
  store_full: 'the disk (or the database size limit) is full',
};

/** A better-sqlite3 error (or a plain one) as a `StoreError` with a code and a hint. */
export function sqliteError(cause: unknown, file: string, op: 'open' | 'read' | 'write'): StoreError {
  if (cause instanceof StoreError) return cause;
  const raw = String((cause as { code?: unknown })?.code ?? '');
  const base = raw.split('_').slice(0, 2).join('_');
  const fallback: StoreErrorCode =
    op === 'open' ? 'store_unopenable' : op === 'read' ? 'store_read_failed' : 'store_write_failed';
  const code = SQLITE_CODES[raw] ?? SQLITE_CODES[base] ?? fallback;
  const message = (cause as Error)?.message ?? String(cause);
  const hint = HINTS[code];
  const verb = op === 'open' ? 'Cannot open' : op === 'read' ? 'Cannot read' : 'Cannot write';
  return new StoreError(code, `${verb} the session store ${file}: ${message}${hint ? ` (${hint})` : ''}`, {
    cause,
    retryable: code === 'store_locked' || code === 'store_full',
  });
}
