/**
 * Sessions a previous server left in the store — suspended by a graceful shutdown, or lost with a
 * killed process — waiting for their clients after a restart. Each one's resume handle is honoured
 * (its hash adopted into the live `ResumeHandles`); a session nobody claims within the window closes
 * in the store (`client_disconnected`) with its transcript kept and its snapshot gone.
 *
 * Shared by every transport that resumes across a restart: the server's RTVI sessions and LiveKit
 * rooms (`ServerResume`), and the native WebSocket protocol (`AgentResume`).
 */
import type { Logger } from '../logger.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import type { ResumeSnapshot, SessionStore, SnapshotCarrier } from '../store/types.ts';
import type { ResumeHandles } from './resume-handles.ts';

interface Waiting {
  snapshot: ResumeSnapshot;
  timer: NodeJS.Timeout;
}

/** How a snapshot's client comes back (absent: RTVI). */
export const carrierOf = (snapshot: ResumeSnapshot): SnapshotCarrier['kind'] =>
  snapshot.carrier?.kind ?? 'rtvi';

export class WaitingSessions {
  private readonly waiting = new Map<string, Waiting>();
  private writer: StoreWriter | undefined;

  constructor(
    private readonly handles: ResumeHandles,
    private readonly windowMs: number,
  ) {}

  /** Sessions waiting for their clients. */
  get size(): number {
    return this.waiting.size;
  }

  has(sessionId: string): boolean {
    return this.waiting.has(sessionId);
  }

  /** The waiting session `sessionId`'s snapshot (still waiting). */
  peek(sessionId: string): ResumeSnapshot | undefined {
    return this.waiting.get(sessionId)?.snapshot;
  }

  /** Where an unclaimed session's end is written. */
  writeTo(writer: StoreWriter): void {
    this.writer = writer;
  }

  /**
   * Adopt the unexpired snapshots of `store` that `accept` takes: the newest `max` of them (each
   * waits with its whole history in memory). Returns the snapshots adopted. Throws the store's
   * `StoreError` when it cannot be read.
   */
  async load(
    store: SessionStore,
    logger: Logger,
    accept: (snapshot: ResumeSnapshot) => boolean,
    max = Number.POSITIVE_INFINITY,
    now = Date.now(),
  ): Promise<ResumeSnapshot[]> {
    const snapshots = (await store.listSnapshots(now)).filter(accept);
    if (snapshots.length > max) {
      logger.warn(`resume: ${snapshots.length} stored sessions; only the newest ${max} are picked up`);
      snapshots.splice(0, snapshots.length - max);
    }
    const adopted = snapshots.filter((snapshot) => this.adopt(snapshot));
    if (this.waiting.size > 0) {
      logger.info(`resume: ${this.waiting.size} stored session(s) wait for their clients`);
    }
    return adopted;
  }

  /** One stored session waits for its client. False when it waits already. */
  adopt(snapshot: ResumeSnapshot): boolean {
    if (this.waiting.has(snapshot.sessionId)) return false;
    // A LiveKit room's client comes back by rejoining the room (its access token), not with a handle.
    if (carrierOf(snapshot) !== 'livekit') {
      this.handles.adopt(snapshot.handleHash, snapshot.sessionId, snapshot.userId, snapshot.expiresAt);
    }
    const timer = setTimeout(() => this.expire(snapshot.sessionId), this.windowMs);
    timer.unref?.();
    this.waiting.set(snapshot.sessionId, { snapshot, timer });
    return true;
  }

  /** The client came back: the session stops waiting, its snapshot is the caller's to rebuild. */
  take(sessionId: string): ResumeSnapshot | undefined {
    const w = this.waiting.get(sessionId);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.waiting.delete(sessionId);
    return w.snapshot;
  }

  /** The user's data is being deleted: their waiting sessions can no longer be resumed. */
  forgetUser(userId: string): void {
    for (const [id, w] of this.waiting) {
      if (w.snapshot.userId !== userId) continue;
      clearTimeout(w.timer);
      this.waiting.delete(id);
      this.handles.revoke(id);
    }
  }

  /** Server shutdown: the waiting sessions stay stored for the next start. */
  dispose(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
  }

  /** A stored session ends for good (`reason`): its history and close written, its snapshot gone. */
  close(snapshot: ResumeSnapshot, reason: string): void {
    const at = Date.now();
    const sessionId = snapshot.sessionId;
    this.writer?.enqueue({ type: 'session.history', sessionId, history: snapshot.history, at });
    this.writer?.enqueue({ type: 'session.close', sessionId, reason, at });
    this.writer?.enqueue({ type: 'snapshot.delete', sessionId });
  }

  /** Nobody came back within the window: the session closes, its transcript kept. */
  private expire(sessionId: string): void {
    const snapshot = this.take(sessionId);
    if (!snapshot) return;
    this.handles.revoke(sessionId);
    this.close(snapshot, 'client_disconnected');
  }
}
