/**
 * What a `SessionStore` keeps: sessions and their state, transcripts (who said what, what the user
 * actually heard, interruptions), tool calls with their results, compaction summaries, per-user
 * long-term memory facts and resume snapshots. Times are milliseconds since the epoch.
 */
import type { ModelMessage } from 'ai';

export type StoredSessionState = 'active' | 'detached' | 'closed';

export interface SessionRecordFields {
  id: string;
  userId: string;
  /** Transport the session started on (`websocket`, `webrtc`, `native`, `local`…). */
  transport: string;
  mode: 'agent' | 'stream';
  /** The active agent (kept current through transfers). */
  agentName: string;
  startedAt: number;
}

export interface StoredSession extends SessionRecordFields {
  state: StoredSessionState;
  updatedAt: number;
  closedAt?: number;
  closeReason?: string;
  /** Transcript entries stored for the session. */
  turnCount: number;
}

export interface TranscriptEntry {
  sessionId: string;
  turnId?: string;
  role: 'user' | 'assistant';
  /** The agent that answered (assistant entries). */
  agentName?: string;
  /** What was said: the user's words, or the assistant's whole generated response. */
  text: string;
  /** Assistant entries: what the user actually heard (shorter than `text` when interrupted). */
  heardText?: string;
  /** User entries: typed text or a final transcript of speech. */
  source?: 'text' | 'speech';
  interrupted: boolean;
  interruptReason?: string;
  at: number;
}

export interface ToolCallRecord {
  sessionId: string;
  toolCallId: string;
  name: string;
  agentName: string;
  turnId?: string;
  execution?: 'inline' | 'background';
  args: unknown;
  startedAt: number;
  status?: 'success' | 'error' | 'timeout' | 'cancelled';
  result?: unknown;
  errorMessage?: string;
  durationMs?: number;
  finishedAt?: number;
}

export interface CompactionSummary {
  sessionId: string;
  removedItems: number;
  summary: string;
  at: number;
}

export interface MemoryFact {
  fact: string;
  updatedAt: number;
}

/** A change to a user's facts: new or re-confirmed facts, and facts they replace or retract. */
export interface FactChange {
  add: string[];
  remove?: string[];
  at: number;
}

/**
 * How a session's client finds it again after a restart: over RTVI with its resume handle at `POST
 * /connect`, by rejoining its LiveKit room (a valid access token for the room and identity), or with
 * `{type: 'resume', handle}` on the native WebSocket protocol (`AgentResume`).
 */
export type SnapshotCarrier = { kind: 'rtvi' } | { kind: 'livekit'; room: string } | { kind: 'native' };

/**
 * Work a session had under way when its snapshot was taken. A tool or subagent runs in the process
 * and dies with it: a restored session tells its conversation that each one was interrupted (and
 * withdraws the questions the subagents were waiting on); results not yet announced are announced.
 */
export interface PendingWork {
  /** Background tools still running. */
  tools: Array<{ toolCallId: string; name: string; agentName: string }>;
  /** Subagents still working, with the questions they were waiting on. */
  subagents: Array<{
    toolCallId: string;
    subagentName: string;
    questions: Array<{ requestId: string; prompt: string }>;
  }>;
  /** Background results that had arrived but were not yet announced to the user. */
  notifications: string[];
}

/** Everything needed to pick a session up again (after a dropped client or a server restart). */
export interface ResumeSnapshot {
  sessionId: string;
  userId: string;
  agentName: string;
  /** Which server profile the session was built from (the client's `requestData`, validated). */
  profile: unknown;
  history: ModelMessage[];
  /** SHA-256 of the resume handle (the handle itself is never stored). */
  handleHash: string;
  expiresAt: number;
  updatedAt: number;
  /** How the client comes back (absent: `{kind: 'rtvi'}`). Stored as is. */
  carrier?: SnapshotCarrier;
  /** Work under way at the snapshot (absent: none). Stored as is. */
  pending?: PendingWork;
}

export interface SessionQuery {
  userId?: string;
  /** `startedAt` ≥ from. */
  from?: number;
  /** `startedAt` < to. */
  to?: number;
  /** Page size (1..100, default 20). */
  limit?: number;
  /** Opaque cursor from the previous page's `nextCursor`. */
  cursor?: string;
}

export interface SessionPage {
  sessions: StoredSession[];
  nextCursor?: string;
}

export interface SessionDetail {
  session: StoredSession;
  transcript: TranscriptEntry[];
  toolCalls: ToolCallRecord[];
  summaries: CompactionSummary[];
  /** The conversation as the model saw it when it was last stored (empty before that). */
  history: ModelMessage[];
}

/** One queued write; a batch of them is applied atomically. */
export type StoreWrite =
  | { type: 'session.open'; session: SessionRecordFields }
  | { type: 'session.agent'; sessionId: string; agentName: string; at: number }
  | { type: 'session.state'; sessionId: string; state: StoredSessionState; at: number }
  | { type: 'session.close'; sessionId: string; reason: string; at: number }
  | { type: 'transcript'; entry: TranscriptEntry }
  | { type: 'tool.call'; call: ToolCallRecord }
  | {
      type: 'tool.result';
      sessionId: string;
      toolCallId: string;
      status: NonNullable<ToolCallRecord['status']>;
      result: unknown;
      errorMessage?: string;
      durationMs?: number;
      at: number;
    }
  | { type: 'summary'; summary: CompactionSummary }
  /** The conversation as the model sees it (kept at close, for `GET /sessions/:id/transcript`). */
  | { type: 'session.history'; sessionId: string; history: ModelMessage[]; at: number }
  /** Keep (replace) the session's resume snapshot, so a restarted server can pick it up. */
  | { type: 'snapshot.save'; snapshot: ResumeSnapshot }
  /** The session ended for good: its snapshot goes. */
  | { type: 'snapshot.delete'; sessionId: string };

export interface DeletedUserData {
  sessions: number;
  facts: number;
}

/**
 * Where conversations outlive their connection. Implementations: `SqliteSessionStore` (default,
 * one file, WAL), `InMemorySessionStore` (nothing survives the process). Errors are `StoreError`s.
 */
export interface SessionStore {
  readonly kind: string;
  /** Apply a batch of writes atomically (all or nothing). */
  write(batch: readonly StoreWrite[]): Promise<void>;
  listSessions(query: SessionQuery): Promise<SessionPage>;
  getSession(sessionId: string): Promise<SessionDetail | undefined>;
  /** Delete a user's personal data: their sessions (transcripts, tool calls, snapshots) and facts. */
  deleteUser(userId: string): Promise<DeletedUserData>;
  /** The user's facts, oldest first. */
  loadFacts(userId: string): Promise<MemoryFact[]>;
  /**
   * Merge facts atomically: duplicates (case and spacing aside) are not added twice but their time
   * is renewed, removed facts go, and past `maxFacts` the oldest go. Returns the facts and how many
   * were new.
   */
  mergeFacts(
    userId: string,
    change: FactChange,
    maxFacts: number,
  ): Promise<{ facts: MemoryFact[]; added: number }>;
  /** Delete one fact (by text, case and spacing aside) or all the user's facts; returns how many went. */
  deleteFacts(userId: string, fact?: string): Promise<number>;
  saveSnapshot(snapshot: ResumeSnapshot): Promise<void>;
  loadSnapshot(sessionId: string): Promise<ResumeSnapshot | undefined>;
  deleteSnapshot(sessionId: string): Promise<void>;
  /** Snapshots that have not expired at `now`, oldest update first (a restarted server picks these up). */
  listSnapshots(now: number): Promise<ResumeSnapshot[]>;
  close(): Promise<void>;
}
