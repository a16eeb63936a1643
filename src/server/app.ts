/**
 * The HTTP side of the server (Hono): `GET /health`, `POST /connect` (what the Pipecat client's
 * `startBotAndConnect` calls), `GET /sessions/:id/transcript`. The WebSocket endpoint `GET /ws` is an
 * upgrade handled in server.ts on the same HTTP server. Other transports add their routes through
 * `registerRoutes` (e.g. SmallWebRTC's `POST/PATCH /api/offer`).
 */

import { timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { ColloquyError, ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SessionProfile } from './config.ts';
import { RequestDataSchema, resolveProfile, type ServerConfig } from './config.ts';
import type { ConnectTokens } from './connect-tokens.ts';
import { registerPlaygroundRoutes } from './playground/routes.ts';
import { ResumeError } from './resume-handles.ts';
import type { RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import type { ServerStore } from './server-store.ts';
import type { ModelCache } from './session-factory.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { ServerResume } from './session-resume.ts';
import { registerStoreRoutes, transcriptRecord } from './store-routes.ts';

/** Everything a transport route needs to start sessions. */
export interface ServerContext {
  config: ServerConfig;
  logger: Logger;
  registry: SessionRegistry;
  tokens: ConnectTokens;
  models: ModelCache;
  /** The session store (transcripts, memory, resume) and its writer. */
  data: ServerStore;
  /** Live sessions and their resume handles (absent when resume is off). */
  resume?: ServerResume;
  /** Builds and starts an RTVI session on a transport (see `createRtviSession`). */
  createSession(transport: RtviTransport, profile: SessionProfile): RtviSession;
  /** True when the request may use the server (no auth configured, or a valid Bearer token). */
  authorized(authorizationHeader: string | undefined): boolean;
}

export interface CreateAppOptions {
  context: ServerContext;
  /**
   * Hook for other transports' routes, called after the built-in ones. The SmallWebRTC routes
   * (`POST/PATCH /api/offer`, webrtc-routes.ts) register here; `/connect` answers a
   * `requestData.transport: 'webrtc'` request with `{webrtcRequestParams: {endpoint: '/api/offer', requestData}}`.
   */
  registerRoutes?: (app: Hono, context: ServerContext) => void;
}

/** Largest `/connect` body. */
const MAX_CONNECT_BODY = 64 * 1024;
/** `requestData.transport` values that ask for SmallWebRTC. */
const WEBRTC_NAMES = new Set(['webrtc', 'small-webrtc', 'smallwebrtc']);

export function createApp({ context, registerRoutes }: CreateAppOptions): Hono {
  const { config, logger, registry, tokens } = context;
  const app = new Hono();
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['content-type', 'authorization'],
      maxAge: 600,
    }),
  );

  const unauthorized = (c: Context) =>
    c.json({ info: 'Unauthorized: send Authorization: Bearer <COLLOQUY_AUTH_TOKEN>' }, 401);

  app.get('/health', (c) => c.json({ status: 'ok', sessions: registry.activeCount }));

  // The playground console: open http://localhost:PORT/ (add ?token=… when auth is on).
  registerPlaygroundRoutes(app, context);

  app.post('/connect', async (c) => {
    if (!context.authorized(c.req.header('authorization'))) return unauthorized(c);
    const text = await c.req.text();
    if (text.length > MAX_CONNECT_BODY) return c.json({ info: 'Request body too large' }, 413);
    let body: unknown = {};
    if (text.trim()) {
      try {
        body = JSON.parse(text);
      } catch {
        return c.json({ info: 'Request body must be JSON (the client requestData)' }, 400);
      }
    }
    if (body === null) body = {};
    const parsed = RequestDataSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return c.json({ info: `Invalid requestData: ${where}${issue?.message ?? 'invalid'}` }, 400);
    }
    const requestData = parsed.data;
    let profile: SessionProfile;
    try {
      profile = resolveProfile(config, requestData);
      context.models.models(profile.models); // fail here, not after the client connected
    } catch (err) {
      if (err instanceof ConfigError && err.code.startsWith('unknown_'))
        return c.json({ info: err.message }, 400);
      logger.error('connect: cannot build the session profile', err);
      return c.json({ info: err instanceof Error ? err.message : 'Server misconfigured' }, 500);
    }
    const origin = publicOrigin(c);
    const transport = typeof requestData.transport === 'string' ? requestData.transport : 'websocket';
    const handle = requestData.resume_handle;
    if (handle !== undefined && (!context.resume || WEBRTC_NAMES.has(transport.toLowerCase()))) {
      const why = context.resume ? 'over SmallWebRTC is not supported yet' : 'is off on this server';
      return c.json({ info: `Resume ${why}`, code: 'resume_unsupported' }, 400);
    }
    if (WEBRTC_NAMES.has(transport.toLowerCase())) {
      // The offer route resolves the profile from `requestData` again; JSON cannot carry headers for
      // the offer, so the client's own Bearer token travels in `requestData.token` (see webrtc-routes).
      return c.json({
        webrtcRequestParams: {
          endpoint: `${origin}/api/offer`,
          requestData: config.authToken ? { ...requestData, token: config.authToken } : requestData,
        },
      });
    }
    let resume: { sessionId: string; handle: string } | undefined;
    if (handle !== undefined && context.resume) {
      try {
        resume = { sessionId: context.resume.redeem(handle, requestData.user_id), handle };
      } catch (err) {
        if (err instanceof ResumeError) return c.json({ info: err.message, code: err.code }, err.status);
        throw err;
      }
    }
    const token = tokens.issue(profile, requestData, resume);
    const wsOrigin = origin.replace(/^http/, 'ws');
    return c.json({ ws_url: `${wsOrigin}/ws?token=${token}` });
  });

  app.get('/sessions/:id/transcript', async (c) => {
    if (!context.authorized(c.req.header('authorization'))) return unauthorized(c);
    const record = await transcriptRecord(context, c.req.param('id'));
    if (!record) return c.json({ info: 'No such session' }, 404);
    return c.json(record);
  });
  registerStoreRoutes(app, context);

  // A plain GET on the upgrade endpoint (the upgrade itself never reaches Hono).
  app.get('/ws', (c) => c.json({ info: 'Upgrade to WebSocket (Pipecat protobuf frames)' }, 426));

  registerRoutes?.(app, context);

  app.notFound((c) => c.json({ info: 'Not found' }, 404));
  app.onError((err, c) => {
    logger.error('http handler failed', err);
    const info = err instanceof ColloquyError ? err.message : 'Internal server error';
    return c.json({ info }, 500);
  });
  return app;
}

/** `http(s)://host[:port]` the client reached us at (honours `x-forwarded-proto` / `-host`). */
function publicOrigin(c: Context): string {
  const url = new URL(c.req.url);
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || url.protocol.slice(0, -1);
  const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() || url.host;
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}

/** Constant-time check of `Authorization: Bearer <token>`; always true when no token is configured. */
export function bearerMatches(header: string | undefined, expected: string | undefined): boolean {
  if (!expected) return true;
  const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  if (!match) return false;
  const a = Buffer.from(match[1]);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
