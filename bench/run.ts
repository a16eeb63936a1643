/**
 * `npm run bench`: the real voice pipeline (VoiceSession with audio) against stand-in providers of
 * fixed, known latency. Prints tables and writes JSON to bench/results/latest.json and
 * bench/results/<git short sha>.json. Numbers only: nothing passes or fails on time.
 *
 *   npm run bench                 full run (each section's time is logged; see docs/benchmarks.md)
 *   npm run bench -- --quick      fewer turns and sessions, for a smoke check
 *
 * What each number means: docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SileroVad } from '../src/providers/local/silero-vad.ts';
import { MockVad } from '../src/testing/mock-vad.ts';
import { type BargeInResult, runBargeIn } from './barge-in.ts';
import { type CallPathRow, printCallPath, runCallPath } from './call-path.ts';
import { type ClusterBenchResult, printCluster, runClusterBench } from './cluster.ts';
import { type ConcurrencyResult, runConcurrency } from './concurrency.ts';
import { type EspeakStartResult, printEspeakStart, runEspeakStart } from './espeak-start.ts';
import { type FairnessRow, printFairness, runFairness } from './fairness.ts';
import { type FootprintResult, printFootprint, runFootprint } from './footprint.ts';
import {
  BENCH_LATENCIES,
  BENCH_POLICY,
  FRAME_SAMPLES,
  type ProviderLatencies,
  type TurnPolicy,
  toneFrames,
} from './harness.ts';
import { type HotPathResult, printHotPath, runHotPath } from './hot-path.ts';
import { printRealtime, type RealtimeBenchResult, runRealtimeBench } from './realtime.ts';
import { printReport } from './report.ts';
import { printSoak, runSoak, type SoakResult } from './soak.ts';
import { round } from './stats.ts';
import { runStoreBench, type StoreBenchResult } from './store.ts';
import { runTurnLatency, type TurnLatencyResult } from './turn-latency.ts';
import { benchVad, type VadBenchResult } from './vad.ts';
import { printVadWindow, runVadWindow, type VadWindowRow } from './vad-window.ts';
import { printVadWorker, runVadWorker, type VadWorkerRow } from './vad-worker.ts';
import { spokenFrames, warmUp } from './warmup.ts';
import { printWorkers, runWorkersBench, type WorkersBenchResult } from './workers.ts';

/** Watchdog: a run that has not finished by then (a machine far busier than ours) is stopped. */
const HARD_LIMIT_MS = 600_000;
const quick = process.argv.includes('--quick');

/** The targets, printed next to the numbers (not enforced). */
export const TARGETS = {
  overheadP50Ms: 2,
  overheadP99Ms: 10,
  bargeInStopMsAfterDetection: 20,
  sessionsPerCore: 25,
  mbPerSession: 20,
} as const;

const LATENCIES = BENCH_LATENCIES;
const POLICY = BENCH_POLICY;

export interface BenchReport {
  startedAt: string;
  durationS: number;
  quick: boolean;
  git: string;
  machine: {
    cpuModel: string;
    cpus: number;
    node: string;
    platform: string;
    arch: string;
    totalMemGB: number;
    loadavg1m: number;
    loadavg1mEnd: number;
  };
  config: { latencies: ProviderLatencies; policy: TurnPolicy; frameMs: number };
  targets: typeof TARGETS;
  turnLatency: TurnLatencyResult;
  bargeIn: { pauseThenInterrupt: BargeInResult; immediate: BargeInResult };
  concurrency: ConcurrencyResult[];
  vad: VadBenchResult;
  /** Silero at 100 streams with and without the batching window, alternated. */
  vadWindow?: VadWindowRow[];
  /** Silero at 100 streams with inference on the event loop and in a worker, alternated. */
  vadWorker?: VadWorkerRow[];
  footprint: FootprintResult;
  hotPath: HotPathResult;
  callPath: CallPathRow[];
  realtime: RealtimeBenchResult;
  store: StoreBenchResult;
  espeakStart?: EspeakStartResult;
  fairness: FairnessRow[];
  workers?: WorkersBenchResult;
  cluster?: ClusterBenchResult;
  soak: SoakResult;
  notes: string[];
}

