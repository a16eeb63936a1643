/**
 * `serverCluster` without Redis: the `ClusterNode`'s Redis-facing methods are replaced by spies, so
 * what is stated is the server's side of the wiring. The node registers under its public URL
 * (configured, or the listening address), with the server's capacity, live sessions and current
 * handles; the registry's starts and ends and every issued handle are told to it until `stop()`; the
 * routes' host answers from the registry, the gate and the flags given. `host.adopt` against the
 * in-memory store: its refusals (resume off, store unreadable, nothing stored, expired, a LiveKit
 * room) and its bounded wait for the snapshot of the handle (fake timers).
 */
import type { Context } from 'hono';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../../test/support/recording-logger.ts';
import type { ClusterConfig } from '../cluster/cluster-config.ts';
import { ClusterNode } from '../cluster/cluster-node.ts';
import { clientAddress } from '../net/client-address.ts';
import { hashHandle } from '../session/resume-handles.ts';
import { InMemorySessionStore } from '../store/memory-store.ts';
import type { ResumeSnapshot, SessionStore } from '../store/types.ts';
import { markAdmitted } from './http-guards.ts';
import { type ServerClusterOptions, serverCluster } from './server-cluster.ts';
import { type RegisteredSession, SessionRegistry } from './session-registry.ts';
import { ServerResume } from './session-resume.ts';

const CONFIG: ClusterConfig = {
  redis: { host: '127.0.0.1', port: 1 } as ClusterConfig['redis'],
  nodeId: 'node-a',
  nodeTtlMs: 900,
  drainTimeoutMs: 1000,
};

const liveSession = (id: string): RegisteredSession => ({
  id,
  transport: 'websocket',
  mode: 'agent',
  startedAt: 0,
  transcript: () => [],
  close: async () => {},
});

