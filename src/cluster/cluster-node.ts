/**
 * This node's place in the cluster: its registration in Redis (id, public URL, capacity, live
 * sessions, load) renewed by a heartbeat, the slots it holds, the session directory and the resume
 * handles of its sessions.
 *
 * Placement is by slots: `reserve()` takes one atomically (a Lua script) on the least-loaded live node,
 * leased for as long as a connect token lives; when the session starts on that node the reservation
 * becomes the session's own slot, renewed with every heartbeat and given back when it ends. A node
 * that stops heart-beating (killed, cut off) leaves the pool when its registration expires, and its
 * slots with it.
 *
 * Redis lost while running: the node keeps its live sessions, takes no remote dispatch (connects are
 * served here while it has room), reconnects with backoff and registers again with everything it holds.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import type { ClusterConfig } from './cluster-config.ts';
import { ClusterError } from './cluster-error.ts';
import { CLAIM, HEARTBEAT, LOCATE, MOVE, RENEW, RESERVE } from './cluster-scripts.ts';
import { RedisClient } from './redis-client.ts';
import type { RespReply } from './resp.ts';

const PREFIX = 'colloquy:';

/** Where `reserve()` put a new session. */
export type Placement =
  | { kind: 'local'; slot: string }
  | { kind: 'remote'; nodeId: string; url: string; forwardId: string }
  | { kind: 'full'; info: string }
  /** Redis is unreachable: only this node can take the session. */
  | { kind: 'offline' };

/** Where a resume handle's session runs. */
export type HandleLocation =
  | { kind: 'unknown' }
  | { kind: 'here'; sessionId: string }
  | { kind: 'node'; sessionId: string; nodeId: string; url: string }
  /** Its node is gone (or unknown): another node adopts it from the shared store. */
  | { kind: 'orphan'; sessionId: string; nodeId?: string };

/** What a verified hand-over from another node carries. */
export interface Forwarded {
  slot?: string;
  adopt?: string;
}

export interface ClusterNodeOptions {
  config: ClusterConfig;
  publicUrl: string;
  capacity: number;
  logger: Logger;
  /** Ids of the sessions live on this node now. */
  liveSessions(): string[];
  /** Resume handles of live sessions (hash and expiry), to register again after Redis came back. */
  handleOf(sessionId: string): { handleHash: string; expiresAt: number } | undefined;
  /** Lease of a reservation (the connect token's lifetime, default 60 s). */
  reservationMs?: number;
  /** How long directory entries live (default: an hour, the resume handles' lifetime). */
  directoryTtlMs?: number;
}

export interface ClusterStats {
  dispatchedLocal: number;
  dispatchedRemote: number;
  refusedFull: number;
  refusedOffline: number;
}

export class ClusterNode {
  readonly id: string;
  readonly url: string;
  readonly stats: ClusterStats = {
    dispatchedLocal: 0,
    dispatchedRemote: 0,
    refusedFull: 0,
    refusedOffline: 0,
  };
  private readonly redis: RedisClient;
  private readonly pending: Array<{ slot: string; until: number }> = [];
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private stopped = false;
  private beating: Promise<void> | undefined;
  private readonly reservationMs: number;
  private readonly directoryTtlMs: number;

  constructor(private readonly o: ClusterNodeOptions) {
    this.id = o.config.nodeId;
    this.url = o.publicUrl;
    this.reservationMs = o.reservationMs ?? 60_000;
    this.directoryTtlMs = o.directoryTtlMs ?? 3_600_000;
    this.redis = new RedisClient(o.config.redis, {
      commandTimeoutMs: Math.max(2000, o.config.nodeTtlMs),
    });
    this.redis.on('down', (err) => {
      o.logger.warn(`cluster: ${err.message}; serving live sessions, no remote dispatch, reconnecting`);
    });
    this.redis.on('up', () => {
      o.logger.info(`cluster: Redis at ${this.redis.where} is back; node ${this.id} registers again`);
      void this.sync(true);
    });
  }

