/**
 * The server token (`COLLOQUY_AUTH_TOKEN`): HTTP routes check `Authorization: Bearer <token>` with
 * Hono's `bearerAuth`; WebSocket upgrades and the WebRTC offer (which may also carry the token in
 * `?token=` or a one-time token in its body) use `tokenMatches`. Both compare in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { ConfigError } from '../errors.ts';

/** What a Bearer token may hold (RFC 6750 `b64token`), as Hono's `bearerAuth` checks it. */
const TOKEN_CHARS = /^[A-Za-z0-9._~+/-]+=*$/;

export const UNAUTHORIZED_INFO = 'Unauthorized: send Authorization: Bearer <COLLOQUY_AUTH_TOKEN>';

/** True when `given` equals `expected`, compared in constant time; always true when no token is set. */
export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!expected) return true;
  if (given === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, if it is one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header?.trim() ?? '');
  return match?.[1];
}

/**
 * Checks `Authorization: Bearer <token>` (for requests outside Hono, e.g. WebSocket upgrades).
 *
 * @example
 * ```ts
 * import { bearerMatches } from 'colloquy/server';
 * import type { IncomingMessage } from 'node:http';
 *
 * // a WebSocket upgrade of your own, outside Hono: compared in constant time
 * function authorized(req: IncomingMessage): boolean {
 *   return bearerMatches(req.headers.authorization, process.env.COLLOQUY_AUTH_TOKEN);
 * }
 * ```
 */
export function bearerMatches(header: string | undefined, expected: string | undefined): boolean {
  if (!expected) return true;
  return tokenMatches(bearerToken(header), expected);
}

/**
 * Middleware for the routes the server token protects: Hono's `bearerAuth` (constant-time) when a
 * token is set, answering a missing, malformed or wrong header with 401 `{info}`; a pass-through
 * when no token is set.
 *
 * @example
 * ```ts
 * import { loadServerConfig, requireBearer, startServer } from 'colloquy/server';
 *
 * const server = await startServer({
 *   config: loadServerConfig(),
 *   registerRoutes: (app) => {
 *     // 401 without `Authorization: Bearer <token>`; open when the token is unset
 *     app.get('/admin/stats', requireBearer(process.env.ADMIN_TOKEN), (c) => c.json({ ok: true }));
 *   },
 * });
 * ```
 */
export function requireBearer(expected: string | undefined): MiddlewareHandler {
  if (!expected) return async (_c, next) => next();
  if (!TOKEN_CHARS.test(expected)) {
    throw new ConfigError(
      'invalid_auth_token',
      'COLLOQUY_AUTH_TOKEN may use only letters, digits and . _ ~ + / - (then = padding), as a Bearer token',
    );
  }
  const refuse = { message: (c: Context) => c.json({ info: UNAUTHORIZED_INFO }, 401) };
  return bearerAuth({
    token: expected,
    noAuthenticationHeader: refuse,
    invalidAuthenticationHeader: refuse,
    invalidToken: refuse,
  });
}
