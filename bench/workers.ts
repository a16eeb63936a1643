/**
 * `colloquy start --workers N` through its primary, as clients meet it: connects per second and the
 * connect latency (POST /connect → WebSocket upgrade → client-ready → bot-ready, then close), with
 * 1, 2 and one-per-core workers, `concurrency` clients connecting back to back for `windowMs`.
 * Runs the built CLI (`bin/colloquy.js` → dist/); skipped without a build.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { decodeFrame, encodeMessageFrame } from '../src/transports/pipecat-websocket/index.ts';
import { round, type Summary, summarize } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/colloquy.js');

export interface WorkersRow {
  workers: number;
  concurrency: number;
  connects: number;
  connectsPerSecond: number;
  connectMs: Summary;
  failures: number;
}

export interface WorkersBenchResult {
  cores: number;
  rows: WorkersRow[];
}

async function start(workers: number): Promise<{ child: ChildProcess; url: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('COLLOQUY_') && !k.endsWith('_API_KEY') && k !== 'PORT' && k !== 'HOST') env[k] = v;
  }
  const child = spawn(process.execPath, [BIN, 'start', '--workers', String(workers)], {
    cwd: ROOT,
    env: {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_LOG_LEVEL: 'warn',
      // Every bench client is one address: lift the per-client admission limits (else most connects
      // are refused with 429 and the rows measure refusals).
      COLLOQUY_CONNECTS_PER_MINUTE: '1000000',
      COLLOQUY_CONNECT_BURST: '1000000',
      COLLOQUY_MAX_SESSIONS_PER_CLIENT: '100000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`colloquy start did not listen:\n${out}`)), 120_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /Colloquy listening on (http:\/\/\S+)/.exec(out);
      // With workers the primary prints its banner once all of them listen.
      if (m && (workers === 1 || out.includes('workers:'))) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', () => reject(new Error(`colloquy start exited:\n${out}`)));
  });
  return { child, url };
}

/** One connect: /connect, upgrade, client-ready → bot-ready; then the client leaves. */
async function connectOnce(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) throw new Error(`/connect ${res.status}`);
  const { ws_url } = (await res.json()) as { ws_url: string };
  const ws = new WebSocket(ws_url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no bot-ready')), 20_000);
      ws.once('error', reject);
      ws.once('open', () =>
        ws.send(
          encodeMessageFrame({
            label: 'rtvi-ai',
            type: 'client-ready',
            id: 'b1',
            data: { version: '2.1.0', about: { library: 'bench' } },
          }),
        ),
      );
      ws.on('message', (data, binary) => {
        if (!binary) return;
        const decoded = decodeFrame(data as Buffer);
        if (decoded.ok && decoded.frame.type === 'message' && decoded.frame.data.includes('"bot-ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return performance.now() - t0;
  } finally {
    ws.close();
  }
}

async function measure(
  url: string,
  concurrency: number,
  windowMs: number,
): Promise<Omit<WorkersRow, 'workers'>> {
  const samples: number[] = [];
  let failures = 0;
  const until = performance.now() + windowMs;
  const loop = async () => {
    while (performance.now() < until) {
      try {
        samples.push(await connectOnce(url));
      } catch {
        failures++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return {
    concurrency,
    connects: samples.length,
    connectsPerSecond: round(samples.length / seconds, 1),
    connectMs: summarize(samples, 1),
    failures,
  };
}

export async function runWorkersBench(options: {
  concurrency: number;
  windowMs: number;
}): Promise<WorkersBenchResult | undefined> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) return undefined;
  const cores = availableParallelism();
  const levels = [...new Set([1, 2, cores])];
  const rows: WorkersRow[] = [];
  for (const workers of levels) {
    const { child, url } = await start(workers);
    try {
      await measure(url, 2, 1000); // warm-up (models, JIT), not counted
      rows.push({ workers, ...(await measure(url, options.concurrency, options.windowMs)) });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  return { cores, rows };
}

export function printWorkers(r: WorkersBenchResult | undefined): void {
  if (!r) {
    process.stdout.write('\nWorkers: no build (npm run build), skipped\n');
    return;
  }
  const out = [
    `\nWorkers (colloquy start --workers N, ${r.cores} cores) — session connects through the primary: /connect → WebSocket → bot-ready`,
    '| workers | clients | connects/s | connect p50 ms | p99 ms | max ms | n | failed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of r.rows) {
    out.push(
      `| ${row.workers} | ${row.concurrency} | ${row.connectsPerSecond} | ${row.connectMs.p50} | ${row.connectMs.p99} | ${row.connectMs.max} | ${row.connectMs.n} | ${row.failures} |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
