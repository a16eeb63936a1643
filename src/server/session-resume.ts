/**
 * The server's side of resume: the live RTVI sessions by id and their resume handles. `POST
 * /connect` with `requestData.resume_handle` redeems the handle (once; a racing second client is told
 * `resume_used`), and the one-time WebSocket token it answers attaches the new connection to the
 * waiting session instead of starting one.
 *
 * Across a restart: `pickUp(store)` at start reads the stored resume snapshots of sessions a previous
 * server suspended (a graceful shutdown) or lost (a killed process) and honours their handles. The
 * first connection that redeems one rebuilds the session from its snapshot (same id, user, profile,
 * agent and history). A picked-up session nobody claims within the window closes in the store
 * (`client_disconnected`) with its transcript kept.
 */
import type { Logger } from '../logger.ts';
import { ResumeError, ResumeHandles } from '../session/resume-handles.ts';
import { StoreError } from '../store/store-error.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import type { ResumeSnapshot, SessionStore } from '../store/types.ts';
import type { SessionProfile } from './config.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';

export interface ResumeSettings {
  /** How long a dropped session waits for its client (ms). */
  windowMs: number;
  /** How long a handle stays valid after it was issued (ms). */
  handleTtlMs: number;
  /** Sessions keep resume snapshots in a store that outlives the process (a restart can resume them). */
  durable?: boolean;
}

/** Rebuilds a stored session on a resuming client's transport (the server's session factory). */
export type RestoreSession = (transport: RtviTransport, snapshot: ResumeSnapshot) => RtviSession;

interface Waiting {
  snapshot: ResumeSnapshot;
  timer: NodeJS.Timeout;
}

export class ServerResume {
  readonly handles = new ResumeHandles();
  private readonly sessions = new Map<string, RtviSession>();
  /** Sessions of a previous server, waiting for their clients. */
  private readonly waiting = new Map<string, Waiting>();
  /** Picked-up LiveKit sessions by room name (their ids). */
  private readonly rooms = new Map<string, string>();
  private restore: RestoreSession | undefined;
  private writer: StoreWriter | undefined;

  constructor(readonly settings: ResumeSettings) {}

  /** Options for `createRtviSession`. */
  get sessionOptions(): { handles: ResumeHandles; windowMs: number; handleTtlMs: number; durable?: boolean } {
    return { handles: this.handles, ...this.settings };
  }

  /** Stored sessions waiting for their clients after a restart. */
  get pickedUp(): number {
    return this.waiting.size;
  }

