/**
 * The SQLite store's schema, as numbered migrations. `PRAGMA user_version` holds the version
 * applied; each migration runs once, in its own transaction, in order. Never edit a shipped
 * migration: add the next one.
 */
export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
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
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  closed_at INTEGER,
  close_reason TEXT,
  history TEXT
);
CREATE INDEX sessions_by_time ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_user ON sessions (user_id, started_at DESC, id DESC);

CREATE TABLE transcript (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  turn_id TEXT,
  role TEXT NOT NULL,
  agent_name TEXT,
  text TEXT NOT NULL,
  heard_text TEXT,
  source TEXT,
  interrupted INTEGER NOT NULL,
  interrupt_reason TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX transcript_by_session ON transcript (session_id, seq);

CREATE TABLE tool_calls (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  tool_call_id TEXT NOT NULL,
  name TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  turn_id TEXT,
  execution TEXT,
  args TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  status TEXT,
  result TEXT,
  error_message TEXT,
  duration_ms INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (session_id, tool_call_id)
);

CREATE TABLE summaries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  removed_items INTEGER NOT NULL,
  summary TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX summaries_by_session ON summaries (session_id, seq);

CREATE TABLE memory_facts (
  user_id TEXT NOT NULL,
  fact_key TEXT NOT NULL,
  fact TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, fact_key)
);

CREATE TABLE resume_snapshots (
  session_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  history TEXT NOT NULL,
  handle_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
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

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
