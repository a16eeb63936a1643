/**
 * CPU time per call of two implementations of the same work, measured in alternating batches so
 * machine noise hits both: process CPU time (`process.cpuUsage`), median batch of each.
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

/** Median CPU ms per call of `a` and of `b`, after `warm` calls of each. */
export async function alternateBatches(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  o: { calls: number; rounds: number; warm: number },
): Promise<[number, number]> {
  await batch(o.warm, a);
  await batch(o.warm, b);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < o.rounds; i++) {
    ta.push(await batch(o.calls, a));
    tb.push(await batch(o.calls, b));
  }
  return [median(ta), median(tb)];
}
