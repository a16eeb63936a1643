/**
 * What survives a scavenge at 100 sessions (section 7c): the 100-session row of section 3 runs
 * while the sampling heap profiler keeps only allocations that outlived a young-generation GC
 * (`includeObjectsCollectedByMinorGC: false`; with the old generation's collections kept, objects
 * promoted and freed later by a mark-compact still count). Prints KB sampled per second by owner
 * (Colloquy, the AI SDK, the bench's stand-ins, Node) and by allocating function.
 *
 *   node --import ./bench/loader/register.mjs bench/survivors.ts [energy|silero] [sessions] [seconds]
 */
import { Session } from 'node:inspector/promises';
import { MockVad } from '../src/testing/mock-vad.ts';
import { runConcurrency } from './concurrency.ts';
import { BENCH_LATENCIES, BENCH_POLICY, FRAME_SAMPLES, toneFrames } from './harness.ts';
import { warmUp } from './warmup.ts';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const sessions = Number(process.argv[3] ?? 100);
const seconds = Number(process.argv[4] ?? 6);

await warmUp(60);
const inspector = new Session();
inspector.connect();
const speech = toneFrames(600);
const row = runConcurrency({
  sessions,
  vad: () => new MockVad({ frameSamples: FRAME_SAMPLES, maxRecorded: 1 }),
  vadName: 'energy',
  speech,
  latencies: BENCH_LATENCIES,
  policy: BENCH_POLICY,
  warmupMs: 1500,
  windowMs: seconds * 1000,
});
await new Promise((r) => setTimeout(r, 1600));
await inspector.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: false,
});
await new Promise((r) => setTimeout(r, seconds * 1000 - 500));
await inspector.post('HeapProfiler.collectGarbage'); // a scavenge first would be better; a full GC ends the sample
const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
const result = await row;

const owner = (url: string): string => {
  if (url.includes('/src/testing/') || url.includes('/bench/')) return 'bench stand-ins';
  if (url.includes('/src/')) return 'colloquy';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node';
  return '(vm)';
};
const byOwner = new Map<string, number>();
const byFrame = new Map<string, number>();
const walk = (n: ProfileNode, stack: ProfileNode[]) => {
  const path = [...stack, n];
  if (n.selfSize > 0) {
    // owner: the nearest frame that is not Node's own or the VM's
    let o = '(vm)';
    for (let i = path.length - 1; i >= 0; i--) {
      const own = owner(path[i]!.callFrame.url);
      if (own !== 'node' && own !== '(vm)') {
        o = own;
        break;
      }
    }
    byOwner.set(o, (byOwner.get(o) ?? 0) + n.selfSize);
    const frames = path
      .slice(-4)
      .map(
        (f) =>
          `${f.callFrame.functionName || '(anon)'}@${f.callFrame.url.split('/').slice(-2).join('/')}:${f.callFrame.lineNumber}`,
      )
      .join(' < ');
    byFrame.set(frames, (byFrame.get(frames) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, path);
};
walk(profile.head, []);
const total = [...byOwner.values()].reduce((a, b) => a + b, 0);
const kbs = (b: number) => (b / 1024 / seconds).toFixed(1);
console.log(
  `survived ${kbs(total)} KB/s sampled over ${seconds} s; turns ${result.turnsInWindow}; gc ${JSON.stringify(result.gc)}`,
);
for (const [k, v] of [...byOwner].sort((a, b) => b[1] - a[1]))
  console.log(`${kbs(v).padStart(8)} KB/s ${((v * 100) / total).toFixed(1).padStart(5)} %  ${k}`);
console.log('--- by allocation site (innermost 4 frames)');
for (const [k, v] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40)))
  console.log(`${kbs(v).padStart(8)} KB/s  ${k}`);
process.exit(0);
