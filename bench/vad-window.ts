/**
 * Silero at many streams: CPU per scored frame and frames per `run`, with and without the batching
 * window (`SileroVad` `batchWindowMs`), alternated in one process. Each stream delivers one 32 ms
 * frame every 32 ms on its own timer (phases spread over the period, like sessions' microphones),
 * and awaits its score before the next, as `VadDetector` does. Only the VAD runs, so the event
 * loop keeps up even on a busy machine and the CPU per frame reads the batching, not the load.
 *
 *   node --import ./bench/loader/register.mjs bench/vad-window.ts [streams] [rounds] [windowMs]
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { SILERO_FRAME_SAMPLES, SileroVad } from '../src/providers/local/silero-vad.ts';
import { threadCpuMs } from './cpu-batches.ts';
import { round, sleep, summarize } from './stats.ts';

export interface VadWindowRow {
  windowMs: number;
  cpuUsPerFrame: number;
  /** CPU of the event-loop thread alone per frame (Linux; NaN elsewhere). */
  mainThreadUsPerFrame: number;
  /** Event-loop delay p99 during the measurement (ms, 10 ms resolution subtracted). */
  loopLagP99Ms: number;
  framesPerRun: number;
  /** Frame handed over → its score back (ms): what the window adds to a VAD decision. */
  scoreLatencyMs: { p50: number; p99: number };
  /** GC pauses during the measurement: how many per 1,000 frames, and their total per second. */
  gc: { perThousandFrames: number; msPerSecond: number };
  loadavg1m: number;
}

const FRAME_MS = 32;

export async function measure(
  vad: SileroVad,
  streams: number,
  ms: number,
): Promise<Omit<VadWindowRow, 'windowMs'>> {
  const frame = new Int16Array(SILERO_FRAME_SAMPLES);
  for (let i = 0; i < frame.length; i++) frame[i] = Math.round(3000 * Math.sin(i * 0.07));
  const latencies: number[] = [];
  let running = true;
  const loops = Array.from({ length: streams }, async (_, s) => {
    const stream = vad.createStream();
    await sleep((s * FRAME_MS) / streams);
    let due = performance.now();
    while (running) {
      const at = performance.now();
      await stream.process(frame);
      latencies.push(performance.now() - at);
      due += FRAME_MS;
      await sleep(Math.max(0, Math.ceil(due - performance.now())));
    }
    stream.close();
  });
  await sleep(500);
  latencies.length = 0;
  const s0 = vad.stats;
  let gcCount = 0;
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const t0 = threadCpuMs();
  const c0 = process.cpuUsage();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  const threadMs = threadCpuMs() - t0;
  eld.disable();
  const s1 = vad.stats;
  for (const e of obs.takeRecords()) {
    gcCount++;
    gcMs += e.duration;
  }
  obs.disconnect();
  running = false;
  await Promise.all(loops);
  const frames = s1.frames - s0.frames;
  const lat = summarize(latencies);
  return {
    cpuUsPerFrame: round((c.user + c.system) / Math.max(1, frames), 1),
    mainThreadUsPerFrame: round((threadMs * 1000) / Math.max(1, frames), 1),
    loopLagP99Ms: round(Math.max(0, eld.percentile(99) / 1e6 - 10), 2),
    framesPerRun: round(frames / Math.max(1, s1.runs - s0.runs), 2),
    scoreLatencyMs: { p50: lat.p50, p99: lat.p99 },
    gc: {
      perThousandFrames: round((gcCount * 1000) / Math.max(1, frames), 2),
      msPerSecond: round(gcMs / (ms / 1000), 1),
    },
    loadavg1m: round(loadavg()[0] ?? 0, 2),
  };
}

export async function runVadWindow(o: {
  streams: number;
  rounds: number;
  windowMs: number;
  ms?: number;
}): Promise<VadWindowRow[]> {
  const off = new SileroVad({ batchWindowMs: 0 });
  const on = new SileroVad({ batchWindowMs: o.windowMs });
  await off.warmup();
  await on.warmup();
  const rows: VadWindowRow[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order: Array<[number, SileroVad]> =
      r % 2 === 0
        ? [
            [0, off],
            [o.windowMs, on],
          ]
        : [
            [o.windowMs, on],
            [0, off],
          ];
    for (const [windowMs, vad] of order)
      rows.push({ windowMs, ...(await measure(vad, o.streams, o.ms ?? 3000)) });
  }
  return rows;
}

export function printVadWindow(rows: ReadonlyArray<VadWindowRow> | undefined): void {
  if (!rows || rows.length === 0) return;
  console.log('\n## Silero at 100 streams: the batching window (`batchWindowMs`), alternated\n');
  console.log(
    '| window | CPU µs per frame | frames per run | frame → score p50 / p99 ms | GC pauses per 1,000 frames | GC ms/s | load |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.windowMs} ms | ${r.cpuUsPerFrame} | ${r.framesPerRun} | ${r.scoreLatencyMs.p50} / ${r.scoreLatencyMs.p99} | ${r.gc.perThousandFrames} | ${r.gc.msPerSecond} | ${r.loadavg1m} |`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runVadWindow({
    streams: Number(process.argv[2] ?? 100),
    rounds: Number(process.argv[3] ?? 3),
    windowMs: Number(process.argv[4] ?? 2),
  });
  for (const r of rows) console.log(JSON.stringify(r));
  process.exit(0);
}
