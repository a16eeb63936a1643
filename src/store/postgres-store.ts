/**
 * A `SessionStore` on PostgreSQL (`COLLOQUY_STORE=postgres://user:pass@host:5432/db`), shared by every
 * node of a deployment: a session whose node died resumes on another with its history. Same contract,
 * tables and migration versions as the SQLite store. `pg` is an optional dependency, loaded when a
 * Postgres store is opened. A pool of a few connections; each batch of writes is one transaction.
 * `ready` settles once connected and migrated (a `StoreError` naming the problem otherwise).
 */
import type { ModelMessage } from 'ai';
import { requireOptional } from '../optional-dependency.ts';
import { factKey, mergeFacts } from './facts.ts';
import { decodeCursor, encodeCursor, pageSize } from './paging.ts';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './postgres-migrations.ts';
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

/** The part of `pg` this store uses (its own types stay out of Colloquy's public API). */
interface QueryResult {
  rows: unknown[];
  rowCount: number | null;
}
interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
}
interface PoolClient extends Queryable {
  release(err?: Error | boolean): void;
}
interface Pool extends Queryable {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): void;
}
interface PgModule {
  Pool: new (config: Record<string, unknown>) => Pool;
  types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
}

export interface PostgresSessionStoreOptions {
  /** Most pooled connections (default 5). */
  maxConnections?: number;
  /** How long to wait for a connection (default 5 000 ms). */
  connectTimeoutMs?: number;
}

const INT8_OID = 20;
/** Arbitrary key of the advisory lock taken while migrating. */
const MIGRATION_LOCK = 7_203_114_551;

/**
 * The PostgreSQL `SessionStore` (the optional `pg` package): the SQLite store's contract in a
 * database every node of a deployment shares; it connects and migrates when opened (`ready`).
 *
 * @example
 * ```ts
 * import { PostgresSessionStore, StoreWriter } from 'colloquy';
 *
 * const store = PostgresSessionStore.open(process.env.DATABASE_URL ?? 'postgres://colloquy@localhost/colloquy', { maxConnections: 10 });
 * const writer = new StoreWriter(store);
 * const page = await store.listSessions({ userId: 'user-7' });
 * await writer.close();
 * await store.close();
 * ```
 */
export class PostgresSessionStore implements SessionStore {
  readonly kind = 'postgres';
  /** The server and database, without credentials (for messages). */
  readonly where: string;
  /** Settles once connected and migrated; rejects with a `StoreError`. */
  readonly ready: Promise<void>;
  private readonly pool: Pool;
  private closed = false;

