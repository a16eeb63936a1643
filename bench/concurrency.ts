/**
 * Many concurrent sessions in one process, each holding spoken conversations with audio pushed in
 * real time as 20 ms frames (one drift-corrected timer per microphone, phases spread over the
 * 20 ms period). Over a steady-state window: CPU time (`process.cpuUsage`, all threads), event-loop
 * lag (`monitorEventLoopDelay`), memory per session (heap and RSS after a full GC, sessions alive)
 * and the framework overhead of the turns that ran meanwhile.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver, performance as perfHooks } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { VadModel } from '../src/providers/types.ts';
import {
  BenchSession,
  FRAME_MS,
  frameworkMs,
  type ProviderLatencies,
  type TurnMarks,
  type TurnPolicy,
} from './harness.ts';
import { percentile, round, type Summary, sleep, summarize, within } from './stats.ts';
import { analyseTurns } from './turn-latency.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function collectGarbage(): void {
  gc();
  gc();
}

/** `PerformanceEntry.detail.kind` of a `gc` entry (perf_hooks `NODE_PERFORMANCE_GC_*`). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

/** Event-loop lag samples come every `resolution` ms; the recorded delay includes the interval itself. */
const ELD_RESOLUTION_MS = 10;

export interface ConcurrencyResult {
  sessions: number;
  vad: string;
  windowS: number;
  turnsInWindow: number;
  framesPushed: number;
  cpu: {
    /** CPU ms (user + system, all threads) per wall second, whole process. */
    totalMsPerSecond: number;
    /** Share of one core each session uses. */
    perSessionPctOfCore: number;
    /** 1 / perSession share: sessions one core could carry at this load. */
    sessionsPerCore: number;
  };
  memory: { heapDeltaMB: number; rssDeltaMB: number; heapPerSessionMB: number; rssPerSessionMB: number };
  eventLoopLagMs: { p50: number; p99: number; max: number };
  /** Share of the window the event loop was busy (`performance.eventLoopUtilization`), 0–1. */
  eventLoopUtilization: number;
  /** The same measured meanwhile in an idle Node process on the same machine: the machine's own noise. */
  idleProcessLagMs: { p50: number; p99: number; max: number } | undefined;
  /** 1-minute load average when the window ended. */
  loadavg1m: number;
  /**
   * GC pauses inside the window: total, count, the longest and the 90th percentile, and the same by
   * kind (`minor`: scavenges; `major`: mark-compact, the finishing pause of incremental marking;
   * `incremental`: marking steps; `weakcb`: weak callbacks).
   */
  gc: {
    pauseMs: number;
    count: number;
    maxMs: number;
    p90Ms: number;
    byKind: Record<string, { count: number; ms: number; maxMs: number }>;
  };
  /** Synchronous time inside `pushAudio` per frame (µs). */
  pushAudioUs: { mean: number };
  frameworkOverheadMs: Summary;
  /** The framework-owned gaps of those turns (see turn-latency.ts). */
  segmentsMs: Record<string, Summary>;
  /**
   * What the user waits beyond the policy and the providers' latencies: end of speech (push of the
   * last speech frame) → first bot frame, minus the nominal 380 ms. Exact for the tone of the
   * energy rows; for Silero the spoken sentence's own trailing silence and the VAD's judgement of
   * where speech ends shift it by a constant.
   */
  netFromSpeechEndMs: Summary;
  /**
   * The slowest turns of the window (those that make the p99): their overhead, their largest gap,
   * and how much of that gap a GC pause covered.
   */
  slowest: Array<{ overheadMs: number; gap: string; gapMs: number; gcInGapMs: number; gcKinds: string }>;
}