let spies: {
  start: ReturnType<typeof vi.spyOn>;
  stop: ReturnType<typeof vi.spyOn>;
  started: ReturnType<typeof vi.spyOn>;
  ended: ReturnType<typeof vi.spyOn>;
  issued: ReturnType<typeof vi.spyOn>;
};
beforeEach(() => {
  spies = {
    start: vi.spyOn(ClusterNode.prototype, 'start').mockResolvedValue(undefined),
    stop: vi.spyOn(ClusterNode.prototype, 'stop').mockResolvedValue(undefined),
    started: vi.spyOn(ClusterNode.prototype, 'sessionStarted').mockReturnValue(undefined),
    ended: vi.spyOn(ClusterNode.prototype, 'sessionEnded').mockReturnValue(undefined),
    issued: vi.spyOn(ClusterNode.prototype, 'handleIssued').mockReturnValue(undefined),
  };
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function build(over: Partial<ServerClusterOptions> = {}) {
  const registry = new SessionRegistry();
  const resume = new ServerResume({ windowMs: 60_000, handleTtlMs: 60_000 });
  const { logger, lines } = recordingLogger();
  const gate = { request: vi.fn() };
  const auth = vi.fn();
  const isDraining = vi.fn(() => false);
  const options: ServerClusterOptions = {
    cluster: CONFIG,
    host: '127.0.0.1',
    capacity: 7,
    logger,
    registry,
    data: { store: new InMemorySessionStore() } as never,
    resume,
    auth: auth as never,
    gate: gate as never,
    trustProxy: false,
    maxBodyBytes: 2048,
    isDraining,
    ...over,
  };
  const cluster = serverCluster(options);
  return { cluster, registry, resume, lines, gate, auth, isDraining, options };
}

/** What the node was built with (its options are private). */
const optionsOf = (node: ClusterNode) =>
  (node as unknown as { o: { capacity: number; liveSessions(): string[]; handleOf(id: string): unknown } }).o;

describe('serverCluster: the node', () => {
  it('no node before start: reading it throws', () => {
    const { cluster } = build();
    expect(() => cluster.host.node).toThrowError('the cluster node has not started');
  });

  it.each([
    ['derived from the listening address', {}, '127.0.0.1', 'http://127.0.0.1:4321'],
    ['an IPv6 listening address, bracketed', {}, '::1', 'http://[::1]:4321'],
    ['configured', { publicUrl: 'https://node-a.example.com' }, '0.0.0.0', 'https://node-a.example.com'],
  ])('registers under its public URL (%s)', async (_, extra, host, url) => {
    const { cluster } = build({ cluster: { ...CONFIG, ...extra }, host });
    await cluster.start(4321);
    expect(spies.start).toHaveBeenCalledTimes(1);
    expect(cluster.host.node).toBeInstanceOf(ClusterNode);
    expect(cluster.host.node.url).toBe(url);
    expect(cluster.host.node.id).toBe('node-a');
    await cluster.stop();
  });

  it('with the server’s capacity, its live sessions and their current handles', async () => {
    const { cluster, registry, resume } = build();
    await cluster.start(1);
    const o = optionsOf(cluster.host.node);
    expect(o.capacity).toBe(7);
    registry.add(liveSession('s1'));
    registry.add(liveSession('s2'));
    expect(o.liveSessions()).toEqual(['s1', 's2']);
    const { handle, expiresAt } = resume.handles.issue('s1', 'ana', 60_000);
    expect(o.handleOf('s1')).toEqual({ handleHash: hashHandle(handle), userId: 'ana', expiresAt });
    expect(o.handleOf('s2')).toBeUndefined();
    await cluster.stop();
  });

  it('without resume: no handles to tell', async () => {
    const { cluster } = build({ resume: undefined });
    await cluster.start(1);
    expect(optionsOf(cluster.host.node).handleOf('s1')).toBeUndefined();
    await cluster.stop();
  });

  it('sessions starting and ending, and every handle issued, are told to the node until stop()', async () => {
    const { cluster, registry, resume } = build();
    await cluster.start(1);
    registry.add(liveSession('s1'));
    registry.markClosed('s1', 'done');
    const { handle, expiresAt } = resume.handles.issue('s2', 'ana', 60_000);
    expect(spies.started.mock.calls).toEqual([['s1']]);
    expect(spies.ended.mock.calls).toEqual([['s1']]);
    expect(spies.issued.mock.calls).toEqual([['s2', hashHandle(handle), expiresAt]]);
    await cluster.stop();
    expect(spies.stop).toHaveBeenCalledTimes(1);
    registry.add(liveSession('s3'));
    registry.markClosed('s3', 'done');
    expect(spies.started).toHaveBeenCalledTimes(1);
    expect(spies.ended).toHaveBeenCalledTimes(1);
  });

  it('a node that cannot start: the error is thrown, no node is set, nothing is told to it', async () => {
    spies.start.mockRejectedValue(new Error('redis down'));
    const { cluster, registry, resume } = build();
    await expect(cluster.start(1)).rejects.toThrow('redis down');
    expect(() => cluster.host.node).toThrowError('the cluster node has not started');
    registry.add(liveSession('s1'));
    resume.handles.issue('s1', 'ana', 60_000);
    expect(spies.started).not.toHaveBeenCalled();
    expect(spies.issued).not.toHaveBeenCalled();
    expect(resume.handles.onIssue).toBeUndefined();
    // stop() before any node: nothing to stop, no throw.
    await cluster.stop();
    expect(spies.stop).not.toHaveBeenCalled();
  });
});

describe('serverCluster: what the routes’ host answers', () => {
  it('the logger, body bound, auth, capacity and draining flag it was given; live counts from the registry', () => {
    const { cluster, registry, auth, isDraining, options } = build();
    const { host } = cluster;
    expect(host.logger).toBe(options.logger);
    expect(host.maxBodyBytes).toBe(2048);
    expect(host.auth).toBe(auth);
    expect(host.capacity).toBe(7);
    expect(host.markAdmitted).toBe(markAdmitted);
    expect(host.liveCount()).toBe(0);
    registry.add(liveSession('s1'));
    expect(host.liveCount()).toBe(1);
    expect(host.isLive('s1')).toBe(true);
    expect(host.isLive('s2')).toBe(false);
    expect(host.isDraining()).toBe(false);
    isDraining.mockReturnValue(true);
    expect(host.isDraining()).toBe(true);
  });

  it.each([
    [false, clientAddress('10.0.0.1', '203.0.113.9', false)],
    [true, clientAddress('10.0.0.1', '203.0.113.9', true)],
  ])('admit counts the request against its client (trustProxy %s)', (trustProxy, client) => {
    const { cluster, gate } = build({ trustProxy });
    const c = {
      req: {
        raw: new Request('http://node/connect'),
        header: (n: string) => (n === 'x-forwarded-for' ? '203.0.113.9' : undefined),
      },
      env: { incoming: { socket: { remoteAddress: '10.0.0.1' } } },
    } as unknown as Context;
    expect(cluster.host.admit(c)).toBeUndefined();
    expect(gate.request.mock.calls).toEqual([[client]]);
    // Counted once per request.
    expect(cluster.host.admit(c)).toBeUndefined();
    expect(gate.request).toHaveBeenCalledTimes(1);
  });
});

const stored = (handle: string, extra: Partial<ResumeSnapshot> = {}): ResumeSnapshot => ({
  sessionId: 's1',
  userId: 'bo',
  agentName: 'main',
  profile: {},
  history: [{ role: 'user', content: 'I am in room 9' }],
  handleHash: hashHandle(handle),
  expiresAt: Date.now() + 60_000,
  updatedAt: Date.now(),
  ...extra,
});

describe('serverCluster: adopting a stored session', () => {
  it('resume off on this server: 400 resume_unsupported, the store not read', async () => {
    const store = new InMemorySessionStore();
    const load = vi.spyOn(store, 'loadSnapshot');
    const { cluster } = build({ resume: undefined, data: { store } as never });
    expect(await cluster.host.adopt('s1', undefined)).toEqual({
      status: 400,
      info: 'Resume is off on this server',
      code: 'resume_unsupported',
    });
    expect(load).not.toHaveBeenCalled();
  });

  it('a store that cannot be read: 503 store_read_failed, the error logged with the session', async () => {
    const failure = new Error('disk gone');
    const store = { loadSnapshot: async () => Promise.reject(failure) } as unknown as SessionStore;
    const { cluster, lines, resume } = build({ data: { store } as never });
    expect(await cluster.host.adopt('s1', hashHandle('h'))).toEqual({
      status: 503,
      info: 'The session store cannot be read; try again',
      code: 'store_read_failed',
    });
    expect(lines).toEqual([['error', 'cluster: cannot read the stored session s1', failure]]);
    expect(resume.pickedUp).toBe(0);
  });

  it('adopted: it waits for its client here, its handle honoured, and the adoption logged', async () => {
    const store = new InMemorySessionStore();
    await store.saveSnapshot(stored('h-1'));
    const { cluster, lines, resume } = build({ data: { store } as never });
    expect(await cluster.host.adopt('s1', hashHandle('h-1'))).toBeUndefined();
    expect(resume.pickedUp).toBe(1);
    expect(resume.redeem('h-1', 'bo')).toBe('s1');
    expect(lines).toEqual([['info', 'cluster: session s1 (its node is gone) adopted from the store']]);
    resume.dispose();
  });

  it.each([
    [
      'a LiveKit room’s session (it rejoins its room instead)',
      { carrier: { kind: 'livekit' as const, room: 'r' } },
    ],
    ['a native socket’s session', { carrier: { kind: 'native' as const } }],
    ['a snapshot expiring now', { expiresAt: 1_000_000 }],
    ['an expired snapshot', { expiresAt: 999_999 }],
  ])('%s: 410 resume_gone, nothing adopted', async (_, extra) => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const store = new InMemorySessionStore();
    await store.saveSnapshot(stored('h-1', extra));
    const { cluster, resume, lines } = build({ data: { store } as never });
    expect(await cluster.host.adopt('s1', undefined)).toEqual({
      status: 410,
      info: 'The session has ended',
      code: 'resume_gone',
    });
    expect(resume.pickedUp).toBe(0);
    expect(lines).toEqual([]);
  });

  it('an explicit RTVI carrier, unexpired: adopted', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const store = new InMemorySessionStore();
    await store.saveSnapshot(stored('h-1', { carrier: { kind: 'rtvi' }, expiresAt: 1_000_001 }));
    const { cluster, resume } = build({ data: { store } as never });
    expect(await cluster.host.adopt('s1', undefined)).toBeUndefined();
    expect(resume.pickedUp).toBe(1);
    resume.dispose();
  });

  it('the snapshot of another handle: read again every 100 ms, 31 reads in all, then the stored one is adopted', async () => {
    vi.useFakeTimers();
    const store = new InMemorySessionStore();
    await store.saveSnapshot(stored('h-old'));
    const load = vi.spyOn(store, 'loadSnapshot');
    const { cluster, resume } = build({ data: { store } as never });
    let settled = false;
    const adoption = cluster.host.adopt('s1', hashHandle('h-new')).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(load).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(load).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(load).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(2_800);
    expect(load).toHaveBeenCalledTimes(30);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    // The 31st read is the last: no timer is left to run, the answer comes without more time.
    expect(await adoption).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(31);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(load).toHaveBeenCalledTimes(31);
    expect(resume.pickedUp).toBe(1);
    expect(vi.getTimerCount()).toBe(1); // the adopted session's resume window only
    resume.dispose();
  });

  it('nothing stored while a handle is awaited: 31 reads, then 410 resume_gone', async () => {
    vi.useFakeTimers();
    const store = new InMemorySessionStore();
    const load = vi.spyOn(store, 'loadSnapshot');
    const { cluster } = build({ data: { store } as never });
    const answer = cluster.host.adopt('s1', hashHandle('h-new'));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(await answer).toEqual({ status: 410, info: 'The session has ended', code: 'resume_gone' });
    expect(load).toHaveBeenCalledTimes(31);
  });
});
