/**
 * Three `colloquy start` nodes on loopback ports sharing a real Redis and PostgreSQL (started by the
 * test): 300 sessions connected through any node's `/connect` spread over the three within their
 * capacity, each answered with the URL of the node that runs it; then a connect storm through every
 * node at once cannot over-commit any node, and the connects beyond the cluster's capacity get a
 * `503` saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRaw, type RawClient, until } from '../e2e/helpers.ts';
import { auth, clusterView, postConnect, startTestCluster, type TestCluster } from './harness.ts';

const CAPACITY = 110;
const SESSIONS = 300;

describe('three nodes: placement over Redis', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster({ capacity: CAPACITY, nodes: ['n1', 'n2', 'n3'] });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const nodeOf = (wsUrl: string) => {
    const port = new URL(wsUrl).port;
    const node = cluster.nodes.find((n) => new URL(n.url).port === port);
    if (!node) throw new Error(`${wsUrl} is no node's`);
    return node.id;
  };

  it('300 sessions connected through any node spread over the three, within capacity', async () => {
    const clients: RawClient[] = [];
    const placed: string[] = [];
    try {
      // 20 connects at a time, each through the next node in turn.
      for (let i = 0; i < SESSIONS; i += 20) {
        await Promise.all(
          Array.from({ length: Math.min(20, SESSIONS - i) }, async (_, j) => {
            const via = cluster.nodes[(i + j) % 3]!;
            const { status, body } = await postConnect(via.url, { user_id: `user-${i + j}` });
            expect(status, JSON.stringify(body)).toBe(200);
            placed.push(nodeOf(body.ws_url));
            const client = await openRaw(body.ws_url);
            clients.push(client);
            await client.ready();
          }),
        );
      }
      const per = ['n1', 'n2', 'n3'].map((id) => placed.filter((p) => p === id).length);
      // Least-loaded placement: nobody over capacity, nobody left out.
      for (const n of per) {
        expect(n).toBeLessThanOrEqual(CAPACITY);
        expect(n).toBeGreaterThanOrEqual(SESSIONS / 3 - 15);
      }
      // The registry agrees: each node's live sessions are its slots.
      const view = await until('heartbeats report every session', async () => {
        const v = await clusterView(cluster.nodes[0]!.url);
        return v.nodes.reduce((sum, n) => sum + n.live, 0) === SESSIONS ? v : undefined;
      });
      expect(view.nodes.map((n) => [n.id, n.live, n.used])).toEqual(
        ['n1', 'n2', 'n3'].map((id, k) => [id, per[k], per[k]]),
      );
    } finally {
      // Ended by the client (a dropped one would wait for it to resume).
      for (const c of clients) c.send({ label: 'rtvi-ai', type: 'disconnect-bot', id: 'bye' });
    }
    // Sessions that end give their slots back.
    await until('slots given back', async () => {
      const v = await clusterView(cluster.nodes[1]!.url);
      return v.nodes.every((n) => n.used === 0) ? true : undefined;
    });
  }, 240_000);

  it('forged hand-overs are refused; refused connects (bad bodies, unknown configurations) hold no slot', async () => {
    const url = cluster.nodes[0]!.url;
    for (const forged of ['x'.repeat(24), '../../etc/passwd', '', 'a'.repeat(500)]) {
      const res = await fetch(`${url}/connect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-colloquy-forward': forged, ...auth },
        body: '{}',
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'connect_refused' });
    }
    const bad = [
      '{"config": 5',
      '[1,2]',
      JSON.stringify({ config: 'no-such-configuration' }),
      '{"user_id": "../x"}',
    ];
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${cluster.nodes[i % 3]!.url}/connect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: bad[i % bad.length],
      });
      expect(res.status).toBe(400);
    }
    // Without the server token nothing is reserved either.
    expect((await fetch(`${url}/connect`, { method: 'POST', body: '{}' })).status).toBe(401);
    const view = await clusterView(url);
    expect(view.nodes.map((n) => n.used)).toEqual([0, 0, 0]);
  }, 60_000);

  it('a connect storm through every node at once cannot over-commit: exactly the capacity is placed, the rest get 503', async () => {
    const attempts = 3 * CAPACITY + 60;
    const results = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        postConnect(cluster.nodes[i % 3]!.url, { user_id: `storm-${i}` }),
      ),
    );
    const placed = results.filter((r) => r.status === 200).map((r) => nodeOf(r.body.ws_url));
    const refused = results.filter((r) => r.status !== 200);
    expect(['n1', 'n2', 'n3'].map((id) => placed.filter((p) => p === id).length)).toEqual([
      CAPACITY,
      CAPACITY,
      CAPACITY,
    ]);
    expect(refused).toHaveLength(60);
    for (const r of refused) {
      expect(r).toEqual({
        status: 503,
        body: {
          info: expect.stringMatching(/^Every node is at capacity \(3 live nodes, all full\)/),
          code: 'cluster_full',
        },
      });
    }
    const view = await clusterView(cluster.nodes[2]!.url);
    expect(view.nodes.map((n) => n.used)).toEqual([CAPACITY, CAPACITY, CAPACITY]);
  }, 120_000);
});
