/**
 * Edges of a two-node cluster (a real `redis-server`, `colloquy start` nodes as child processes,
 * in-memory stores):
 * - clock skew: one node's clock runs half an hour ahead, the other's half an hour behind; leases and
 *   registrations live on Redis's clock (or are relative), so neither node leaves the pool, and its
 *   sessions' slots are still counted after several heartbeats: no over-commit;
 * - Redis loses its data (FLUSHALL) while every node runs: each registers again with its live
 *   sessions' slots, the session directory and the resume-handle index, within seconds;
 * - a peer that answers without end (or a registry entry forged in Redis): a node reads at most a
 *   capped answer, never sends anything to a URL that is not an http(s) origin, and goes on;
 * - fuzz (fast-check, seeded) of the cluster's routes over real sockets: forged hand-over ids,
 *   resume handles and session ids are refused typed, never a 500.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, colloquy, type Running, startColloquy } from '../cli/run.ts';
import { openRaw, type RawClient, until } from '../e2e/helpers.ts';
import { type RedisService, startRedis } from '../support/services.ts';
import { auth, clusterView, postConnect, TOKEN } from './harness.ts';

const SEED = 20261130;
const CAPACITY = 2;
const TTL_MS = 1500;

/** One Redis command over a raw socket (RESP): its first reply line. */
function redisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      reply += d;
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

