/**
 * Where things live among the workers of `colloquy start --workers N`: which worker issued a
 * one-time connect token, a SmallWebRTC `pc_id`, a LiveKit room, and which runs (or ran) a session.
 * The primary routes every request and upgrade that names one of them to that worker; everything
 * new goes to the least-loaded worker. Every table is bounded (oldest entries dropped first) and
 * entries expire, so a flood of connects cannot grow the primary.
 */

export type RouteKind = 'token' | 'pc' | 'room' | 'session';

interface Entry {
  worker: number;
  expiresAt: number;
}

/** How long each kind of key routes (ms): a token's and a room reservation's lifetime, a peer's, a session's transcript. */
export const ROUTE_TTL_MS: Readonly<Record<RouteKind, number>> = {
  token: 60_000,
  pc: 6 * 3_600_000,
  room: 6 * 3_600_000,
  session: 24 * 3_600_000,
};

export class WorkerDirectory {
  private readonly tables: Record<RouteKind, Map<string, Entry>> = {
    token: new Map(),
    pc: new Map(),
    room: new Map(),
    session: new Map(),
  };
  /** Live sessions per worker (for a crashed worker's pickup list). */
  private readonly live = new Map<number, Set<string>>();

  /** @param maxEntries most keys kept per kind. */
  constructor(
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  remember(kind: RouteKind, key: string, worker: number): void {
    if (!key || key.length > 512) return;
    const table = this.tables[kind];
    table.delete(key); // re-inserted as the newest
    table.set(key, { worker, expiresAt: this.now() + ROUTE_TTL_MS[kind] });
    while (table.size > this.maxEntries) table.delete(table.keys().next().value as string);
  }

  /** The worker of a key, or `undefined` when unknown or expired. */
  lookup(kind: RouteKind, key: string | null | undefined): number | undefined {
    if (!key) return undefined;
    const table = this.tables[kind];
    const entry = table.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt < this.now()) {
      table.delete(key);
      return undefined;
    }
    return entry.worker;
  }

  /** A session started or ended on a worker. */
  session(worker: number, sessionId: string, live: boolean): void {
    this.remember('session', sessionId, worker);
    let set = this.live.get(worker);
    if (!set) {
      set = new Set();
      this.live.set(worker, set);
    }
    if (live) set.add(sessionId);
    else set.delete(sessionId);
  }

  /** Live sessions of a worker. */
  liveOf(worker: number): string[] {
    return [...(this.live.get(worker) ?? [])];
  }

  /**
   * A worker is gone: its tokens, peers and rooms route nowhere, its sessions stay known (their
   * transcripts are in the store; a replacement worker may resume them). Returns its live sessions.
   */
  workerGone(worker: number): string[] {
    const sessions = this.liveOf(worker);
    this.live.delete(worker);
    for (const kind of ['token', 'pc', 'room'] as const) {
      for (const [key, entry] of this.tables[kind])
        if (entry.worker === worker) this.tables[kind].delete(key);
    }
    return sessions;
  }
}
