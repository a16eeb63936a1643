/**
 * `colloquy start --workers N` through its primary, as clients meet it, with 1, 2 and one-per-core
 * workers:
 * - connects per second and the connect latency (POST /connect → WebSocket upgrade → client-ready →
 *   bot-ready, then close), `concurrency` clients connecting back to back for `windowMs`;
 * - sessions per core: `sessions` clients stay connected and stream 20 ms of quiet mic noise every
 *   20 ms (real time; the demo's speech detection runs on every frame); once the greetings are over,
 *   the CPU time of the primary and of the workers (with the helper processes they start) over
 *   `windowMs` is read from /proc, and sessions per core = sessions / (cores' worth of CPU they
 *   used), the same definition as the single-process concurrency rows. With one worker `colloquy
 *   start` is one process and no primary relays.
 * Runs the built CLI (`bin/colloquy.js` → dist/); skipped without a build.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, encodeMessageFrame } from '../src/transports/pipecat-websocket/index.ts';
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

export interface WorkersSessionsRow {
  workers: number;
  /** Sessions held, each streaming mic audio in real time. */
  sessions: number;
  /** Sessions that could not be opened. */
  failures: number;
  /** Sessions whose greeting ended (spoken, or an error) before the window. */
  greeted: number;
  /** CPU ms/s of the processes serving sessions (the workers, or the one process with one worker), helpers included. */
  workersCpuMsPerS: number;
  /** CPU ms/s of the primary, which relays every WebSocket frame to its worker (0 with one worker: no primary). */
  primaryCpuMsPerS: number;
  /** sessions ÷ (CPU of primary and workers, in cores). */
  sessionsPerCore: number;
}

export interface WorkersBenchResult {
  cores: number;
  rows: WorkersRow[];
  sessions: WorkersSessionsRow[];
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
      COLLOQUY_MAX_SESSIONS: '100000',
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
  const ws = await openSession(url);
  ws.close();
  return performance.now() - t0;
}

/** /connect, upgrade, client-ready → bot-ready: an open session. */
async function openSession(url: string): Promise<WebSocket> {
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
    return ws;
  } catch (err) {
    ws.close();
    throw err;
  }
}

/** CPU time (ms) of a process, from /proc/PID/stat (utime + stime); 0 once it is gone. */
function cpuMsOf(pid: number, ticksPerSecond: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** Every process below `root` (children, their children…), from /proc. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

/** Holds `sessions` sessions streaming quiet mic noise in real time; CPU of primary and workers. */
async function measureSessions(
  url: string,
  primary: number,
  sessions: number,
  windowMs: number,
  single: boolean,
): Promise<Omit<WorkersSessionsRow, 'workers'>> {
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const open: WebSocket[] = [];
  let failures = 0;
  // Quiet noise (a room, not speech): speech detection runs on every frame, nothing is recognised.
  const pcm = new Int16Array(320);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round((Math.random() - 0.5) * 60);
  const frame = encodeFrame({
    type: 'audio',
    id: 1n,
    name: 'mic',
    audio: new Uint8Array(pcm.buffer),
    sampleRate: 16000,
    numChannels: 1,
  });
  const mic = setInterval(() => {
    for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  }, 20);
  try {
    for (let i = 0; i < sessions; i += 8) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(8, sessions - i) }, () => openSession(url)),
      );
      for (const r of batch) {
        if (r.status === 'fulfilled') open.push(r.value);
        else failures++;
      }
    }
    // The steady state is measured once every greeting was spoken (or gave up) and start-up work
    // is done.
    let greeted = 0;
    for (const ws of open) {
      const onMessage = (data: Buffer, binary: boolean) => {
        if (!binary) return;
        const decoded = decodeFrame(data);
        if (
          decoded.ok &&
          decoded.frame.type === 'message' &&
          /"bot-stopped-speaking"|"error"/.test(decoded.frame.data)
        ) {
          greeted++;
          ws.off('message', onMessage);
        }
      };
      ws.on('message', onMessage);
    }
    const settleBy = performance.now() + 30_000;
    while (greeted < open.length && performance.now() < settleBy)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const workers = descendants(primary);
    const before = { primary: cpuMsOf(primary, ticks), workers: workers.map((p) => cpuMsOf(p, ticks)) };
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const seconds = (performance.now() - t0) / 1000;
    const primaryMs = cpuMsOf(primary, ticks) - before.primary;
    const workersMs = workers.reduce(
      (sum, p, i) => sum + Math.max(0, cpuMsOf(p, ticks) - before.workers[i]!),
      0,
    );
    // With one worker `colloquy start` is a single process: no primary relays anything.
    const relayMs = single ? 0 : primaryMs;
    const serverMs = single ? primaryMs + workersMs : workersMs;
    const cores = (relayMs + serverMs) / 1000 / seconds;
    return {
      sessions: open.length,
      failures,
      greeted,
      workersCpuMsPerS: round(serverMs / seconds, 1),
      primaryCpuMsPerS: round(relayMs / seconds, 1),
      sessionsPerCore: cores > 0 ? Math.floor(open.length / cores) : 0,
    };
  } finally {
    clearInterval(mic);
    for (const ws of open) ws.close();
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
  sessions: number;
}): Promise<WorkersBenchResult | undefined> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) return undefined;
  const cores = availableParallelism();
  const levels = [...new Set([1, 2, cores])];
  const rows: WorkersRow[] = [];
  const held: WorkersSessionsRow[] = [];
  for (const workers of levels) {
    const { child, url } = await start(workers);
    try {
      await measure(url, 2, 1000); // warm-up (models, JIT), not counted
      rows.push({ workers, ...(await measure(url, options.concurrency, options.windowMs)) });
      held.push({
        workers,
        ...(await measureSessions(url, child.pid!, options.sessions, options.windowMs, workers === 1)),
      });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  return { cores, rows, sessions: held };
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
  out.push(
    '',
    'Sessions per core through the primary: sessions held, each streaming mic audio in real time (CPU read from /proc)',
    '| workers | sessions | failed | greeted | serving CPU ms/s | primary relay CPU ms/s | sessions / core |',
    '|---|---|---|---|---|---|---|',
  );
  for (const row of r.sessions) {
    out.push(
      `| ${row.workers} | ${row.sessions} | ${row.failures} | ${row.greeted} | ${row.workersCpuMsPerS} | ${row.workers === 1 ? '– (one process)' : row.primaryCpuMsPerS} | ${row.sessionsPerCore} |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWorkersBench({ concurrency: 8, windowMs: 6000, sessions: Number(process.argv[2] ?? 60) }).then(
    printWorkers,
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
