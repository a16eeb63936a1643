/**
 * Silero at many streams with inference on the event loop (`inference: 'main'`) and in a worker
 * thread (`'worker'`), alternated in one process: CPU per frame (process, and the event-loop thread
 * alone), frames per run, frame → score latency and event-loop delay. Each stream delivers one
 * 32 ms frame every 32 ms and awaits its score (see vad-window.ts). The event-loop thread's CPU per
 * frame is work, not latency: it reads on a busy machine too.
 *
 *   node --import ./bench/loader/register.mjs bench/vad-worker.ts [streams] [rounds]
 */
import { SileroVad } from '../src/providers/local/silero-vad.ts';
import { measure, type VadWindowRow } from './vad-window.ts';

export type VadWorkerRow = Omit<VadWindowRow, 'windowMs'> & { inference: 'main' | 'worker'; streams: number };

export async function runVadWorker(o: {
  streams: number;
  rounds: number;
  ms?: number;
}): Promise<VadWorkerRow[]> {
  const main = new SileroVad({ inference: 'main' });
  const worker = new SileroVad({ inference: 'worker' });
  await main.warmup();
  const rows: VadWorkerRow[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      const order: Array<['main' | 'worker', SileroVad]> =
        r % 2 === 0
          ? [
              ['main', main],
              ['worker', worker],
            ]
          : [
              ['worker', worker],
              ['main', main],
            ];
      for (const [inference, vad] of order) {
        await vad.warmup();
        rows.push({ inference, streams: o.streams, ...(await measure(vad, o.streams, o.ms ?? 3000)) });
      }
    }
  } finally {
    await worker.close();
  }
  return rows;
}

export function printVadWorker(rows: ReadonlyArray<VadWorkerRow> | undefined): void {
  if (!rows || rows.length === 0) return;
  console.log(
    `\n## Silero at ${rows[0]!.streams} streams: inference on the event loop or in a worker, alternated\n`,
  );
  console.log(
    '| inference | CPU µs per frame | of it on the event loop | frames per run | frame → score p50 / p99 ms | loop delay p99 ms | load |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.inference} | ${r.cpuUsPerFrame} | ${r.mainThreadUsPerFrame} | ${r.framesPerRun} | ${r.scoreLatencyMs.p50} / ${r.scoreLatencyMs.p99} | ${r.loopLagP99Ms} | ${r.loadavg1m} |`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runVadWorker({
    streams: Number(process.argv[2] ?? 100),
    rounds: Number(process.argv[3] ?? 2),
  });
  for (const r of rows) console.log(JSON.stringify(r));
  process.exit(0);
}
