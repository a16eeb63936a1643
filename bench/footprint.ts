/**
 * Footprint: what Colloquy costs above what any implementation must do, measured in one run.
 *
 * - CPU per turn above the bare AI SDK floor. The floor is the work every voice agent on the AI SDK
 *   does for a turn: `streamText` + consuming its stream (+ one `generateSpeech`, + one `transcribe`
 *   for a spoken turn), with the same zero-latency mock models. Colloquy's row runs the same turn
 *   through `VoiceSession` / `VoiceAgent`. Floor and Colloquy batches of 20 turns alternate (in turn
 *   first) over 40 rounds, so machine noise hits both; above the floor is the median of each round's
 *   own difference, with its interquartile range, on the process clock and on the event-loop
 *   thread's own clock (cpu-batches.ts).
 * - Heap per idle session and per idle `VoiceAgent` holding a WebSocket, after GC. The agent row
 *   subtracts a floor of the same number of bare socket pairs.
 * - Throughput: 50 agents taking turns back to back in one process: turns/s and CPU per turn.
 * - GC: total pause time and count during the throughput run.
 */
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  experimental_generateSpeech as generateSpeech,
  streamText,
  experimental_transcribe as transcribe,
} from 'ai';
import { MockSpeechModelV3, MockTranscriptionModelV3 } from 'ai/test';
import WebSocket, { WebSocketServer } from 'ws';
import { silentLogger } from '../src/logger.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { VoiceAgent } from '../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { alternateBatches, cpuMs } from './cpu-batches.ts';
import { round } from './stats.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A 20-word, one-sentence answer (one TTS request for every implementation). */
const ANSWER =
  'The breakfast buffet opens at seven and closes at half past ten every single morning in the garden room.';
const response = { timestamp: new Date(0), modelId: 'mock' };
const AUDIO = new Uint8Array(2048);

function speechModel() {
  return new MockSpeechModelV3({
    provider: 'mock-speech',
    modelId: 'tts',
    doGenerate: async () => ({ audio: AUDIO, warnings: [], response }),
  });
}

function transcriptionModel() {
  return new MockTranscriptionModelV3({
    provider: 'mock-stt',
    modelId: 'stt',
    doGenerate: async () => ({
      text: 'what time is breakfast',
      segments: [],
      language: 'en',
      durationInSeconds: 1,
      warnings: [],
      response,
    }),
  });
}

/** A WAV-ish recording (its bytes are never decoded by the mock transcriber). */
const RECORDING = Buffer.from(new Uint8Array(16_000)).toString('base64');

/** CPU per turn on one clock: the floor, Colloquy, and the paired difference. */
export interface AboveFloor {
  floorMs: number;
  colloquyMs: number;
  /** Median over the rounds of (Colloquy − floor) within the round. */
  aboveFloorMs: number;
  /** Interquartile range of the rounds' differences (ms). */
  aboveFloorSpreadMs: [number, number];
  /** About 95 % confidence interval of `aboveFloorMs` (ms). */
  aboveFloorIntervalMs: [number, number];
}

export interface FootprintResult {
  /** Process CPU time per turn; `thread`: the event-loop thread's own (no background V8 threads). */
  turnCpu: Array<AboveFloor & { kind: string; thread: AboveFloor; rounds: number; turnsPerBatch: number }>;
  idleHeap: Array<{ what: string; count: number; floorKB?: number; perItemKB: number }>;
  throughput: {
    agents: number;
    seconds: number;
    turnsPerS: number;
    cpuPerTurnMs: number;
    gcPauseMs: number;
    gcCount: number;
  };
}

