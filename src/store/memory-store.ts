/**
 * A `SessionStore` in process memory (`COLLOQUY_STORE=memory`): the same behaviour as the SQLite
 * store, nothing survives the process. Bounded: past `maxSessions` the oldest closed sessions go.
 */
import type { ModelMessage } from 'ai';
import { mergeFacts } from './facts.ts';
import { boundedValue } from './json-column.ts';
import { type Cursor, decodeCursor, encodeCursor, isAfter, pageSize } from './paging.ts';
import { StoreError } from './store-error.ts';
import { writeSessionId } from './store-writer.ts';
import type {
  CompactionSummary,
  DeletedUserData,
  FactChange,
  MemoryFact,
  ResumeSnapshot,
  SessionDetail,
  SessionPage,
  SessionQuery,
  SessionStore,
  StoredSession,
  StoreWrite,
  ToolCallRecord,
  TranscriptEntry,
} from './types.ts';

interface Entry {
  session: StoredSession;
  history: ModelMessage[];
  transcript: TranscriptEntry[];
  tools: Map<string, ToolCallRecord>;
  summaries: CompactionSummary[];
}

export interface InMemorySessionStoreOptions {
  /** Most sessions kept; the oldest closed ones are dropped first (default 1000). */
  maxSessions?: number;
}

/**
 * A `SessionStore` in process memory: the SQLite store's behaviour, nothing kept past the process.
 *
 * @example
 * ```ts
 * import { InMemorySessionStore, recordSession, StoreWriter, VoiceSession } from 'colloquy';
 * import { mockLanguageModel } from 'colloquy/testing';
 *
 * const store = new InMemorySessionStore({ maxSessions: 100 });
 * const writer = new StoreWriter(store);
 * const session = new VoiceSession({ userId: 'u1', model: mockLanguageModel(['Hi!']), agents: [{ name: 'main', instructions: 'Greet.' }] });
 * recordSession(session.eventBus, writer, { history: () => session.history });
 * await session.sendText('Hello');
 * await session.close();
 * await writer.flush();
 * console.log((await store.listSessions({ userId: 'u1' })).sessions.length);
 * ```
 */
