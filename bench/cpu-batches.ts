/**
 * CPU time per call of two implementations of the same work, measured in alternating batches so
 * machine noise hits both: process CPU time (`process.cpuUsage`), median batch of each.
 *
 * The order alternates from round to round (a, b, then b, a): a batch leaves garbage and GC debt
 * that the next batch pays for, so neither side always runs after the other. The difference is the
 * median of the rounds' own differences (b − a within a round, minutes apart at most on a machine
 * whose load drifts), not the difference of the two medians.
 */

export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function batch(calls: number, run: () => Promise<unknown>): Promise<number> {
  const start = cpuMs();
  for (let i = 0; i < calls; i++) await run();
  return (cpuMs() - start) / calls;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface AlternatedCpu {
  /** Median CPU ms per call of `a`. */
  a: number;
  /** Median CPU ms per call of `b`. */
  b: number;
  /** Median over rounds of (b − a) within the round. */
  difference: number;
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
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < o.rounds; i++) {
    if (i % 2 === 0) {
      ta.push(await run(a, o.calls));
      tb.push(await run(b, o.calls));
    } else {
      tb.push(await run(b, o.calls));
      ta.push(await run(a, o.calls));
    }
  }
  return { a: median(ta), b: median(tb), difference: median(tb.map((t, i) => t - ta[i]!)) };
}