function gitSha(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // uncommitted changes (untracked files too) in what the numbers depend on
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench', 'package.json'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

let runStartedAt = performance.now();
let sectionStartedAt = runStartedAt;
let sectionName: string | undefined;

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** Starts a section: logs how long the previous one took and the time since the start. */
function section(name: string): void {
  const now = performance.now();
  if (sectionName !== undefined) {
    log(
      `  ${sectionName}: ${round((now - sectionStartedAt) / 1000, 1)} s (total ${round((now - runStartedAt) / 1000, 1)} s)`,
    );
  }
  sectionName = name;
  sectionStartedAt = now;
  log(`${name} …`);
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    log(`exceeded ${HARD_LIMIT_MS / 1000} s during "${sectionName}", stopping`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  watchdog.unref();
  const started = performance.now();
  runStartedAt = started;
  sectionStartedAt = started;
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const loadAtStart = round(loadavg()[0] ?? 0, 2);

  section('warming up (JIT)');
  await warmUp(quick ? 20 : 60);

  section('turn latency');
  const turnLatency = await runTurnLatency({
    turns: quick ? 15 : 40,
    warmupTurns: 3,
    latencies: LATENCIES,
    policy: POLICY,
    speechMs: 300,
  });

  section('barge-in');
  const trials = quick ? 6 : 12;
  const pauseThenInterrupt = await runBargeIn({
    trials,
    latencies: LATENCIES,
    policy: POLICY,
    speechMs: 500,
  });
  const immediate = await runBargeIn({
    trials,
    latencies: LATENCIES,
    policy: { ...POLICY, minInterruptionMs: 0 },
    speechMs: 500,
  });

  const concurrency: ConcurrencyResult[] = [];
  const levels = quick ? [1, 10, 50] : [1, 10, 100];
  const windowMs = quick ? 3000 : 6000;
  const tone = toneFrames(600);
  for (const sessions of levels) {
    section(`concurrency: ${sessions} session(s), energy VAD`);
    concurrency.push(
      await runConcurrency({
        sessions,
        // the test VAD records its scores: keep one (a production VAD keeps none)
        vad: () => new MockVad({ frameSamples: FRAME_SAMPLES, maxRecorded: 1 }),
        vadName: 'mock (energy)',
        speech: tone,
        latencies: LATENCIES,
        policy: POLICY,
        warmupMs: 1500,
        windowMs,
      }),
    );
  }
  const spoken = await spokenFrames('What is the weather in Paris today?');
  if (spoken === undefined) {
    notes.push('espeak-ng not found: the Silero concurrency runs were skipped.');
  } else {
    const silero = new SileroVad();
    await silero.warmup();
    for (const sessions of levels) {
      section(`concurrency: ${sessions} session(s), Silero VAD`);
      concurrency.push(
        await runConcurrency({
          sessions,
          vad: () => silero,
          vadName: 'silero v5',
          speech: spoken,
          latencies: LATENCIES,
          policy: POLICY,
          warmupMs: 1500,
          windowMs,
        }),
      );
    }
    // the same top row with inference in a worker thread (`inference: 'worker'`)
    const top = levels[levels.length - 1]!;
    const worker = new SileroVad({ inference: 'worker' });
    await worker.warmup();
    section(`concurrency: ${top} session(s), Silero VAD, inference in a worker thread`);
    concurrency.push(
      await runConcurrency({
        sessions: top,
        vad: () => worker,
        vadName: 'silero v5 (worker)',
        speech: spoken,
        latencies: LATENCIES,
        policy: POLICY,
        warmupMs: 1500,
        windowMs,
      }),
    );
    await worker.close();
  }

  section('Silero VAD per-frame cost');
  const vad = await benchVad({ iterations: quick ? 150 : 300 });
  let vadWindow: VadWindowRow[] | undefined;
  let vadWorker: VadWorkerRow[] | undefined;
  if (spoken !== undefined) {
    section('Silero at 100 streams: batching window on and off');
    vadWindow = await runVadWindow({ streams: 100, rounds: quick ? 1 : 2, windowMs: 2 });
    section('Silero at 100 streams: inference on the event loop and in a worker');
    vadWorker = await runVadWorker({ streams: 100, rounds: quick ? 1 : 2 });
  }

  section('footprint: CPU per turn above the AI SDK floor, idle heap, throughput');
  const footprint = await runFootprint(quick);
  section('audio hot path: bytes allocated per frame');
  const hotPath = await runHotPath(quick);
  section('call path: streamText above doStream');
  const callPath = await runCallPath(quick);
  section('realtime speech-to-speech');
  const realtime = await runRealtimeBench({ turns: quick ? 10 : 20, frames: quick ? 1000 : 2000 });
  section('session store write cost per turn');
  const store = await runStoreBench({ turns: quick ? 50 : 200 });
  section('eSpeak NG start: event-loop stall per utterance');
  const espeakStart = await runEspeakStart({ utterances: quick ? 8 : 20 });
  if (!espeakStart) notes.push('espeak-ng not found: the eSpeak NG start rows were skipped.');
  section('fairness: a session speaking while another floods the server');
  const fairness = await runFairness({ openBudgets: !quick });
  section('workers: connects through the primary with 1, 2 and one-per-core workers');
  const workers = await runWorkersBench({
    concurrency: 8,
    windowMs: quick ? 3000 : 5000,
    sessions: quick ? 40 : 60,
  });
  if (!workers) notes.push('no build (npm run build): the workers rows were skipped.');
  section('cluster: connects across three nodes over Redis');
  const cluster = await runClusterBench({ connects: quick ? 300 : 600, inFlight: 20 });
  if (!cluster) notes.push('redis-server not found: the cluster connect rows were skipped.');
  section('soak: sessions with hostile clients mixed in, memory and audio rate');
  const soak = await runSoak({ seconds: quick ? 10 : 20, concurrent: 24, hostileShare: 0.3 });

  section('report');
  const cpuList = cpus();
  const report: BenchReport = {
    startedAt,
    durationS: round((performance.now() - started) / 1000, 1),
    quick,
    git: gitSha(),
    machine: {
      cpuModel: cpuList[0]?.model ?? 'unknown',
      cpus: cpuList.length,
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      totalMemGB: round(totalmem() / 1024 ** 3, 1),
      loadavg1m: loadAtStart,
      loadavg1mEnd: round(loadavg()[0] ?? 0, 2),
    },
    config: { latencies: LATENCIES, policy: POLICY, frameMs: 20 },
    targets: TARGETS,
    turnLatency,
    bargeIn: { pauseThenInterrupt, immediate },
    concurrency,
    vad,
    ...(vadWindow ? { vadWindow } : {}),
    ...(vadWorker ? { vadWorker } : {}),
    footprint,
    hotPath,
    callPath,
    realtime,
    store,
    espeakStart,
    fairness,
    ...(workers ? { workers } : {}),
    ...(cluster ? { cluster } : {}),
    soak,
    notes,
  };

  printReport(report);
  printVadWindow(vadWindow);
  printVadWorker(vadWorker);
  printFootprint(footprint);
  printHotPath(hotPath);
  printCallPath(callPath);
  printRealtime(realtime);
  printEspeakStart(espeakStart);
  printFairness(fairness);
  printWorkers(workers);
  printCluster(cluster);
  printSoak(soak);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const latest = join(dir, 'latest.json');
  writeFileSync(latest, json);
  if (quick) {
    console.log(`\nJSON: ${relative(process.cwd(), latest)} (a --quick run is not kept per commit)`);
    return;
  }
  const bySha = join(dir, `${report.git}.json`);
  writeFileSync(bySha, json);
  console.log(`\nJSON: ${relative(process.cwd(), latest)} and ${relative(process.cwd(), bySha)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