export class InMemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, Entry>();
  private readonly facts = new Map<string, MemoryFact[]>();
  private readonly snapshots = new Map<string, ResumeSnapshot>();
  private readonly maxSessions: number;
  private closed = false;

  constructor(options: InMemorySessionStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 1000;
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    this.assertOpen();
    // All or nothing: check every write first, then apply.
    const opened = new Set<string>();
    for (const w of batch) {
      if (w.type === 'session.open') opened.add(w.session.id);
      // Snapshots are kept apart from the session rows (the first one may come before the session opens).
      else if (w.type === 'snapshot.save' || w.type === 'snapshot.delete') continue;
      else if (!opened.has(writeSessionId(w)) && !this.sessions.has(writeSessionId(w))) {
        throw new StoreError(
          'store_write_failed',
          `Write "${w.type}" names an unknown session ${writeSessionId(w)}`,
        );
      }
    }
    for (const w of batch) this.apply(w);
    this.evict();
  }

  private apply(w: StoreWrite): void {
    switch (w.type) {
      case 'session.open': {
        const old = this.sessions.get(w.session.id);
        if (old) {
          old.session.state = 'active';
          old.session.updatedAt = w.session.startedAt;
          return;
        }
        this.sessions.set(w.session.id, {
          session: { ...w.session, state: 'active', updatedAt: w.session.startedAt, turnCount: 0 },
          history: [],
          transcript: [],
          tools: new Map(),
          summaries: [],
        });
        return;
      }
      case 'session.agent': {
        const s = this.sessions.get(w.sessionId)!.session;
        s.agentName = w.agentName;
        s.updatedAt = w.at;
        return;
      }
      case 'session.state': {
        const s = this.sessions.get(w.sessionId)!.session;
        s.state = w.state;
        s.updatedAt = w.at;
        return;
      }
      case 'session.close': {
        const s = this.sessions.get(w.sessionId)!.session;
        s.state = 'closed';
        s.closedAt = w.at;
        s.closeReason = w.reason;
        s.updatedAt = w.at;
        return;
      }
      case 'transcript': {
        const e = this.sessions.get(w.entry.sessionId)!;
        e.transcript.push({ ...w.entry });
        e.session.turnCount = e.transcript.length;
        return;
      }
      case 'tool.call':
        this.sessions
          .get(w.call.sessionId)!
          .tools.set(w.call.toolCallId, { ...w.call, args: boundedValue(w.call.args) });
        return;
      case 'tool.result': {
        const tools = this.sessions.get(w.sessionId)!.tools;
        const call = tools.get(w.toolCallId);
        if (!call) return; // a result without its call (e.g. recorded before the store) is kept out
        call.status = w.status;
        call.result = boundedValue(w.result);
        call.finishedAt = w.at;
        if (w.errorMessage !== undefined) call.errorMessage = w.errorMessage;
        if (w.durationMs !== undefined) call.durationMs = w.durationMs;
        return;
      }
      case 'session.history': {
        const e = this.sessions.get(w.sessionId)!;
        e.history = structuredClone(w.history);
        e.session.updatedAt = w.at;
        return;
      }
      case 'summary':
        this.sessions.get(w.summary.sessionId)!.summaries.push({ ...w.summary });
        return;
      case 'snapshot.save':
        this.snapshots.set(w.snapshot.sessionId, structuredClone(w.snapshot));
        return;
      case 'snapshot.delete':
        this.snapshots.delete(w.sessionId);
        return;
      default: {
        const never: never = w;
        throw new StoreError('store_write_failed', `Unknown write ${JSON.stringify(never)}`);
      }
    }
  }

  private evict(): void {
    if (this.sessions.size <= this.maxSessions) return;
    for (const [id, e] of this.sessions) {
      if (this.sessions.size <= this.maxSessions) break;
      if (e.session.state === 'closed') this.sessions.delete(id);
    }
  }

  async listSessions(query: SessionQuery): Promise<SessionPage> {
    this.assertOpen();
    const limit = pageSize(query);
    const after: Cursor | undefined = query.cursor ? decodeCursor(query.cursor) : undefined;
    const all = [...this.sessions.values()]
      .map((e) => e.session)
      .filter(
        (s) =>
          (query.userId === undefined || s.userId === query.userId) &&
          (query.from === undefined || s.startedAt >= query.from) &&
          (query.to === undefined || s.startedAt < query.to) &&
          (after === undefined || isAfter(s, after)),
      )
      .sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = all.slice(0, limit).map((s) => ({ ...s }));
    const last = page[page.length - 1];
    return all.length > limit && last
      ? { sessions: page, nextCursor: encodeCursor(last) }
      : { sessions: page };
  }

  async getSession(sessionId: string): Promise<SessionDetail | undefined> {
    this.assertOpen();
    const e = this.sessions.get(sessionId);
    if (!e) return undefined;
    return {
      session: { ...e.session },
      transcript: e.transcript.map((t) => ({ ...t })),
      toolCalls: [...e.tools.values()].map((t) => ({ ...t })),
      summaries: e.summaries.map((s) => ({ ...s })),
      history: structuredClone(e.history),
    };
  }

  async deleteUser(userId: string): Promise<DeletedUserData> {
    this.assertOpen();
    let sessions = 0;
    for (const [id, e] of this.sessions) {
      if (e.session.userId !== userId) continue;
      this.sessions.delete(id);
      this.snapshots.delete(id);
      sessions++;
    }
    for (const [id, s] of this.snapshots) if (s.userId === userId) this.snapshots.delete(id);
    const facts = this.facts.get(userId)?.length ?? 0;
    this.facts.delete(userId);
    return { sessions, facts };
  }

  async loadFacts(userId: string): Promise<MemoryFact[]> {
    this.assertOpen();
    return (this.facts.get(userId) ?? []).map((f) => ({ ...f }));
  }

  async mergeFacts(
    userId: string,
    change: FactChange,
    maxFacts: number,
  ): Promise<{ facts: MemoryFact[]; added: number }> {
    this.assertOpen();
    const merged = mergeFacts(this.facts.get(userId) ?? [], change, maxFacts);
    this.facts.set(userId, merged.facts);
    return { facts: merged.facts.map((f) => ({ ...f })), added: merged.added };
  }

  async deleteFacts(userId: string, fact?: string): Promise<number> {
    this.assertOpen();
    const known = this.facts.get(userId) ?? [];
    if (fact === undefined) {
      this.facts.delete(userId);
      return known.length;
    }
    const { facts } = mergeFacts(known, { add: [], remove: [fact], at: 0 }, Number.MAX_SAFE_INTEGER);
    this.facts.set(userId, facts);
    return known.length - facts.length;
  }

  async saveSnapshot(snapshot: ResumeSnapshot): Promise<void> {
    this.assertOpen();
    this.snapshots.set(snapshot.sessionId, structuredClone(snapshot));
  }

  async loadSnapshot(sessionId: string): Promise<ResumeSnapshot | undefined> {
    this.assertOpen();
    const s = this.snapshots.get(sessionId);
    return s ? structuredClone(s) : undefined;
  }

  async deleteSnapshot(sessionId: string): Promise<void> {
    this.assertOpen();
    this.snapshots.delete(sessionId);
  }

  async listSnapshots(now: number): Promise<ResumeSnapshot[]> {
    this.assertOpen();
    return [...this.snapshots.values()]
      .filter((s) => s.expiresAt > now)
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .map((s) => structuredClone(s));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store_closed', 'The session store is closed');
  }
}
