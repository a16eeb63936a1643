/**
 * Faults of a three-node cluster (real Redis and PostgreSQL, `colloquy start` nodes as child
 * processes): a node killed with SIGKILL mid-conversation leaves the pool within seconds and its
 * client resumes on another node with its history (from the shared store); a drained node takes no
 * new session, and the sessions it still has at the deadline end with `conversation-end` and a handle
 * that resumes them elsewhere; Redis restarted mid-run: live sessions go on, connects are served
 * locally meanwhile, and every node registers again. Redis unreachable at start stops a node with one
 * clear line.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, colloquy } from '../cli/run.ts';
import { openRaw, type RawClient, serverMessages, until } from '../e2e/helpers.ts';
import { auth, clusterView, postConnect, startTestCluster, type TestCluster, userTexts } from './harness.ts';

describe('cluster faults', () => {
  let cluster: TestCluster;
  const clients: RawClient[] = [];
  let drainedId: string | undefined;
  beforeAll(async () => {
    cluster = await startTestCluster({
      capacity: 5,
      nodes: ['n1', 'n2', 'n3'],
      env: { COLLOQUY_DRAIN_TIMEOUT_MS: '1500' },
    });
  }, 180_000);
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await cluster?.stop();
  });

  const nodeOf = (wsUrl: string) => {
    const port = new URL(wsUrl).port;
    return cluster.nodes.find((n) => new URL(n.url).port === port)!;
  };
  const open = async (via: string, requestData: Record<string, unknown>) => {
    const { status, body } = await postConnect(via, requestData);
    expect(status, JSON.stringify(body)).toBe(200);
    const client = await openRaw(body.ws_url);
    clients.push(client);
    return { client, node: nodeOf(body.ws_url) };
  };
  const spoken = (c: RawClient) => c.messages.filter((m) => m.type === 'bot-stopped-speaking').length;
  /** A turn, waited for until its answer was spoken whole; the LLM request it made. */
  const say = async (c: RawClient, text: string) => {
    const before = spoken(c);
    const n = cluster.llm.requests.length;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await until('answer spoken', () => (spoken(c) > before ? true : undefined), 30_000);
    return cluster.llm.requests.slice(n).find((r) => userTexts(r).at(-1) === text)!;
  };
  const stored = async (url: string, id: string) => {
    const res = await fetch(`${url}/sessions/${id}`, { headers: auth });
    return res.ok ? ((await res.json()) as { transcript: Array<{ role: string; text: string }> }) : undefined;
  };

  it('kill -9 a node mid-conversation: it leaves the pool within seconds; the client resumes on another node with its history', async () => {
    const { client, node: victim } = await open(cluster.nodes[0]!.url, { user_id: 'ana' });
    const ready = await client.ready();
    const { session_id: id, resume_handle: handle } = ready.data.about as Record<string, string>;
    await say(client, 'My room is 214');
    // Any node answers for the session (asked of the node that runs it).
    const other = cluster.nodes.find((n) => n !== victim)!;
    await until('turn stored', async () =>
      (await stored(other.url, id!))?.transcript.length === 2 ? true : undefined,
    );

    victim.run.child.kill('SIGKILL');
    expect((await victim.run.exited).signal).toBe('SIGKILL');
    await client.closed;
    const killedAt = performance.now();
    await until(
      'the dead node left the pool',
      async () => ((await clusterView(other.url)).nodes.some((n) => n.id === victim.id) ? undefined : true),
      10_000,
    );
    expect(performance.now() - killedAt).toBeLessThan(5000);

    const again = await open(other.url, { user_id: 'ana', resume_handle: handle });
    expect(again.node.id).not.toBe(victim.id);
    expect((await again.client.ready()).data.about.session_id).toBe(id);
    const prompt = await say(again.client, 'Which room did I say?');
    expect(userTexts(prompt)).toEqual(['My room is 214', 'Which room did I say?']);
    // The same handle does not work twice.
    expect((await postConnect(other.url, { user_id: 'ana', resume_handle: handle })).status).toBe(409);
    // Back to three nodes for the next tests.
    cluster.nodes.splice(cluster.nodes.indexOf(victim), 1);
    await cluster.startNode('n4');
  }, 180_000);

  it('drain: out of the pool at once; sessions still live at the deadline end with conversation-end and a handle that resumes elsewhere', async () => {
    const { client, node: drained } = await open(cluster.nodes[0]!.url, { user_id: 'bo' });
    const id = (await client.ready()).data.about.session_id as string;
    await say(client, 'I am in room 9');

    drainedId = drained.id;
    const res = await fetch(`${drained.url}/admin/drain`, { method: 'POST', headers: auth });
    expect(res.status).toBe(202);
    expect((await fetch(`${drained.url}/health`)).status).toBe(503);
    // No new session goes to the draining node, whichever node is asked.
    for (const via of cluster.nodes) {
      const { status, body } = await postConnect(via.url, { user_id: 'carl' });
      expect(status).toBe(200);
      expect(nodeOf(body.ws_url).id).not.toBe(drained.id);
    }
    const end = await client.waitFor(
      'conversation-end',
      (m) => m.type === 'server-message' && m.data?.type === 'conversation-end',
      10_000,
    );
    expect(end.data.data).toMatchObject({ reason: 'server_drain', session_id: id, reconnect: true });
    await client.closed;

    const via = cluster.nodes.find((n) => n !== drained)!;
    const again = await open(via.url, { user_id: 'bo', resume_handle: end.data.data.resume_handle });
    expect(again.node.id).not.toBe(drained.id);
    expect((await again.client.ready()).data.about.session_id).toBe(id);
    const prompt = await say(again.client, 'Which room?');
    expect(userTexts(prompt)).toEqual(['I am in room 9', 'Which room?']);
    expect(serverMessages(client).map((m) => m.type)).toContain('conversation-end');
  }, 120_000);

  it('Redis restarted mid-run: live sessions go on, connects are served where asked meanwhile, every node registers again', async () => {
    const live = cluster.nodes.filter((n) => !n.run.child.killed);
    const asked = live.find((n) => n.id !== drainedId)!;
    const { client, node } = await open(asked.url, { user_id: 'dee' });
    await client.ready();
    await cluster.redis.kill();
    // The node keeps its session: a turn still works.
    await say(client, 'Still there?');
    // Connects are served by the node asked (no remote dispatch while Redis is away).
    const { status, body } = await postConnect(asked.url, { user_id: 'eve' });
    expect(status).toBe(200);
    expect(nodeOf(body.ws_url).id).toBe(asked.id);
    await cluster.redis.restart();
    const view = await until(
      'every node registered again, with its live sessions',
      async () => {
        const v = await clusterView(asked.url).catch(() => undefined);
        const me = v?.nodes.find((n) => n.id === node.id);
        return v && v.nodes.length === live.length && me && me.used >= 1 ? v : undefined;
      },
      15_000,
    );
    expect(view.node.online).toBe(true);
    await say(client, 'And now?');
  }, 120_000);

  it('Redis unreachable at start: the node does not start, one line names it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    blocker.close();
    const r = await colloquy(['start', '--port', '0', '--host', '127.0.0.1'], {
      env: cleanEnv({ COLLOQUY_REDIS_URL: `redis://127.0.0.1:${port}`, COLLOQUY_STORE: 'memory' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`✗ Cannot reach Redis at 127.0.0.1:${port} (COLLOQUY_REDIS_URL)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
