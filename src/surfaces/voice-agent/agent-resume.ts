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
 *
 * Across a restart, with a `store` that outlives the process: every agent keeps a resume snapshot
 * (carrier `native`) and its transcript in it, as the server's sessions do. `close()` — a graceful
 * shutdown — suspends the agents instead of ending them: each connected client gets `server_shutdown
 * {sessionId, handle, expiresAt, reconnect: true}` and its socket closes (1012). A new `AgentResume`
 * over the same store picks the stored sessions up (`ready`): a `resume` with a stored handle rebuilds
 * the agent with `create({sessionId, userId})`, with its history, and the work that died with the
 * previous process is reported (see `restoreSnapshot`). One nobody claims within `windowMs` closes in
 * the store with its transcript kept.
 */
import WebSocket from 'ws';
import { consoleLogger, type Logger } from '../../logger.ts';
import { ResumeError, ResumeHandles } from '../../session/resume-handles.ts';
import { restoreSnapshot, SessionSnapshots } from '../../session/resume-snapshots.ts';
import { carrierOf, WaitingSessions } from '../../session/waiting-sessions.ts';
import { recordSession } from '../../store/store-recorder.ts';
import { StoreWriter } from '../../store/store-writer.ts';
import type { ResumeSnapshot, SessionStore } from '../../store/types.ts';
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
  /**
   * A store that outlives the process (e.g. `SqliteSessionStore`): agents keep their transcript and
   * a resume snapshot in it, `close()` suspends them, and a new `AgentResume` over the same store
   * resumes them after a restart. The store stays yours to close (after `close()`).
   */
  store?: SessionStore;
  /** Stored sessions picked up at start, at most (the newest; default 1000). */
  maxPickedUp?: number;
  /** Store failures are logged here (default: the console). */
  logger?: Logger;
}

/** Who a socket belongs to, as the application authenticated it. */
export interface AgentResumeAcceptOptions {
  /** The socket's user: a resume handle of another user's agent is refused (`resume_foreign`). */
  userId?: string;
}

/** A stored session to rebuild after a restart: give these to the agent's options. */
export interface RestoredAgent {
  sessionId: string;
  userId: string;
}

/** Builds the agent of a new socket, or (with `restored`) the agent of a stored session. */
export type CreateAgent = (restored?: RestoredAgent) => VoiceAgent;

interface Tracked {
  agent: VoiceAgent;
  socket: WebSocket | undefined;
  timer: NodeJS.Timeout | undefined;
  off: () => void;
  /** With a store: the agent's resume snapshot and its recording. */
  snapshots?: SessionSnapshots;
  stopRecording?: () => void;
}

/**
 * Reconnecting clients get their `VoiceAgent` back: a dropped socket's agent waits `windowMs` for
 * a `{type: 'resume', handle}` message on a new socket.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { AgentResume, SqliteSessionStore, VoiceAgent } from 'colloquy';
 * import { WebSocketServer } from 'ws';
 *
 * const store = SqliteSessionStore.open('./data/colloquy.db'); // npm install better-sqlite3
 * const resume = new AgentResume({ windowMs: 30_000, store });
 * new WebSocketServer({ port: 8080 }).on('connection', (socket) => {
 *   // `restored`: a stored session's id and user, when a client comes back after a restart.
 *   resume.accept(socket, (restored) =>
 *     new VoiceAgent({ model: openai('gpt-4o'), instructions: 'Be brief.', ...restored }),
 *   );
 * });
 * process.on('SIGTERM', async () => {
 *   await resume.close(); // clients get `server_shutdown` with a handle for the next process
 *   await store.close();
 * });
 * ```
 */
export class AgentResume {
  /**
   * Resolves with how many stored sessions wait for their clients (0 without a store, or when it
   * cannot be read: that is logged). `resume` messages wait for it.
   */
  readonly ready: Promise<number>;
  private readonly handles = new ResumeHandles();
  private readonly agents = new Map<string, Tracked>();
  private readonly windowMs: number;
  private readonly handleTtlMs: number;
  private readonly firstMessageTimeoutMs: number;
  private readonly logger: Logger;
  private readonly writer: StoreWriter | undefined;
  private readonly waiting: WaitingSessions;
  private loaded = false;
  private closing: Promise<void> | undefined;

  constructor(options: AgentResumeOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.handleTtlMs = options.handleTtlMs ?? 3_600_000;
    this.firstMessageTimeoutMs = options.firstMessageTimeoutMs ?? 10_000;
    this.logger = options.logger ?? consoleLogger;
    this.waiting = new WaitingSessions(this.handles, this.windowMs);
    const store = options.store;
    if (!store) {
      this.loaded = true;
      this.ready = Promise.resolve(0);
      return;
    }
    this.writer = new StoreWriter(store, {
      onError: (error, writes) =>
        this.logger.error(`session store: ${error.message} (${writes.length} writes)`),
    });
    this.waiting.writeTo(this.writer);
    this.ready = this.waiting
      .load(store, this.logger, (s) => carrierOf(s) === 'native', options.maxPickedUp ?? 1000)
      .then(
        (adopted) => adopted.length,
        (err: unknown) => {
          this.logger.error('resume: cannot read the stored sessions; none is picked up', err);
          return 0;
        },
      )
      .finally(() => {
        this.loaded = true;
      });
  }

