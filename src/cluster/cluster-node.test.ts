/**
 * Placement through a real Redis (started here): nodes register with a heartbeat, reservations never
 * over-commit a node however they race, the least-loaded node is chosen, draining and departed nodes
 * leave the pool, hand-overs are one-time, and a node registers again (with its sessions) when Redis
 * comes back empty.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisService, startRedis } from '../../test/support/services.ts';
import { silentLogger } from '../logger.ts';
import { until } from '../testing/signals.ts';
import { ClusterNode, type Placement } from './cluster-node.ts';
import { parseRedisUrl } from './redis-client.ts';

let redis: RedisService;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const nodes: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

function makeNode(id: string, capacity: number, live: string[] = [], service = redis) {
  const node = new ClusterNode({
    config: { redis: parseRedisUrl(service.url), nodeId: id, nodeTtlMs: 900, drainTimeoutMs: 1000 },
    publicUrl: `http://${id}.test:1`,
    capacity,
    logger: silentLogger,
    liveSessions: () => live,
    handleOf: () => undefined,
  });
  nodes.push(node);
  return node;
}

const placedOn = (p: Placement, self: ClusterNode) =>
  p.kind === 'local' ? self.id : p.kind === 'remote' ? p.nodeId : p.kind;

describe('ClusterNode placement', () => {
  it('a storm of concurrent reservations from every node fills each node exactly to its capacity', async () => {
    const cluster = [makeNode('a', 5), makeNode('b', 5), makeNode('c', 5)];
    await Promise.all(cluster.map((n) => n.start()));
    const placements = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const from = cluster[i % 3]!;
        return from.reserve().then((p) => placedOn(p, from));
      }),
    );
    const count = (id: string) => placements.filter((p) => p === id).length;
    expect([count('a'), count('b'), count('c'), count('full')]).toEqual([5, 5, 5, 45]);
    const full = await cluster[0]!.reserve();
    expect(full).toMatchObject({
      kind: 'full',
      info: expect.stringMatching(/Every node is at capacity \(3 live nodes/),
    });
  });

  it('picks the least-loaded node: slots used for the capacity', async () => {
    const a = makeNode('a', 9, ['s1', 's2', 's3']);
    const b = makeNode('b', 2);
    await Promise.all([a.start(), b.start()]);
    // a 3/9, b 0/2 → b; b 1/2 > a 3/9 → a; a 4/9 < 1/2 → a; a 5/9 > 1/2 → b
    const order = [];
    for (let i = 0; i < 4; i++) order.push(placedOn(await a.reserve(), a));
    expect(order).toEqual(['b', 'a', 'a', 'b']);
  });

  it('a draining node, and a node that left, take nothing; a node that stops heart-beating leaves within its TTL', async () => {
    const a = makeNode('a', 5);
    const b = makeNode('b', 5);
    const c = makeNode('c', 5);
    await Promise.all([a.start(), b.start(), c.start()]);
    await b.drain();
    await c.stop();
    for (let i = 0; i < 5; i++) expect(placedOn(await a.reserve(), a)).toBe('a');
    expect((await a.reserve()).kind).toBe('full');
    // A node that stops beating (its process frozen or killed): gone from the pool after its TTL.
    const d = makeNode('d', 5);
    await d.start();
    (d as unknown as { timer: NodeJS.Timeout }).timer.close();
    expect((await a.nodes()).map((n) => n.id)).toContain('d');
    await until(
      'd expired',
      async () => ((await a.nodes()).some((n) => n.id === 'd') ? undefined : true),
      5000,
    );
    expect((await a.reserve()).kind).toBe('full');
  });

  it('a hand-over is redeemed once, by the node it names only', async () => {
    const a = makeNode('a', 1);
    const b = makeNode('b', 1);
    await Promise.all([a.start(), b.start()]);
    const p = await a.reserve();
    const remote = p.kind === 'remote' ? p : await a.reserve();
    expect(remote.kind).toBe('remote');
    if (remote.kind !== 'remote') return;
    const target = remote.nodeId === 'a' ? a : b;
    const other = target === a ? b : a;
    expect(await other.acceptForward(remote.forwardId)).toBeUndefined();
    // The wrong node's attempt consumed it: a hand-over is one-time whoever tries.
    expect(await target.acceptForward(remote.forwardId)).toBeUndefined();
    const fresh = await a.forwardTo(target.id);
    expect(await target.acceptForward(fresh!)).toEqual({});
    expect(await target.acceptForward(fresh!)).toBeUndefined();
    expect(await target.acceptForward('forged-forged-forged-id')).toBeUndefined();
  });

  it('Redis restarted empty: each node registers again with its live sessions', async () => {
    const own = await startRedis();
    try {
      const a = makeNode('a', 3, ['s1', 's2'], own);
      const b = makeNode('b', 3, [], own);
      await Promise.all([a.start(), b.start()]);
      await own.kill();
      await until('a sees Redis gone', () => (a.online ? undefined : true), 5000);
      expect(await a.reserve()).toEqual({ kind: 'offline' });
      await own.restart();
      await until('both registered again', async () =>
        a.online && (await a.nodes().catch(() => [])).length === 2 ? true : undefined,
      );
      // a still holds its two sessions: one slot left there, three on b.
      const placed = [];
      for (let i = 0; i < 5; i++) placed.push(placedOn(await b.reserve(), b));
      expect(placed.filter((p) => p === 'a')).toHaveLength(1);
      expect(placed.filter((p) => p === 'b')).toHaveLength(3);
      expect(placed.at(-1)).toBe('full');
    } finally {
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
      await own.stop();
    }
  });
});