  private constructor(url: string, options: PostgresSessionStoreOptions) {
    const pg = requireOptional<PgModule>('pg', 'The PostgreSQL session store');
    this.where = describeUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 5,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      // Times are BIGINT milliseconds: read them as numbers (this pool only; pg's globals untouched).
      types: {
        getTypeParser: (oid: number, format?: string) =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format),
      },
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query reconnects.
    this.pool.on('error', () => {});
    this.ready = this.migrate();
    this.ready.catch(() => {});
  }

  /** Connects to `url` (postgres:// or postgresql://) and migrates; operations wait for `ready`. */
  static open(url: string, options: PostgresSessionStoreOptions = {}): PostgresSessionStore {
    return new PostgresSessionStore(url, options);
  }

  private async migrate(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      // Nodes starting together: one migrates, the others wait here and find it done.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS colloquy_schema (version INTEGER NOT NULL)');
      const got = await client.query('SELECT version FROM colloquy_schema');
      const current = (got.rows[0] as { version: number } | undefined)?.version ?? 0;
      if (current > POSTGRES_SCHEMA_VERSION) {
        throw new StoreError(
          'store_too_new',
          `The session store ${this.where} has schema version ${current}; this Colloquy knows up to ${POSTGRES_SCHEMA_VERSION}. Upgrade Colloquy or use another database.`,
        );
      }
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= current) continue;
        await client.query(m.sql);
      }
      if (current < POSTGRES_SCHEMA_VERSION) {
        await client.query('DELETE FROM colloquy_schema');
        await client.query('INSERT INTO colloquy_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
      }
      await client.query('COMMIT');
      client.release();
    } catch (cause) {
      if (client) {
        await client.query('ROLLBACK').catch(() => {});
        client.release(true);
      }
      await this.pool.end().catch(() => {});
      this.closed = true;
      throw postgresError(cause, this.where, 'open');
    }
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    if (batch.length === 0) return this.open();
    await this.transaction('write', async (q) => {
      for (const w of batch) await this.apply(q, w);
    });
  }

  private async apply(q: Queryable, w: StoreWrite): Promise<void> {
    switch (w.type) {
      case 'session.open': {
        const x = w.session;
        await q.query(
          `INSERT INTO sessions (id, user_id, transport, mode, agent_name, state, started_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)
           ON CONFLICT (id) DO UPDATE SET state = 'active', updated_at = excluded.updated_at`,
          [x.id, x.userId, x.transport, x.mode, x.agentName, x.startedAt],
        );
        return;
      }
      case 'session.agent':
        await q.query('UPDATE sessions SET agent_name = $1, updated_at = $2 WHERE id = $3', [
          w.agentName,
          w.at,
          w.sessionId,
        ]);
        return;
      case 'session.state':
        await q.query('UPDATE sessions SET state = $1, updated_at = $2 WHERE id = $3', [
          w.state,
          w.at,
          w.sessionId,
        ]);
        return;
      case 'session.close':
        await q.query(
          `UPDATE sessions SET state = 'closed', closed_at = $1, close_reason = $2, updated_at = $1 WHERE id = $3`,
          [w.at, w.reason, w.sessionId],
        );
        return;
      case 'transcript':
        await q.query(
          `INSERT INTO transcript (session_id, turn_id, role, agent_name, text, heard_text, source, interrupted, interrupt_reason, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          transcriptValues(w.entry),
        );
        return;
      case 'tool.call': {
        // Like SQLite's INSERT OR REPLACE: the call starts over (no result yet).
        await q.query(
          `INSERT INTO tool_calls (session_id, tool_call_id, name, agent_name, turn_id, execution, args, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (session_id, tool_call_id) DO UPDATE SET name = excluded.name,
             agent_name = excluded.agent_name, turn_id = excluded.turn_id, execution = excluded.execution,
             args = excluded.args, started_at = excluded.started_at, status = NULL, result = NULL,
             error_message = NULL, duration_ms = NULL, finished_at = NULL`,
          toolCallValues(w.call),
        );
        return;
      }
      case 'tool.result':
        await q.query(
          `UPDATE tool_calls SET status = $1, result = $2, error_message = $3, duration_ms = $4, finished_at = $5
           WHERE session_id = $6 AND tool_call_id = $7`,
          toolResultValues(w),
        );
        return;
      case 'session.history':
        await q.query('UPDATE sessions SET history = $1, updated_at = $2 WHERE id = $3', [
          JSON.stringify(w.history),
          w.at,
          w.sessionId,
        ]);
        return;
      case 'summary':
        await q.query(
          'INSERT INTO summaries (session_id, removed_items, summary, at) VALUES ($1, $2, $3, $4)',
          [w.summary.sessionId, w.summary.removedItems, w.summary.summary, w.summary.at],
        );
        return;
      case 'snapshot.save':
        await saveSnapshot(q, w.snapshot);
        return;
      case 'snapshot.delete':
        await q.query('DELETE FROM resume_snapshots WHERE session_id = $1', [w.sessionId]);
        return;
      default: {
        const never: never = w;
        throw new StoreError('store_write_failed', `Unknown write ${JSON.stringify(never)}`);
      }
    }
  }

  async listSessions(query: SessionQuery): Promise<SessionPage> {
    const limit = pageSize(query);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (query.userId !== undefined) where.push(`user_id = ${param(query.userId)}`);
    if (query.from !== undefined) where.push(`started_at >= ${param(query.from)}`);
    if (query.to !== undefined) where.push(`started_at < ${param(query.to)}`);
    if (after) {
      const at = param(after.startedAt);
      where.push(`(started_at < ${at} OR (started_at = ${at} AND id < ${param(after.id)}))`);
    }
    const sql = `SELECT s.id, s.user_id, s.transport, s.mode, s.agent_name, s.state, s.started_at, s.updated_at,
      s.closed_at, s.close_reason, (SELECT COUNT(*) FROM transcript t WHERE t.session_id = s.id) AS turn_count
      FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, id DESC LIMIT ${param(limit + 1)}`;
    const rows = (await this.query('read', sql, params)) as SessionRow[];
    const sessions = rows.slice(0, limit).map(toSession);
    const last = sessions[sessions.length - 1];
    return rows.length > limit && last ? { sessions, nextCursor: encodeCursor(last) } : { sessions };
  }

  async getSession(sessionId: string): Promise<SessionDetail | undefined> {
    return this.transaction('read', async (q) => {
      const [row] = (
        await q.query(
          `SELECT s.*, (SELECT COUNT(*) FROM transcript t WHERE t.session_id = s.id) AS turn_count
           FROM sessions s WHERE id = $1`,
          [sessionId],
        )
      ).rows as SessionRow[];
      if (!row) return undefined;
      const all = async (sql: string) => (await q.query(sql, [sessionId])).rows;
      return {
        session: toSession(row),
        transcript: (
          (await all('SELECT * FROM transcript WHERE session_id = $1 ORDER BY seq')) as TranscriptRow[]
        ).map(toTranscript),
        toolCalls: (
          (await all('SELECT * FROM tool_calls WHERE session_id = $1 ORDER BY started_at, seq')) as ToolRow[]
        ).map(toToolCall),
        summaries: (
          (await all('SELECT * FROM summaries WHERE session_id = $1 ORDER BY seq')) as SummaryRow[]
        ).map((r) => ({
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
    return this.transaction('write', async (q) => {
      await q.query('DELETE FROM resume_snapshots WHERE user_id = $1', [userId]);
      const sessions = (await q.query('DELETE FROM sessions WHERE user_id = $1', [userId])).rowCount ?? 0;
      const facts = (await q.query('DELETE FROM memory_facts WHERE user_id = $1', [userId])).rowCount ?? 0;
      return { sessions, facts };
    });
  }

  async loadFacts(userId: string): Promise<MemoryFact[]> {
    await this.open();
    return factsOf(this.pool, userId).catch((cause) => {
      throw postgresError(cause, this.where, 'read');
    });
  }

  async mergeFacts(
    userId: string,
    change: FactChange,
    maxFacts: number,
  ): Promise<{ facts: MemoryFact[]; added: number }> {
    return this.transaction('write', async (q) => {
      // One merge per user at a time, across nodes.
      await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`colloquy-facts:${userId}`]);
      const merged = mergeFacts(await factsOf(q, userId), change, maxFacts);
      await q.query('DELETE FROM memory_facts WHERE user_id = $1', [userId]);
      for (const f of merged.facts) {
        await q.query(
          'INSERT INTO memory_facts (user_id, fact_key, fact, updated_at) VALUES ($1, $2, $3, $4)',
          [userId, factKey(f.fact), f.fact, f.updatedAt],
        );
      }
      return merged;
    });
  }

  async deleteFacts(userId: string, fact?: string): Promise<number> {
    const result =
      fact === undefined
        ? await this.run('write', 'DELETE FROM memory_facts WHERE user_id = $1', [userId])
        : await this.run('write', 'DELETE FROM memory_facts WHERE user_id = $1 AND fact_key = $2', [
            userId,
            factKey(fact),
          ]);
    return result.rowCount ?? 0;
  }

  async saveSnapshot(x: ResumeSnapshot): Promise<void> {
    await this.open();
    await saveSnapshot(this.pool, x).catch((cause) => {
      throw postgresError(cause, this.where, 'write');
    });
  }

  async loadSnapshot(sessionId: string): Promise<ResumeSnapshot | undefined> {
    const [row] = (await this.query('read', 'SELECT * FROM resume_snapshots WHERE session_id = $1', [
      sessionId,
    ])) as SnapshotRow[];
    return row ? toSnapshot(row) : undefined;
  }

  async deleteSnapshot(sessionId: string): Promise<void> {
    await this.run('write', 'DELETE FROM resume_snapshots WHERE session_id = $1', [sessionId]);
  }

  async listSnapshots(now: number): Promise<ResumeSnapshot[]> {
    const rows = (await this.query(
      'read',
      'SELECT * FROM resume_snapshots WHERE expires_at > $1 ORDER BY updated_at',
      [now],
    )) as SnapshotRow[];
    return rows.map(toSnapshot);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end().catch(() => {});
  }

  /** Waits for `ready`; throws `store_closed` after `close()`. */
  private async open(): Promise<void> {
    if (this.closed) throw new StoreError('store_closed', `The session store ${this.where} is closed`);
    await this.ready;
  }

  private async run(op: 'read' | 'write', sql: string, params: unknown[]): Promise<QueryResult> {
    await this.open();
    try {
      return await this.pool.query(sql, params);
    } catch (cause) {
      throw postgresError(cause, this.where, op);
    }
  }

  private async query(op: 'read' | 'write', sql: string, params: unknown[]): Promise<unknown[]> {
    return (await this.run(op, sql, params)).rows;
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  private async transaction<T>(op: 'read' | 'write', fn: (q: Queryable) => Promise<T>): Promise<T> {
    await this.open();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw postgresError(cause, this.where, op);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (cause) {
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(!rolledBack);
      throw postgresError(cause, this.where, op);
    }
  }
}

async function factsOf(q: Queryable, userId: string): Promise<MemoryFact[]> {
  const rows = (
    await q.query('SELECT fact, updated_at FROM memory_facts WHERE user_id = $1 ORDER BY updated_at, seq', [
      userId,
    ])
  ).rows as Array<{ fact: string; updated_at: number }>;
  return rows.map((r) => ({ fact: r.fact, updatedAt: r.updated_at }));
}

async function saveSnapshot(q: Queryable, x: ResumeSnapshot): Promise<void> {
  await q.query(
    `INSERT INTO resume_snapshots (session_id, user_id, agent_name, profile, history, handle_hash, expires_at, updated_at, carrier, pending)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, agent_name = excluded.agent_name,
       profile = excluded.profile, history = excluded.history, handle_hash = excluded.handle_hash,
       expires_at = excluded.expires_at, updated_at = excluded.updated_at,
       carrier = excluded.carrier, pending = excluded.pending`,
    snapshotValues(x),
  );
}

/** `postgres://user:secret@host:5432/db?…` → `postgres://host:5432/db` (no credentials in messages). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** SQLSTATE classes and codes → store error codes. */
const PG_CODES: Record<string, StoreErrorCode> = {
  '53100': 'store_full', // disk_full
  '53200': 'store_full', // out_of_memory
  '40001': 'store_locked', // serialization_failure
  '40P01': 'store_locked', // deadlock_detected
  '55P03': 'store_locked', // lock_not_available
  '25006': 'store_read_only', // read_only_sql_transaction
  '28000': 'store_unopenable', // invalid_authorization_specification
  '28P01': 'store_unopenable', // invalid_password
  '3D000': 'store_unopenable', // invalid_catalog_name (no such database)
  '42501': 'store_unopenable', // insufficient_privilege
};

const HINTS: Partial<Record<StoreErrorCode, string>> = {
  store_unopenable: 'check COLLOQUY_STORE: the server address, the database name, the user and the password',
  store_full: 'the database server is out of disk or memory',
  store_locked: 'another transaction held the rows; try again',
  store_read_only: 'the server is read-only (a standby?)',
};

/** A `pg` error (or a plain one) as a `StoreError` with a code and a hint; never includes credentials. */
export function postgresError(cause: unknown, where: string, op: 'open' | 'read' | 'write'): StoreError {
  if (cause instanceof StoreError) return cause;
  const raw = String((cause as { code?: unknown })?.code ?? '');
  const fallback: StoreErrorCode =
    op === 'open' ? 'store_unopenable' : op === 'read' ? 'store_read_failed' : 'store_write_failed';
  const code = PG_CODES[raw] ?? fallback;
  let message = (cause as Error)?.message ?? String(cause);
  if (raw === 'ECONNREFUSED') message = 'connection refused (is PostgreSQL running there?)';
  const hint = HINTS[code];
  const verb = op === 'open' ? 'Cannot open' : op === 'read' ? 'Cannot read' : 'Cannot write';
  return new StoreError(code, `${verb} the session store ${where}: ${message}${hint ? ` (${hint})` : ''}`, {
    cause,
    retryable: code === 'store_locked' || code === 'store_full' || (op !== 'open' && isConnectionError(raw)),
  });
}

function isConnectionError(code: string): boolean {
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01' || code.startsWith('08');
}
