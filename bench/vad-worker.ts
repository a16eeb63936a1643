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
import { measure } from './vad-window.ts';

const streams = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 2);
const main = new SileroVad({ inference: 'main' });
const worker = new SileroVad({ inference: 'worker' });
await main.warmup();
for (let r = 0; r < rounds; r++) {
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
    console.log(JSON.stringify({ inference, streams, ...(await measure(vad, streams, 3000)) }));
  }
}
await worker.close();
process.exit(0);
