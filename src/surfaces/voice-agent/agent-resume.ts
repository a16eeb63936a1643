/**
 * Resume on the native WebSocket protocol: a client whose socket dropped (a network change, a
 * reload, a killed socket) reconnects and gets the same `VoiceAgent` back (history, pending tool
 * and subagent results), within a window.
 *
 * `accept(socket, create)` serves every new socket. A socket whose first message is
 * `{type: 'resume', handle}` takes the agent of that handle back (`session_resumed`, then a fresh
 * `resume_handle`; `session.resume {sessionId, handle}` fires on the agent's bus); any other first
 * message starts a new agent from `create()`. Every attached socket gets a `resume_handle {sessionId,
 * handle, expiresAt}` message: opaque, unguessable, single-use, expiring. An agent whose client does
 * not come back within `windowMs` is destroyed (its session closes). Refused handles get an `error`
 * with the `ResumeError` code (`resume_unknown`, `resume_used`, `resume_expired`, `resume_gone`,
 * `resume_foreign`), then the socket closes.
 *
 * Handles are bound to the agent's user (`VoiceAgentOptions.userId`). When the application knows who
 * a socket belongs to (its own authentication), `accept(socket, create, {userId})` refuses another
 * user's handle (`resume_foreign`) without spending it. A handle is redeemed once, synchronously: of
 * two sockets racing with one handle exactly one gets the agent, the other is told `resume_used`.
 */
import WebSocket from 'ws';
import { ResumeError, ResumeHandles } from '../../session/resume-handles.ts';
import { tryParseClientMessage } from '../native-protocol/client-messages.ts';
import type { ServerMessage } from '../native-protocol/server-messages.ts';
import type { VoiceAgent } from './voice-agent.ts';

export interface AgentResumeOptions {
  /** How long a dropped agent waits for its client (default 60 000 ms). */
  windowMs?: number;
  /** How long a handle stays valid after it was issued (default 3 600 000 ms). */
  handleTtlMs?: number;
  /** How long a new socket may take to send its first message (default 10 000 ms). */
  firstMessageTimeoutMs?: number;
}

/** Who a socket belongs to, as the application authenticated it. */
export interface AgentResumeAcceptOptions {
  /** The socket's user: a resume handle of another user's agent is refused (`resume_foreign`). */
  userId?: string;
}

interface Tracked {
  agent: VoiceAgent;
  timer: NodeJS.Timeout | undefined;
  off: () => void;
}

/**
 * Reconnecting clients get their `VoiceAgent` back: a dropped socket's agent waits `windowMs` for
 * a `{type: 'resume', handle}` message on a new socket.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { AgentResume, VoiceAgent } from 'colloquy';
 * import { WebSocketServer } from 'ws';
 *
 * const resume = new AgentResume({ windowMs: 30_000 });
 * new WebSocketServer({ port: 8080 }).on('connection', (socket) => {
 *   resume.accept(socket, () => new VoiceAgent({ model: openai('gpt-4o'), instructions: 'Be brief.' }));
 * });
 * process.on('SIGTERM', () => resume.close());
 * ```
 */
export class AgentResume {
  private readonly handles = new ResumeHandles();
  private readonly agents = new Map<string, Tracked>();
  private readonly windowMs: number;
  private readonly handleTtlMs: number;
  private readonly firstMessageTimeoutMs: number;

  constructor(options: AgentResumeOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.handleTtlMs = options.handleTtlMs ?? 3_600_000;
    this.firstMessageTimeoutMs = options.firstMessageTimeoutMs ?? 10_000;
  }

  /** Agents waiting for or talking to a client. */
  get size(): number {
    return this.agents.size;
  }

  /**
   * Serve a new socket: resume the agent its first message names, or start one with `create`.
   * `client.userId`: who the application authenticated on this socket; a handle of another user's
   * agent is refused (`resume_foreign`).
   */
  accept(socket: WebSocket, create: () => VoiceAgent, client: AgentResumeAcceptOptions = {}): void {
    const timer = setTimeout(() => socket.close(1008, 'no first message'), this.firstMessageTimeoutMs);
    timer.unref?.();
    const onClose = () => clearTimeout(timer);
    socket.once('close', onClose);
    socket.once('message', (data, isBinary) => {
      clearTimeout(timer);
      socket.off('close', onClose);
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      const parsed = isBinary ? undefined : tryParseClientMessage(bytes);
      if (parsed?.ok && parsed.message.type === 'resume') {
        this.resume(socket, parsed.message.handle, client.userId);
        return;
      }
      let agent: VoiceAgent;
      try {
        agent = create();
      } catch (err) {
        send(socket, { type: 'error', error: `Cannot start the session: ${(err as Error).message}` });
        socket.close(1011, 'session failed');
        return;
      }
      this.track(agent);
      agent.handleSocket(socket);
      this.issue(agent, socket);
      // The message that chose "new session" is the session's first input.
      socket.emit('message', data, isBinary);
    });
  }

  private resume(socket: WebSocket, handle: string, userId: string | undefined): void {
    let agent: VoiceAgent;
    try {
      const { sessionId } = this.handles.redeem(handle, userId);
      const tracked = this.agents.get(sessionId);
      if (!tracked || tracked.agent.destroyed) throw new ResumeError('resume_gone', 'The session has ended');
      if (tracked.timer) clearTimeout(tracked.timer);
      tracked.timer = undefined;
      agent = tracked.agent;
    } catch (err) {
      const error = err instanceof ResumeError ? err : new ResumeError('resume_gone', String(err));
      send(socket, { type: 'error', error: error.message, code: error.code, messageType: 'resume' });
      socket.close(1008, error.code);
      return;
    }
    agent.handleSocket(socket);
    send(socket, { type: 'session_resumed', sessionId: agent.session.sessionId });
    this.issue(agent, socket);
    agent.bus.publish('session.resume', { sessionId: agent.session.sessionId, handle });
  }

  /** Watch an agent: its dropped client gets `windowMs` to come back, else it is destroyed. */
  private track(agent: VoiceAgent): void {
    const sessionId = agent.session.sessionId;
    const entry: Tracked = { agent, timer: undefined, off: () => {} };
    const offDrop = agent.bus.subscribe('transport.disconnected', () => {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        if (!agent.connected) agent.destroy();
      }, this.windowMs);
      entry.timer.unref?.();
    });
    const offBack = agent.bus.subscribe('transport.connected', () => {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = undefined;
    });
    const offClose = agent.bus.subscribe('session.close', () => this.forget(sessionId));
    entry.off = () => {
      offDrop();
      offBack();
      offClose();
    };
    this.agents.set(sessionId, entry);
  }

  private forget(sessionId: string): void {
    const entry = this.agents.get(sessionId);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.off();
    this.agents.delete(sessionId);
    this.handles.revoke(sessionId);
  }

  private issue(agent: VoiceAgent, socket: WebSocket): void {
    const sessionId = agent.session.sessionId;
    const { handle, expiresAt } = this.handles.issue(sessionId, agent.session.userId, this.handleTtlMs);
    send(socket, { type: 'resume_handle', sessionId, handle, expiresAt });
  }

  /** Destroy every tracked agent (server shutdown). */
  close(): void {
    for (const { agent } of [...this.agents.values()]) agent.destroy();
  }
}

function send(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
