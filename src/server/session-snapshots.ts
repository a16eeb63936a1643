/**
 * The notice a suspended RTVI session's client gets at a graceful shutdown (the snapshot itself is
 * kept by `SessionSnapshots`, src/session/resume-snapshots.ts).
 */
import { serverMessage } from '../surfaces/rtvi/messages.ts';

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

/**
 * What a drained session's client hears: the conversation ended on this node (`conversation-end`),
 * and it can go on elsewhere with this handle (through any node's `POST /connect`).
 */
export function drainNotice(sessionId: string, issued: { handle: string; expiresAt: number }) {
  return serverMessage('conversation-end', {
    reason: 'server_drain',
    session_id: sessionId,
    resume_handle: issued.handle,
    resume_expires_at: issued.expiresAt,
    reconnect: true,
  });
}
