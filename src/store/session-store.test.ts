/**
 * The `SessionStore` contract, run against every store: SQLite (a real file), PostgreSQL (a real
 * server started for this file, a fresh database per test) and in-memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PostgresService, startPostgres } from '../../test/support/services.ts';
import { InMemorySessionStore } from './memory-store.ts';
import { PostgresSessionStore } from './postgres-store.ts';
import { SqliteSessionStore } from './sqlite-store.ts';
import { StoreError } from './store-error.ts';
import type { SessionStore, StoreWrite } from './types.ts';

let postgres: PostgresService;
let databases = 0;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

const makers: Array<[string, (dir: string) => Promise<SessionStore>]> = [
  ['sqlite', async (dir) => SqliteSessionStore.open(join(dir, 'c.db'))],
  [
    'postgres',
    async () => {
      const store = PostgresSessionStore.open(postgres.createDatabase(`conformance_${++databases}`));
      await store.ready;
      return store;
    },
  ],
  ['memory', async () => new InMemorySessionStore()],
];

function open(id: string, userId: string, startedAt: number): StoreWrite {
  return {
    type: 'session.open',
    session: { id, userId, transport: 'websocket', mode: 'agent', agentName: 'front', startedAt },
  };
}

const SNAPSHOT = {
  sessionId: 's1',
  userId: 'ana',
  agentName: 'front',
  profile: { config: 'x' },
  history: [{ role: 'user' as const, content: 'hi' }],
  handleHash: 'abc',
  expiresAt: 500,
  updatedAt: 100,
};

describe.each(makers)('%s session store', (_name, make) => {
  let dir: string;
  let store: SessionStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-store-'));
    store = await make(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a session: state, agent, transcript (said, heard, interrupted), tool call + result, history', async () => {
    await store.write([
      open('s1', 'ana', 1000),
      {
        type: 'transcript',
        entry: {
          sessionId: 's1',
          turnId: 't1',
          role: 'user',
          text: 'book a table',
          source: 'speech',
          interrupted: false,
          at: 1001,
        },
      },
      {
        type: 'tool.call',
        call: {
          sessionId: 's1',
          toolCallId: 'c1',
          name: 'book',
          agentName: 'front',
          turnId: 't1',
          execution: 'inline',
          args: { people: 2 },
          startedAt: 1002,
        },
      },
      {
        type: 'tool.result',
        sessionId: 's1',
        toolCallId: 'c1',
        status: 'success',
        result: { ok: true },
        durationMs: 5,
        at: 1007,
      },
      {
        type: 'transcript',
        entry: {
          sessionId: 's1',
          turnId: 't1',
          role: 'assistant',
          agentName: 'front',
          text: 'Booked for two at eight tonight.',
          heardText: 'Booked for two',
          interrupted: true,
          interruptReason: 'user_speaking',
          at: 1010,
        },
      },
      { type: 'session.agent', sessionId: 's1', agentName: 'billing', at: 1011 },
      { type: 'summary', summary: { sessionId: 's1', removedItems: 4, summary: 'They booked.', at: 1012 } },
      {
        type: 'session.history',
        sessionId: 's1',
        history: [{ role: 'user', content: 'book a table' }],
        at: 1013,
      },
      { type: 'session.close', sessionId: 's1', reason: 'client_disconnected', at: 1020 },
    ]);
    const got = await store.getSession('s1');
    expect(got?.session).toEqual({
      id: 's1',
      userId: 'ana',
      transport: 'websocket',
      mode: 'agent',
      agentName: 'billing',
      state: 'closed',
      startedAt: 1000,
      updatedAt: 1020,
      closedAt: 1020,
      closeReason: 'client_disconnected',
      turnCount: 2,
    });
    expect(got?.transcript).toEqual([
      {
        sessionId: 's1',
        turnId: 't1',
        role: 'user',
        text: 'book a table',
        source: 'speech',
        interrupted: false,
        at: 1001,
      },
      {
        sessionId: 's1',
        turnId: 't1',
        role: 'assistant',
        agentName: 'front',
        text: 'Booked for two at eight tonight.',
        heardText: 'Booked for two',
        interrupted: true,
        interruptReason: 'user_speaking',
        at: 1010,
      },
    ]);
    expect(got?.toolCalls).toEqual([
      {
        sessionId: 's1',
        toolCallId: 'c1',
        name: 'book',
        agentName: 'front',
        turnId: 't1',
        execution: 'inline',
        args: { people: 2 },
        startedAt: 1002,
        status: 'success',
        result: { ok: true },
        durationMs: 5,
        finishedAt: 1007,
      },
    ]);
    expect(got?.summaries).toEqual([{ sessionId: 's1', removedItems: 4, summary: 'They booked.', at: 1012 }]);
    expect(got?.history).toEqual([{ role: 'user', content: 'book a table' }]);
    expect(await store.getSession('nope')).toBeUndefined();
  });

  it('a batch is all or nothing: a write for an unknown session fails the whole batch', async () => {
    await expect(
      store.write([
        open('s1', 'ana', 1),
        {
          type: 'transcript',
          entry: { sessionId: 'ghost', role: 'user', text: 'x', interrupted: false, at: 2 },
        },
      ]),
    ).rejects.toBeInstanceOf(StoreError);
    expect(await store.getSession('s1')).toBeUndefined();
  });

  it('stores an oversized or unserialisable tool value as a marker, not nothing', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await store.write([
      open('s1', 'ana', 1),
      {
        type: 'tool.call',
        call: { sessionId: 's1', toolCallId: 'c1', name: 't', agentName: 'a', args: cyclic, startedAt: 2 },
      },
      {
        type: 'tool.result',
        sessionId: 's1',
        toolCallId: 'c1',
        status: 'success',
        result: 'x'.repeat(300_000),
        at: 3,
      },
    ]);
    const [call] = (await store.getSession('s1'))!.toolCalls;
    expect(call.args).toEqual({ omitted: true, reason: 'not_serialisable' });
    expect(call.result).toMatchObject({ omitted: true, reason: 'too_large', chars: 300_002 });
  });

  it('lists sessions newest first, paged, by user and by time range', async () => {
    const writes: StoreWrite[] = [];
    for (let i = 0; i < 7; i++) writes.push(open(`s${i}`, i % 2 ? 'bo' : 'ana', 1000 + i * 10));
    await store.write(writes);
    const first = await store.listSessions({ limit: 3 });
    expect(first.sessions.map((s) => s.id)).toEqual(['s6', 's5', 's4']);
    const second = await store.listSessions({ limit: 3, cursor: first.nextCursor });
    expect(second.sessions.map((s) => s.id)).toEqual(['s3', 's2', 's1']);
    const third = await store.listSessions({ limit: 3, cursor: second.nextCursor });
    expect(third).toEqual({ sessions: [expect.objectContaining({ id: 's0' })] });
    expect((await store.listSessions({ userId: 'bo' })).sessions.map((s) => s.id)).toEqual([
      's5',
      's3',
      's1',
    ]);
    expect((await store.listSessions({ from: 1020, to: 1050 })).sessions.map((s) => s.id)).toEqual([
      's4',
      's3',
      's2',
    ]);
    await expect(store.listSessions({ cursor: 'garbage!' })).rejects.toMatchObject({
      code: 'store_invalid_cursor',
    });
  });

  it('merges facts per user: no duplicates, newer wins (renewed, replaced), a cap keeps the newest', async () => {
    let r = await store.mergeFacts('ana', { add: ['Likes tea', 'Lives in Porto'], at: 1 }, 3);
    expect(r.added).toBe(2);
    r = await store.mergeFacts('ana', { add: ['likes  TEA', 'Has a dog'], at: 2 }, 3);
    expect(r.added).toBe(1);
    expect(r.facts.map((f) => f.fact)).toEqual(['Lives in Porto', 'likes TEA', 'Has a dog']);
    r = await store.mergeFacts('ana', { add: ['Lives in Lisbon'], remove: ['lives in porto'], at: 3 }, 3);
    expect((await store.loadFacts('ana')).map((f) => f.fact)).toEqual([
      'likes TEA',
      'Has a dog',
      'Lives in Lisbon',
    ]);
    r = await store.mergeFacts('ana', { add: ['Is vegetarian'], at: 4 }, 3);
    expect(r.facts.map((f) => f.fact)).toEqual(['Has a dog', 'Lives in Lisbon', 'Is vegetarian']);
    expect(await store.loadFacts('bo')).toEqual([]);
    expect(await store.deleteFacts('ana', 'HAS A DOG')).toBe(1);
    expect(await store.deleteFacts('ana', 'unknown')).toBe(0);
    expect((await store.loadFacts('ana')).map((f) => f.fact)).toEqual(['Lives in Lisbon', 'Is vegetarian']);
  });

  it("deletes a user's data: sessions with transcripts and tool calls, facts, snapshots; others stay", async () => {
    await store.write([
      open('a1', 'ana', 1),
      open('b1', 'bo', 2),
      {
        type: 'transcript',
        entry: { sessionId: 'a1', role: 'user', text: 'secret', interrupted: false, at: 3 },
      },
      {
        type: 'tool.call',
        call: { sessionId: 'a1', toolCallId: 'c', name: 't', agentName: 'a', args: {}, startedAt: 4 },
      },
    ]);
    await store.mergeFacts('ana', { add: ['Secret fact'], at: 5 }, 10);
    await store.mergeFacts('bo', { add: ['Bo fact'], at: 5 }, 10);
    await store.saveSnapshot({
      sessionId: 'a1',
      userId: 'ana',
      agentName: 'front',
      profile: {},
      history: [],
      handleHash: 'h',
      expiresAt: 10_000,
      updatedAt: 6,
    });
    expect(await store.deleteUser('ana')).toEqual({ sessions: 1, facts: 1 });
    expect(await store.getSession('a1')).toBeUndefined();
    expect(await store.loadFacts('ana')).toEqual([]);
    expect(await store.loadSnapshot('a1')).toBeUndefined();
    expect((await store.getSession('b1'))?.session.userId).toBe('bo');
    expect(await store.loadFacts('bo')).toHaveLength(1);
  });

  it('keeps resume snapshots and lists the unexpired ones', async () => {
    const snap = SNAPSHOT;
    await store.saveSnapshot(snap);
    await store.saveSnapshot({ ...snap, sessionId: 's2', expiresAt: 50 });
    expect(await store.loadSnapshot('s1')).toEqual(snap);
    expect((await store.listSnapshots(100)).map((s) => s.sessionId)).toEqual(['s1']);
    await store.deleteSnapshot('s1');
    expect(await store.loadSnapshot('s1')).toBeUndefined();
  });

  it('keeps how a snapshot is resumed and the work it had under way, as they were', async () => {
    const pending = {
      tools: [{ toolCallId: 'c1', name: 'report', agentName: 'concierge' }],
      subagents: [
        {
          toolCallId: 'c2',
          subagentName: 'planner',
          questions: [{ requestId: 'ui_1', prompt: 'Which day?' }],
        },
      ],
      notifications: ['[Background tool "x" (c0) finished with success: {}]'],
    };
    const snap = { ...SNAPSHOT, carrier: { kind: 'livekit' as const, room: 'colloquy-ab' }, pending };
    await store.saveSnapshot(snap);
    expect(await store.loadSnapshot('s1')).toEqual(snap);
    await store.write([{ type: 'snapshot.save', snapshot: { ...snap, carrier: { kind: 'native' } } }]);
    expect((await store.listSnapshots(0))[0]).toEqual({ ...snap, carrier: { kind: 'native' } });
    // Without them (an RTVI session with nothing under way), none come back.
    await store.saveSnapshot(SNAPSHOT);
    expect(await store.loadSnapshot('s1')).toEqual(SNAPSHOT);
  });

  it('snapshot writes go in batches like the rest: saved (replacing), deleted; before their session opens too', async () => {
    const snap = SNAPSHOT;
    await store.write([
      { type: 'snapshot.save', snapshot: snap },
      { type: 'snapshot.save', snapshot: { ...snap, agentName: 'billing', handleHash: 'def' } },
    ]);
    expect(await store.loadSnapshot('s1')).toEqual({ ...snap, agentName: 'billing', handleHash: 'def' });
    await store.write([{ type: 'snapshot.delete', sessionId: 's1' }]);
    expect(await store.listSnapshots(0)).toEqual([]);
  });

  it('refuses use after close with store_closed', async () => {
    await store.close();
    await expect(store.listSessions({})).rejects.toMatchObject({ code: 'store_closed' });
  });
});