  /** Redis is reachable now (remote dispatch works). */
  get online(): boolean {
    return this.redis.isUp;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Connects and registers. Throws `ClusterError('redis_unreachable')` when Redis cannot be reached. */
  async start(): Promise<void> {
    await this.redis.connect();
    this.loop.enable();
    await this.sync(true);
    const every = Math.max(100, Math.floor(this.o.config.nodeTtlMs / 3));
    this.timer = setInterval(() => void this.sync(false), every);
    this.timer.unref();
    this.o.logger.info(`cluster: node ${this.id} (${this.url}) registered at ${this.redis.where}`);
  }

  /**
   * Without Redis: take a slot of this node only, counted here (live sessions and outstanding
   * grants), and told to Redis when it is back. Undefined when this node is full.
   */
  reserveHere(live: number): string | undefined {
    this.prunePending();
    if (live + this.pending.length >= this.o.capacity) return undefined;
    const slot = randomBytes(12).toString('base64url');
    this.holdPending(slot);
    return slot;
  }

  /** Reserve a slot for a new session on the least-loaded node (this one included). */
  async reserve(options: { adopt?: string } = {}): Promise<Placement> {
    if (!this.redis.isUp) {
      this.stats.refusedOffline++;
      return { kind: 'offline' };
    }
    const slot = randomBytes(12).toString('base64url');
    const forwardId = randomBytes(18).toString('base64url');
    let reply: RespReply;
    try {
      reply = await this.redis.eval(
        RESERVE,
        [],
        [PREFIX, slot, this.reservationMs, forwardId, 15_000, options.adopt ?? ''],
      );
    } catch (err) {
      if (err instanceof ClusterError) {
        this.stats.refusedOffline++;
        return { kind: 'offline' };
      }
      throw err;
    }
    const [ok, a, b] = reply as [number, string | number, string | number];
    if (ok !== 1) {
      this.stats.refusedFull++;
      const live = Number(a);
      return {
        kind: 'full',
        info:
          live === 0
            ? 'No node is taking sessions (every node is draining or gone); try again shortly'
            : `Every node is at capacity (${live} live node${live === 1 ? '' : 's'}, all full); try again shortly`,
      };
    }
    const nodeId = String(a);
    if (nodeId === this.id) {
      this.stats.dispatchedLocal++;
      // Reserved here: no hand-over (its forward key simply expires).
      this.holdPending(slot);
      return { kind: 'local', slot };
    }
    this.stats.dispatchedRemote++;
    return { kind: 'remote', nodeId, url: String(b), forwardId };
  }

  /** A reservation this node made for itself that was not used (the connect failed). */
  async unreserve(slot: string): Promise<void> {
    const i = this.pending.findIndex((p) => p.slot === slot);
    if (i >= 0) this.pending.splice(i, 1);
    await this.redis.command(['ZREM', `${PREFIX}slots:${this.id}`, slot]).catch(() => {});
  }

  /**
   * Accepts a hand-over from another node (once): undefined when `forwardId` is not one that names
   * this node (forged, replayed, expired).
   */
  async acceptForward(forwardId: string): Promise<Forwarded | undefined> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(forwardId) || !this.redis.isUp) return undefined;
    const value = await this.redis.command(['GETDEL', `${PREFIX}fwd:${forwardId}`]).catch(() => null);
    if (typeof value !== 'string') return undefined;
    const [node, slot, adopt] = value.split('|');
    if (node !== this.id) return undefined;
    if (slot) this.holdPending(slot);
    return { ...(slot ? { slot } : {}), ...(adopt ? { adopt } : {}) };
  }

  /** Hands a resume to the node its session runs on (no slot: the session holds one). */
  async forwardTo(nodeId: string): Promise<string | undefined> {
    const forwardId = randomBytes(18).toString('base64url');
    const ok = await this.redis
      .command(['SET', `${PREFIX}fwd:${forwardId}`, `${nodeId}||`, 'PX', 15_000])
      .catch(() => undefined);
    return ok === 'OK' ? forwardId : undefined;
  }

  /** A session started here: its reservation becomes its slot; the directory points here. */
  sessionStarted(sessionId: string): void {
    this.prunePending();
    const slot = this.pending.shift()?.slot ?? '';
    void this.redis
      .eval(CLAIM, [], [PREFIX, this.id, slot, sessionId, this.leaseMs, this.directoryTtlMs])
      .catch(() => {}); // Redis down: the next registration sets it
  }

  /** A session ended (or was suspended) here: its slot and directory entry go. */
  sessionEnded(sessionId: string): void {
    void this.redis
      .command(['ZREM', `${PREFIX}slots:${this.id}`, sessionId])
      .then(() => this.redis.command(['DEL', `${PREFIX}session:${sessionId}`]))
      .catch(() => {}); // Redis down: the lease runs out
  }

  /** A resume handle was issued for a session here. */
  handleIssued(sessionId: string, handleHash: string, expiresAt: number): void {
    const ttl = Math.max(1, expiresAt - Date.now());
    void this.redis.command(['SET', `${PREFIX}handle:${handleHash}`, sessionId, 'PX', ttl]).catch(() => {});
  }

  /** Where the session of a resume handle (by hash) runs. */
  async locate(handleHash: string): Promise<HandleLocation> {
    if (!this.redis.isUp) return { kind: 'unknown' };
    const reply = (await this.redis.eval(LOCATE, [], [PREFIX, handleHash]).catch(() => null)) as
      | [string | null, string | null, string | null]
      | null;
    if (!reply?.[0]) return { kind: 'unknown' };
    const [sessionId, nodeId, url] = reply;
    if (nodeId === this.id) return { kind: 'here', sessionId };
    if (nodeId && url) return { kind: 'node', sessionId, nodeId, url };
    return { kind: 'orphan', sessionId, ...(nodeId ? { nodeId } : {}) };
  }

  /** The live node a session runs on, by the directory (undefined: unknown, or its node is gone). */
  async whereIs(sessionId: string): Promise<{ nodeId: string; url: string } | undefined> {
    if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(sessionId)) return undefined;
    const nodeId = await this.redis.command(['GET', `${PREFIX}session:${sessionId}`]).catch(() => null);
    if (typeof nodeId !== 'string') return undefined;
    const url = await this.redis.command(['HGET', `${PREFIX}node:${nodeId}`, 'url']).catch(() => null);
    return typeof url === 'string' ? { nodeId, url } : undefined;
  }

  /** Points an orphan session at `nodeId`, unless another node took it first (→ false). */
  async move(sessionId: string, from: string | undefined, nodeId: string): Promise<boolean> {
    const r = await this.redis
      .eval(MOVE, [], [PREFIX, sessionId, from ?? '', nodeId, this.directoryTtlMs])
      .catch(() => 0);
    return r === 1;
  }

  /** The live nodes as the registry has them. */
  async nodes(): Promise<
    Array<{
      id: string;
      url: string;
      capacity: number;
      live: number;
      used: number;
      load: number;
      draining: boolean;
    }>
  > {
    const ids = (await this.redis.command(['SMEMBERS', `${PREFIX}nodes`])) as string[];
    const out = [];
    for (const id of ids.sort()) {
      const used = Number(await this.redis.command(['ZCARD', `${PREFIX}slots:${id}`]));
      const f = (await this.redis.command([
        'HMGET',
        `${PREFIX}node:${id}`,
        'url',
        'capacity',
        'live',
        'load',
        'draining',
      ])) as Array<string | null>;
      if (!f[0]) continue;
      out.push({
        id,
        url: f[0],
        capacity: Number(f[1]),
        live: Number(f[2]),
        used,
        load: Number(f[3]),
        draining: f[4] === '1',
      });
    }
    return out;
  }

  /** Out of the pool: no new session is placed here (live ones go on). */
  async drain(): Promise<void> {
    this.draining = true;
    await this.beating;
    await this.sync(false);
  }

  /** Leaves the registry (its slots go with it) and disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.loop.disable();
    await this.beating?.catch(() => {});
    if (this.redis.isUp) {
      await this.redis
        .command(['DEL', `${PREFIX}node:${this.id}`, `${PREFIX}slots:${this.id}`])
        .catch(() => {});
      await this.redis.command(['SREM', `${PREFIX}nodes`, this.id]).catch(() => {});
    }
    await this.redis.close();
  }

  /** Live sessions' slots are renewed twice per node TTL; they lapse with the node's registration. */
  private get leaseMs(): number {
    return this.o.config.nodeTtlMs;
  }

  private prunePending(): void {
    const now = Date.now();
    while (this.pending.length > 0 && this.pending[0]!.until <= now) this.pending.shift();
  }

  private holdPending(slot: string): void {
    this.pending.push({ slot, until: Date.now() + this.reservationMs });
    // Bounded: never more than the capacity can be pending here (older ones lapse in Redis too).
    while (this.pending.length > this.o.capacity) this.pending.shift();
  }

  /** Heartbeat; `full` also writes the directory and handles of every live session (after Redis came back). */
  private sync(full: boolean): Promise<void> {
    if (this.stopped || !this.redis.isUp) return Promise.resolve();
    if (this.beating && !full) return this.beating;
    const run = async () => {
      const live = this.o.liveSessions();
      const load = Number.isFinite(this.loop.percentile(50)) ? this.loop.percentile(50) / 1e6 : 0;
      this.loop.reset();
      const known = await this.redis.eval(
        HEARTBEAT,
        [],
        [
          PREFIX,
          this.id,
          this.url,
          this.o.capacity,
          live.length,
          load.toFixed(2),
          this.draining ? 1 : 0,
          this.o.config.nodeTtlMs,
          this.leaseMs,
          ...live,
        ],
      );
      if (!full && known === 1) return;
      if (!full) {
        this.o.logger.warn(
          `cluster: node ${this.id} was no longer registered (Redis lost its data, or a heartbeat came late); writing its sessions again`,
        );
      }
      // Grants made while Redis was away (or before it lost them) count again.
      this.prunePending();
      const now = Date.now();
      for (const p of this.pending) {
        await this.redis.eval(RENEW, [], [PREFIX, this.id, p.slot, Math.max(1, p.until - now)]);
      }
      for (const id of live) {
        await this.redis.command(['SET', `${PREFIX}session:${id}`, this.id, 'PX', this.directoryTtlMs]);
        const h = this.o.handleOf(id);
        if (h) this.handleIssued(id, h.handleHash, h.expiresAt);
      }
    };
    const p: Promise<void> = run()
      .catch((err: unknown) => {
        if (!(err instanceof ClusterError)) this.o.logger.warn('cluster: heartbeat failed', err);
      })
      .finally(() => {
        if (this.beating === p) this.beating = undefined;
      });
    this.beating = p;
    return p;
  }
}