describe('cluster edges: clock skew, Redis data loss, peer answers, fuzz', () => {
  let redis: RedisService;
  let dir: string;
  const nodes: Array<{ id: string; url: string; run: Running }> = [];
  const clients: RawClient[] = [];
  const live: Array<{ client: RawClient; node: string; sessionId: string }> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-cluster-edges-'));
    redis = await startRedis();
    // A clock shifted by `offsetMs` in the node's process (Date only: timers are monotonic anyway).
    const skew = async (name: string, offsetMs: number) => {
      const file = join(dir, `${name}.mjs`);
      await writeFile(
        file,
        `const RealDate = Date; const offset = ${offsetMs};
class SkewedDate extends RealDate {
  constructor(...a) { if (a.length === 0) super(RealDate.now() + offset); else super(...a); }
  static now() { return RealDate.now() + offset; }
}
globalThis.Date = SkewedDate;\n`,
      );
      return file;
    };
    const ahead = await skew('ahead', 30 * 60_000);
    const behind = await skew('behind', -30 * 60_000);
    for (const [id, clock] of [
      ['a', ahead],
      ['b', behind],
    ] as const) {
      const { run, url } = await startColloquy({
        NODE_OPTIONS: `--import ${clock}`,
        COLLOQUY_STORE: 'memory',
        COLLOQUY_REDIS_URL: redis.url,
        COLLOQUY_NODE_ID: id,
        COLLOQUY_NODE_TTL_MS: String(TTL_MS),
        COLLOQUY_MAX_SESSIONS: String(CAPACITY),
        COLLOQUY_AUTH_TOKEN: TOKEN,
        COLLOQUY_MAX_SESSIONS_PER_CLIENT: '100',
        COLLOQUY_CONNECTS_PER_MINUTE: '100000',
        COLLOQUY_CONNECT_BURST: '100000',
      });
      nodes.push({ id, url, run });
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const n of nodes) n.run.child.kill('SIGKILL');
    await Promise.allSettled(nodes.map((n) => n.run.exited));
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const nodeOf = (wsUrl: string) => nodes.find((n) => new URL(n.url).port === new URL(wsUrl).port)!.id;
  const used = async () => {
    const v = await clusterView(nodes[0]!.url);
    return Object.fromEntries(v.nodes.map((n) => [n.id, n.used]));
  };

  it('clock skew of an hour between the nodes: both stay in the pool and their slots stay counted', async () => {
    for (let i = 0; i < 2 * CAPACITY; i++) {
      const via = nodes[i % 2]!;
      const { status, body } = await postConnect(via.url, { user_id: `skew-${i}` });
      expect(status, JSON.stringify(body)).toBe(200);
      const client = await openRaw(body.ws_url);
      clients.push(client);
      const ready = await client.ready();
      live.push({
        client,
        node: nodeOf(body.ws_url),
        sessionId: (ready.data.about as { session_id: string }).session_id,
      });
    }
    expect(live.filter((s) => s.node === 'a')).toHaveLength(CAPACITY);
    expect(live.filter((s) => s.node === 'b')).toHaveLength(CAPACITY);
    // The skew is real: each node stamps its sessions with its own clock (an hour apart).
    const startedAt = async (node: string) => {
      const s = live.find((x) => x.node === node)!;
      const url = nodes.find((n) => n.id === node)!.url;
      const detail = (await (await fetch(`${url}/sessions/${s.sessionId}`, { headers: auth })).json()) as {
        session: { startedAt: number };
      };
      return detail.session.startedAt;
    };
    expect(Math.abs((await startedAt('a')) - (await startedAt('b')) - 60 * 60_000)).toBeLessThan(10 * 60_000);
    // Several node TTLs later, both nodes are still registered with every slot held.
    const since = performance.now();
    await until(
      'three node TTLs with both nodes and their slots',
      async () => {
        expect(await used()).toEqual({ a: CAPACITY, b: CAPACITY });
        return performance.now() - since > 3 * TTL_MS ? true : undefined;
      },
      30_000,
    );
    const refused = await postConnect(nodes[1]!.url, { user_id: 'one-too-many' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('cluster_full');
  }, 90_000);

  it('Redis loses its data (FLUSHALL): every node registers again with its slots, directory and handles', async () => {
    expect(await redisCommand(redis.port, ['FLUSHALL'])).toBe('+OK');
    await until(
      'both nodes registered again with their slots',
      async () => {
        const u: Record<string, number> = await used().catch(() => ({}));
        return u.a === CAPACITY && u.b === CAPACITY ? true : undefined;
      },
      20_000,
    );
    // Still full: the live sessions' slots came back, so nothing over-commits.
    const refused = await postConnect(nodes[0]!.url, { user_id: 'after-flush' });
    expect(refused.status).toBe(503);
    // The session directory came back: node b answers for a session of node a (in-memory stores:
    // only a knows it).
    const onA = live.find((s) => s.node === 'a')!;
    const res = await until(
      'the directory answers for a session of a through b',
      async () => {
        const r = await fetch(`${nodes[1]!.url}/sessions/${onA.sessionId}`, { headers: auth });
        return r.status === 200 ? r : undefined;
      },
      10_000,
    );
    expect(((await res.json()) as { session: { id: string } }).session.id).toBe(onA.sessionId);
  }, 60_000);
  it('a peer that answers without end, or a registry entry forged in Redis: answers are capped, only http(s) origins are asked, the node goes on', async () => {
    // A "node" registered straight in Redis (both real nodes are full, so placement picks it) that
    // answers every request with an endless body.
    let written = 0;
    let requests = 0;
    const endless: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((r) => endless.listen(0, '127.0.0.1', () => r()));
    const evilUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
    const register = (url: string) =>
      redisCommand(redis.port, [
        'HSET',
        'colloquy:node:evil',
        'url',
        url,
        'capacity',
        '100',
        'live',
        '0',
        'load',
        '0',
        'draining',
        '0',
      ]).then(() => redisCommand(redis.port, ['SADD', 'colloquy:nodes', 'evil']));
    try {
      await register(evilUrl);
      const handed = await postConnect(nodes[0]!.url, { user_id: 'to-the-endless-node' });
      expect(handed.status).toBe(503);
      expect(handed.body.code).toBe('unreachable');
      expect(requests).toBe(1);
      // The node stopped reading at the cap: far less than the peer had to send.
      expect(written).toBeLessThan(64 * 1024 * 1024);

      // A session the directory places on that node: its answer is capped too; this node answers
      // what it knows itself (an unknown session).
      written = 0;
      await redisCommand(redis.port, ['SET', 'colloquy:session:sess-on-evil', 'evil']);
      const proxied = await fetch(`${nodes[0]!.url}/sessions/sess-on-evil/transcript`, { headers: auth });
      expect(proxied.status).toBe(404);
      await proxied.text();
      expect(requests).toBe(2);
      expect(written).toBeLessThan(64 * 1024 * 1024);

      // Registry entries that are not an http(s) origin are never asked.
      for (const forged of [
        'file:///etc/passwd',
        'http://user:secret@127.0.0.1:1',
        `${evilUrl}/path`,
        'javascript:alert(1)',
      ]) {
        await register(forged);
        const r = await postConnect(nodes[1]!.url, { user_id: 'forged' });
        expect(r.status, forged).toBe(503);
        expect(r.body.code, forged).toBe('unreachable');
        const s = await fetch(`${nodes[1]!.url}/sessions/sess-on-evil`, { headers: auth });
        expect(s.status, forged).toBe(404);
        await s.text();
      }
      expect(requests).toBe(2);
    } finally {
      await redisCommand(redis.port, ['DEL', 'colloquy:node:evil', 'colloquy:session:sess-on-evil']);
      endless.closeAllConnections();
      endless.close();
    }
    // Both nodes went on.
    for (const n of nodes) expect((await fetch(`${n.url}/health`)).status).toBe(200);
  }, 60_000);

  it('fuzz: forged hand-over ids, resume handles and session ids on the cluster routes are refused typed, never a 500', async () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
      fc.constantFrom('', '..', '%00', 'a'.repeat(300), '🙂', 'evil||', 'a|b|c'),
    );
    const request = fc.oneof(
      fc.record({
        kind: fc.constant('connect' as const),
        forward: fc.option(junk),
        handle: fc.option(junk),
        body: fc.option(fc.jsonValue({ maxDepth: 3 })),
      }),
      fc.record({
        kind: fc.constant('session' as const),
        id: junk,
        transcript: fc.boolean(),
        proxied: fc.option(junk),
      }),
    );
    for (const [i, r] of fc.sample(request, { seed: SEED, numRuns: 120 }).entries()) {
      const via = nodes[i % 2]!.url;
      let res: Response;
      if (r.kind === 'connect') {
        const headers: Record<string, string> = { 'content-type': 'application/json', ...auth };
        if (r.forward !== null) headers['x-colloquy-forward'] = encodeURIComponent(r.forward);
        const body = r.handle !== null ? { resume_handle: r.handle } : r.body;
        res = await fetch(`${via}/connect`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
      } else {
        const headers: Record<string, string> = { ...auth };
        if (r.proxied !== null) headers['x-colloquy-proxied'] = encodeURIComponent(r.proxied);
        res = await fetch(`${via}/sessions/${encodeURIComponent(r.id)}${r.transcript ? '/transcript' : ''}`, {
          headers,
        });
      }
      const text = await res.text();
      const what = `${JSON.stringify(r).slice(0, 300)} → ${res.status} ${text.slice(0, 200)}`;
      expect(res.status === 503 || res.status < 500, what).toBe(true);
      if (res.status >= 400 && res.status !== 404)
        expect(JSON.parse(text), what).toMatchObject({ info: expect.any(String) });
    }
    // The cluster is as it was: both nodes full with their sessions, nothing over-committed.
    expect(await used()).toEqual({ a: CAPACITY, b: CAPACITY });
  }, 90_000);
});

describe('one process per node', () => {
  it('--workers above 1 with COLLOQUY_REDIS_URL is refused with one line', async () => {
    const r = await colloquy(['start', '--workers', '2', '--port', '0', '--host', '127.0.0.1'], {
      env: cleanEnv({ COLLOQUY_REDIS_URL: 'redis://127.0.0.1:1', COLLOQUY_STORE: 'memory' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  ✗ '))).toEqual([
      '  ✗ --workers above 1 with COLLOQUY_REDIS_URL: run one process per node (each its own COLLOQUY_PUBLIC_URL)',
    ]);
    expect(r.stdout).not.toMatch(/listening/i);
  }, 30_000);
});
