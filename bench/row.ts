/**
 * One concurrency row of section 3 alone, repeated, with what a busy machine leaves readable beside
 * the latencies: CPU per turn and per frame in the window, GC pauses by kind, and the slowest
 * turns' framework gaps (which segment made the p99).
 *
 *   node --import ./bench/loader/register.mjs bench/row.ts [energy|silero|silero-worker] [sessions] [repeats]
 *
 * `silero-worker`: Silero with `inference: 'worker'` (ONNX runs in a worker thread).
 *
 * To compare two commits on a shared machine, run this in each tree alternately (A, B, A, B) and
 * read CPU and GC per turn next to the load average printed with each window.
 */
import { loadavg } from 'node:os';
import { SileroVad } from '../src/providers/local/silero-vad.ts';
import { MockVad } from '../src/testing/mock-vad.ts';
import { runConcurrency } from './concurrency.ts';
import { BENCH_LATENCIES, BENCH_POLICY, FRAME_SAMPLES, toneFrames } from './harness.ts';
import { round } from './stats.ts';
import { spokenFrames, warmUp } from './warmup.ts';

const LATENCIES = BENCH_LATENCIES;
const POLICY = BENCH_POLICY;

const arg = process.argv[2];
const kind = arg === 'silero' || arg === 'silero-worker' ? arg : 'energy';
const sessions = Number(process.argv[3] ?? 100);
const repeats = Number(process.argv[4] ?? 1);

await warmUp(60);
let vad: () => import('../src/providers/types.ts').VadModel;
let batches: () => { runs: number; frames: number } = () => ({ runs: 0, frames: 0 });
let speech: Int16Array[];
if (kind !== 'energy') {
  const frames = await spokenFrames('What is the weather in Paris today?');
  if (frames === undefined) throw new Error('espeak-ng not found');
  speech = frames;
  const silero = new SileroVad({ inference: kind === 'silero-worker' ? 'worker' : 'main' });
  await silero.warmup();
  vad = () => silero;
  batches = () => silero.stats;
} else {
  speech = toneFrames(600);
  vad = () => new MockVad({ frameSamples: FRAME_SAMPLES, maxRecorded: 1 });
}
for (let r = 0; r < repeats; r++) {
  const load0 = round(loadavg()[0] ?? 0, 2);
  const b0 = batches();
  const row = await runConcurrency({
    sessions,
    vad,
    vadName: kind,
    speech,
    latencies: LATENCIES,
    policy: POLICY,
    warmupMs: 1500,
    windowMs: 6000,
  });
  const cpuMs = row.cpu.totalMsPerSecond * row.windowS;
  const b1 = batches();
  const vadBatch = round((b1.frames - b0.frames) / Math.max(1, b1.runs - b0.runs), 2);
  console.log(
    JSON.stringify({
      kind,
      sessions,
      load: [load0, row.loadavg1m],
      turns: row.turnsInWindow,
      cpuMsPerS: row.cpu.totalMsPerSecond,
      sessionsPerCore: row.cpu.sessionsPerCore,
      cpuMsPerTurn: round(cpuMs / Math.max(1, row.turnsInWindow), 2),
      lag: row.eventLoopLagMs,
      elu: row.eventLoopUtilization,
      idleLag: row.idleProcessLagMs,
      gc: row.gc,
      pushUs: row.pushAudioUs.mean,
      vadBatch,
      overhead: row.frameworkOverheadMs,
      net: row.netFromSpeechEndMs,
      slowest: row.slowest,
      segP99: Object.fromEntries(Object.entries(row.segmentsMs).map(([k, v]) => [k.trim(), [v.p50, v.p99]])),
    }),
  );
}
process.exit(0);
