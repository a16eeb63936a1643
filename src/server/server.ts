/**
 * The Colloquy server: the Hono app on a Node HTTP server plus the Pipecat WebSocket endpoint
 * (`GET /ws` upgrade) on the same port. `startServer` resolves once it listens; `close()` ends every
 * session with `conversation-end` and stops listening.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { WebSocketServer } from 'ws';
import { toColloquyError } from '../errors.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import { clientAddress } from '../net/client-address.ts';
import { enableTracing } from '../observability/tracing.ts';
import { restoreSnapshot } from '../session/resume-snapshots.ts';
import type { ResumeSnapshot, SessionStore } from '../store/types.ts';
import { errorMessage } from '../surfaces/rtvi/messages.ts';
import { PipecatWsTransport } from '../transports/pipecat-websocket/ws-transport.ts';
import { createApp, originPolicyOf, type ServerContext } from './app.ts';
import { bearerMatches, requireBearer } from './auth.ts';
import { ClientGate, ClientLimitError, type SessionSlot } from './client-gate.ts';
import { resolveProfile, type ServerConfig, type SessionProfile } from './config.ts';
import type { ConnectHook } from './connect-hook.ts';
import { ConnectTokens } from './connect-tokens.ts';
import { originAllowed } from './http-guards.ts';
import { type LimitsInput, resolveLimits } from './limits.ts';
import { createRtviSession, SERVER_DRAIN } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import { serverCluster } from './server-cluster.ts';
import { serverCompaction } from './server-compaction.ts';
import { openServerStore, serverMemory } from './server-store.ts';
import { ModelCache } from './session-factory.ts';
import { SessionRegistry } from './session-registry.ts';
import { restoredProfile, ServerResume } from './session-resume.ts';

export interface StartServerOptions {
  config: ServerConfig;
  logger?: Logger;
  /** Extra routes (other transports), see `CreateAppOptions.registerRoutes`. */
  registerRoutes?: (app: Hono, context: ServerContext) => void;
  /**
   * Limits over those of `config.limits` (sizes, depths, queues, sessions, per-client rates; see
   * docs/security.md). Validated at start: a bad value throws `ConfigError('invalid_limits')`.
   */
  limits?: LimitsInput;
  /**
   * Decides each session from the client's `requestData` on the connect path(s): configuration,
   * agent, mode, greeting, `{{variables}}`; throw `ConnectRefusal(4xx, message)` to refuse. With a
   * hook, transports accept only clients that went through a connect path.
   */
  onConnect?: ConnectHook;
  /** Bound on `onConnect` (default 5000 ms). */
  connectHookTimeoutMs?: number;
  /** A session store of your own (instead of the one `config.store` names). */
  store?: SessionStore;
  /**
   * Which stored sessions of a previous run this server picks up at start (default: all). The
   * workers of `colloquy start --workers N` split them: a restarted worker takes its own.
   */
  pickUp?: (sessionId: string) => boolean;
}

