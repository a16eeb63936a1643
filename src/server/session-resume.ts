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
import { carrierOf, WaitingSessions } from '../session/waiting-sessions.ts';
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

export class ServerResume {
  readonly handles = new ResumeHandles();
  private readonly sessions = new Map<string, RtviSession>();
  /** Sessions of a previous server, waiting for their clients. */
  private readonly waiting: WaitingSessions;
  /** Picked-up LiveKit sessions by room name (their ids). */
  private readonly rooms = new Map<string, string>();
  private restore: RestoreSession | undefined;

  constructor(readonly settings: ResumeSettings) {
    this.waiting = new WaitingSessions(this.handles, settings.windowMs);
  }

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
    const adopted = await this.waiting.load(
      store,
      logger,
      (s) => carrierOf(s) !== 'native' && !this.sessions.has(s.sessionId) && accept(s.sessionId),
      max,
      now,
    );
    for (const s of adopted) if (s.carrier?.kind === 'livekit') this.rooms.set(s.carrier.room, s.sessionId);
    return this.waiting.size;
  }

  /** How stored sessions are rebuilt (set by `pickUp`, or by a cluster node that adopts them one by one). */
  restoreWith(writer: StoreWriter, restore: RestoreSession): void {
    this.restore = restore;
    this.waiting.writeTo(writer);
  }

  /**
   * Honour one stored session's handle (a session a previous server, or a node that is gone, left
   * behind): it waits for its client like a picked-up one. False when it is live or waiting already.
   */
  adopt(snapshot: ResumeSnapshot): boolean {
    if (this.sessions.has(snapshot.sessionId) || !this.waiting.adopt(snapshot)) return false;
    if (snapshot.carrier?.kind === 'livekit') this.rooms.set(snapshot.carrier.room, snapshot.sessionId);
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
    const picked = this.restore ? this.waiting.take(sessionId) : undefined;
    if (picked && this.restore) {
      let session: RtviSession;
      try {
        session = this.restore(transport, picked);
      } catch (err) {
        this.waiting.close(picked, 'restore_failed');
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
    const snapshot = id === undefined ? undefined : this.waiting.peek(id);
    if (!snapshot || id === undefined) return undefined;
    if (snapshot.userId !== identity) return 'foreign';
    this.rooms.delete(room);
    return this.waiting.take(id);
  }

  /** The user's data is being deleted: their picked-up sessions can no longer be resumed. */
  forgetUser(userId: string): void {
    this.waiting.forgetUser(userId);
  }

  /** Server shutdown: picked-up sessions stay stored for the next start. */
  dispose(): void {
    this.waiting.dispose();
    this.rooms.clear();
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
