/**
 * The session stores' schema, as numbered migrations: the same tables, columns and versions for the
 * SQLite store (sqlite-migrations.ts) and the PostgreSQL store (postgres-migrations.ts), written once
 * here and spelled in each database's dialect. Never edit a shipped migration: add the next one.
 */
export interface Migration {
  version: number;
  sql: string;
}

export type SqlDialect = 'sqlite' | 'postgres';

/** What differs between the dialects. */
interface Dialect {
  /** Milliseconds (timestamps, durations): 64-bit. */
  time: string;
  /** An auto-increasing key that orders rows as inserted. */
  seqKey: string;
  /** Insertion order of a table keyed otherwise (SQLite has its rowid; PostgreSQL needs a column). */
  insertionOrder: string;
}

const DIALECTS: Record<SqlDialect, Dialect> = {
  sqlite: { time: 'INTEGER', seqKey: 'seq INTEGER PRIMARY KEY AUTOINCREMENT', insertionOrder: '' },
  postgres: { time: 'BIGINT', seqKey: 'seq BIGSERIAL PRIMARY KEY', insertionOrder: '  seq BIGSERIAL,\n' },
};

/** The migrations in `dialect`, in order. */
export function migrationsFor(dialect: SqlDialect): readonly Migration[] {
  const d = DIALECTS[dialect];
  return [
    {
      version: 1,
      sql: `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  transport TEXT NOT NULL,
  mode TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  state TEXT NOT NULL,
  started_at ${d.time} NOT NULL,
  updated_at ${d.time} NOT NULL,
  closed_at ${d.time},
  close_reason TEXT,
  history TEXT
);
CREATE INDEX sessions_by_time ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_user ON sessions (user_id, started_at DESC, id DESC);

CREATE TABLE transcript (
  ${d.seqKey},
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  turn_id TEXT,
  role TEXT NOT NULL,
  agent_name TEXT,
  text TEXT NOT NULL,
  heard_text TEXT,
  source TEXT,
  interrupted INTEGER NOT NULL,
  interrupt_reason TEXT,
  at ${d.time} NOT NULL
);
CREATE INDEX transcript_by_session ON transcript (session_id, seq);

CREATE TABLE tool_calls (
${d.insertionOrder}  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  tool_call_id TEXT NOT NULL,
  name TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  turn_id TEXT,
  execution TEXT,
  args TEXT NOT NULL,
  started_at ${d.time} NOT NULL,
  status TEXT,
  result TEXT,
  error_message TEXT,
  duration_ms ${d.time},
  finished_at ${d.time},
  PRIMARY KEY (session_id, tool_call_id)
);

CREATE TABLE summaries (
  ${d.seqKey},
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  removed_items INTEGER NOT NULL,
  summary TEXT NOT NULL,
  at ${d.time} NOT NULL
);
CREATE INDEX summaries_by_session ON summaries (session_id, seq);

CREATE TABLE memory_facts (
${d.insertionOrder}  user_id TEXT NOT NULL,
  fact_key TEXT NOT NULL,
  fact TEXT NOT NULL,
  updated_at ${d.time} NOT NULL,
  PRIMARY KEY (user_id, fact_key)
);

CREATE TABLE resume_snapshots (
  session_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  history TEXT NOT NULL,
  handle_hash TEXT NOT NULL,
  expires_at ${d.time} NOT NULL,
  updated_at ${d.time} NOT NULL
);
CREATE INDEX resume_snapshots_by_user ON resume_snapshots (user_id);
`,
    },
    {
      version: 2,
      sql: `
ALTER TABLE resume_snapshots ADD COLUMN carrier TEXT;
ALTER TABLE resume_snapshots ADD COLUMN pending TEXT;
`,
    },
  ];
}