export interface RunningServer {
  /** `http://host:port` */
  url: string;
  port: number;
  server: Server;
  context: ServerContext;
  /** Ends every session (`conversation-end {reason}`) and stops listening. */
  close(reason?: string): Promise<void>;
  /**
   * Drain: out of the cluster's pool (and no new session here), live sessions may finish within
   * `timeoutMs` (default `COLLOQUY_DRAIN_TIMEOUT_MS`, 30 s); those still live then end with
   * `conversation-end {reason: 'server_drain'}` carrying a resume handle. Resolves when none is left.
   */
  drain(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the HTTP + WebSocket server: `/connect`, the Pipecat WebSocket and SmallWebRTC transports,
 * the data API, the playground (docs/server.md).
 *
 * @example
 * ```ts
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * const server = await startServer({ config: loadServerConfig() }); // PORT, COLLOQUY_* from the env
 * console.log(`listening on ${server.url}`);
 * process.on('SIGTERM', () => void server.close('shutdown'));
 * ```
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const limits = resolveLimits(options.config.limits, options.limits);
  const config: ServerConfig = { ...options.config, limits };
  const logger = options.logger ?? consoleLogger;
  // OpenTelemetry traces of every session, to the tracer provider the app registered (else none).
  enableTracing();
  const registry = new SessionRegistry();
  const tokens = new ConnectTokens();
  const models = new ModelCache(config.baseDir, process.env, config.realtime);
  const gate = new ClientGate(limits);
  const data = await openServerStore(config, logger, options.store);
  const memory = serverMemory(config, data.store, models);
  const compaction = serverCompaction(config, models);
  const windowMs = config.resumeWindowMs ?? 0;
  // A store that outlives the process lets a restarted server resume sessions (docs/storage.md).
  const durable = data.store.kind !== 'memory';
  const resume = windowMs > 0 ? new ServerResume({ windowMs, handleTtlMs: 3_600_000, durable }) : undefined;
  let draining: Promise<void> | undefined;
  const cluster = config.cluster
    ? serverCluster({
        cluster: config.cluster,
        host: config.host,
        capacity: limits.maxSessions,
        logger,
        registry,
        data,
        resume,
        auth: requireBearer(config.authToken),
        gate,
        trustProxy: config.trustProxy === true,
        maxBodyBytes: limits.connectBodyBytes,
        isDraining: () => draining !== undefined,
      })
    : undefined;
  const buildSession = (transport: RtviTransport, profile: SessionProfile, restored?: ResumeSnapshot) => {
    const session = createRtviSession({
      transport,
      profile,
      config,
      logger,
      models,
      registry,
      store: data.writer,
      ...(memory ? { memory } : {}),
      ...(compaction ? { compaction } : {}),
      ...(resume ? { resume: resume.sessionOptions } : {}),
      ...(restored ? { sessionId: restored.sessionId, userId: restored.userId } : {}),
      readyTimeoutMs: limits.readyTimeoutMs,
    });
    // History back; work that died with the previous server: the agent tells the user once it starts.
    if (restored) restoreSnapshot(session.session, restored);
    resume?.track(session);
    return session;
  };
  const context: ServerContext = {
    config,
    logger,
    registry,
    tokens,
    models,
    data,
    ...(memory ? { memory } : {}),
    ...(compaction ? { compaction } : {}),
    ...(resume ? { resume } : {}),
    createSession: (transport, profile) => buildSession(transport, profile),
    auth: requireBearer(config.authToken),
    ...(options.onConnect ? { connectRequired: true } : {}),
    upgrades: new Map(),
    gate,
    ...(cluster ? { cluster: cluster.host } : {}),
    isDraining: () => draining !== undefined,
    drain: (timeoutMs) => drain(timeoutMs),
  };
  const app = createApp({
    context,
    ...(options.registerRoutes ? { registerRoutes: options.registerRoutes } : {}),
    ...(options.onConnect ? { onConnect: options.onConnect } : {}),
    ...(options.connectHookTimeoutMs !== undefined
      ? { connectHookTimeoutMs: options.connectHookTimeoutMs }
      : {}),
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.wsMessageBytes,
  });

  const originPolicy = originPolicyOf(config);
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const other = context.upgrades.get(url.pathname);
    if (other) return other(req, socket, head);
    if (url.pathname !== '/ws') return reject(socket, 404, 'Not Found');
    // A browser page of another origin may not open sessions (cross-site WebSocket hijacking).
    if (!originAllowed(req.headers.origin, req.headers.host, originPolicy)) {
      return reject(socket, 403, 'Forbidden');
    }
    const client = clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      config.trustProxy === true,
    );
    const token = url.searchParams.get('token');
    // A one-time token's session start was counted at /connect; any other upgrade counts here.
    if (!tokens.peek(token)) {
      try {
        gate.request(client);
      } catch (err) {
        return rejectLimit(socket, err);
      }
    }
    const grant = tokens.consume(token);
    const bearer =
      config.authToken !== undefined && bearerMatches(req.headers.authorization, config.authToken);
    if (token && !grant && !bearer) return reject(socket, 401, 'Unauthorized');
    if (config.authToken && !grant && !bearer) return reject(socket, 401, 'Unauthorized');
    const resuming = grant?.resume;
    // A draining node starts nothing new (a token issued before the drain is honoured).
    if (draining && !grant) {
      return reject(socket, 503, 'Service Unavailable', {
        info: 'This node is draining and starts no new session',
        code: 'node_draining',
      });
    }
    // A connect hook decides every session: no way around it.
    if (context.connectRequired && !grant) return reject(socket, 403, 'Forbidden');
    if (!resuming && registry.activeCount >= limits.maxSessions) {
      return reject(socket, 503, 'Service Unavailable');
    }
    let profile = grant?.profile;
    if (!profile) {
      try {
        profile = resolveProfile(config, {});
      } catch (err) {
        logger.error('ws: cannot resolve the default profile', err);
        return reject(socket, 500, 'Internal Server Error');
      }
    }
    const chosen = profile;
    let slot: SessionSlot | undefined;
    let started = false;
    if (!resuming) {
      try {
        slot = gate.openSession(client);
      } catch (err) {
        return rejectLimit(socket, err);
      }
      // Held by the session once it exists; given back here if the handshake never completes.
      const held = slot;
      socket.once('close', () => {
        if (!started) held.release();
      });
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = new PipecatWsTransport(ws, {
        logger,
        maxBufferedBytes: limits.wsAudioBufferBytes,
        closeBufferedBytes: limits.wsCloseBufferBytes,
        maxBytesPerSecond: limits.wsBytesPerSecond,
        maxFramesPerSecond: limits.wsFramesPerSecond,
      });
      if (resuming && resume) {
        try {
          resume.attach(resuming.sessionId, transport, resuming.handle);
          logger.info(`session ${resuming.sessionId} resumed (websocket)`);
        } catch (err) {
          const error = toColloquyError(err, 'resume_failed');
          transport.sendMessage(errorMessage(`Cannot resume the session: ${error.message}`, true));
          transport.close();
        }
        return;
      }
      try {
        const session = context.createSession(transport, chosen);
        started = true;
        logger.info(`session ${session.id} started (websocket, ${chosen.mode} mode)`);
        void session.closed.then((reason) => {
          slot?.release();
          logger.info(`session ${session.id} ended: ${reason}`);
        });
      } catch (err) {
        slot?.release();
        const error = toColloquyError(err, 'session_failed');
        logger.error('ws: cannot start a session', error);
        transport.sendMessage(errorMessage(`Cannot start the session: ${error.message}`, true));
        transport.close();
      }
    });
  });

  if (resume?.settings.durable && cluster) {
    // Stored sessions belong to the nodes running them: one is adopted only when its node is gone.
    resume.restoreWith(data.writer, (transport, snapshot) =>
      buildSession(transport, restoredProfile(snapshot), snapshot),
    );
  } else if (resume?.settings.durable) {
    try {
      await resume.pickUp(
        data.store,
        data.writer,
        (transport, snapshot) => buildSession(transport, restoredProfile(snapshot), snapshot),
        logger,
        Date.now(),
        limits.maxSessions,
        options.pickUp,
      );
    } catch (err) {
      logger.error('resume: cannot read the stored sessions; none is picked up', err);
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      void data.close();
      reject(err);
    });
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  if (cluster) {
    try {
      await cluster.start(port);
    } catch (err) {
      await cluster.stop().catch(() => {});
      await new Promise<void>((r) => server.close(() => r()));
      await data.close();
      throw err;
    }
  }
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | undefined;
  const drainTimeoutMs = config.cluster?.drainTimeoutMs ?? 30_000;
  const drain = (timeoutMs = drainTimeoutMs): Promise<void> => {
    draining ??= (async () => {
      if (cluster) await cluster.host.node.drain().catch(() => {});
      logger.info(`drain: ${registry.activeCount} session(s) may finish within ${timeoutMs} ms`);
      await registry.whenEmpty(timeoutMs);
      if (registry.activeCount > 0) logger.info(`drain: ending ${registry.activeCount} session(s)`);
      await registry.closeAll(SERVER_DRAIN);
    })();
    return draining;
  };
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    server,
    context,
    close: (reason = 'server_shutdown') => {
      closing ??= (async () => {
        resume?.dispose();
        await registry.closeAll(reason);
        await cluster?.stop();
        await data.close();
        // Let the closing handshakes (after `conversation-end`) finish, then cut off the rest.
        const open = [...wss.clients].map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
        await Promise.race([Promise.all(open), new Promise((r) => setTimeout(r, 1000).unref())]);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
    drain,
  };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function reject(socket: Duplex, status: number, text: string, extra?: UpgradeRefusal): void {
  const body = JSON.stringify({ info: extra?.info ?? text, ...(extra?.code ? { code: extra.code } : {}) });
  const retry = extra?.retryAfterSeconds !== undefined ? `retry-after: ${extra.retryAfterSeconds}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${retry}connection: close\r\n\r\n${body}`,
  );
}

/** More about a refused upgrade: the body's `info` and `code`, and `Retry-After`. */
export interface UpgradeRefusal {
  info?: string;
  code?: string;
  retryAfterSeconds?: number;
}

/** Refuses an upgrade over a per-client limit with `429 {info, code}` and `Retry-After`. */
export function rejectLimit(socket: Duplex, err: unknown): void {
  if (!(err instanceof ClientLimitError)) throw err;
  reject(socket, 429, 'Too Many Requests', {
    info: err.message,
    code: err.code,
    retryAfterSeconds: err.retryAfterSeconds,
  });
}
