/**
 * A small Redis client (RESP2 over one TCP connection, commands pipelined in order): what the
 * cluster needs and nothing more, so that multi-node deployments add no dependency.
 *
 * `connect()` fails with a `ClusterError('redis_unreachable')` naming the address when Redis cannot
 * be reached at start. Once connected, a lost connection fails the commands in flight and every
 * command sent while it is down at once (`redis_unavailable`: never queued without bound), and the
 * client reconnects by itself with exponential backoff (capped), emitting `down` and `up`.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { ClusterError } from './cluster-error.ts';
import { encodeCommand, RespErrorReply, RespParser, type RespReply } from './resp.ts';

export interface RedisAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

/** `redis://[user[:password]@]host[:port][/db]` → address. Throws `ClusterError('invalid_redis_url')`. */
export function parseRedisUrl(url: string): RedisAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ClusterError('invalid_redis_url', 'COLLOQUY_REDIS_URL must be a URL like redis://host:6379');
  }
  if (u.protocol !== 'redis:') {
    throw new ClusterError(
      'invalid_redis_url',
      `COLLOQUY_REDIS_URL must start with redis:// (got ${u.protocol}//)`,
    );
  }
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : undefined;
  if (!u.hostname || (db !== undefined && (!Number.isInteger(db) || db < 0 || db > 15))) {
    throw new ClusterError('invalid_redis_url', 'COLLOQUY_REDIS_URL: redis://host[:port][/db 0-15]');
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined ? { db } : {}),
  };
}

export interface RedisClientOptions {
  /** Connection attempt bound (default 2 000 ms). */
  connectTimeoutMs?: number;
  /** A command without a reply for this long closes the connection (default 5 000 ms). */
  commandTimeoutMs?: number;
  /** Most commands in flight (default 10 000): past it commands fail with `redis_busy`. */
  maxPending?: number;
  /** Backoff between reconnect attempts: first and cap (default 100 ms, 2 000 ms). */
  backoffMs?: { first: number; max: number };
}

interface Pending {
  resolve(reply: RespReply): void;
  reject(err: Error): void;
}

export interface RedisClientEvents {
  up: [];
  down: [Error];
}

export class RedisClient extends EventEmitter<RedisClientEvents> {
  private socket: Socket | undefined;
  private parser = new RespParser();
  private readonly pending: Pending[] = [];
  private connected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Replies received so far (the watchdog's sign of progress). */
  private replies = 0;
  private readonly opts: Required<RedisClientOptions>;
  /** Where (host:port), for messages; never the password. */
  readonly where: string;

  constructor(
    private readonly address: RedisAddress,
    options: RedisClientOptions = {},
  ) {
    super();
    this.where = `${address.host}:${address.port}`;
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
      maxPending: options.maxPending ?? 10_000,
      backoffMs: options.backoffMs ?? { first: 100, max: 2000 },
    };
  }

  get isUp(): boolean {
    return this.connected;
  }

  /** First connection: rejects with `redis_unreachable` (no retry). */
  async connect(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      throw new ClusterError(
        'redis_unreachable',
        `Cannot reach Redis at ${this.where} (COLLOQUY_REDIS_URL): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Sends one command; resolves with its reply, rejects with its error reply or `ClusterError`. */
  command(args: readonly (string | number)[]): Promise<RespReply> {
    if (this.closed)
      return Promise.reject(new ClusterError('redis_unavailable', 'The Redis client is closed'));
    if (!this.connected || !this.socket) {
      return Promise.reject(new ClusterError('redis_unavailable', `Redis at ${this.where} is unreachable`));
    }
    if (this.pending.length >= this.opts.maxPending) {
      return Promise.reject(new ClusterError('redis_busy', 'Too many Redis commands in flight'));
    }
    return new Promise<RespReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket!.write(encodeCommand(args));
      this.armWatchdog();
    }).then((reply) => {
      if (reply instanceof RespErrorReply) throw reply;
      return reply;
    });
  }

  /** Runs a Lua script by its SHA (loading it on NOSCRIPT). */
  async eval(
    script: { source: string; sha: string },
    keys: readonly string[],
    args: readonly (string | number)[],
  ) {
    try {
      return await this.command(['EVALSHA', script.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof RespErrorReply) || err.kind !== 'NOSCRIPT') throw err;
      return this.command(['EVAL', script.source, keys.length, ...keys, ...args]);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    const s = this.socket;
    this.socket = undefined;
    this.connected = false;
    this.failPending(new ClusterError('redis_unavailable', 'The Redis client is closed'));
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 500).unref();
      });
    }
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host: this.address.host, port: this.address.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 1000);
      const timer = setTimeout(
        () => socket.destroy(new Error('connection timed out')),
        this.opts.connectTimeoutMs,
      );
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        this.socket = socket;
        this.parser = new RespParser();
        socket.on('data', (chunk) => this.onData(socket, chunk));
        socket.once('close', () => this.onClose(socket));
        socket.off('error', fail);
        socket.on('error', () => {}); // 'close' follows and handles it
        this.connected = true;
        this.handshake().then(
          () => {
            settled = true;
            clearTimeout(timer);
            this.attempt = 0;
            resolve();
          },
          (err: Error) => {
            this.connected = false;
            fail(err);
          },
        );
      });
    });
  }

  private async handshake(): Promise<void> {
    const a = this.address;
    if (a.password !== undefined) {
      await this.command(a.username ? ['AUTH', a.username, a.password] : ['AUTH', a.password]);
    }
    if (a.db !== undefined) await this.command(['SELECT', a.db]);
    await this.command(['PING']);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    let replies: RespReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    this.replies += replies.length;
    for (const r of replies) this.pending.shift()?.resolve(r);
    this.armWatchdog();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (this.pending.length === 0) return;
    const socket = this.socket;
    const replies = this.replies;
    this.watchdog = setTimeout(() => {
      // After a stalled event loop, timers run before pending socket data is read: look again once
      // the I/O of this turn was read, and give up only if still nothing came.
      setImmediate(() => {
        if (this.replies === replies && this.pending.length > 0 && socket === this.socket) {
          socket?.destroy(new Error(`no reply in ${this.opts.commandTimeoutMs} ms`));
        }
      });
    }, this.opts.commandTimeoutMs);
    this.watchdog.unref();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    const wasUp = this.connected;
    this.socket = undefined;
    this.connected = false;
    clearTimeout(this.watchdog);
    const err = new ClusterError('redis_unavailable', `Lost the connection to Redis at ${this.where}`);
    this.failPending(err);
    if (this.closed) return;
    if (wasUp) this.emit('down', err);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { first, max } = this.opts.backoffMs;
    const delay = Math.min(max, first * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 20);
    this.retryTimer = setTimeout(() => {
      if (this.closed) return;
      this.open().then(
        () => {
          if (this.closed) return;
          this.emit('up');
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.retryTimer.unref();
  }

  private failPending(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}