  /** Agents waiting for or talking to a client. */
  get size(): number {
    return this.agents.size;
  }

  /** Stored sessions of a previous process waiting for their clients. */
  get pickedUp(): number {
    return this.waiting.size;
  }

  /**
   * Serve a new socket: resume the agent its first message names, or start one with `create`.
   * `client.userId`: who the application authenticated on this socket; a handle of another user's
   * agent is refused (`resume_foreign`).
   */
  accept(socket: WebSocket, create: CreateAgent, client: AgentResumeAcceptOptions = {}): void {
    if (this.refusedAfterClose(socket)) return;
    const timer = setTimeout(() => socket.close(1008, 'no first message'), this.firstMessageTimeoutMs);
    timer.unref?.();
    const onClose = () => clearTimeout(timer);
    socket.once('close', onClose);
    socket.once('message', (data, isBinary) => {
      clearTimeout(timer);
      socket.off('close', onClose);
      // Accepted before `close()`, first message after it: no agent is started or resumed any more.
      if (this.refusedAfterClose(socket)) return;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      const parsed = isBinary ? undefined : tryParseClientMessage(bytes);
      if (parsed?.ok && parsed.message.type === 'resume') {
        const { handle } = parsed.message;
        // Stored sessions are known once the store was read (at once, when it was).
        if (this.loaded) this.resume(socket, handle, client.userId, create);
        else this.resumeWhenReady(socket, handle, client.userId, create);
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
      this.attach(agent, socket);
      // The message that chose "new session" is the session's first input.
      socket.emit('message', data, isBinary);
    });
  }

  /** After `close()` began: closes `socket` (1012, the client reconnects to the next server) and says so. */
  private refusedAfterClose(socket: WebSocket): boolean {
    if (!this.closing) return false;
    socket.close(1012, 'server restarting');
    return true;
  }

  /**
   * A `resume` that came while the store is still being read: what the client sends behind it is
   * held (at most MAX_HELD_MESSAGES messages, MAX_HELD_BYTES bytes, else the socket is closed 1008)
   * and served in order by the resumed agent, so nothing sent right after `resume` is lost.
   */
  private resumeWhenReady(
    socket: WebSocket,
    handle: string,
    userId: string | undefined,
    create: CreateAgent,
  ): void {
    const held: Array<{ data: WebSocket.RawData; isBinary: boolean }> = [];
    let heldBytes = 0;
    const hold = (data: WebSocket.RawData, isBinary: boolean) => {
      heldBytes += rawLength(data);
      if (held.length >= MAX_HELD_MESSAGES || heldBytes > MAX_HELD_BYTES) {
        socket.off('message', hold);
        held.length = 0;
        socket.close(1008, 'too much sent before resume');
        return;
      }
      held.push({ data, isBinary });
    };
    socket.on('message', hold);
    void this.ready.then(() => {
      socket.off('message', hold);
      if (!this.resume(socket, handle, userId, create)) return;
      for (const m of held.splice(0)) socket.emit('message', m.data, m.isBinary);
    });
  }

  /** Gives `socket` its agent back; false when it was refused or the socket is gone. */
  private resume(
    socket: WebSocket,
    handle: string,
    userId: string | undefined,
    create: CreateAgent,
  ): boolean {
    if (socket.readyState !== WebSocket.OPEN || this.refusedAfterClose(socket)) return false;
    let agent: VoiceAgent;
    let stored: ResumeSnapshot | undefined;
    try {
      const { sessionId } = this.handles.redeem(handle, userId);
      stored = this.waiting.take(sessionId);
      if (stored) {
        agent = this.restore(stored, create);
      } else {
        const tracked = this.agents.get(sessionId);
        if (!tracked || tracked.agent.destroyed)
          throw new ResumeError('resume_gone', 'The session has ended');
        // The client is back: its window ends here (a later drop starts a whole new one).
        if (tracked.timer) clearTimeout(tracked.timer);
        tracked.timer = undefined;
        agent = tracked.agent;
      }
    } catch (err) {
      const error = err instanceof ResumeError ? err : new ResumeError('resume_gone', String(err));
      send(socket, { type: 'error', error: error.message, code: error.code, messageType: 'resume' });
      socket.close(1008, error.code);
      return false;
    }
    const sessionId = agent.session.sessionId;
    this.attach(agent, socket, { type: 'session_resumed', sessionId });
    agent.bus.publish('session.resume', { sessionId, handle });
    // A rebuilt agent starts at once: it tells its client what became of the work under way.
    if (stored)
      void agent.session.start().catch((err) => this.logger.error(`session ${sessionId}: start failed`, err));
    return true;
  }

  /**
   * A stored session's agent, rebuilt by `create({sessionId, userId})` with its history (and the
   * report of its interrupted work, once it starts). Throws `ResumeError` when it cannot be.
   */
  private restore(snapshot: ResumeSnapshot, create: CreateAgent): VoiceAgent {
    const { sessionId, userId } = snapshot;
    let agent: VoiceAgent | undefined;
    try {
      agent = create({ sessionId, userId });
      if (agent.session.sessionId !== sessionId) {
        throw new Error('create(restored) must give the agent restored.sessionId');
      }
      restoreSnapshot(agent.session, snapshot);
    } catch (err) {
      agent?.destroy();
      this.waiting.close(snapshot, 'restore_failed');
      throw new ResumeError(
        'resume_gone',
        `The stored session cannot be restored: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.track(agent);
    return agent;
  }

  /** Watch an agent: its dropped client gets `windowMs` to come back, else it is destroyed. */
  private track(agent: VoiceAgent): void {
    const sessionId = agent.session.sessionId;
    const entry: Tracked = { agent, socket: undefined, timer: undefined, off: () => {} };
    if (this.writer) {
      // Recorded first, so it sees the session's close before `forget` stops it.
      entry.stopRecording = recordSession(agent.bus, this.writer, {
        transport: 'native',
        history: () => agent.session.history,
      });
      entry.snapshots = new SessionSnapshots({
        bus: agent.bus,
        writer: this.writer,
        sessionId,
        profile: null,
        history: () => agent.session.history,
        agentName: () => agent.session.currentAgent,
        credential: () => this.handles.current(sessionId),
        carrier: { kind: 'native' },
        notifications: () => agent.session.pendingNotifications,
      });
    }
    const offDrop = agent.bus.subscribe('transport.disconnected', () => {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        if (!agent.connected) agent.destroy();
      }, this.windowMs);
      entry.timer.unref?.();
    });
    const offClose = agent.bus.subscribe('session.close', () => this.forget(sessionId));
    entry.off = () => {
      offDrop();
      offClose();
    };
    this.agents.set(sessionId, entry);
  }

  private forget(sessionId: string): void {
    const entry = this.agents.get(sessionId);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.off();
    // The session ended for good: its snapshot goes (a no-op once suspended).
    entry.snapshots?.drop();
    entry.stopRecording?.();
    this.agents.delete(sessionId);
    this.handles.revoke(sessionId);
  }

  /** The agent serves `socket`; the client gets `first` (if any), then a fresh handle. */
  private attach(agent: VoiceAgent, socket: WebSocket, first?: ServerMessage): void {
    const entry = this.agents.get(agent.session.sessionId);
    if (entry) entry.socket = socket;
    agent.handleSocket(socket);
    if (first) send(socket, first);
    const sessionId = agent.session.sessionId;
    const { handle, expiresAt } = this.issue(agent);
    send(socket, { type: 'resume_handle', sessionId, handle, expiresAt });
  }

  /** A fresh handle for the agent (the previous one stops working), kept in its snapshot. */
  private issue(agent: VoiceAgent): { handle: string; expiresAt: number } {
    const sessionId = agent.session.sessionId;
    const issued = this.handles.issue(sessionId, agent.session.userId, this.handleTtlMs);
    this.agents.get(sessionId)?.snapshots?.save();
    return issued;
  }

  /**
   * Server shutdown. Without a store every tracked agent is destroyed. With one, each is suspended
   * for the next process: its connected client gets `server_shutdown {sessionId, handle, expiresAt,
   * reconnect: true}` and its socket closes (1012); the snapshot stays and the stored session waits
   * `detached`. Resolves once the store's writes are flushed. Later sockets, and sockets accepted before
   * whose first message (or held `resume`) comes after it, are closed (1012) without an agent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.waiting.dispose();
      const told: Array<Promise<void>> = [];
      for (const entry of [...this.agents.values()]) {
        const socket = entry.snapshots ? this.suspend(entry) : undefined;
        if (socket) told.push(new Promise((r) => socket.once('close', () => r())));
        entry.agent.destroy();
      }
      await this.writer?.close();
      // Let the told clients' closing handshakes finish (at most a second): the notice reaches them.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(told), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    })();
    return this.closing;
  }

  /**
   * The agent outlives this process in the store; its client is told where to come back. Returns
   * the socket of the told client (closing).
   */
  private suspend(entry: Tracked): WebSocket | undefined {
    const { agent, socket } = entry;
    const sessionId = agent.session.sessionId;
    let told: WebSocket | undefined;
    if (agent.connected && socket?.readyState === WebSocket.OPEN) {
      const { handle, expiresAt } = this.issue(agent);
      send(socket, { type: 'server_shutdown', sessionId, handle, expiresAt, reconnect: true });
      socket.close(1012, 'server restarting');
      told = socket;
    }
    entry.snapshots?.keep();
    entry.stopRecording?.();
    entry.stopRecording = undefined;
    this.writer?.enqueue({ type: 'session.state', sessionId, state: 'detached', at: Date.now() });
    return told;
  }
}

/** Messages a client may send behind a `resume` while the store is still being read. */
const MAX_HELD_MESSAGES = 64;
/** Bytes of those messages. */
const MAX_HELD_BYTES = 1 << 20;

function rawLength(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function send(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
