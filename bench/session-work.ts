/**
 * Work per turn at 100 sessions, in numbers a busy machine leaves readable: CPU time, bytes
 * allocated and GC per turn, and per frame while listening. The concurrency rows (section 3) read
 * latencies, which follow the machine's load; these read work, which does not (much), so two
 * commits can be compared on a shared VM.
 *
 *   node --import ./bench/loader/register.mjs bench/session-work.ts [sessions] [turnsPerSession]
 *
 * Turns: every session at once speaks (a 0.2 s tone, frames pushed one per macrotask), the
 * stand-in providers answer at once, and the bot's 1.3 s answer plays out at real pace; CPU
 * (`process.cpuUsage`), allocation (heap growth plus what each GC freed, `v8.GCProfiler`), GC pauses
 * and bytes promoted to the old generation by scavenges, divided by the turns. Listening: each
 * session's microphone pushes silence in real time for 3 s.
 */
import { GCProfiler } from 'node:v8';
import { MockVad } from '../src/testing/mock-vad.ts';
import { BenchSession, FRAME_MS, FRAME_SAMPLES, INPUT_RATE, Mic, toneFrames } from './harness.ts';
import { round, sleep } from './stats.ts';
import { INSTANT, warmUp } from './warmup.ts';

export interface SessionWorkResult {
  sessions: number;
  turns: number;
  perTurn: { cpuMs: number; allocatedKB: number; gcMs: number; promotedKB: number };
  /** GC pauses over all the turns: how many were mark-compacts, and the longest pause. */
  gc: { count: number; markCompacts: number; maxMs: number };
  listening: { cpuUsPerFrame: number; bytesPerFrame: number; frames: number };
}

interface Work {
  cpuMs: number;
  bytes: number;
  gcMs: number;
  gcCount: number;
  markCompacts: number;
  maxGcMs: number;
  promoted: number;
}

function oldSpace(stats: {
  heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }>;
}): number {
  return stats.heapSpaceStatistics.find((s) => s.spaceName === 'old_space')?.spaceUsedSize ?? 0;
}

async function measure(run: () => Promise<void>): Promise<Work> {
  const profiler = new GCProfiler();
  profiler.start();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  await run();
  const cpu = process.cpuUsage(cpu0);
  const heap1 = process.memoryUsage().heapUsed;
  const w: Work = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytes: heap1 - heap0,
    gcMs: 0,
    gcCount: 0,
    markCompacts: 0,
    maxGcMs: 0,
    promoted: 0,
  };
  for (const s of profiler.stop()?.statistics ?? []) {
    w.bytes += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    w.gcMs += s.cost / 1000;
    w.gcCount++;
    w.maxGcMs = Math.max(w.maxGcMs, s.cost / 1000);
    if (s.gcType === 'Scavenge') w.promoted += oldSpace(s.afterGC) - oldSpace(s.beforeGC);
    if (s.gcType === 'MarkSweepCompact') w.markCompacts++;
  }
  return w;
}

const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runSessionWork(sessions = 100, turnsPerSession = 3): Promise<SessionWorkResult> {
  await warmUp(40);
  const list = Array.from(
    { length: sessions },
    (_, i) =>
      new BenchSession({
        id: `work-${i}`,
        vad: new MockVad({ frameSamples: FRAME_SAMPLES }),
        ...INSTANT,
        answer: 'Sure, here you go. Anything else?',
      }),
  );
  const speech = toneFrames(200);
  const turns = (k: number) =>
    Promise.all(
      list.map(async (bs) => {
        for (let t = 0; t < k; t++) {
          const ended = bs.nextTurnEnd();
          for (const f of speech) {
            bs.session.pushAudio(f, INPUT_RATE);
            await nextMacrotask();
          }
          for (let j = 0; j < 5; j++) {
            bs.session.pushAudio(Mic.silence, INPUT_RATE);
            await nextMacrotask();
          }
          await ended;
        }
      }),
    ).then(() => {});
  await turns(1); // every session's path warm
  const t = await measure(() => turns(turnsPerSession));
  const mics = list.map((bs) => new Mic(bs.session));
  const l = await measure(async () => {
    for (let i = 0; i < mics.length; i++) mics[i]!.start((i * FRAME_MS) / sessions);
    await sleep(3000);
    for (const m of mics) m.stop();
  });
  const frames = mics.reduce((n, m) => n + m.pushes, 0);
  await Promise.all(list.map((bs) => bs.close()));
  const n = sessions * turnsPerSession;
  return {
    sessions,
    turns: n,
    perTurn: {
      cpuMs: round(t.cpuMs / n, 3),
      allocatedKB: round(t.bytes / n / 1024, 1),
      gcMs: round(t.gcMs / n, 3),
      promotedKB: round(t.promoted / n / 1024, 1),
    },
    gc: { count: t.gcCount, markCompacts: t.markCompacts, maxMs: round(t.maxGcMs, 1) },
    listening: {
      cpuUsPerFrame: round((l.cpuMs * 1000) / Math.max(1, frames), 1),
      bytesPerFrame: Math.round(l.bytes / Math.max(1, frames)),
      frames,
    },
  };
}

// Run alone: `node --import ./bench/loader/register.mjs bench/session-work.ts [sessions] [turnsPerSession]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const [sessions, turns] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await runSessionWork(sessions || 100, turns || 3)));
  process.exit(0);
}
