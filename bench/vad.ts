/**
 * Silero VAD cost per 512-sample (32 ms) frame: one stream scored alone per `run`, versus 16
 * streams scored together in one batched `run`. Returns microseconds per frame (p50, p99).
 */
import { SILERO_FRAME_SAMPLES, SileroVad } from '../src/providers/local/silero-vad.ts';

export interface VadBenchResult {
  singleUsPerFrame: { p50: number; p99: number };
  batchedUsPerFrame: { p50: number; p99: number };
  batchSize: number;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)) };
}

/** Deterministic speech-like test signal: a few harmonics with a slow amplitude envelope. */
function signal(frames: number, seed: number): Int16Array[] {
  const out: Int16Array[] = [];
  let t = seed * 997;
  for (let f = 0; f < frames; f++) {
    const frame = new Int16Array(SILERO_FRAME_SAMPLES);
    const envelope = 0.5 + 0.5 * Math.sin(f / 7 + seed);
    for (let i = 0; i < frame.length; i++, t++) {
      const x = Math.sin(t * 0.06) + 0.5 * Math.sin(t * 0.13) + 0.25 * Math.sin(t * 0.31);
      frame[i] = Math.round(6000 * envelope * x);
    }
    out.push(frame);
  }
  return out;
}

export async function benchVad(
  options: { iterations?: number; batchSize?: number; warmup?: number } = {},
): Promise<VadBenchResult> {
  const iterations = options.iterations ?? 300;
  const batchSize = options.batchSize ?? 16;
  const warmup = options.warmup ?? 20;
  const vad = new SileroVad({ maxBatch: batchSize });
  await vad.warmup();
  const frames = signal(iterations + warmup, 1);

  const single = vad.createStream();
  const singleUs: number[] = [];
  for (let i = 0; i < iterations + warmup; i++) {
    const start = performance.now();
    await vad.scoreBatch([single], [frames[i]!]);
    if (i >= warmup) singleUs.push((performance.now() - start) * 1000);
  }

  const streams = Array.from({ length: batchSize }, () => vad.createStream());
  const perStream = streams.map((_, s) => signal(iterations + warmup, s + 2));
  const batchedUs: number[] = [];
  for (let i = 0; i < iterations + warmup; i++) {
    const batch = perStream.map((list) => list[i]!);
    const start = performance.now();
    await vad.scoreBatch(streams, batch);
    if (i >= warmup) batchedUs.push(((performance.now() - start) * 1000) / batchSize);
  }
  single.close();
  for (const s of streams) s.close();
  return { singleUsPerFrame: summary(singleUs), batchedUsPerFrame: summary(batchedUs), batchSize };
}
