/** The SQLite store's prepared statements and the mapping between rows and records. */
import type { ModelMessage } from 'ai';
import type {
  PendingWork,
  ResumeSnapshot,
  SnapshotCarrier,
  StoredSession,
  StoredSessionState,
  ToolCallRecord,
  TranscriptEntry,
} from './types.ts';

/** The part of better-sqlite3 this store uses (its own types stay out of Colloquy's public API). */
export interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(
    fn: (...args: A) => R,
  ): { immediate(...args: A): R } & ((...args: A) => R);
  close(): void;
}

export function prepare(db: Database) {
  return {
    openSession: db.prepare(
      `INSERT INTO sessions (id, user_id, transport, mode, agent_name, state, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = 'active', updated_at = excluded.updated_at`,
    ),
    setAgent: db.prepare('UPDATE sessions SET agent_name = ?, updated_at = ? WHERE id = ?'),
    setHistory: db.prepare('UPDATE sessions SET history = ?, updated_at = ? WHERE id = ?'),
    setState: db.prepare('UPDATE sessions SET state = ?, updated_at = ? WHERE id = ?'),
    closeSession: db.prepare(
      `UPDATE sessions SET state = 'closed', closed_at = ?, close_reason = ?, updated_at = ? WHERE id = ?`,
    ),
    addTranscript: db.prepare(
      `INSERT INTO transcript (session_id, turn_id, role, agent_name, text, heard_text, source, interrupted, interrupt_reason, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    addToolCall: db.prepare(
      `INSERT OR REPLACE INTO tool_calls (session_id, tool_call_id, name, agent_name, turn_id, execution, args, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setToolResult: db.prepare(
      `UPDATE tool_calls SET status = ?, result = ?, error_message = ?, duration_ms = ?, finished_at = ?
       WHERE session_id = ? AND tool_call_id = ?`,
    ),
    addSummary: db.prepare(
      'INSERT INTO summaries (session_id, removed_items, summary, at) VALUES (?, ?, ?, ?)',
    ),
    getSession: db.prepare(
      `SELECT s.*, (SELECT COUNT(*) FROM transcript t WHERE t.session_id = s.id) AS turn_count
       FROM sessions s WHERE id = ?`,
    ),
    transcriptOf: db.prepare('SELECT * FROM transcript WHERE session_id = ? ORDER BY seq'),
    toolCallsOf: db.prepare('SELECT * FROM tool_calls WHERE session_id = ? ORDER BY started_at, rowid'),
    summariesOf: db.prepare('SELECT * FROM summaries WHERE session_id = ? ORDER BY seq'),
    deleteSessionsOfUser: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    deleteSnapshotsOfUser: db.prepare('DELETE FROM resume_snapshots WHERE user_id = ?'),
    factsOf: db.prepare(
      'SELECT fact, updated_at FROM memory_facts WHERE user_id = ? ORDER BY updated_at, rowid',
    ),
    addFact: db.prepare('INSERT INTO memory_facts (user_id, fact_key, fact, updated_at) VALUES (?, ?, ?, ?)'),
    deleteAllFacts: db.prepare('DELETE FROM memory_facts WHERE user_id = ?'),
    deleteFact: db.prepare('DELETE FROM memory_facts WHERE user_id = ? AND fact_key = ?'),
    saveSnapshot: db.prepare(
      `INSERT OR REPLACE INTO resume_snapshots (session_id, user_id, agent_name, profile, history, handle_hash, expires_at, updated_at, carrier, pending)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getSnapshot: db.prepare('SELECT * FROM resume_snapshots WHERE session_id = ?'),
    deleteSnapshot: db.prepare('DELETE FROM resume_snapshots WHERE session_id = ?'),
    liveSnapshots: db.prepare('SELECT * FROM resume_snapshots WHERE expires_at > ? ORDER BY updated_at'),
  };
}

export interface SessionRow {
  id: string;
  user_id: string;
  transport: string;
  mode: string;
  agent_name: string;
  state: string;
  started_at: number;
  updated_at: number;
  closed_at: number | null;
  close_reason: string | null;
  history?: string | null;
  turn_count: number;
}
export interface TranscriptRow {
  session_id: string;
  turn_id: string | null;
  role: string;
  agent_name: string | null;
  text: string;
  heard_text: string | null;
  source: string | null;
  interrupted: number;
  interrupt_reason: string | null;
  at: number;
}
export interface ToolRow {
  session_id: string;
  tool_call_id: string;
  name: string;
  agent_name: string;
  turn_id: string | null;
  execution: string | null;
  args: string;
  started_at: number;
  status: string | null;
  result: string | null;
  error_message: string | null;
  duration_ms: number | null;
  finished_at: number | null;
}
export interface SummaryRow {
  session_id: string;
  removed_items: number;
  summary: string;
  at: number;
}
export interface SnapshotRow {
  session_id: string;
  user_id: string;
  agent_name: string;
  profile: string;
  history: string;
  handle_hash: string;
  expires_at: number;
  updated_at: number;
  carrier: string | null;
  pending: string | null;
}

export function toSession(r: SessionRow): StoredSession {
  return {
    id: r.id,
    userId: r.user_id,
    transport: r.transport,
    mode: r.mode === 'stream' ? 'stream' : 'agent',
    agentName: r.agent_name,
    state: r.state as StoredSessionState,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    ...(r.closed_at !== null ? { closedAt: r.closed_at } : {}),
    ...(r.close_reason !== null ? { closeReason: r.close_reason } : {}),
    turnCount: r.turn_count,
  };
}

export function toTranscript(r: TranscriptRow): TranscriptEntry {
  return {
    sessionId: r.session_id,
    ...(r.turn_id !== null ? { turnId: r.turn_id } : {}),
    role: r.role === 'assistant' ? 'assistant' : 'user',
    ...(r.agent_name !== null ? { agentName: r.agent_name } : {}),
    text: r.text,
    ...(r.heard_text !== null ? { heardText: r.heard_text } : {}),
    ...(r.source === 'text' || r.source === 'speech' ? { source: r.source } : {}),
    interrupted: r.interrupted === 1,
    ...(r.interrupt_reason !== null ? { interruptReason: r.interrupt_reason } : {}),
    at: r.at,
  };
}

export function toToolCall(r: ToolRow): ToolCallRecord {
  return {
    sessionId: r.session_id,
    toolCallId: r.tool_call_id,
    name: r.name,
    agentName: r.agent_name,
    ...(r.turn_id !== null ? { turnId: r.turn_id } : {}),
    ...(r.execution === 'inline' || r.execution === 'background' ? { execution: r.execution } : {}),
    args: JSON.parse(r.args),
    startedAt: r.started_at,
    ...(r.status !== null ? { status: r.status as NonNullable<ToolCallRecord['status']> } : {}),
    ...(r.result !== null ? { result: JSON.parse(r.result) } : {}),
    ...(r.error_message !== null ? { errorMessage: r.error_message } : {}),
    ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
    ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
  };
}

export function toSnapshot(r: SnapshotRow): ResumeSnapshot {
  return {
    sessionId: r.session_id,
    userId: r.user_id,
    agentName: r.agent_name,
    profile: JSON.parse(r.profile),
    history: JSON.parse(r.history) as ModelMessage[],
    handleHash: r.handle_hash,
    expiresAt: r.expires_at,
    updatedAt: r.updated_at,
    ...(r.carrier != null ? { carrier: JSON.parse(r.carrier) as SnapshotCarrier } : {}),
    ...(r.pending != null ? { pending: JSON.parse(r.pending) as PendingWork } : {}),
  };
}
