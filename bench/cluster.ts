/**
 * Connects across nodes: three servers (in this process, on loopback ports) share a `redis-server`
 * started here; connects are posted round-robin to the three, a fixed number in flight, each placed
 * by the atomic Redis reservation on the least-loaded node (two in three handed over to another
 * node). Numbers: connects per second and connect latency p50/p99 (the client's `POST /connect` to its
 * answer), and how many were handed over.
 *
 * Run alone: `npx tsx bench/cluster.ts` (also part of `npm run bench`; skipped without redis-server).
 */
import { execFileSync } from 'node:child_process';
import { silentLogger } from '../src/logger.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/server.ts';
import { startRedis } from '../test/support/services.ts';
import { round, type Summary, summarize } from './stats.ts';

export interface ClusterBenchResult {
  nodes: number;
  connects: number;
  inFlight: number;
  connectsPerSecond: number;
  connectMs: Summary;
  /** Connects answered by another node than the one posted to. */
  handedOver: number;
}

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function runClusterBench(options: {
  connects: number;
  inFlight: number;
}): Promise<ClusterBenchResult | undefined> {
  if (!hasRedis()) return undefined;
  const redis = await startRedis();
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const config = loadServerConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        COLLOQUY_STORE: 'memory',
        COLLOQUY_REDIS_URL: redis.url,
        COLLOQUY_NODE_ID: `bench-${i}`,
        COLLOQUY_MAX_SESSIONS: String(options.connects),
        COLLOQUY_CONNECTS_PER_MINUTE: '1000000',
        COLLOQUY_CONNECT_BURST: '1000000',
      });
      servers.push(await startServer({ config, logger: silentLogger }));
    }
    const post = async (i: number) => {
      const via = servers[i % servers.length]!;
      const t0 = performance.now();
      const res = await fetch(`${via.url}/connect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await res.json()) as { ws_url?: string };
      const ms = performance.now() - t0;
      if (!res.ok || !body.ws_url) throw new Error(`connect answered ${res.status}`);
      return { ms, handedOver: new URL(body.ws_url).port !== String(via.port) };
    };
    // Warm-up (JIT, connections), not counted.
    for (let i = 0; i < 30; i++) await post(i);
    const samples: number[] = [];
    let handedOver = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.inFlight }, async () => {
        while (next < options.connects) {
          const r = await post(next++);
          samples.push(r.ms);
          if (r.handedOver) handedOver++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      nodes: servers.length,
      connects: samples.length,
      inFlight: options.inFlight,
      connectsPerSecond: round(samples.length / seconds, 1),
      connectMs: summarize(samples),
      handedOver,
    };
  } finally {
    await Promise.allSettled(servers.map((s) => s.close()));
    await redis.stop();
  }
}

export function printCluster(r: ClusterBenchResult | undefined): void {
  if (!r) {
    console.log('\nCluster connects: skipped (redis-server not installed)');
    return;
  }
  console.log(
    `\nCluster connects — ${r.nodes} nodes on loopback, one Redis, ${r.connects} connects round-robin, ${r.inFlight} in flight`,
  );
  console.log(`  connects per second            ${r.connectsPerSecond}`);
  console.log(
    `  connect ms p50 / p99 / max     ${r.connectMs.p50} / ${r.connectMs.p99} / ${r.connectMs.max}`,
  );
  console.log(`  handed over to another node    ${r.handedOver} of ${r.connects}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runClusterBench({ connects: 600, inFlight: 20 }).then(
    (r) => {
      printCluster(r);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