async function turnCpu(quick: boolean): Promise<FootprintResult['turnCpu']> {
  // Many short rounds: load drift between a round's two batches stays small, and the median of
  // 40 paired differences is steadier than that of 10 long ones (docs/benchmarks.md, section 5).
  const turns = 20;
  const rounds = quick ? 10 : 40;
  const llm = mockLanguageModel([ANSWER]);
  const tts = speechModel();
  const stt = transcriptionModel();
  const history = [{ role: 'user' as const, content: 'what time is breakfast' }];

  const floorText = async () => {
    const r = streamText({ model: llm, system: 'You are a hotel concierge.', messages: history });
    for await (const _ of r.fullStream);
  };
  const floorSpoken = async () => {
    await floorText();
    await generateSpeech({ model: tts, text: ANSWER });
  };
  const floorAudio = async () => {
    await transcribe({ model: stt, audio: Buffer.from(RECORDING, 'base64') });
    await floorSpoken();
  };

  // One long-lived session/agent per kind, history cleared each turn so every turn sends the same prompt.
  const session = new VoiceSession({
    userId: 'u',
    agents: [{ name: 'concierge', instructions: 'You are a hotel concierge.' }],
    model: llm,
    logger: silentLogger,
  });
  const agent = new VoiceAgent({
    model: llm,
    speechModel: tts,
    transcriptionModel: stt,
    instructions: 'You are a hotel concierge.',
    logger: silentLogger,
  });
  const colloquyText = async () => {
    session.clearHistory();
    await session.sendText('what time is breakfast');
  };
  const colloquySpoken = async () => {
    agent.clearHistory();
    await agent.sendText('what time is breakfast');
  };
  const colloquyAudio = async () => {
    agent.clearHistory();
    await agent.sendAudio(RECORDING);
  };

  const rows: FootprintResult['turnCpu'] = [];
  const kinds: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
    ['text turn, no speech (VoiceSession)', floorText, colloquyText],
    ['text turn, speech on (VoiceAgent)', floorSpoken, colloquySpoken],
    ['spoken turn: recording in, speech out (VoiceAgent)', floorAudio, colloquyAudio],
  ];
  for (const [kind, floor, colloquy] of kinds) {
    const m = await alternateBatches(floor, colloquy, {
      calls: turns,
      rounds,
      warm: quick ? 30 : 100,
      // The mock model records every call's options (ours hold more: an abort signal, the tool set),
      // which a real provider does not keep: clear it so neither side pays for a growing heap.
      beforeBatch: () => {
        llm.doStreamCalls.length = 0;
      },
    });
    rows.push({
      kind,
      floorMs: round(m.a, 3),
      colloquyMs: round(m.b, 3),
      aboveFloorMs: round(m.difference, 3),
      aboveFloorSpreadMs: [round(m.spread[0], 3), round(m.spread[1], 3)],
      aboveFloorIntervalMs: [round(m.interval[0], 3), round(m.interval[1], 3)],
      thread: {
        floorMs: round(m.thread.a, 3),
        colloquyMs: round(m.thread.b, 3),
        aboveFloorMs: round(m.thread.difference, 3),
        aboveFloorSpreadMs: [round(m.thread.spread[0], 3), round(m.thread.spread[1], 3)],
        aboveFloorIntervalMs: [round(m.thread.interval[0], 3), round(m.thread.interval[1], 3)],
      },
      rounds,
      turnsPerBatch: turns,
    });
  }
  await session.close();
  agent.destroy();
  return rows;
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function idleSessions(count: number): Promise<number> {
  const model = mockLanguageModel(['ok']);
  const before = heapUsed();
  const sessions: VoiceSession[] = [];
  for (let i = 0; i < count; i++) {
    const s = new VoiceSession({
      userId: `u${i}`,
      agents: [{ name: 'concierge', instructions: 'You are a hotel concierge.' }],
      model,
      logger: silentLogger,
    });
    await s.start();
    sessions.push(s);
  }
  const after = heapUsed();
  for (const s of sessions) await s.close();
  return (after - before) / count / 1024;
}

