/**
 * The PostgreSQL store's schema: the same tables, columns and numbered versions as the SQLite
 * store's (sqlite-migrations.ts), in PostgreSQL's dialect. The table `colloquy_schema` holds the
 * version applied; migrations run in order, each in its own transaction, under an advisory lock so
 * that nodes starting together migrate once. Never edit a shipped migration: add the next one, in
 * both files, with the same version.
 */
import type { Migration } from './sqlite-migrations.ts';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
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
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  closed_at BIGINT,
  close_reason TEXT,
  history TEXT
);
CREATE INDEX sessions_by_time ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_user ON sessions (user_id, started_at DESC, id DESC);

CREATE TABLE transcript (
  seq BIGSERIAL PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  turn_id TEXT,
  role TEXT NOT NULL,
  agent_name TEXT,
  text TEXT NOT NULL,
  heard_text TEXT,
  source TEXT,
  interrupted INTEGER NOT NULL,
  interrupt_reason TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX transcript_by_session ON transcript (session_id, seq);

CREATE TABLE tool_calls (
  seq BIGSERIAL,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  tool_call_id TEXT NOT NULL,
  name TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  turn_id TEXT,
  execution TEXT,
  args TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  status TEXT,
  result TEXT,
  error_message TEXT,
  duration_ms BIGINT,
  finished_at BIGINT,
  PRIMARY KEY (session_id, tool_call_id)
);

CREATE TABLE summaries (
  seq BIGSERIAL PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  removed_items INTEGER NOT NULL,
  summary TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX summaries_by_session ON summaries (session_id, seq);

CREATE TABLE memory_facts (
  seq BIGSERIAL,
  user_id TEXT NOT NULL,
  fact_key TEXT NOT NULL,
  fact TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, fact_key)
);

CREATE TABLE resume_snapshots (
  session_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  agent_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  history TEXT NOT NULL,
  handle_hash TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
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

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;
