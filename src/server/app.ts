/**
 * The HTTP side of the server (Hono): `GET /health`, `POST /connect` (what the Pipecat client's
 * `startBotAndConnect` calls), `GET /sessions/:id/transcript`. The WebSocket endpoint `GET /ws` is an
 * upgrade handled in server.ts on the same HTTP server. Other transports add their routes through
 * `registerRoutes` (e.g. SmallWebRTC's `POST/PATCH /api/offer`).
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { MemoryOptions } from '../agents/memory.ts';
import { type ClusterHost, clusterConnect, clusterSessionProxy } from '../cluster/cluster-routes.ts';
import { isColloquyError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { Logger } from '../logger.ts';
import type { CompactionOptions } from '../session/context-compaction.ts';
import { ResumeError } from '../session/resume-handles.ts';
import { zodIssueText } from '../zod-issues.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import type { ClientGate } from './client-gate.ts';
import { RequestDataSchema, type ServerConfig, type SessionProfile } from './config.ts';
import { type ConnectHook, resolveConnect } from './connect-hook.ts';
import { DEFAULT_CONNECT_PATHS } from './connect-paths.ts';
import type { ConnectTokens } from './connect-tokens.ts';
import { admitRequest, corsFor, type OriginPolicy, publicOrigin } from './http-guards.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerPlaygroundRoutes } from './playground/routes.ts';
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
  /** Long-term memory the server's sessions get (absent when it is off). */
  memory?: MemoryOptions;
  /** Context compaction the server's sessions get (absent when it is off). */
  compaction?: CompactionOptions;
  /** Live sessions and their resume handles (absent when resume is off). */
  resume?: ServerResume;
  /** Builds and starts an RTVI session on a transport (see `createRtviSession`). */
  createSession(transport: RtviTransport, profile: SessionProfile): RtviSession;
  /**
   * Guards the routes the server token protects: Hono's `bearerAuth` when `config.authToken` is set
   * (401 otherwise), a pass-through when it is not (see `requireBearer`).
   */
  auth: MiddlewareHandler;
  /**
   * Set when a connect hook decides sessions: transports then accept only clients that went
   * through a connect path (a one-time token or grant), so the hook cannot be bypassed.
   */
  connectRequired?: boolean;
  /** WebSocket upgrade handlers of other transports, by path (e.g. LiveKit's `/rtc/v1`). */
  upgrades: Map<string, UpgradeHandler>;
  /** Per-client rates and session shares (`config.limits`); transports admit sessions through it. */
  gate: ClientGate;
  /** This server as a node of a cluster (`COLLOQUY_REDIS_URL`): the dispatch of connects. */
  cluster?: ClusterHost;
  /** True once a drain started (no new session here). */
  isDraining?(): boolean;
  /** Starts a drain (see `RunningServer.drain`). */
  drain?(timeoutMs?: number): Promise<void>;
}

/** Takes over an HTTP upgrade request on its path (the socket is its to answer or close). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface CreateAppOptions {
  context: ServerContext;
  /**
   * Hook for other transports' routes, called after the built-in ones. The SmallWebRTC routes
   * (`POST/PATCH /api/offer`, webrtc-routes.ts) register here; `/connect` answers a
   * `requestData.transport: 'webrtc'` request with `{webrtcRequestParams: {endpoint: '/api/offer', requestData}}`.
   */
  registerRoutes?: (app: Hono, context: ServerContext) => void;
  /** Maps a client's `requestData` to its session (see connect-hook.ts). */
  onConnect?: ConnectHook;
  /** Bound on `onConnect` (default 5000 ms). */
  connectHookTimeoutMs?: number;
}

/** `requestData.transport` values that ask for SmallWebRTC. */
const WEBRTC_NAMES = new Set(['webrtc', 'small-webrtc', 'smallwebrtc']);

/**
 * The server's Hono app (`/connect`, `/ws`, the data API, the playground) for a context of your
 * own; `startServer` builds both and listens. Mount it in a larger Hono app, or test it in process.
 *
 * @example
 * ```ts
 * import { createApp, loadServerConfig, startServer } from 'colloquy/server';
 *
 * const server = await startServer({ config: loadServerConfig({ PORT: '0' }) });
 * const app = createApp({ context: server.context }); // a second app on the same sessions
 * const res = await app.request('/health');
 * console.log(await res.json()); // { status: 'ok', sessions: 0 }
 * await server.close();
 * ```
 */
