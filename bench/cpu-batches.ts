/**
 * CPU time per call of two implementations of the same work, measured in alternating batches so
 * machine noise hits both, on two clocks:
 *
 * - process CPU time (`process.cpuUsage`): every thread, so it includes V8's background work (the
 *   concurrent marker and sweeper, parallel scavenge helpers, the optimizing compiler), which runs
 *   whenever the scheduler lets it and lands in whichever batch is running then;
 * - the event-loop thread's own CPU time (Linux `/proc/self/task/<pid>/schedstat`, nanoseconds):
 *   the work that holds the event loop, without the background threads' timing. Where it is not
 *   available it reads as the process time.
 *
 * The order alternates from round to round (a, b, then b, a): a batch leaves garbage and GC debt
 * that the next batch pays for, so neither side always runs after the other. The difference is the
 * median of the rounds' own differences (b − a within a round, a second or two apart on a machine
 * whose load drifts), not the difference of the two medians, and comes with its interquartile range
 * over the rounds: many short rounds spread the load drift over both sides and let the median
 * drop the rounds a GC or another process's burst landed in.
 */
import { readFileSync } from 'node:fs';

export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** CPU ms of the event-loop thread (the process's main thread), or NaN where /proc is missing. */
export function threadCpuMs(): number {
  try {
    return Number(readFileSync(SCHEDSTAT, 'latin1').split(' ', 1)[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

const threadClock = Number.isFinite(threadCpuMs());

async function batch(calls: number, run: () => Promise<unknown>): Promise<[number, number]> {
  const thread0 = threadClock ? threadCpuMs() : 0;
  const start = cpuMs();
  for (let i = 0; i < calls; i++) await run();
  const process = (cpuMs() - start) / calls;
  return [process, threadClock ? (threadCpuMs() - thread0) / calls : process];
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) * q)]!;
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

export interface Paired {
  /** Median CPU ms per call of `a`. */
  a: number;
  /** Median CPU ms per call of `b`. */
  b: number;
  /** Median over rounds of (b − a) within the round. */
  difference: number;
  /** Interquartile range of the rounds' differences: [25th, 75th percentile]. */
  spread: [number, number];
  /**
   * About 95 % confidence interval of `difference` (the median): the order statistics
   * n/2 ∓ 0.98·√n of the rounds' differences, which holds whatever their distribution.
   */
  interval: [number, number];
}

export interface AlternatedCpu extends Paired {
  /** The same on the event-loop thread's clock (equal to the process figures without /proc). */
  thread: Paired;
  rounds: number;
}

function paired(ta: number[], tb: number[]): Paired {
  const d = tb.map((t, i) => t - ta[i]!);
  const sorted = [...d].sort((x, y) => x - y);
  const n = sorted.length;
  const half = 0.98 * Math.sqrt(n);
  return {
    a: median(ta),
    b: median(tb),
    difference: median(d),
    spread: [quantile(d, 0.25), quantile(d, 0.75)],
    interval: [
      sorted[Math.max(0, Math.floor(n / 2 - half) - 1)]!,
      sorted[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)]!,
    ],
  };
}

/**
 * Median CPU ms per call of `a` and of `b`, after `warm` calls of each; `beforeBatch` runs before
 * every batch (e.g. to drop what a mock model records).
 */
export async function alternateBatches(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  o: { calls: number; rounds: number; warm: number; beforeBatch?: () => void },
): Promise<AlternatedCpu> {
  const run = (f: () => Promise<unknown>, calls: number) => {
    o.beforeBatch?.();
    return batch(calls, f);
  };
  await run(a, o.warm);
  await run(b, o.warm);
  const ta: Array<[number, number]> = [];
  const tb: Array<[number, number]> = [];
  for (let i = 0; i < o.rounds; i++) {
    if (i % 2 === 0) {
      ta.push(await run(a, o.calls));
      tb.push(await run(b, o.calls));
    } else {
      tb.push(await run(b, o.calls));
      ta.push(await run(a, o.calls));
    }
  }
  const p = paired(
    ta.map((t) => t[0]),
    tb.map((t) => t[0]),
  );
  return {
    ...p,
    thread: paired(
      ta.map((t) => t[1]),
      tb.map((t) => t[1]),
    ),
    rounds: o.rounds,
  };
}
