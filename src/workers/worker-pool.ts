/**
 * The worker processes of `colloquy start --workers N`: forks them (each a `colloquy start` on a
 * loopback port, told apart by `COLLOQUY_WORKER_ID`), tracks where each listens and how many
 * sessions it runs, and restarts one that exits (backing off when it keeps crashing). Only the
 * crashed worker's sessions end; a replacement picks them up from the store when resume is on.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { ColloquyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { MetricSnapshot } from '../observability/metrics-registry.ts';
import { WorkerDirectory } from './worker-directory.ts';
import { isWorkerMessage, type PrimaryMessage, WORKER_ENV } from './worker-messages.ts';

export interface WorkerPoolOptions {
  /** How many workers. */
  count: number;
  /** The script each worker runs (`bin/colloquy.js`) and its arguments (`start …`). */
  script: string;
  args: readonly string[];
  /** The environment of the workers (the primary adds PORT, HOST and the worker variables). */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** First restart delay after a crash (doubles while a worker keeps crashing, up to 10 s). Default 250 ms. */
  restartDelayMs?: number;
  /** How long a worker may take to listen (default 60 s). */
  startTimeoutMs?: number;
}

export interface WorkerState {
  id: number;
  child: ChildProcess;
  /** Loopback port once it listens. */
  port?: number;
  live: number;
  startedAt: number;
  restarts: number;
}

const MAX_PICKUP_IDS = 5000;

/** A worker exited before it listened (it wrote why on its stderr, which is the primary's). */
export class WorkerStartError extends ColloquyError {
  constructor(
    readonly workerId: number,
    why: string,
  ) {
    super('worker_start_failed', `worker ${workerId} ${why}`);
  }
}

export class WorkerPool {
  readonly directory = new WorkerDirectory();
  private readonly workers = new Map<number, WorkerState>();
  private readonly waiting = new Map<number, (metrics: MetricSnapshot[]) => void>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private nextRequest = 1;
  private stopping = false;
  /** Set once every worker listened: before that a worker that exits is a failed start, not a crash. */
  private started = false;
  private lastPicked = -1;

  constructor(private readonly options: WorkerPoolOptions) {}

  /**
   * Starts worker 0 (it migrates the store and picks up sessions a previous run left), then the
   * others. Rejects when a worker cannot start.
   */
  async start(): Promise<void> {
    await this.spawn(0, 'all', 0);
    await Promise.all(Array.from({ length: this.options.count - 1 }, (_, i) => this.spawn(i + 1, 'none', 0)));
    this.started = true;
  }

  /** Workers that listen, with their load. */
  ready(): Array<{ id: number; port: number; live: number }> {
    const out: Array<{ id: number; port: number; live: number }> = [];
    for (const w of this.workers.values()) {
      if (w.port !== undefined && w.child.connected) out.push({ id: w.id, port: w.port, live: w.live });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** The port of a listening worker. */
  portOf(id: number): number | undefined {
    const w = this.workers.get(id);
    return w?.child.connected ? w.port : undefined;
  }

  /** Picks the least-loaded listening worker (ties in turn). */
  pick(): { id: number; port: number } | undefined {
    const ready = this.ready();
    let best: { id: number; port: number; live: number } | undefined;
    const start = ready.findIndex((w) => w.id > this.lastPicked);
    for (let i = 0; i < ready.length; i++) {
      const w = ready[(Math.max(0, start) + i) % ready.length]!;
      if (!best || w.live < best.live) best = w;
    }
    if (best) this.lastPicked = best.id;
    return best;
  }

  get liveSessions(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.live;
    return n;
  }

  /** Restarts so far, per worker id. */
  restarts(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const w of this.workers.values()) out[w.id] = w.restarts;
    return out;
  }

  /** Every listening worker's metrics (a worker that does not answer within `timeoutMs` is left out). */
  async metrics(timeoutMs = 2000): Promise<Array<{ worker: number; metrics: MetricSnapshot[] }>> {
    const asks = this.ready().map(async ({ id }) => {
      const child = this.workers.get(id)?.child;
      if (!child) return undefined;
      const requestId = this.nextRequest++;
      const answer = new Promise<MetricSnapshot[] | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(requestId);
          resolve(undefined);
        }, timeoutMs);
        this.waiting.set(requestId, (metrics) => {
          clearTimeout(timer);
          resolve(metrics);
        });
      });
      const message: PrimaryMessage = { colloquy: 1, type: 'metrics', requestId };
      try {
        child.send(message);
      } catch {
        this.waiting.get(requestId)?.([]);
      }
      const metrics = await answer;
      return metrics ? { worker: id, metrics } : undefined;
    });
    return (await Promise.all(asks)).filter((x) => x !== undefined);
  }

  /** Sends `signal` to every worker and waits until all exited (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const t of this.restartTimers) clearTimeout(t);
    const exits = [...this.workers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
          const force = setTimeout(() => w.child.kill('SIGKILL'), timeoutMs);
          w.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          w.child.kill(signal);
        }),
    );
    await Promise.all(exits);
  }

  private spawn(id: number, pickUp: string, restarts: number): Promise<void> {
    const { options } = this;
    const child = fork(options.script, [...options.args], {
      env: {
        ...options.env,
        PORT: '0',
        HOST: '127.0.0.1',
        // The primary passes each request's client in X-Forwarded-For (see primary-proxy.ts).
        COLLOQUY_TRUST_PROXY: '1',
        COLLOQUY_WORKERS: '1',
        [WORKER_ENV.id]: String(id),
        [WORKER_ENV.pickUp]: pickUp,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const state: WorkerState = { id, child, live: 0, startedAt: Date.now(), restarts };
    this.workers.set(id, state);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new WorkerStartError(id, `did not start within ${options.startTimeoutMs ?? 60_000} ms`));
        child.kill('SIGKILL');
      }, options.startTimeoutMs ?? 60_000);
      child.on('message', (message) => {
        if (!isWorkerMessage(message)) return;
        switch (message.type) {
          case 'listening':
            state.port = message.port;
            clearTimeout(timer);
            resolve();
            return;
          case 'session':
            state.live = message.count;
            this.directory.session(id, message.sessionId, message.live);
            return;
          case 'metrics':
            this.waiting.get(message.requestId)?.(message.metrics);
            this.waiting.delete(message.requestId);
            return;
          default: {
            const never: never = message;
            return never;
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (state.port === undefined)
          reject(new WorkerStartError(id, `exited before listening (${signal ?? code})`));
        this.exited(state, code, signal);
      });
    });
  }

  private exited(state: WorkerState, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.workers.get(state.id) !== state) return;
    const sessions = this.directory.workerGone(state.id);
    state.live = 0;
    state.port = undefined;
    if (this.stopping || !this.started) return;
    this.options.logger.warn(
      `worker ${state.id} exited (${signal ?? `code ${code}`}) with ${sessions.length} live session(s); restarting it`,
    );
    // A worker that crashes soon after starting waits longer each time (at most 10 s).
    const quick = Date.now() - state.startedAt < 10_000;
    const restarts = quick ? state.restarts + 1 : 0;
    const delay = Math.min(10_000, (this.options.restartDelayMs ?? 250) * 2 ** Math.min(restarts, 6));
    const pickUp = JSON.stringify(sessions.slice(0, MAX_PICKUP_IDS));
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.spawn(state.id, pickUp, restarts).catch((err: unknown) => {
        this.options.logger.error(`worker ${state.id} could not restart`, err);
      });
    }, delay);
    this.restartTimers.add(timer);
  }
}