  track(session: RtviSession): void {
    this.sessions.set(session.id, session);
    void session.closed.then(() => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    });
  }

  /**
   * Honour the handles of the sessions a previous server left in `store` (unexpired snapshots).
   * Returns how many were picked up (at most `max`, the newest). Throws the store's `StoreError` when
   * it cannot be read.
   */
  async pickUp(
    store: SessionStore,
    writer: StoreWriter,
    restore: RestoreSession,
    logger: Logger,
    now = Date.now(),
    max = Number.POSITIVE_INFINITY,
    accept: (sessionId: string) => boolean = () => true,
  ): Promise<number> {
    this.restoreWith(writer, restore);
    // Sessions of this server's transports: RTVI, and LiveKit rooms (native sockets are `AgentResume`'s).
    const snapshots = (await store.listSnapshots(now)).filter(
      (s) => s.carrier?.kind !== 'native' && accept(s.sessionId),
    );
    // The newest `max` (the server's session limit): each waits with its whole history in memory.
    if (snapshots.length > max) {
      logger.warn(`resume: ${snapshots.length} stored sessions; only the newest ${max} are picked up`);
      snapshots.splice(0, snapshots.length - max);
    }
    for (const snapshot of snapshots) this.adopt(snapshot);
    if (this.waiting.size > 0) {
      logger.info(`resume: ${this.waiting.size} stored session(s) wait for their clients`);
    }
    return this.waiting.size;
  }

  /** How stored sessions are rebuilt (set by `pickUp`, or by a cluster node that adopts them one by one). */
  restoreWith(writer: StoreWriter, restore: RestoreSession): void {
    this.restore = restore;
    this.writer = writer;
  }

  /**
   * Honour one stored session's handle (a session a previous server, or a node that is gone, left
   * behind): it waits for its client like a picked-up one. False when it is live or waiting already.
   */
  adopt(snapshot: ResumeSnapshot): boolean {
    if (this.sessions.has(snapshot.sessionId) || this.waiting.has(snapshot.sessionId)) return false;
    // A LiveKit room's client comes back by rejoining the room (`claimRoom`), not with a handle.
    if (snapshot.carrier?.kind === 'livekit') this.rooms.set(snapshot.carrier.room, snapshot.sessionId);
    else this.handles.adopt(snapshot.handleHash, snapshot.sessionId, snapshot.userId, snapshot.expiresAt);
    const timer = setTimeout(() => this.expire(snapshot.sessionId), this.settings.windowMs);
    timer.unref?.();
    this.waiting.set(snapshot.sessionId, { snapshot, timer });
    return true;
  }

  /** Redeem a handle for a live or picked-up session. Throws `ResumeError`. */
  redeem(handle: string, userId?: string): string {
    const { sessionId } = this.handles.redeem(handle, userId);
    if (this.waiting.has(sessionId)) return sessionId;
    const session = this.sessions.get(sessionId);
    if (!session || session.state === 'closed') throw new ResumeError('resume_gone', 'The session has ended');
    return sessionId;
  }

  /** Attach a redeemed connection. Throws `ResumeError` when the session ended meanwhile. */
  attach(sessionId: string, transport: RtviTransport, handle: string): RtviSession {
    const picked = this.waiting.get(sessionId);
    if (picked && this.restore) {
      clearTimeout(picked.timer);
      this.waiting.delete(sessionId);
      let session: RtviSession;
      try {
        session = this.restore(transport, picked.snapshot);
      } catch (err) {
        this.close(picked.snapshot, 'restore_failed');
        throw new ResumeError(
          'resume_gone',
          `The stored session cannot be restored: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      this.track(session);
      session.session.eventBus.publish('session.resume', { sessionId, handle });
      return session;
    }
    const session = this.sessions.get(sessionId);
    if (!session) throw new ResumeError('resume_gone', 'The session has ended');
    session.attach(transport, handle);
    return session;
  }

  /**
   * A client joins LiveKit room `room` (its access token verified) as `identity`: the picked-up
   * session of that room, taken (once), or `foreign` when it belongs to another user, or nothing.
   */
  claimRoom(room: string, identity: string): ResumeSnapshot | 'foreign' | undefined {
    const id = this.rooms.get(room);
    const w = id === undefined ? undefined : this.waiting.get(id);
    if (!w || id === undefined) return undefined;
    if (w.snapshot.userId !== identity) return 'foreign';
    clearTimeout(w.timer);
    this.waiting.delete(id);
    this.rooms.delete(room);
    return w.snapshot;
  }

  /** The user's data is being deleted: their picked-up sessions can no longer be resumed. */
  forgetUser(userId: string): void {
    for (const [id, w] of this.waiting) {
      if (w.snapshot.userId !== userId) continue;
      clearTimeout(w.timer);
      this.waiting.delete(id);
      this.handles.revoke(id);
    }
  }

  /** Server shutdown: picked-up sessions stay stored for the next start. */
  dispose(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.rooms.clear();
  }

  /** Nobody came back for a picked-up session within the window: it closes, its transcript kept. */
  private expire(sessionId: string): void {
    const w = this.waiting.get(sessionId);
    if (!w) return;
    this.waiting.delete(sessionId);
    this.handles.revoke(sessionId);
    this.close(w.snapshot, 'client_disconnected');
  }

  private close(snapshot: ResumeSnapshot, reason: string): void {
    const at = Date.now();
    const sessionId = snapshot.sessionId;
    this.writer?.enqueue({ type: 'session.history', sessionId, history: snapshot.history, at });
    this.writer?.enqueue({ type: 'session.close', sessionId, reason, at });
    this.writer?.enqueue({ type: 'snapshot.delete', sessionId });
  }
}

/**
 * The profile a stored session was built from, as a restored session uses it: the agent it had
 * reached, and no greeting (the conversation is already under way). Throws `StoreError`
 * (`store_corrupt`) for a stored profile that is not one (a damaged row).
 */
export function restoredProfile(snapshot: ResumeSnapshot): SessionProfile {
  const p = snapshot.profile as Partial<SessionProfile> | null;
  const models = p?.models as Record<string, unknown> | undefined;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    (p.mode === 'agent' || p.mode === 'stream') &&
    typeof models === 'object' &&
    models !== null &&
    ['llm', 'stt', 'tts', 'vad'].every((k) => typeof models[k] === 'string') &&
    Array.isArray(p.agents) &&
    Array.isArray(p.tools);
  if (!ok) {
    throw new StoreError('store_corrupt', `The stored profile of session ${snapshot.sessionId} is damaged`);
  }
  const { greeting: _greeting, ...rest } = p as SessionProfile;
  return { ...rest, initialAgent: snapshot.agentName };
}
