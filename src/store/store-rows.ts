/**
 * The mapping between the session stores' rows and Colloquy's records, shared by the SQLite and the
 * PostgreSQL store (same tables and columns, schema-migrations.ts): rows → records when reading, and
 * records → the column values of each insert or update, in the order of the columns.
 */
import type { ModelMessage } from 'ai';
import { toJsonColumn } from './json-column.ts';
import type {
  PendingWork,
  ResumeSnapshot,
  SnapshotCarrier,
  StoredSession,
  StoredSessionState,
  StoreWrite,
  ToolCallRecord,
  TranscriptEntry,
} from './types.ts';

/** `transcript (session_id, turn_id, role, agent_name, text, heard_text, source, interrupted, interrupt_reason, at)` */
export function transcriptValues(e: TranscriptEntry): unknown[] {
  return [
    e.sessionId,
    e.turnId ?? null,
    e.role,
    e.agentName ?? null,
    e.text,
    e.heardText ?? null,
    e.source ?? null,
    e.interrupted ? 1 : 0,
    e.interruptReason ?? null,
    e.at,
  ];
}

/** `tool_calls (session_id, tool_call_id, name, agent_name, turn_id, execution, args, started_at)` */
export function toolCallValues(c: ToolCallRecord): unknown[] {
  return [
    c.sessionId,
    c.toolCallId,
    c.name,
    c.agentName,
    c.turnId ?? null,
    c.execution ?? null,
    toJsonColumn(c.args),
    c.startedAt,
  ];
}

/** `SET status, result, error_message, duration_ms, finished_at WHERE session_id AND tool_call_id` */
export function toolResultValues(w: Extract<StoreWrite, { type: 'tool.result' }>): unknown[] {
  return [
    w.status,
    toJsonColumn(w.result),
    w.errorMessage ?? null,
    w.durationMs ?? null,
    w.at,
    w.sessionId,
    w.toolCallId,
  ];
}

/** `resume_snapshots (session_id, user_id, agent_name, profile, history, handle_hash, expires_at, updated_at, carrier, pending)` */
export function snapshotValues(x: ResumeSnapshot): unknown[] {
  return [
    x.sessionId,
    x.userId,
    x.agentName,
    JSON.stringify(x.profile ?? null),
    JSON.stringify(x.history),
    x.handleHash,
    x.expiresAt,
    x.updatedAt,
    x.carrier ? JSON.stringify(x.carrier) : null,
    x.pending ? JSON.stringify(x.pending) : null,
  ];
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
