import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import { StoreWriter } from '../store/store-writer.ts';
import { SessionSnapshots } from './resume-snapshots.ts';

function snapshotsOf(sessionId: string, notifications: string[] = []) {
  const store = new InMemorySessionStore();
  const writer = new StoreWriter(store);
  const snapshots = new SessionSnapshots({
    bus: new EventBus<EventMap>({ logger: silentLogger }),
    writer,
    sessionId,
    profile: { menu: 'hotel' },
    history: () => [{ role: 'user', content: 'hi' }],
    agentName: () => 'main',
    credential: () => ({ userId: 'ana', handleHash: 'h', expiresAt: Date.now() + 60_000 }),
    notifications: () => notifications,
  });
  const stored = async () => {
    await writer.flush();
    return (await store.listSnapshots(Date.now())).map((s) => s.sessionId);
  };
  const snapshot = async () => {
    await writer.flush();
    return (await store.listSnapshots(Date.now()))[0];
  };
  return { snapshots, stored, snapshot };
}

describe('a live session’s resume snapshot', () => {
  it('drop(): the session ended for good, its snapshot goes', async () => {
    const { snapshots, stored } = snapshotsOf('s1');
    snapshots.save();
    expect(await stored()).toEqual(['s1']);
    snapshots.drop();
    expect(await stored()).toEqual([]);
  });

  it('keep() then drop(): a session suspended by a shutdown keeps its snapshot', async () => {
    const { snapshots, stored } = snapshotsOf('s2');
    snapshots.keep();
    snapshots.drop();
    expect(await stored()).toEqual(['s2']);
  });

  it('drop() then keep() or save(): a session that ended for good is not saved again', async () => {
    const { snapshots, stored } = snapshotsOf('s3');
    snapshots.save();
    snapshots.drop();
    snapshots.keep();
    snapshots.save();
    expect(await stored()).toEqual([]);
  });

  it('the work under way is saved only when there is some: none, no pending key; a result to announce, all of it', async () => {
    const idle = snapshotsOf('s4');
    idle.snapshots.save();
    expect(await idle.snapshot()).not.toHaveProperty('pending');
    const busy = snapshotsOf('s5', ['The report is ready.']);
    busy.snapshots.save();
    expect((await busy.snapshot())?.pending).toEqual({
      tools: [],
      subagents: [],
      notifications: ['The report is ready.'],
    });
  });
});
