/**
 * Session store write cost per turn. The same text turns (stand-in LLM with a tool call, so each turn
 * writes a user entry, an assistant entry, a tool call and its result) run without a store and with
 * the SQLite store recording through the server's `StoreWriter`:
 *
 * - turn time p50/p99 without and with the store: the store must not show on the turn's path;
 * - the recorder's synchronous cost per turn (its bus handlers, i.e. building and queueing writes);
 * - the database time per turn, spent off the turn's path when the writer flushes (one transaction
 *   per flush).
 *
 * Run alone: `node --import ./bench/loader/register.mjs bench/store.ts` (also part of `npm run bench`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from 'ai';
import { z } from 'zod';
import { silentLogger } from '../src/logger.ts';
import { SessionSnapshots } from '../src/session/resume-snapshots.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { SqliteSessionStore } from '../src/store/sqlite-store.ts';
import { recordSession } from '../src/store/store-recorder.ts';
import { StoreWriter } from '../src/store/store-writer.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { type Summary, summarize } from './stats.ts';

export interface StoreBenchResult {
  turns: number;
  writesPerTurn: number;
  turnMsWithout: Summary;
  turnMsWith: Summary;
  /** Synchronous time in the recorder's handlers per turn (on the turn's path), µs. */
  recorderUsPerTurn: Summary;
  /** Database time per turn, off the turn's path (flush time ÷ turns), µs. */
  dbUsPerTurn: number;
  /** Resume snapshots (resume on, durable store): one per turn, with the whole history. */
  snapshot: {
    /** Messages in the history at the last turn. */
    historyMessages: number;
    /** Building and queueing the snapshot at the turn's end (on the turn's path), µs per turn. */
    onPathUsPerTurn: Summary;
    /** Writing the last turn's snapshot to SQLite (off the path, in the writer's batch), µs. */
    dbUs: Summary;
    /** Floor: writing one transcript row to SQLite, µs. */
    floorRowUs: Summary;
  };
}

function makeSession(id: string): VoiceSession {
  const lookup = tool({
    description: 'Look up a booking',
    inputSchema: z.object({ ref: z.string() }),
    execute: async ({ ref }) => ({ ref, status: 'confirmed', room: 214 }),
  });
  let call = 0;
  const model = mockLanguageModel([
    () =>
      call++ % 2 === 0
        ? [{ toolCall: { name: 'lookup', args: { ref: `AB${call}` } } }]
        : 'Your booking is confirmed, room two fourteen, see you tonight.',
  ]);
  return new VoiceSession({
    sessionId: id,
    userId: 'bench-user',
    agents: [{ name: 'desk', instructions: 'Help.', tools: { lookup } }],
    model,
    logger: silentLogger,
  });
}

async function timeTurns(session: VoiceSession, turns: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < turns; i++) {
    const t0 = performance.now();
    await session.sendText(`Is booking number ${i} confirmed?`);
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * The per-turn resume snapshot: its cost on the turn's path (`SessionSnapshots.save`: copying the
 * history and queueing the write), and its database write beside the floor of one small row.
 */
async function snapshotCost(
  store: SqliteSessionStore,
  writer: StoreWriter,
  turns: number,
): Promise<StoreBenchResult['snapshot']> {
  const session = makeSession('bench-snapshots');
  const snapshots = new SessionSnapshots({
    bus: session.eventBus,
    writer,
    sessionId: session.sessionId,
    profile: { mode: 'agent', models: { llm: 'x', stt: 'x', tts: 'x', vad: 'x' }, agents: [], tools: [] },
    history: () => session.history,
    agentName: () => session.currentAgent,
    credential: () => ({
      userId: 'bench-user',
      handleHash: 'h'.repeat(64),
      expiresAt: Date.now() + 3_600_000,
    }),
    notifications: () => session.pendingNotifications,
  });
  const onPath: number[] = [];
  const save = snapshots.save.bind(snapshots);
  snapshots.save = () => {
    const t0 = performance.now();
    save();
    onPath.push((performance.now() - t0) * 1000);
  };
  await session.start();
  await timeTurns(session, turns);
  await writer.flush();
  const last = await store.loadSnapshot(session.sessionId);
  if (!last) throw new Error('bench: no snapshot stored');
  const timeWrites = async (write: () => Promise<void>): Promise<Summary> => {
    const us: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await write();
      us.push((performance.now() - t0) * 1000);
    }
    return summarize(us);
  };
  const dbUs = await timeWrites(() => store.write([{ type: 'snapshot.save', snapshot: last }]));
  let n = 0;
  const floorRowUs = await timeWrites(() =>
    store.write([
      {
        type: 'transcript',
        entry: { sessionId: 'bench-stored', role: 'user', text: `row ${n++}`, interrupted: false, at: n },
      },
    ]),
  );
  snapshots.drop();
  await session.close();
  return { historyMessages: last.history.length, onPathUsPerTurn: summarize(onPath), dbUs, floorRowUs };
}

