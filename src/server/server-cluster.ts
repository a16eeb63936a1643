/**
 * The server as a node of a cluster (`COLLOQUY_REDIS_URL`): its `ClusterNode` fed by the session
 * registry (sessions starting and ending) and the resume handles, the dispatch in front of the
 * connect routes (cluster-routes.ts), adoption of sessions whose node is gone (from the shared
 * store), and drain.
 */

import type { MiddlewareHandler } from 'hono';
import type { ClusterConfig } from '../cluster/cluster-config.ts';
import { derivedPublicUrl } from '../cluster/cluster-config.ts';
import { ClusterNode } from '../cluster/cluster-node.ts';
import type { ClusterHost } from '../cluster/cluster-routes.ts';
import type { Logger } from '../logger.ts';
import type { ResumeSnapshot } from '../store/types.ts';
import { admitRequest, markAdmitted } from './http-guards.ts';
import type { ServerStore } from './server-store.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { ServerResume } from './session-resume.ts';

/** How many times (100 ms apart) an adopting node reads a snapshot that is missing or has not caught up with its handle. */
const ADOPT_TRIES = 30;

export interface ServerClusterOptions {
  cluster: ClusterConfig;
  host: string;
  capacity: number;
  logger: Logger;
  registry: SessionRegistry;
  data: ServerStore;
  resume: ServerResume | undefined;
  auth: MiddlewareHandler;
  gate: Parameters<typeof admitRequest>[1];
  trustProxy: boolean;
  maxBodyBytes: number;
  isDraining(): boolean;
}

export interface ServerCluster {
  /** What the routes need (set before the server listens; the node registers once it does). */
  host: ClusterHost;
  /** Registers the node (its public URL: configured, or the listening address). Throws `ClusterError`. */
  start(port: number): Promise<void>;
  stop(): Promise<void>;
}

export function serverCluster(o: ServerClusterOptions): ServerCluster {
  let node: ClusterNode | undefined;
  const offs: Array<() => void> = [];
  const host: ClusterHost = {
    get node() {
      if (!node) throw new Error('the cluster node has not started');
      return node;
    },
    logger: o.logger,
    maxBodyBytes: o.maxBodyBytes,
    auth: o.auth,
    admit: (c) => admitRequest(c, o.gate, o.trustProxy),
    markAdmitted,
    liveCount: () => o.registry.activeCount,
    capacity: o.capacity,
    isLive: (id) => o.registry.isLive(id),
    isDraining: o.isDraining,
    adopt: async (sessionId, handleHash) => {
      if (!o.resume) return { status: 400, info: 'Resume is off on this server', code: 'resume_unsupported' };
      let snapshot: ResumeSnapshot | undefined;
      try {
        // The node that handed out this handle may be writing its last snapshot (a drain), or its first
        // (the turn before): wait for it a little. Without a handle to wait for, what is stored is it.
        for (let tries = 0; ; tries++) {
          snapshot = await o.data.store.loadSnapshot(sessionId);
          if (!handleHash || snapshot?.handleHash === handleHash || tries >= ADOPT_TRIES) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        o.logger.error(`cluster: cannot read the stored session ${sessionId}`, err);
        return {
          status: 503,
          info: 'The session store cannot be read; try again',
          code: 'store_read_failed',
        };
      }
      // Only sessions of the RTVI transports come back through /connect (LiveKit rooms rejoin their own way).
      if (!snapshot || snapshot.expiresAt <= Date.now() || (snapshot.carrier?.kind ?? 'rtvi') !== 'rtvi') {
        return { status: 410, info: 'The session has ended', code: 'resume_gone' };
      }
      o.resume.adopt(snapshot);
      o.logger.info(`cluster: session ${sessionId} (its node is gone) adopted from the store`);
      return undefined;
    },
  };
  return {
    host,
    start: async (port) => {
      const publicUrl = o.cluster.publicUrl ?? derivedPublicUrl(o.host, port);
      const n = new ClusterNode({
        config: o.cluster,
        publicUrl,
        capacity: o.capacity,
        logger: o.logger,
        liveSessions: () => o.registry.liveIds(),
        handleOf: (id) => o.resume?.handles.current(id),
      });
      await n.start();
      node = n;
      offs.push(
        o.registry.onChange((change) =>
          change.type === 'started' ? n.sessionStarted(change.id) : n.sessionEnded(change.id),
        ),
      );
      if (o.resume) {
        o.resume.handles.onIssue = (sessionId, hash, expiresAt) => n.handleIssued(sessionId, hash, expiresAt);
      }
    },
    stop: async () => {
      for (const off of offs.splice(0)) off();
      await node?.stop();
    },
  };
}
