/**
 * A cluster on loopback for tests: a real `redis-server` and PostgreSQL (test/support/services.ts)
 * and `colloquy start` nodes as child processes (so one can be killed with SIGKILL), each on its own
 * port, sharing Redis and the PostgreSQL store. Models: a local OpenAI-compatible chat server
 * speaking the real wire format (answers `Noted: <last user text>`), espeak, the energy VAD.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Running, startColloquy } from '../cli/run.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from '../e2e/fake-openai-chat.ts';
import { type PostgresService, type RedisService, startPostgres, startRedis } from '../support/services.ts';

export const TOKEN = 'cluster-test-token';
export const auth = { authorization: `Bearer ${TOKEN}` };

export const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

export interface ClusterNodeRun {
  id: string;
  url: string;
  run: Running;
}

export interface TestCluster {
  redis: RedisService;
  postgres: PostgresService;
  llm: FakeOpenAiChat;
  nodes: ClusterNodeRun[];
  startNode(id: string, env?: Record<string, string>): Promise<ClusterNodeRun>;
  stop(): Promise<void>;
}

export async function startTestCluster(options: {
  capacity: number;
  nodes: string[];
  env?: Record<string, string>;
}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'colloquy-cluster-'));
  const [redis, postgres, llm] = await Promise.all([
    startRedis(),
    startPostgres(),
    startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`),
  ]);
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      models: { llm: `openai-compatible:chat-model@${llm.baseURL}`, tts: 'espeak', vad: 'energy' },
      agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
    }),
  );
  const nodes: ClusterNodeRun[] = [];
  const startNode = async (id: string, env: Record<string, string> = {}) => {
    const { run, url } = await startColloquy({
      COLLOQUY_CONFIG: join(dir, 'config.json'),
      COLLOQUY_STORE: postgres.url,
      COLLOQUY_REDIS_URL: redis.url,
      COLLOQUY_NODE_ID: id,
      COLLOQUY_NODE_TTL_MS: '1500',
      COLLOQUY_MAX_SESSIONS: String(options.capacity),
      COLLOQUY_RESUME_WINDOW_MS: '60000',
      COLLOQUY_AUTH_TOKEN: TOKEN,
      // Many sessions from one test process: its address is every client's.
      COLLOQUY_MAX_SESSIONS_PER_CLIENT: String(options.capacity),
      COLLOQUY_CONNECTS_PER_MINUTE: '100000',
      COLLOQUY_CONNECT_BURST: '100000',
      ...options.env,
      ...env,
    });
    const node = { id, url, run };
    nodes.push(node);
    return node;
  };
  try {
    // One after the other: the first migrates the store while the others wait for nothing.
    for (const id of options.nodes) await startNode(id);
  } catch (err) {
    for (const n of nodes) n.run.child.kill('SIGKILL');
    await Promise.allSettled([redis.stop(), postgres.stop(), llm.close()]);
    throw err;
  }
  return {
    redis,
    postgres,
    llm,
    nodes,
    startNode,
    stop: async () => {
      for (const n of nodes) n.run.child.kill('SIGKILL');
      await Promise.allSettled(nodes.map((n) => n.run.exited));
      // To read the nodes' logs after a run: COLLOQUY_TEST_NODE_LOGS=/some/dir.
      const logs = process.env.COLLOQUY_TEST_NODE_LOGS;
      if (logs) {
        for (const n of nodes)
          await writeFile(join(logs, `${n.id}.log`), `${n.run.stdout()}\n${n.run.stderr()}`);
      }
      await Promise.allSettled([redis.stop(), postgres.stop(), llm.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `GET /admin/cluster` of a node. */
export async function clusterView(url: string): Promise<{
  node: { id: string; sessions: number; draining: boolean; online: boolean };
  nodes: Array<{ id: string; url: string; capacity: number; live: number; used: number; draining: boolean }>;
}> {
  const res = await fetch(`${url}/admin/cluster`, { headers: auth });
  if (!res.ok) throw new Error(`/admin/cluster answered ${res.status}`);
  return (await res.json()) as never;
}

/** `POST /connect` on a node: the status and JSON body. */
export async function postConnect(
  url: string,
  requestData: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(requestData),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