/** `count` loopback socket pairs; with `agents`, each server socket is handed to a VoiceAgent. */
async function socketPairs(count: number, agents: boolean): Promise<number> {
  const model = mockLanguageModel(['ok']);
  const tts = speechModel();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const server: WebSocket[] = [];
  wss.on('connection', (s) => server.push(s));
  const before = heapUsed();
  const clients: WebSocket[] = [];
  const made: VoiceAgent[] = [];
  for (let i = 0; i < count; i++) {
    const c = new WebSocket(url);
    await new Promise<void>((r, j) => {
      c.once('open', () => r());
      c.once('error', j);
    });
    clients.push(c);
  }
  while (server.length < count) await new Promise((r) => setTimeout(r, 5));
  if (agents) {
    for (const s of server) {
      const a = new VoiceAgent({ model, speechModel: tts, logger: silentLogger });
      a.handleSocket(s);
      made.push(a);
    }
  }
  await new Promise((r) => setTimeout(r, 50));
  const after = heapUsed();
  for (const a of made) a.destroy();
  for (const c of clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
  return (after - before) / count / 1024;
}

async function idleHeap(quick: boolean): Promise<FootprintResult['idleHeap']> {
  const rows: FootprintResult['idleHeap'] = [];
  for (const n of quick ? [100] : [100, 1000]) {
    rows.push({ what: 'idle VoiceSession', count: n, perItemKB: round(await idleSessions(n), 2) });
  }
  for (const n of quick ? [100] : [100, 1000]) {
    const floor = await socketPairs(n, false);
    const withAgents = await socketPairs(n, true);
    rows.push({
      what: 'idle VoiceAgent with a socket (above the bare socket pair)',
      count: n,
      floorKB: round(floor, 2),
      perItemKB: round(withAgents - floor, 2),
    });
  }
  return rows;
}

async function throughput(quick: boolean): Promise<FootprintResult['throughput']> {
  const agents = 50;
  const seconds = quick ? 3 : 8;
  const llm = mockLanguageModel([ANSWER]);
  const tts = speechModel();
  const list = Array.from(
    { length: agents },
    () => new VoiceAgent({ model: llm, speechModel: tts, logger: silentLogger }),
  );
  let gcPauseMs = 0;
  let gcCount = 0;
  const obs = new PerformanceObserver((items) => {
    for (const e of items.getEntries()) {
      gcPauseMs += e.duration;
      gcCount++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  let turns = 0;
  const end = Date.now() + seconds * 1000;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await Promise.all(
    list.map(async (a) => {
      while (Date.now() < end) {
        a.clearHistory();
        await a.sendText('what time is breakfast');
        turns++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuMs() - cpu0;
  // GC entries reach observers later, on a timer: wait for the last ones, then take what is left.
  await new Promise((r) => setTimeout(r, 100));
  for (const e of obs.takeRecords()) {
    gcPauseMs += e.duration;
    gcCount++;
  }
  obs.disconnect();
  for (const a of list) a.destroy();
  return {
    agents,
    seconds: round(elapsed, 1),
    turnsPerS: round(turns / elapsed, 1),
    cpuPerTurnMs: round(cpu / turns, 3),
    gcPauseMs: round(gcPauseMs, 1),
    gcCount,
  };
}

export async function runFootprint(quick: boolean): Promise<FootprintResult> {
  return {
    turnCpu: await turnCpu(quick),
    idleHeap: await idleHeap(quick),
    throughput: await throughput(quick),
  };
}

export function printFootprint(r: Omit<FootprintResult, 'throughput'> & Partial<FootprintResult>): void {
  console.log('\n## Footprint: Colloquy above the bare AI SDK floor (same mocks, alternating batches)\n');
  const rounds = r.turnCpu[0];
  if (rounds)
    console.log(
      `${rounds.rounds} rounds of ${rounds.turnsPerBatch} turns a side; above floor: median of the rounds' own differences (its ~95 % interval; interquartile range of the rounds)\n`,
    );
  console.log(
    '| turn | floor CPU/turn | Colloquy CPU/turn | above floor | event-loop thread: floor → Colloquy | above floor |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const t of r.turnCpu) {
    const above = (x: AboveFloor) =>
      `${x.aboveFloorMs} ms (${x.aboveFloorIntervalMs.join(' – ')}; IQR ${x.aboveFloorSpreadMs.join(' – ')})`;
    console.log(
      `| ${t.kind} | ${t.floorMs} ms | ${t.colloquyMs} ms (×${round(t.colloquyMs / t.floorMs, 2)}) | ${above(t)} | ${t.thread.floorMs} → ${t.thread.colloquyMs} ms | ${above(t.thread)} |`,
    );
  }
  if (r.idleHeap.length === 0) return;
  console.log('\n| idle heap | count | floor per item | Colloquy per item |');
  console.log('|---|---|---|---|');
  for (const h of r.idleHeap)
    console.log(
      `| ${h.what} | ${h.count} | ${h.floorKB !== undefined ? `${h.floorKB} KB` : '—'} | ${h.perItemKB} KB |`,
    );
  const t = r.throughput;
  if (!t) return;
  console.log(
    `\nthroughput: ${t.agents} agents, ${t.turnsPerS} turns/s, ${t.cpuPerTurnMs} ms CPU/turn over ${t.seconds} s; GC ${t.gcPauseMs} ms in ${t.gcCount} pauses`,
  );
}

// Run alone: `node --import ./bench/loader/register.mjs bench/footprint.ts [--quick] [--turns-only]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const r = process.argv.includes('--turns-only')
    ? { turnCpu: await turnCpu(quick), idleHeap: [], throughput: undefined }
    : await runFootprint(quick);
  printFootprint(r);
  process.exit(0);
}
