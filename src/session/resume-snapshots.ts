/**
 * A live session's resume snapshot in the store: what a restarted server needs to pick the session
 * up (its user, current agent, profile, history, how its client comes back, the work it had under
 * way, and the hash of its live resume credential). Saved when a handle is issued, after every turn
 * and when background work starts, ends or asks the user something, through the store's one writer
 * (off the turn's path), so that even a server killed without warning leaves the latest state
 * behind; deleted when the session ends for good. A session suspended by a graceful shutdown keeps
 * its snapshot. Used by every transport: RTVI, LiveKit rooms, the native WebSocket protocol.
 */
import type { ModelMessage } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import type { ResumeSnapshot, SnapshotCarrier } from '../store/types.ts';
import { PendingWorkTracker, reportWhenStarted } from './pending-work.ts';
import type { VoiceSession } from './voice-session.ts';

/** The session's live resume credential (a handle's hash, its user and expiry). */
export interface ResumeCredential {
  userId: string;
  handleHash: string;
  expiresAt: number;
}

export interface SessionSnapshotsOptions {
  bus: SessionEventBus;
  writer: StoreWriter;
  sessionId: string;
  /** The profile the session was built from (stored as is: a restarted server rebuilds it). */
  profile: unknown;
  history: () => ModelMessage[];
  agentName: () => string;
  /** The live credential; nothing is saved without one (nobody could resume). */
  credential: () => ResumeCredential | undefined;
  /** How the client comes back (absent: RTVI). */
  carrier?: SnapshotCarrier;
  /** Background results waiting to be announced (`VoiceSession.pendingNotifications`). */
  notifications?: () => string[];
  now?: () => number;
}

export class SessionSnapshots {
  private readonly offs: Array<() => void>;
  private readonly work: PendingWorkTracker;
  private stopped = false;

  constructor(private readonly o: SessionSnapshotsOptions) {
    this.work = new PendingWorkTracker(o.bus, o.notifications ?? (() => []));
    const save = () => this.save();
    this.offs = [
      o.bus.subscribe('turn.end', save),
      // Background work changes between turns too: a subagent starts, asks, or ends.
      o.bus.subscribe('agent.handoff', save),
      o.bus.subscribe('subagent.ui.send', save),
      o.bus.subscribe('subagent.notification', save),
    ];
  }

  /** Queue the session's snapshot. */
  save(): void {
    if (this.stopped) return;
    const live = this.o.credential();
    if (!live) return;
    const pending = this.work.current;
    const busy = pending.tools.length + pending.subagents.length + pending.notifications.length > 0;
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
        ...(this.o.carrier ? { carrier: this.o.carrier } : {}),
        ...(busy ? { pending } : {}),
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
    for (const off of this.offs.splice(0)) off();
    this.work.dispose();
  }
}

/**
 * A session rebuilt from its snapshot takes the conversation up where it was: the stored history,
 * and the work that died with the previous server reported once the session starts (see
 * `reportWhenStarted`). Every transport's restore goes through here.
 */
export function restoreSnapshot(session: VoiceSession, snapshot: ResumeSnapshot): void {
  session.setHistory(snapshot.history);
  reportWhenStarted(session, snapshot.pending);
}