export async function runConcurrency(o: {
  sessions: number;
  vad: () => VadModel;
  vadName: string;
  speech: ReadonlyArray<Int16Array>;
  latencies: ProviderLatencies;
  policy: TurnPolicy;
  warmupMs: number;
  windowMs: number;
}): Promise<ConcurrencyResult> {
  collectGarbage();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const list: BenchSession[] = [];
  for (let i = 0; i < o.sessions; i++) {
    list.push(
      new BenchSession({
        id: `c${o.sessions}-${i}`,
        vad: o.vad(),
        latencies: o.latencies,
        policy: o.policy,
        answer: 'Sure, here you go. Anything else?',
      }),
    );
  }
  let stopped = false;
  const conversations = list.map(async (bs, i) => {
    bs.mic.start((i * FRAME_MS) / o.sessions);
    await sleep(Math.random() * 1000);
    while (!stopped) {
      const ended = bs.nextTurnEnd();
      await bs.mic.say(o.speech);
      if (stopped) break;
      await within(ended, 6000);
      await sleep(200 + Math.random() * 300);
    }
  });

  await sleep(o.warmupMs);
  const probe = idleLagProbe(o.windowMs);
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  const pushes0 = list.reduce((n, bs) => n + bs.mic.pushes, 0);
  const pushMs0 = list.reduce((n, bs) => n + bs.mic.pushMs, 0);
  const windowStart = performance.now();
  const gc = { pauseMs: 0, count: 0, maxMs: 0 };
  const byKind: Record<string, { count: number; ms: number; maxMs: number }> = {};
  const pauses: Array<[number, number, string]> = [];
  const countGc = (entries: PerformanceEntryList) => {
    for (const e of entries) {
      const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      pauses.push([e.startTime, e.startTime + e.duration, kind]);
      gc.pauseMs += e.duration;
      gc.count++;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      byKind[kind] ??= { count: 0, ms: 0, maxMs: 0 };
      const k = byKind[kind];
      k.count++;
      k.ms = round(k.ms + e.duration, 2);
      k.maxMs = round(Math.max(k.maxMs, e.duration), 2);
    }
  };
  const gcObserver = new PerformanceObserver((items) => countGc(items.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const elu0 = perfHooks.eventLoopUtilization();
  eld.enable();
  await sleep(o.windowMs);
  eld.disable();
  const elu = perfHooks.eventLoopUtilization(elu0);
  countGc(gcObserver.takeRecords());
  gcObserver.disconnect();
  const cpu = process.cpuUsage(cpu0);
  const windowEnd = performance.now();
  const pushes = list.reduce((n, bs) => n + bs.mic.pushes, 0) - pushes0;
  const pushMs = list.reduce((n, bs) => n + bs.mic.pushMs, 0) - pushMs0;
  collectGarbage();
  const heap1 = process.memoryUsage().heapUsed;
  const rss1 = process.memoryUsage().rss;
  const idleProcessLagMs = await probe;

  stopped = true;
  for (const bs of list) bs.mic.stop();
  await within(Promise.all(conversations), 2000);
  await Promise.all(list.map((bs) => bs.close()));

  const elapsedS = (windowEnd - windowStart) / 1000;
  const cpuMsPerS = (cpu.user + cpu.system) / 1000 / elapsedS;
  const perSessionShare = cpuMsPerS / 1000 / o.sessions;
  const turns = list.flatMap((bs) =>
    bs.turns.filter(
      (t) => t.outcome === 'end' && (t.turnStartAt ?? 0) >= windowStart && (t.turnStartAt ?? 0) <= windowEnd,
    ),
  );
  const lag = (p: number) => round(Math.max(0, eld.percentile(p) / 1e6 - ELD_RESOLUTION_MS), 2);
  const mb = (bytes: number) => bytes / (1024 * 1024);
  return {
    sessions: o.sessions,
    vad: o.vadName,
    windowS: round(elapsedS, 2),
    turnsInWindow: turns.length,
    framesPushed: pushes,
    cpu: {
      totalMsPerSecond: round(cpuMsPerS, 1),
      perSessionPctOfCore: round(perSessionShare * 100, 3),
      sessionsPerCore: Math.floor(1 / perSessionShare),
    },
    memory: {
      heapDeltaMB: round(mb(heap1 - heap0), 2),
      rssDeltaMB: round(mb(rss1 - rss0), 2),
      heapPerSessionMB: round(mb(heap1 - heap0) / o.sessions, 3),
      rssPerSessionMB: round(mb(rss1 - rss0) / o.sessions, 3),
    },
    eventLoopLagMs: {
      p50: lag(50),
      p99: lag(99),
      max: round(Math.max(0, eld.max / 1e6 - ELD_RESOLUTION_MS), 2),
    },
    eventLoopUtilization: round(elu.utilization, 3),
    idleProcessLagMs,
    loadavg1m: round(loadavg()[0] ?? 0, 2),
    gc: {
      pauseMs: round(gc.pauseMs, 1),
      count: gc.count,
      maxMs: round(gc.maxMs, 2),
      p90Ms: pauses.length === 0 ? 0 : round(p90(pauses.map(([s, e]) => e - s)), 2),
      byKind,
    },
    pushAudioUs: { mean: round((pushMs * 1000) / Math.max(1, pushes), 1) },
    frameworkOverheadMs: summarize(
      turns.map((t) => frameworkMs(t, o.policy)).filter((x): x is number => x !== undefined),
    ),
    ...pick(analyseTurns(turns, o.latencies, o.policy)),
    slowest: slowestTurns(turns, o.policy, pauses),
  };
}

function pick(a: ReturnType<typeof analyseTurns>) {
  return { segmentsMs: a.segmentsMs, netFromSpeechEndMs: a.netFromSpeechEndMs };
}

function p90(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    90,
  );
}

/** Slowest turns listed: at 200 turns a window, the p99 is the second. */
const SLOWEST = 4;

/** The slowest turns by overhead: their largest framework gap and the GC pause time inside it. */
function slowestTurns(
  turns: ReadonlyArray<TurnMarks>,
  policy: TurnPolicy,
  pauses: ReadonlyArray<[number, number, string]>,
): ConcurrencyResult['slowest'] {
  const rows: ConcurrencyResult['slowest'] = [];
  for (const t of turns) {
    const overheadMs = frameworkMs(t, policy);
    if (overheadMs === undefined) continue;
    const gaps: Array<[string, number | undefined, number | undefined]> = [
      ['vad', t.stopFramePushAt, t.stopAt],
      ['toStt', t.stopAt, t.sttAudioEndAt],
      [
        'commit',
        t.stopAt === undefined || t.sttFinalAt === undefined
          ? undefined
          : Math.max(t.stopAt + policy.endpointingMs, t.sttFinalAt),
        t.userTextAt,
      ],
      ['toLlm', t.userTextAt, t.llmCalledAt],
      ['toTts', t.llmFirstDeltaAt, t.ttsCalledAt],
      ['toSink', t.ttsFirstChunkAt, t.firstFrameAt],
    ];
    let best: [string, number, number] = ['', 0, 0];
    for (const [name, a, b] of gaps) {
      if (a === undefined || b === undefined) continue;
      if (b - a > best[2] - best[1]) best = [name, a, b];
    }
    let gcInGapMs = 0;
    const kinds: string[] = [];
    for (const [s, e, kind] of pauses) {
      const overlap = Math.max(0, Math.min(e, best[2]) - Math.max(s, best[1]));
      if (overlap <= 0) continue;
      gcInGapMs += overlap;
      kinds.push(`${kind} ${round(overlap, 1)}`);
    }
    rows.push({
      overheadMs: round(overheadMs, 2),
      gap: best[0],
      gapMs: round(best[2] - best[1], 2),
      gcInGapMs: round(gcInGapMs, 2),
      gcKinds: kinds.join(', '),
    });
  }
  return rows.sort((a, b) => b.overheadMs - a.overheadMs).slice(0, SLOWEST);
}

/**
 * Event-loop lag of a separate, idle Node process over the same window: what the machine alone
 * does to timers (other processes competing for the cores). No sockets: the result comes on stdout.
 */
function idleLagProbe(windowMs: number): Promise<{ p50: number; p99: number; max: number } | undefined> {
  const r = ELD_RESOLUTION_MS;
  const script = `
    const { monitorEventLoopDelay } = require('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: ${r} });
    h.enable();
    setTimeout(() => {
      h.disable();
      const lag = (ns) => Math.max(0, Math.round((ns / 1e6 - ${r}) * 100) / 100);
      process.stdout.write(JSON.stringify({ p50: lag(h.percentile(50)), p99: lag(h.percentile(99)), max: lag(h.max) }));
    }, ${windowMs});`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill(), windowMs + 5000);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve(undefined);
      }
    });
    child.on('error', () => resolve(undefined));
  });
}
