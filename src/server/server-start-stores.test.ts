/**
 * `startServer` with a store that outlives the process (a stand-in: the in-memory store under
 * another kind) and with a cluster node (its Redis-facing methods spied, no Redis): which stored
 * sessions are picked up at start (at most `maxSessions`, those `pickUp` accepts; none when the store
 * cannot be read, logged; none on a cluster node, which adopts them one by one), a picked-up session
 * rebuilt with its id, user and history when its client comes back, and the cluster node's start,
 * drain bound, stop, and a failed start that closes what was opened.
 */
import { Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectRaw, type RawClient } from '../../test/e2e/helpers.ts';
import { recordingLogger } from '../../test/support/recording-logger.ts';
import { ClusterNode } from '../cluster/cluster-node.ts';
import { hashHandle } from '../session/resume-handles.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import type { ResumeSnapshot, SessionStore } from '../store/types.ts';
import { loadServerConfig, resolveProfile, type ServerConfig } from './config.ts';
import { type RunningServer, type StartServerOptions, startServer } from './server.ts';

/** The in-memory store, passed off as one that outlives the process. */
function durableStore(): InMemorySessionStore {
  const store = new InMemorySessionStore();
  Object.defineProperty(store, 'kind', { value: 'durable-test' });
  return store;
}

const servers: RunningServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  vi.restoreAllMocks();
});

const baseConfig = (env: Record<string, string> = {}) =>
  loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    COLLOQUY_STORE: 'memory',
    COLLOQUY_RESUME_WINDOW_MS: '60000',
    COLLOQUY_VAD: 'energy',
    ...env,
  });

async function start(options: Partial<StartServerOptions> & { config?: ServerConfig } = {}) {
  const { logger, lines } = recordingLogger();
  const server = await startServer({ config: baseConfig(), logger, ...options });
  servers.push(server);
  return { server, lines };
}

const snapshotOf = (config: ServerConfig, n: number, now = Date.now()): ResumeSnapshot => ({
  sessionId: `s${n}`,
  userId: `user-${n}`,
  agentName: resolveProfile(config, {}).agents[0]!.name,
  profile: resolveProfile(config, {}),
  history: [
    { role: 'user', content: `my number is ${n}` },
    { role: 'assistant', content: `noted: ${n}` },
  ],
  handleHash: hashHandle(`resume-handle-of-${n}`),
  expiresAt: now + 60_000,
  updatedAt: now - 1000 + n,
});

