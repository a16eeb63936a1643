/**
 * The server's side of resume: the live RTVI sessions by id and their resume handles. `POST
 * /connect` with `requestData.resume_handle` redeems the handle (once; a racing second client is told
 * `resume_used`), and the one-time WebSocket token it answers attaches the new connection to the
 * waiting session instead of starting one.
 */
import { ResumeError, ResumeHandles } from '../session/resume-handles.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';

export interface ResumeSettings {
  /** How long a dropped session waits for its client (ms). */
  windowMs: number;
  /** How long a handle stays valid after it was issued (ms). */
  handleTtlMs: number;
}

export class ServerResume {
  readonly handles = new ResumeHandles();
  private readonly sessions = new Map<string, RtviSession>();

  constructor(readonly settings: ResumeSettings) {}

  /** Options for `createRtviSession`. */
  get sessionOptions(): { handles: ResumeHandles; windowMs: number; handleTtlMs: number } {
    return { handles: this.handles, ...this.settings };
  }

  track(session: RtviSession): void {
    this.sessions.set(session.id, session);
    void session.closed.then(() => this.sessions.delete(session.id));
  }

  /** Redeem a handle for a live session. Throws `ResumeError`. */
  redeem(handle: string, userId?: string): string {
    const { sessionId } = this.handles.redeem(handle, userId);
    const session = this.sessions.get(sessionId);
    if (!session || session.state === 'closed') throw new ResumeError('resume_gone', 'The session has ended');
    return sessionId;
  }

  /** Attach a redeemed connection. Throws `ResumeError` when the session ended meanwhile. */
  attach(sessionId: string, transport: RtviTransport, handle: string): RtviSession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new ResumeError('resume_gone', 'The session has ended');
    session.attach(transport, handle);
    return session;
  }
}