export async function runStoreBench(options: { turns: number }): Promise<StoreBenchResult> {
  const { turns } = options;
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-bench-store-'));
  try {
    const plain = makeSession('bench-plain');
    await plain.start();
    await timeTurns(plain, 5); // warm-up
    const without = await timeTurns(plain, turns);
    await plain.close();

    const store = SqliteSessionStore.open(join(dir, 'bench.db'));
    let dbMs = 0;
    const write = store.write.bind(store);
    store.write = async (batch) => {
      const t0 = performance.now();
      try {
        await write(batch);
      } finally {
        dbMs += performance.now() - t0;
      }
    };
    const writer = new StoreWriter(store);
    const recorded = makeSession('bench-stored');
    // Time spent in the recorder's handlers: wrap enqueue (the handlers' last step) and the bus.
    let recorderMs = 0;
    const perTurn: number[] = [];
    const enqueue = writer.enqueue.bind(writer);
    writer.enqueue = (w) => {
      const t0 = performance.now();
      enqueue(w);
      recorderMs += performance.now() - t0;
    };
    recordSession(recorded.eventBus, writer, { history: () => recorded.history });
    await recorded.start();
    await timeTurns(recorded, 5);
    await writer.flush();
    const writtenBefore = writer.written;
    dbMs = 0;
    const withStore: number[] = [];
    for (let i = 0; i < turns; i++) {
      recorderMs = 0;
      withStore.push(...(await timeTurns(recorded, 1)));
      perTurn.push(recorderMs * 1000);
    }
    await writer.flush();
    const writes = writer.written - writtenBefore;
    const db = dbMs;
    await recorded.close();
    const snapshot = await snapshotCost(store, writer, turns);
    await writer.close();
    await store.close();
    return {
      turns,
      writesPerTurn: Math.round((writes / turns) * 10) / 10,
      turnMsWithout: summarize(without),
      turnMsWith: summarize(withStore),
      recorderUsPerTurn: summarize(perTurn),
      dbUsPerTurn: Math.round((db * 1000) / turns),
      snapshot,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runStoreBench({ turns: 200 });
  console.log(
    `Session store (SQLite), ${r.turns} text turns with a tool call, ${r.writesPerTurn} writes per turn`,
  );
  console.log(`turn time without store   p50 ${r.turnMsWithout.p50} ms  p99 ${r.turnMsWithout.p99} ms`);
  console.log(`turn time with store      p50 ${r.turnMsWith.p50} ms  p99 ${r.turnMsWith.p99} ms`);
  console.log(
    `recorder on the turn path p50 ${r.recorderUsPerTurn.p50} µs  p99 ${r.recorderUsPerTurn.p99} µs per turn`,
  );
  console.log(`database, off the path    ${r.dbUsPerTurn} µs per turn`);
  const sn = r.snapshot;
  console.log(
    `resume snapshot, turn path p50 ${sn.onPathUsPerTurn.p50} µs  p99 ${sn.onPathUsPerTurn.p99} µs per turn (history ${sn.historyMessages} messages)`,
  );
  console.log(`resume snapshot, database  p50 ${sn.dbUs.p50} µs  p99 ${sn.dbUs.p99} µs per write`);
  console.log(
    `floor: one transcript row  p50 ${sn.floorRowUs.p50} µs  p99 ${sn.floorRowUs.p99} µs per write`,
  );
}