describe('stored sessions picked up at start', () => {
  it('a store that outlives the process: resume is durable; the newest maxSessions accepted by pickUp wait', async () => {
    const config = baseConfig();
    const store = durableStore();
    for (const n of [1, 2, 3, 4]) await store.saveSnapshot(snapshotOf(config, n));
    const asked: string[] = [];
    const { server } = await start({
      config,
      store,
      limits: { maxSessions: 2 },
      pickUp: (id) => {
        asked.push(id);
        return id !== 's4';
      },
    });
    expect(server.context.resume?.settings.durable).toBe(true);
    expect(server.context.resume?.pickedUp).toBe(2);
    expect(asked.sort()).toEqual(['s1', 's2', 's3', 's4']);
    // s3 and s2 are the newest accepted.
    expect(server.context.resume?.redeem('resume-handle-of-3')).toBe('s3');
    expect(server.context.resume?.redeem('resume-handle-of-2')).toBe('s2');
  });

  it('close(): the picked-up sessions stop waiting here', async () => {
    const config = baseConfig();
    const store = durableStore();
    await store.saveSnapshot(snapshotOf(config, 1));
    const { server } = await start({ config, store });
    expect(server.context.resume?.pickedUp).toBe(1);
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    expect(server.context.resume?.pickedUp).toBe(0);
  });

  it('an expired stored session is not picked up (read at the start’s clock)', async () => {
    const config = baseConfig();
    const store = durableStore();
    await store.saveSnapshot({ ...snapshotOf(config, 1), expiresAt: Date.now() - 1 });
    await store.saveSnapshot(snapshotOf(config, 2));
    const { server } = await start({ config, store });
    expect(server.context.resume?.pickedUp).toBe(1);
  });

  it('the in-memory store: nothing to pick up, resume not durable', async () => {
    const store = new InMemorySessionStore();
    const list = vi.spyOn(store, 'listSnapshots');
    const { server } = await start({ store });
    expect(server.context.resume?.settings.durable).toBe(false);
    expect(list).not.toHaveBeenCalled();
  });

  it('a store that cannot be read: the server starts with none picked up, and says why', async () => {
    const store = durableStore();
    const failure = new Error('table missing');
    vi.spyOn(store, 'listSnapshots').mockRejectedValue(failure);
    const { server, lines } = await start({ store });
    expect(server.context.resume?.pickedUp).toBe(0);
    expect(lines.filter((l) => l[0] === 'error')).toEqual([
      ['error', 'resume: cannot read the stored sessions; none is picked up', failure],
    ]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('its client comes back: the session is rebuilt with its id, user and history', async () => {
    const config = baseConfig();
    const store = durableStore();
    await store.saveSnapshot(snapshotOf(config, 7));
    const { server } = await start({ config, store });
    const c = await connectRaw(server.url, { resume_handle: 'resume-handle-of-7' });
    clients.push(c);
    const ready = await c.ready();
    expect(ready.data.about.session_id).toBe('s7');
    expect(server.context.registry.liveOf('user-7').map((s) => s.id)).toEqual(['s7']);
    expect(server.context.registry.get('s7')?.transcript).toEqual(snapshotOf(config, 7).history);
    expect(server.context.resume?.pickedUp).toBe(0);
  });
});

describe('a cluster node (ClusterNode spied, no Redis)', () => {
  const clusterConfig = (drainTimeoutMs = 1234) => ({
    ...baseConfig(),
    cluster: {
      redis: { host: '127.0.0.1', port: 1 } as never,
      nodeId: 'node-t',
      nodeTtlMs: 900,
      drainTimeoutMs,
    },
  });

  const spyNode = () => ({
    start: vi.spyOn(ClusterNode.prototype, 'start').mockResolvedValue(undefined),
    stop: vi.spyOn(ClusterNode.prototype, 'stop').mockResolvedValue(undefined),
    drain: vi.spyOn(ClusterNode.prototype, 'drain').mockResolvedValue(undefined),
    started: vi.spyOn(ClusterNode.prototype, 'sessionStarted').mockReturnValue(undefined),
    ended: vi.spyOn(ClusterNode.prototype, 'sessionEnded').mockReturnValue(undefined),
    issued: vi.spyOn(ClusterNode.prototype, 'handleIssued').mockReturnValue(undefined),
  });

  it('registers once listening, at its address; drains out of the pool within its drain bound; stops on close', async () => {
    const spies = spyNode();
    const { server, lines } = await start({ config: clusterConfig() });
    expect(spies.start).toHaveBeenCalledTimes(1);
    expect(server.context.cluster?.node.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.context.cluster?.capacity).toBe(100);
    expect(server.context.cluster?.isDraining()).toBe(false);
    await server.drain();
    expect(spies.drain).toHaveBeenCalledTimes(1);
    expect(server.context.cluster?.isDraining()).toBe(true);
    expect(lines.filter((l) => String(l[1]).startsWith('drain:'))).toEqual([
      ['info', 'drain: 0 session(s) may finish within 1234 ms'],
    ]);
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    expect(spies.stop).toHaveBeenCalledTimes(1);
  });

  it('a node drain that fails: the drain goes on', async () => {
    const spies = spyNode();
    spies.drain.mockRejectedValue(new Error('redis gone'));
    const { server, lines } = await start({ config: clusterConfig(50) });
    await server.drain();
    expect(lines.filter((l) => String(l[1]).startsWith('drain:'))).toEqual([
      ['info', 'drain: 0 session(s) may finish within 50 ms'],
    ]);
  });

  it('stored sessions are not picked up at start on a cluster node (adopted one by one instead)', async () => {
    spyNode();
    const config = clusterConfig();
    const store = durableStore();
    await store.saveSnapshot(snapshotOf(config, 1));
    const list = vi.spyOn(store, 'listSnapshots');
    const { server } = await start({ config, store });
    expect(list).not.toHaveBeenCalled();
    expect(server.context.resume?.pickedUp).toBe(0);
    expect(await server.context.cluster?.adopt('s1', hashHandle('resume-handle-of-1'))).toBeUndefined();
    const c = await connectRaw(server.url, { resume_handle: 'resume-handle-of-1' });
    clients.push(c);
    expect((await c.ready()).data.about.session_id).toBe('s1');
  });

  it('a node that cannot register: startServer throws its error, after closing the store and the port', async () => {
    const spies = spyNode();
    const failure = new Error('redis unreachable');
    spies.start.mockRejectedValue(failure);
    const store = new InMemorySessionStore();
    const closed = vi.spyOn(store, 'close');
    const { logger } = recordingLogger();
    const config = clusterConfig();
    const listening = vi.spyOn(Server.prototype, 'close');
    await expect(startServer({ config, logger, store })).rejects.toBe(failure);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(listening).toHaveBeenCalled();
  });
});

describe('the store of a server', () => {
  it('closed with the server (the writer flushed first)', async () => {
    const store: SessionStore = new InMemorySessionStore();
    const closed = vi.spyOn(store, 'close');
    const { server } = await start({ store });
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    expect(closed).toHaveBeenCalledTimes(1);
  });
});
