/** The SQLite store's prepared statements (rows ↔ records: store-rows.ts). */

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
