/**
 * A live session's resume snapshot in the store: what a restarted server needs to pick the session
 * up (its user, current agent, profile, history, and the hash of its live resume handle). Saved when
 * a handle is issued and after every turn, through the store's one writer (off the turn's path), so
 * that even a server killed without warning leaves the latest turn's state behind; deleted when the
 * session ends for good. A session suspended by a graceful shutdown keeps its snapshot.
 */
import type { ModelMessage } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { ResumeHandles } from '../session/resume-handles.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import { serverMessage } from '../surfaces/rtvi/messages.ts';

export interface SessionSnapshotsOptions {
  bus: SessionEventBus;
  writer: StoreWriter;
  handles: ResumeHandles;
  sessionId: string;
  /** The profile the session was built from (stored as is: a restarted server rebuilds it). */
  profile: unknown;
  history: () => ModelMessage[];
  agentName: () => string;
  now?: () => number;
}

export class SessionSnapshots {
  private readonly off: () => void;
  private stopped = false;

  constructor(private readonly o: SessionSnapshotsOptions) {
    this.off = o.bus.subscribe('turn.end', () => this.save());
  }

  /** Queue the session's snapshot (nothing without a live handle: nobody could resume it). */
  save(): void {
    if (this.stopped) return;
    const live = this.o.handles.current(this.o.sessionId);
    if (!live) return;
    this.o.writer.enqueue({
      type: 'snapshot.save',
      snapshot: {
        sessionId: this.o.sessionId,
        userId: live.userId,
        agentName: this.o.agentName(),
        profile: this.o.profile,
        history: this.o.history(),
        handleHash: live.handleHash,
        expiresAt: live.expiresAt,
        updatedAt: (this.o.now ?? Date.now)(),
      },
    });
  }

  /** Save one last time and stop: the session is suspended (a graceful shutdown). */
  keep(): void {
    this.save();
    this.stop();
  }

  /** The session ended for good: its snapshot goes. */
  drop(): void {
    if (this.stopped) return;
    this.stop();
    this.o.writer.enqueue({ type: 'snapshot.delete', sessionId: this.o.sessionId });
  }

  private stop(): void {
    this.stopped = true;
    this.off();
  }
}

/**
 * What a suspended session's client hears (RTVI `server-message`): the server is going away; come
 * back with this handle (to this server once it is back, through `POST /connect`).
 */
export function shutdownNotice(sessionId: string, issued: { handle: string; expiresAt: number }) {
  return serverMessage('server-shutdown', {
    session_id: sessionId,
    resume_handle: issued.handle,
    resume_expires_at: issued.expiresAt,
    reconnect: true,
  });
}
