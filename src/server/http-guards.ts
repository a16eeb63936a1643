/**
 * Who the HTTP side trusts: which page origins may call it (CORS, and the `Origin` of a WebSocket
 * upgrade), and whether `X-Forwarded-Proto`/`-Host` say where the client reached the server.
 *
 * Origins: a request without an `Origin` header (a native app, curl, a server) is not a browser
 * page and is let through (the auth token protects it). A browser page may call when its origin is
 * the server's own origin, a loopback origin (`http://localhost:*`, `127.0.0.1`, `[::1]`: a page on
 * the same machine, as in development), or listed in `COLLOQUY_ALLOWED_ORIGINS` (`*` allows all).
 *
 * Proxy headers are ignored unless `COLLOQUY_TRUST_PROXY` is set: otherwise any client could point
 * the URLs the server hands out (`ws_url`, the WebRTC endpoint) at another host.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { clientAddress } from '../net/client-address.ts';
import { type ClientGate, ClientLimitError } from './client-gate.ts';

export interface OriginPolicy {
  /** Exact origins (`https://app.example.com`) allowed besides same-origin and loopback; `*` = any. */
  allowedOrigins?: readonly string[];
  /** Honour `X-Forwarded-Proto`/`-Host` (the server runs behind a proxy that sets them). */
  trustProxy?: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function normalise(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * May a page of `origin` use the server reached at `host`? `origin` undefined (no header) is not a
 * browser page: allowed.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  policy: OriginPolicy,
): boolean {
  if (origin === undefined) return true;
  const allowed = policy.allowedOrigins ?? [];
  if (allowed.includes('*')) return true;
  const page = normalise(origin);
  if (!page) return false;
  const url = new URL(page);
  if (host && url.host === host.toLowerCase()) return true; // same origin
  if (LOOPBACK_HOSTS.has(url.hostname)) return true;
  return allowed.some((o) => normalise(o) === page);
}

/** CORS for the API: allowed origins are echoed, others get no CORS headers (and 403 on preflight). */
export function corsFor(policy: OriginPolicy): MiddlewareHandler {
  const handler = cors({
    origin: (origin, c) => (originAllowed(origin, c.req.header('host'), policy) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['content-type', 'authorization'],
    maxAge: 600,
  });
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !originAllowed(origin, c.req.header('host'), policy)) {
      // A page of another origin: refused outright (not only unreadable), so it cannot start sessions.
      return c.json({ info: 'Origin not allowed (COLLOQUY_ALLOWED_ORIGINS)' }, 403);
    }
    return handler(c, next);
  };
}

/** `http(s)://host[:port]` the client reached the server at. */
export function publicOrigin(c: Context, policy: OriginPolicy): string {
  const url = new URL(c.req.url);
  let proto = url.protocol.slice(0, -1);
  let host = url.host;
  if (policy.trustProxy) {
    proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || proto;
    const forwarded = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
    if (forwarded && /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(forwarded)) {
      host = forwarded;
    }
  }
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}

/** `COLLOQUY_ALLOWED_ORIGINS`: comma or space separated origins. */
export function parseOrigins(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * The client of a request, for per-client limits: its socket's address, or behind a trusted proxy
 * the last `X-Forwarded-For` entry (see net/client-address.ts).
 */
export function requestClient(c: Context, trustProxy: boolean): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return clientAddress(incoming?.socket?.remoteAddress, c.req.header('x-forwarded-for'), trustProxy);
}

const admitted = new WeakSet<Request>();

/**
 * A request another node of the cluster admitted already (and handed over): not counted again here
 * (its client address would be that node's).
 */
export function markAdmitted(c: Context): void {
  admitted.add(c.req.raw);
}

/**
 * Counts a session start (connect, offer) of the request's client: a `429 {info, code}` response with
 * `Retry-After` when it is over its rate, undefined when it may go on.
 */
export function admitRequest(c: Context, gate: ClientGate, trustProxy: boolean): Response | undefined {
  // Counted once per request (a cluster dispatch admits it before the connect route sees it).
  if (admitted.has(c.req.raw)) return undefined;
  try {
    gate.request(requestClient(c, trustProxy));
    admitted.add(c.req.raw);
    return undefined;
  } catch (err) {
    return limitResponse(c, err);
  }
}

/** The `429` answer of a `ClientLimitError` (anything else is rethrown). */
export function limitResponse(c: Context, err: unknown): Response {
  if (!(err instanceof ClientLimitError)) throw err;
  c.header('retry-after', String(err.retryAfterSeconds));
  return c.json({ info: err.message, code: err.code }, 429);
}