export function createApp({
  context,
  registerRoutes,
  onConnect,
  connectHookTimeoutMs,
}: CreateAppOptions): Hono {
  const { config, logger, registry, tokens } = context;
  const { limits } = config;
  const app = new Hono();
  const originPolicy = originPolicyOf(config);
  app.use('*', corsFor(originPolicy));
  // Bodies are bounded while they stream in (not after reading them whole).
  app.use('*', bodyLimit({ maxSize: limits.maxBodyBytes, onError: tooLarge }));

  app.get('/health', (c) =>
    context.isDraining?.()
      ? c.json({ status: 'draining', sessions: registry.activeCount }, 503)
      : c.json({ status: 'ok', sessions: registry.activeCount }),
  );
  registerMetricsRoute(app, context);

  // The playground console: open http://localhost:PORT/ (add ?token=… when auth is on).
  registerPlaygroundRoutes(app, context);

  const connect = async (c: Context) => {
    const limited = admitRequest(c, context.gate, config.trustProxy === true);
    if (limited) return limited;
    if (!context.cluster && context.isDraining?.()) {
      c.header('retry-after', '1');
      return c.json(
        { info: 'This server is draining and starts no new session', code: 'node_draining' },
        503,
      );
    }
    const text = await c.req.text();
    let body: unknown = {};
    if (text.trim()) {
      const parsed = parseJsonWithLimits(text, { maxDepth: 16, maxBytes: limits.connectBodyBytes });
      if (!parsed.ok) return c.json({ info: 'Request body must be JSON (the client requestData)' }, 400);
      body = parsed.value;
    }
    if (body === null) body = {};
    const parsed = RequestDataSchema.safeParse(body);
    if (!parsed.success) {
      return c.json({ info: `Invalid requestData: ${zodIssueText(parsed.error, { first: true })}` }, 400);
    }
    const requestData = parsed.data;
    const transport = typeof requestData.transport === 'string' ? requestData.transport : 'websocket';
    const webrtc = WEBRTC_NAMES.has(transport.toLowerCase());
    if (requestData.text_only && webrtc) {
      return c.json({ info: 'Invalid requestData: text_only is for the WebSocket transport' }, 400);
    }
    let outcome: Awaited<ReturnType<typeof resolveConnect>>;
    try {
      outcome = await resolveConnect({
        config,
        requestData,
        path: c.req.path,
        headers: c.req.header(),
        logger,
        ...(onConnect ? { hook: onConnect } : {}),
        ...(connectHookTimeoutMs !== undefined ? { timeoutMs: connectHookTimeoutMs } : {}),
      });
      if (outcome.ok) context.models.models(outcome.profile.models); // fail here, not after the client connected
    } catch (err) {
      logger.error('connect: cannot build the session profile', err);
      return c.json({ info: err instanceof Error ? err.message : 'Server misconfigured' }, 500);
    }
    if (!outcome.ok) return c.json({ info: outcome.info }, outcome.status as 400);
    const profile = outcome.profile;
    // A node of a cluster answers with its own public URL (the connect may have come through another node).
    const origin = context.cluster ? context.cluster.node.url : publicOrigin(c, originPolicy);
    const handle = requestData.resume_handle;
    if (handle !== undefined && !context.resume) {
      return c.json({ info: 'Resume is off on this server', code: 'resume_unsupported' }, 400);
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
    if (webrtc) {
      // JSON cannot carry headers for the offer, so a one-time token (carrying the profile decided here,
      // by the connect hook too) travels in `requestData.token`; the long-lived server token is never
      // handed out.
      return c.json({
        webrtcRequestParams: {
          endpoint: `${origin}/api/offer`,
          requestData: { ...requestData, token: tokens.issue(profile, requestData, resume) },
        },
      });
    }
    const token = tokens.issue(profile, requestData, resume);
    const wsOrigin = origin.replace(/^http/, 'ws');
    return c.json({ ws_url: `${wsOrigin}/ws?token=${token}` });
  };
  for (const path of config.connectPaths ?? DEFAULT_CONNECT_PATHS) {
    app.use(path, bodyLimit({ maxSize: limits.connectBodyBytes, onError: tooLarge }));
    if (context.cluster) app.use(path, clusterConnect(context.cluster));
    app.post(path, context.auth, connect);
  }
  if (context.cluster) {
    // Any node answers for a session live on another.
    app.use('/sessions/:id', clusterSessionProxy(context.cluster));
    app.use('/sessions/:id/transcript', clusterSessionProxy(context.cluster));
  }
  registerAdminRoutes(app, context);

  app.get('/sessions/:id/transcript', context.auth, async (c) => {
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
    // Middleware answers (the Bearer check's 401) travel as HTTPExceptions carrying their response.
    if (err instanceof HTTPException) return err.getResponse();
    logger.error('http handler failed', err);
    const info = isColloquyError(err) ? err.message : 'Internal server error';
    return c.json({ info }, 500);
  });
  return app;
}

/** CORS, the WebSocket `Origin` check and proxy trust, from the config. */
export function originPolicyOf(config: ServerConfig): OriginPolicy {
  return {
    ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
    ...(config.trustProxy ? { trustProxy: true } : {}),
  };
}

const tooLarge = (c: Context) => c.json({ info: 'Request body too large' }, 413);
