/**
 * The server's in-memory list of sessions: the live ones (for `/health`, shutdown) and the transcripts
 * of the most recent closed ones (`GET /sessions/:id/transcript`), so a conversation survives its
 * client disconnecting mid-utterance.
 */
import type { ModelMessage } from 'ai';

export interface RegisteredSession {
  readonly id: string;
  readonly transport: string;
  readonly mode: 'agent' | 'stream';
  readonly startedAt: number;
  readonly userId?: string;
  /** The conversation so far (what the user heard of the bot). */
  transcript(): ModelMessage[];
  /** Ends the session (the client gets `conversation-end` when its transport is still open). */
  close(reason: string): Promise<void>;
}

export interface SessionRecord {
  id: string;
  transport: string;
  mode: 'agent' | 'stream';
  startedAt: number;
  /** Set once the session closed. */
  closedAt?: number;
  closeReason?: string;
  transcript: ModelMessage[];
}

/** A session started or ended (or was suspended) on this server. */
export type RegistryChange = { type: 'started' | 'ended'; id: string };

/**
 * @example
 * ```ts
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * const server = await startServer({ config: loadServerConfig() });
 * const { registry } = server.context; // the SessionRegistry of the server's sessions
 * console.log(`${registry.activeCount} live; user-7 has ${registry.liveOf('user-7').length}`);
 * await registry.closeAll('maintenance');
 * ```
 */
export class SessionRegistry {
  private readonly live = new Map<string, RegisteredSession>();
  private readonly closed = new Map<string, SessionRecord>();
  private readonly listeners = new Set<(change: RegistryChange) => void>();

  /** @param keepClosed how many closed sessions' transcripts to keep (oldest dropped first). */
  constructor(private readonly keepClosed = 100) {}

  get activeCount(): number {
    return this.live.size;
  }

  add(session: RegisteredSession): void {
    this.live.set(session.id, session);
    this.emit({ type: 'started', id: session.id });
  }

  /** Calls `listener` for every session that starts or ends; returns the unsubscribe. */
  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ids of the live sessions. */
  liveIds(): string[] {
    return [...this.live.keys()];
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) l(change);
  }

  /** Moves a session to the closed list with its final transcript. */
  markClosed(id: string, reason: string): void {
    const s = this.live.get(id);
    if (!s) return;
    this.live.delete(id);
    this.emit({ type: 'ended', id });
    this.closed.set(id, {
      ...describe(s),
      closedAt: Date.now(),
      closeReason: reason,
    });
    while (this.closed.size > this.keepClosed) {
      const oldest = this.closed.keys().next().value as string;
      this.closed.delete(oldest);
    }
  }

  /** The live sessions of a user. */
  liveOf(userId: string): RegisteredSession[] {
    return [...this.live.values()].filter((s) => s.userId === userId);
  }

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  get(id: string): SessionRecord | undefined {
    const s = this.live.get(id);
    return s ? describe(s) : this.closed.get(id);
  }

  /** Resolves once no session is live, or after `timeoutMs`. */
  whenEmpty(timeoutMs: number): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const off = this.onChange(() => {
        if (this.live.size === 0) done();
      });
    });
  }

  /** Closes every live session (server shutdown). */
  async closeAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.live.values()].map((s) => s.close(reason)));
  }
}

function describe(s: RegisteredSession): SessionRecord {
  return {
    id: s.id,
    transport: s.transport,
    mode: s.mode,
    startedAt: s.startedAt,
    transcript: s.transcript(),
  };
}
