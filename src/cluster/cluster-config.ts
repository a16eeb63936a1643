/**
 * Multi-node settings, from the environment. Absent `COLLOQUY_REDIS_URL` means one node on its own
 * (nothing of the cluster runs).
 *
 *   COLLOQUY_REDIS_URL        redis://[user:password@]host[:port][/db]: the shared registry
 *   COLLOQUY_PUBLIC_URL       this node's http(s) origin as clients reach it (default: the address
 *                             it listens on, when HOST is a specific address)
 *   COLLOQUY_NODE_ID          this node's id in the registry (default: random)
 *   COLLOQUY_NODE_TTL_MS      a node that stops heart-beating leaves the pool after this (default 5000;
 *                             it beats three times per TTL)
 *   COLLOQUY_DRAIN_TIMEOUT_MS how long a draining node lets its sessions finish (default 30 000)
 *
 * The node's capacity is `COLLOQUY_MAX_SESSIONS` (limits.ts).
 */
import { randomBytes } from 'node:crypto';
import { ClusterError } from './cluster-error.ts';
import { parseRedisUrl, type RedisAddress } from './redis-client.ts';

export interface ClusterConfig {
  redis: RedisAddress;
  /** Set when configured; otherwise derived from the listening address at start. */
  publicUrl?: string;
  nodeId: string;
  nodeTtlMs: number;
  drainTimeoutMs: number;
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

function ms(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ClusterError(
      'invalid_cluster_config',
      `${name} must be a whole number of ms ${min}-${max}, got ${value}`,
    );
  }
  return n;
}

/** The cluster settings, or undefined without `COLLOQUY_REDIS_URL`. Throws `ClusterError`. */
export function clusterConfigFromEnv(env: Record<string, string | undefined>): ClusterConfig | undefined {
  const url = env.COLLOQUY_REDIS_URL?.trim();
  if (!url) return undefined;
  const redis = parseRedisUrl(url);
  const nodeId = env.COLLOQUY_NODE_ID?.trim() || `node-${randomBytes(6).toString('hex')}`;
  if (!NODE_ID.test(nodeId)) {
    throw new ClusterError(
      'invalid_cluster_config',
      'COLLOQUY_NODE_ID: 1-64 characters of A-Z a-z 0-9 _ . -',
    );
  }
  const publicUrl = env.COLLOQUY_PUBLIC_URL?.trim();
  return {
    redis,
    ...(publicUrl ? { publicUrl: parsePublicUrl(publicUrl) } : {}),
    nodeId,
    nodeTtlMs: ms('COLLOQUY_NODE_TTL_MS', env.COLLOQUY_NODE_TTL_MS, 5000, 300, 300_000),
    drainTimeoutMs: ms('COLLOQUY_DRAIN_TIMEOUT_MS', env.COLLOQUY_DRAIN_TIMEOUT_MS, 30_000, 0, 3_600_000),
  };
}

/** An http(s) origin without path, query or credentials. */
export function parsePublicUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ClusterError(
      'invalid_cluster_config',
      `COLLOQUY_PUBLIC_URL is not a URL: ${value.slice(0, 100)}`,
    );
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash) {
    throw new ClusterError(
      'invalid_cluster_config',
      'COLLOQUY_PUBLIC_URL must be an http(s) origin like https://node1.example.com (no credentials or query)',
    );
  }
  if (u.pathname !== '/' && u.pathname !== '') {
    throw new ClusterError('invalid_cluster_config', 'COLLOQUY_PUBLIC_URL must be an origin, without a path');
  }
  return u.origin;
}

/** The public URL when none is configured: the listening address, if clients can reach it as such. */
export function derivedPublicUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::' || host === '') {
    throw new ClusterError(
      'invalid_cluster_config',
      `COLLOQUY_PUBLIC_URL is needed with COLLOQUY_REDIS_URL when HOST=${host || '(all)'}: the address other nodes send clients to`,
    );
  }
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
