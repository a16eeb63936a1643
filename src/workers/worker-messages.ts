/**
 * The messages between the primary of `colloquy start --workers N` and its workers (over the
 * `child_process` IPC channel). Each carries `colloquy: 1` so other IPC traffic is ignored.
 */
import type { MetricSnapshot } from '../observability/metrics-registry.ts';

/** A worker → primary message. */
export type WorkerMessage =
  /** The worker listens on `port` (loopback) and takes sessions. */
  | { colloquy: 1; type: 'listening'; port: number }
  /** A session started (`live: true`) or ended on this worker; `count` is its live sessions now. */
  | { colloquy: 1; type: 'session'; sessionId: string; live: boolean; count: number }
  /** The answer to a `metrics` request. */
  | { colloquy: 1; type: 'metrics'; requestId: number; metrics: MetricSnapshot[] };

/** A primary → worker message. */
export type PrimaryMessage = { colloquy: 1; type: 'metrics'; requestId: number };

/** Env names the primary sets for its workers. */
export const WORKER_ENV = {
  /** The worker's index (0…N-1); its presence makes `colloquy start` run as a worker. */
  id: 'COLLOQUY_WORKER_ID',
  /** Which stored sessions the worker picks up at start: `all`, `none`, or a JSON array of ids. */
  pickUp: 'COLLOQUY_WORKER_PICKUP',
} as const;

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (m.colloquy !== 1) return false;
  switch (m.type) {
    case 'listening':
      return typeof m.port === 'number';
    case 'session':
      return typeof m.sessionId === 'string' && typeof m.live === 'boolean' && typeof m.count === 'number';
    case 'metrics':
      return typeof m.requestId === 'number' && Array.isArray(m.metrics);
    default:
      return false;
  }
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  return m.colloquy === 1 && m.type === 'metrics' && typeof m.requestId === 'number';
}

/** Which stored sessions a worker picks up (from `COLLOQUY_WORKER_PICKUP`); `undefined`: all. */
export function pickUpFilter(value: string | undefined): ((sessionId: string) => boolean) | undefined {
  if (value === undefined || value === 'all') return undefined;
  if (value === 'none') return () => false;
  let ids: unknown;
  try {
    ids = JSON.parse(value);
  } catch {
    return () => false;
  }
  if (!Array.isArray(ids)) return () => false;
  const set = new Set(ids.filter((id): id is string => typeof id === 'string'));
  return (sessionId) => set.has(sessionId);
}
