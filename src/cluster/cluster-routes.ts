/**
 * The cluster's HTTP side, in front of the connect routes (`/connect` and the other connect paths,
 * LiveKit's connection details) and the per-session routes:
 *
 * - A new session: a slot is reserved atomically on the least-loaded live node. On this node the
 *   route goes on here; on another the request is handed over to that node (which answers with its
 *   own URLs) and its answer relayed. Every node full: `503 {info, code: 'cluster_full'}`.
 * - A resume (`resume_handle`): handed to the node its session runs on; when that node is gone, a
 *   slot is reserved on another, which adopts the session from the shared store (its history).
 * - `GET /sessions/:id[/transcript]` of a session live on another node: asked of that node.
 *
 * What comes from another node is bounded: its registered URL must be an http(s) origin, and its
 * answer is read as a stream up to a cap (peer-answer.ts).
 *
 * A hand-over carries a one-time id (`x-colloquy-forward`) that the receiving node redeems in Redis
 * (forged, replayed or expired ones are refused), so the receiver does not count the request against
 * the handing node's address. Redis unreachable: this node serves connects itself while it has room.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { Logger } from '../logger.ts';
import { hashHandle } from '../session/resume-handles.ts';
import type { ClusterNode } from './cluster-node.ts';
import {
  CONNECT_ANSWER_MAX_BYTES,
  PeerAnswerTooLarge,
  peerOrigin,
  readCapped,
  SESSION_ANSWER_MAX_BYTES,
} from './peer-answer.ts';

/** Header carrying a hand-over id between nodes. */
export const FORWARD_HEADER = 'x-colloquy-forward';
/** Set on a per-session request one node asks of another (never asked on again). */
export const PROXIED_HEADER = 'x-colloquy-proxied';

/** Request headers not passed on to another node. */
const HOP_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'accept-encoding',
  FORWARD_HEADER,
  PROXIED_HEADER,
]);

/** What the dispatch needs of the server. */
export interface ClusterHost {
  node: ClusterNode;
  logger: Logger;
  /** Largest connect body. */
  maxBodyBytes: number;
  /** The server's auth check (runs before anything is reserved). */
  auth: MiddlewareHandler;
  /** Counts the request against its client's rate (a `429` response when over), once per request. */
  admit(c: Context): Response | undefined;
  /** A handed-over request: not counted again. */
  markAdmitted(c: Context): void;
  /** Live sessions here now, and the capacity. */
  liveCount(): number;
  capacity: number;
  isLive(sessionId: string): boolean;
  /**
   * Adopt a stored session whose node is gone (before its handle, by hash, is redeemed): a refusal, or
   * undefined.
   */
  adopt(
    sessionId: string,
    handleHash: string | undefined,
  ): Promise<{ status: 400 | 410 | 503; info: string; code: string } | undefined>;
  /** This node is draining and takes no new session. */
  isDraining(): boolean;
}

/** Bound on a hand-over to another node. */
const FORWARD_TIMEOUT_MS = 10_000;

/** The middleware in front of a connect route. */
export function clusterConnect(host: ClusterHost): MiddlewareHandler {
  const dispatch = async (c: Context, next: Next): Promise<Response | undefined> => {
    const handOver = c.req.header(FORWARD_HEADER);
    if (handOver !== undefined) {
      const accepted = await host.node.acceptForward(handOver);
      if (!accepted) {
        return c.json(
          { info: 'Unknown or expired hand-over from another node', code: 'connect_refused' },
          403,
        );
      }
      host.markAdmitted(c);
      if (accepted.adopt && !host.isLive(accepted.adopt)) {
        const handle = await resumeHandleOf(c, host.maxBodyBytes);
        const refused = await host.adopt(accepted.adopt, handle ? hashHandle(handle) : undefined);
        if (refused) {
          if (accepted.slot) await host.node.unreserve(accepted.slot);
          return c.json({ info: refused.info, code: refused.code }, refused.status);
        }
      }
      await next();
      if (accepted.slot && c.res.status >= 400) await host.node.unreserve(accepted.slot);
      return undefined;
    }
    const limited = host.admit(c);
    if (limited) return limited;
    const handle = await resumeHandleOf(c, host.maxBodyBytes);
    if (handle) return resume(c, next, handle);
    return place(c, next);
  };

  const place = async (
    c: Context,
    next: Next,
    adopt?: { sessionId: string; from?: string; handleHash: string },
  ) => {
    const placement = await host.node.reserve(adopt ? { adopt: adopt.sessionId } : {});
    switch (placement.kind) {
      case 'full':
        c.header('retry-after', '1');
        return c.json({ info: placement.info, code: 'cluster_full' }, 503);
      case 'offline': {
        // Redis is unreachable: this node only, while it has room.
        if (host.isDraining()) return drainingAnswer(c);
        const slot = host.node.reserveHere(host.liveCount());
        if (slot === undefined) {
          c.header('retry-after', '1');
          return c.json(
            { info: 'This node is at capacity and the cluster is unreachable', code: 'cluster_full' },
            503,
          );
        }
        if (adopt) {
          const refused = await host.adopt(adopt.sessionId, adopt.handleHash);
          if (refused) {
            await host.node.unreserve(slot);
            return c.json({ info: refused.info, code: refused.code }, refused.status);
          }
        }
        await next();
        if (c.res.status >= 400) await host.node.unreserve(slot);
        return undefined;
      }
      case 'local': {
        if (adopt) {
          if (!(await host.node.move(adopt.sessionId, adopt.from, host.node.id))) {
            await host.node.unreserve(placement.slot);
            return c.json({ info: 'Another node is resuming this session', code: 'resume_used' }, 409);
          }
          const refused = await host.adopt(adopt.sessionId, adopt.handleHash);
          if (refused) {
            await host.node.unreserve(placement.slot);
            return c.json({ info: refused.info, code: refused.code }, refused.status);
          }
        }
        await next();
        if (c.res.status >= 400) await host.node.unreserve(placement.slot);
        return undefined;
      }
      case 'remote':
        if (adopt && !(await host.node.move(adopt.sessionId, adopt.from, placement.nodeId))) {
          return c.json({ info: 'Another node is resuming this session', code: 'resume_used' }, 409);
        }
        return forward(c, placement.url, placement.forwardId);
      default: {
        const never: never = placement;
        throw new Error(`unknown placement ${JSON.stringify(never)}`);
      }
    }
  };

  const resume = async (c: Context, next: Next, handle: string) => {
    const handleHash = hashHandle(handle);
    const where = await host.node.locate(handleHash);
    switch (where.kind) {
      case 'unknown':
      case 'here':
        await next();
        return undefined;
      case 'node': {
        const forwardId = await host.node.forwardTo(where.nodeId);
        if (!forwardId)
          return c.json({ info: 'The cluster is unreachable; try again', code: 'redis_unavailable' }, 503);
        return forward(c, where.url, forwardId);
      }
      case 'orphan':
        return place(c, next, {
          sessionId: where.sessionId,
          handleHash,
          ...(where.nodeId ? { from: where.nodeId } : {}),
        });
      default: {
        const never: never = where;
        throw new Error(`unknown location ${JSON.stringify(never)}`);
      }
    }
  };

  const forward = async (c: Context, url: string, forwardId: string): Promise<Response> => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(c.req.header()))
      if (!HOP_HEADERS.has(k.toLowerCase())) headers.set(k, v);
    headers.set(FORWARD_HEADER, forwardId);
    // The registry's URL of the other node: an http(s) origin, or nothing is sent.
    const origin = peerOrigin(url);
    try {
      if (!origin)
        throw new Error(`its registered URL is not an http(s) origin: ${String(url).slice(0, 100)}`);
      const res = await fetch(`${origin}${c.req.path}`, {
        method: 'POST',
        headers,
        body: await c.req.text(),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        redirect: 'manual',
      });
      const body = await readCapped(res, CONNECT_ANSWER_MAX_BYTES);
      const out = new Headers({ 'content-type': res.headers.get('content-type') ?? 'application/json' });
      const retry = res.headers.get('retry-after');
      if (retry) out.set('retry-after', retry);
      return new Response(body, { status: res.status, headers: out });
    } catch (err) {
      host.logger.warn(
        err instanceof PeerAnswerTooLarge
          ? `cluster: the node at ${origin} answered a hand-over with more than ${err.maxBytes} bytes`
          : `cluster: the node at ${origin ?? 'an invalid URL'} did not answer a hand-over`,
        err,
      );
      c.header('retry-after', '1');
      return c.json(
        { info: 'The node chosen for this session did not answer; try again', code: 'unreachable' },
        503,
      );
    }
  };

  return async (c, next) => {
    let answer: Response | undefined;
    await host.auth(c, async () => {
      answer = await dispatch(c, next);
    });
    // The dispatch's own answer; otherwise the route below answered (or the auth check threw its 401).
    return answer;
  };
}

/**
 * In front of `GET /sessions/:id` and `/sessions/:id/transcript`: a session live on another node is
 * asked of that node (same Authorization), so any node answers for any session.
 */
export function clusterSessionProxy(host: ClusterHost): MiddlewareHandler {
  const proxy = async (c: Context, next: Next): Promise<Response | undefined> => {
    const id = c.req.param('id');
    if (
      c.req.method !== 'GET' ||
      !id ||
      host.isLive(id) ||
      c.req.header(PROXIED_HEADER) !== undefined ||
      !host.node.online
    ) {
      await next();
      return undefined;
    }
    const where = await host.node.whereIs(id);
    if (!where || where.nodeId === host.node.id) {
      await next();
      return undefined;
    }
    const origin = peerOrigin(where.url);
    if (!origin) {
      await next(); // a registry entry that is not a node's origin: what this node knows
      return undefined;
    }
    const headers = new Headers({ [PROXIED_HEADER]: host.node.id });
    const authorization = c.req.header('authorization');
    if (authorization) headers.set('authorization', authorization);
    try {
      const res = await fetch(`${origin}${c.req.path}`, {
        headers,
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        redirect: 'manual',
      });
      return new Response(await readCapped(res, SESSION_ANSWER_MAX_BYTES), {
        status: res.status,
        headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' },
      });
    } catch (err) {
      if (err instanceof PeerAnswerTooLarge) {
        host.logger.warn(
          `cluster: the node at ${origin} answered ${c.req.path} with more than ${err.maxBytes} bytes`,
        );
      }
      await next(); // its node did not answer (or not within bounds): what this node knows (the shared store)
      return undefined;
    }
  };
  return async (c, next) => {
    let answer: Response | undefined;
    await host.auth(c, async () => {
      answer = await proxy(c, next);
    });
    return answer;
  };
}

function drainingAnswer(c: Context): Response {
  c.header('retry-after', '1');
  return c.json({ info: 'This node is draining and starts no new session', code: 'node_draining' }, 503);
}

/** The `resume_handle` of a connect body, when it has one (the route itself validates the rest). */
async function resumeHandleOf(c: Context, maxBytes: number): Promise<string | undefined> {
  const text = await c.req.text();
  if (!text.trim()) return undefined;
  const parsed = parseJsonWithLimits(text, { maxDepth: 16, maxBytes });
  if (!parsed.ok) return undefined;
  const handle = (parsed.value as { resume_handle?: unknown } | null)?.resume_handle;
  return typeof handle === 'string' && handle.length >= 16 && handle.length <= 200 ? handle : undefined;
}
