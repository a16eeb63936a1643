/**
 * LiveKit rooms on a Colloquy server, for the unmodified `livekit-client` SDK:
 *
 *   POST /livekit/connection-details  → {serverUrl, roomName, participantName, participantToken}
 *   GET  /rtc/v1  (WebSocket upgrade)  → LiveKit signalling, one peer connection per client
 *   GET  /rtc/v1/validate              → why a connection would be refused (the client asks after a
 *                                        failed upgrade)
 *
 * Tokens are LiveKit JWTs signed with `COLLOQUY_LIVEKIT_API_KEY` / `COLLOQUY_LIVEKIT_API_SECRET`
 * (generated at start, with a warning, when unset), so tokens minted by LiveKit's server SDKs with
 * the same key are accepted too. Every upgrade is checked (token, join request, room) before any
 * session work. A room is one Colloquy session; `connection-details` picks its configuration the
 * way `/connect` does.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { type WebSocket, WebSocketServer } from 'ws';
import { clusterConnect } from '../cluster/cluster-routes.ts';
import { ConfigError, isColloquyError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { Logger } from '../logger.ts';
import { clientAddress } from '../net/client-address.ts';
import { hasOptional, requireOptional } from '../optional-dependency.ts';
import { restoreSnapshot } from '../session/resume-snapshots.ts';
import type { ResumeSnapshot } from '../store/types.ts';
import {
  type LiveKitClaims,
  type LiveKitKeys,
  mintLiveKitToken,
  verifyLiveKitToken,
} from '../transports/livekit/access-token.ts';
import { decodeJoinRequest } from '../transports/livekit/join-request.ts';
import { loadLiveKitProtocol } from '../transports/livekit/protocol.ts';
import { LiveKitRoom } from '../transports/livekit/room.ts';
import type { LiveKitRoomLink, LiveKitRoomOptions } from '../transports/livekit/room-options.ts';
import { SIGNAL_MAX_MESSAGE_BYTES } from '../transports/livekit/signal-budget.ts';
import { zodIssueText } from '../zod-issues.ts';
import { originPolicyOf, type ServerContext } from './app.ts';
import type { SessionSlot } from './client-gate.ts';
import { RequestDataSchema, resolveProfile, type SessionProfile } from './config.ts';
import { admitRequest, publicOrigin } from './http-guards.ts';
import { createLiveKitSession, type LiveKitSession } from './livekit-session.ts';
import { SERVER_SHUTDOWN } from './rtvi-session.ts';
import { reject, rejectLimit } from './server.ts';
import { restoredProfile } from './session-resume.ts';

export const CONNECTION_DETAILS_PATH = '/livekit/connection-details';
export const SIGNAL_PATH = '/rtc/v1';
export const WIDGET_PATH = '/livekit/widget.js';
/** The prebuilt widget (`npm run build`): dist/widget/colloquy-widget.js of the package. */
export const WIDGET_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../dist/widget/colloquy-widget.js',
);

export interface LiveKitRoutesOptions {
  /** API key and secret; from the environment (or generated) by default. */
  keys?: LiveKitKeys;
  env?: Record<string, string | undefined>;
  /** Most rooms open at once (further joins get 503). Default 32. */
  maxRooms?: number;
  /** Lifetime of the tokens `connection-details` issues. Default 15 min. */
  tokenTtlMs?: number;
  /** Where the prebuilt widget script is (default `WIDGET_FILE`). */
  widgetFile?: string;
  /** Room tuning (ICE servers, resume window, ICE timeout, data limits, ping). */
  room?: Partial<Omit<LiveKitRoomOptions, 'name' | 'user' | 'agent' | 'logger'>>;
}

export interface LiveKitRoutes {
  readonly keys: LiveKitKeys;
  /** Rooms open now. */
  readonly size: number;
  room(name: string): LiveKitRoomLink | undefined;
  session(name: string): LiveKitSession | undefined;
  /** Ends every room (server shutdown). */
  closeAll(reason?: string): Promise<void>;
}

const MAX_BODY_CHARS = 16 * 1024;
const MAX_RESERVATIONS = 1000;

/** Keys from `COLLOQUY_LIVEKIT_API_KEY` / `_SECRET`, or fresh ones for development (with a warning). */
export function liveKitKeys(env: Record<string, string | undefined>, logger: Logger): LiveKitKeys {
  const apiKey = env.COLLOQUY_LIVEKIT_API_KEY;
  const apiSecret = env.COLLOQUY_LIVEKIT_API_SECRET;
  if (apiKey && apiSecret) return { apiKey, apiSecret };
  if (apiKey || apiSecret) {
    throw new ConfigError(
      'livekit_keys_incomplete',
      'Set both COLLOQUY_LIVEKIT_API_KEY and COLLOQUY_LIVEKIT_API_SECRET (or neither, for development)',
    );
  }
  logger.warn(
    'LiveKit: COLLOQUY_LIVEKIT_API_KEY / COLLOQUY_LIVEKIT_API_SECRET are not set; using keys generated for this run (tokens from other servers will not work)',
  );
  return {
    apiKey: `APIdev${randomBytes(6).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
}

/**
 * True when the optional packages LiveKit rooms need are installed (warns naming them otherwise).
 *
 * @example
 * ```ts
 * import { liveKitAvailable, registerLiveKitRoutes } from 'colloquy/livekit';
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * const server = await startServer({
 *   config: loadServerConfig(),
 *   registerRoutes: (app, context) => {
 *     // warns naming `npm install @livekit/protocol @roamhq/wrtc` when they are missing
 *     if (liveKitAvailable(context.logger)) registerLiveKitRoutes(app, context);
 *   },
 * });
 * ```
 */
export function liveKitAvailable(logger: Logger): boolean {
  const missing = ['@livekit/protocol', '@roamhq/wrtc'].filter((name) => !hasOptional(name));
  if (missing.length) logger.warn(`LiveKit rooms disabled: run \`npm install ${missing.join(' ')}\``);
  return missing.length === 0;
}

/**
 * Adds LiveKit rooms to a server: `POST /livekit/connection-details`, the `/rtc/v1` signalling
 * upgrade and the widget script. Throws `MissingDependencyError` without `@livekit/protocol`
 * and `@roamhq/wrtc`.
 *
 * @example
 * ```ts
 * import { registerLiveKitRoutes } from 'colloquy/livekit';
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * const server = await startServer({
 *   config: loadServerConfig(),
 *   registerRoutes: (app, context) => {
 *     registerLiveKitRoutes(app, context); // keys from COLLOQUY_LIVEKIT_API_KEY / _SECRET
 *   },
 * });
 * ```
 */
export function registerLiveKitRoutes(
  app: Hono,
  context: ServerContext,
  options: LiveKitRoutesOptions = {},
): LiveKitRoutes {
  // Without the optional packages, fail here, naming the install command (not at the first join).
  loadLiveKitProtocol();
  requireOptional('@roamhq/wrtc', 'LiveKit rooms (WebRTC media)');
  const { config, logger } = context;
  const keys = options.keys ?? liveKitKeys(options.env ?? process.env, logger);
  const maxRooms = options.maxRooms ?? 32;
  const tokenTtlMs = options.tokenTtlMs ?? 15 * 60_000;
  const rooms = new Map<string, { room: LiveKitRoom; session: LiveKitSession }>();
  /** Profiles picked by `connection-details`, until the room is joined or the token expires. */
  const reservations = new Map<string, { profile: SessionProfile; expiresAt: number }>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: SIGNAL_MAX_MESSAGE_BYTES });
  // What one client may cost: its signalling rate, and what may queue for it when it does not read.
  const roomLimits: Partial<LiveKitRoomOptions> = {
    signalBudget: {
      messagesPerSecond: config.limits.liveKitSignalMessagesPerSecond,
      bytesPerSecond: config.limits.liveKitSignalBytesPerSecond,
    },
    maxSignalBufferBytes: config.limits.wsCloseBufferBytes,
    maxDataBufferBytes: config.limits.liveKitDataBufferBytes,
  };
  // Resume across restarts (resume on, a durable store): a shutdown suspends rooms instead of ending them.
  const resumable = context.resume?.settings.durable === true;
  /** Rooms this server suspended at shutdown (their clients rejoin the next server). */
  const suspended = new Set<string>();
  /** A join or resume the room refuses closes that socket; it never reaches the process. */
  const guarded = (ws: WebSocket, attach: () => void) => {
    try {
      attach();
    } catch (err) {
      logger.warn('livekit: a join or resume was refused', err);
      ws.close(1011, 'refused');
    }
  };

  const trustProxy = config.trustProxy === true;
  // A node of a cluster places the room on the least-loaded node (which answers with its own URL).
  if (context.cluster) app.use(CONNECTION_DETAILS_PATH, clusterConnect(context.cluster));
  app.post(CONNECTION_DETAILS_PATH, context.auth, async (c) => {
    const limited = admitRequest(c, context.gate, trustProxy);
    if (limited) return limited;
    const text = await c.req.text();
    if (text.length > MAX_BODY_CHARS) return c.json({ info: 'Request body too large' }, 413);
    let body: Record<string, unknown> = {};
    if (text.trim()) {
      const parsed = parseJsonWithLimits(text, { maxBytes: MAX_BODY_CHARS, maxDepth: 8 });
      if (!parsed.ok) {
        const why = parsed.error.kind === 'malformed' ? 'must be a JSON object' : parsed.error.message;
        return c.json({ info: `Request body ${why}`, code: parsed.error.code }, 400);
      }
      const value = parsed.value;
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
        return c.json({ info: 'Request body must be a JSON object' }, 400);
      }
      body = (value ?? {}) as Record<string, unknown>;
    }
    const parsed = RequestDataSchema.safeParse({
      ...pick(body, ['config', 'agent', 'mode', 'user_id']),
      ...starterAgent(body),
    });
    if (!parsed.success) {
      return c.json({ info: `Invalid request: ${zodIssueText(parsed.error, { first: true })}` }, 400);
    }
    let profile: SessionProfile;
    try {
      profile = resolveProfile(config, parsed.data);
      context.models.models(profile.models);
    } catch (err) {
      if (err instanceof ConfigError && err.code.startsWith('unknown_'))
        return c.json({ info: err.message }, 400);
      logger.error('livekit: cannot build the session profile', err);
      return c.json({ info: isColloquyError(err) ? err.message : 'Server misconfigured' }, 500);
    }
    const participantName = shortString(body.participant_name ?? body.participantName) ?? 'user';
    const roomName = `colloquy-${randomBytes(8).toString('hex')}`;
    // The user's id (their memory and stored sessions) is their identity in the room.
    const identity = profile.userId ?? `user-${randomBytes(6).toString('hex')}`;
    pruneReservations();
    if (reservations.size >= MAX_RESERVATIONS) return c.json({ info: 'Too many pending rooms' }, 503);
    reservations.set(roomName, { profile, expiresAt: Date.now() + tokenTtlMs });
    const participantToken = mintLiveKitToken(keys, {
      identity,
      name: participantName,
      room: roomName,
      ttlMs: tokenTtlMs,
    });
    return c.json({
      serverUrl: (context.cluster?.node.url ?? publicOrigin(c, originPolicyOf(config))).replace(
        /^http/,
        'ws',
      ),
      roomName,
      participantName,
      participantToken,
    });
  });

  // The drop-in widget: <script src="…/livekit/widget.js">, built at build time, served from memory.
  let widget: Promise<string> | undefined;
  app.get(WIDGET_PATH, async (c) => {
    widget ??= readFile(options.widgetFile ?? WIDGET_FILE, 'utf8');
    try {
      return c.body(await widget, 200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'public, max-age=300',
      });
    } catch (err) {
      widget = undefined;
      logger.error('livekit: the widget is not built', err);
      return c.text('The widget is not built: run `npm run build`', 503);
    }
  });

  app.get(`${SIGNAL_PATH}/validate`, (c) => {
    try {
      verifyLiveKitToken(c.req.query('access_token'), keys);
      return c.text('success');
    } catch (err) {
      return c.text(err instanceof Error ? err.message : 'invalid token', 401);
    }
  });
  app.get(SIGNAL_PATH, (c) => c.json({ info: 'Upgrade to WebSocket (LiveKit signalling)' }, 426));

  context.upgrades.set(SIGNAL_PATH, (req, socket, head) => onUpgrade(req, socket, head));

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const client = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxy);
    try {
      context.gate.request(client);
    } catch (err) {
      rejectLimit(socket, err);
      return;
    }
    let claims: LiveKitClaims;
    try {
      claims = verifyLiveKitToken(url.searchParams.get('access_token'), keys);
    } catch (err) {
      logger.info(`livekit: join refused: ${(err as Error).message}`);
      reject(socket, 401, 'Unauthorized');
      return;
    }
    const param = url.searchParams.get('join_request');
    if (!param) {
      reject(socket, 400, 'Bad Request');
      return;
    }
    let join: ReturnType<typeof decodeJoinRequest>;
    try {
      join = decodeJoinRequest(param);
    } catch (err) {
      logger.info(`livekit: join refused: ${(err as Error).message}`);
      reject(socket, 400, 'Bad Request');
      return;
    }
    const roomName = claims.video.room as string;
    const existing = rooms.get(roomName);
    const open = existing && existing.room.roomState !== 'closed' ? existing : undefined;
    if (open && open.room.userIdentity !== claims.sub) {
      reject(socket, 409, 'Conflict');
      return;
    }
    if (join.reconnect) {
      if (!open || (join.participantSid && join.participantSid !== open.room.userSid)) {
        reject(socket, 404, 'Not Found');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) =>
        guarded(ws, () => {
          open.room.resume(ws);
          // LiveKit's client-driven resume (a valid access token for the room and identity, plus the
          // participant sid) is this session's resume: `session.resume` fires, pending subagent
          // questions are sent again.
          open.session.session.eventBus.publish('session.resume', {
            sessionId: open.session.id,
            handle: open.room.userSid,
          });
        }),
      );
      return;
    }
    if (open) {
      wss.handleUpgrade(req, socket, head, (ws) => guarded(ws, () => open.room.join(ws, join)));
      return;
    }
    // A room suspended by this server's shutdown is picked up by the next server: not here.
    if (suspended.has(roomName)) {
      reject(socket, 503, 'Service Unavailable');
      return;
    }
    // A room a previous server left (stored, resumable): its client rejoins and gets it back.
    const restored = context.resume?.claimRoom(roomName, claims.sub);
    if (restored === 'foreign') {
      reject(socket, 409, 'Conflict');
      return;
    }
    if (rooms.size >= maxRooms || context.registry.activeCount >= config.limits.maxSessions) {
      reject(socket, 503, 'Service Unavailable');
      return;
    }
    let profile: SessionProfile | undefined;
    let back: ResumeSnapshot | undefined;
    if (restored) {
      try {
        profile = restoredProfile(restored);
        back = restored;
      } catch (err) {
        logger.error(`livekit: the stored session of room ${roomName} cannot be restored`, err);
      }
    }
    profile ??= reservations.get(roomName)?.profile;
    if (!profile) {
      try {
        profile = resolveProfile(config, {});
      } catch (err) {
        logger.error('livekit: cannot resolve the default profile', err);
        reject(socket, 500, 'Internal Server Error');
        return;
      }
    }
    const chosen = profile;
    let slot: SessionSlot;
    try {
      slot = context.gate.openSession(client);
    } catch (err) {
      rejectLimit(socket, err);
      return;
    }
    let started = false;
    socket.once('close', () => {
      if (!started) slot.release();
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      const agentName = chosen.initialAgent ?? chosen.agents[0]?.name ?? 'agent';
      const grant = claims.video;
      let room: LiveKitRoom | undefined;
      try {
        room = new LiveKitRoom({
          ...roomLimits,
          ...options.room,
          name: roomName,
          logger,
          user: {
            identity: claims.sub,
            name: typeof claims.name === 'string' && claims.name ? claims.name : claims.sub,
            permission: {
              canPublish: grant.canPublish !== false,
              canSubscribe: grant.canSubscribe !== false,
              canPublishData: grant.canPublishData !== false,
            },
          },
          agent: { identity: agentName, name: agentName },
        });
        const session = createLiveKitSession({
          room,
          profile: chosen,
          config,
          logger,
          models: context.models,
          registry: context.registry,
          sessionId: back ? back.sessionId : `lk-${randomBytes(8).toString('hex')}`,
          // Stored, with memory and compaction, like the server's other sessions.
          store: context.data.writer,
          ...(resumable ? { resume: { handleTtlMs: context.resume!.settings.handleTtlMs } } : {}),
          ...(context.memory ? { memory: context.memory } : {}),
          ...(context.compaction ? { compaction: context.compaction } : {}),
        });
        started = true;
        reservations.delete(roomName);
        if (back) {
          // History back; work that died with the previous server: told to the user once media is up.
          restoreSnapshot(session.session, back);
          session.session.eventBus.publish('session.resume', { sessionId: session.id, handle: room.userSid });
          logger.info(`livekit: room ${roomName} rejoined after a restart (session ${session.id})`);
        }
        const entry = { room, session };
        rooms.set(roomName, entry);
        void session.closed.then((reason) => {
          slot.release();
          if (reason === SERVER_SHUTDOWN && resumable) suspended.add(roomName);
          if (rooms.get(roomName) === entry) rooms.delete(roomName);
          logger.info(`livekit: room ${roomName} ended: ${reason}`);
        });
        room.join(ws, join);
        logger.info(`livekit: room ${roomName} joined by ${claims.sub} (session ${session.id})`);
      } catch (err) {
        slot.release();
        logger.error('livekit: cannot start a session', err);
        room?.close('server_closed');
        ws.close(1011, 'Cannot start the session');
      }
    });
  }

  function pruneReservations(): void {
    const now = Date.now();
    for (const [name, r] of reservations) if (r.expiresAt < now) reservations.delete(name);
  }

  return {
    keys,
    get size() {
      return rooms.size;
    },
    room: (name) => rooms.get(name)?.room,
    session: (name) => rooms.get(name)?.session,
    async closeAll(reason = 'server_shutdown') {
      const open = [...rooms.values()];
      await Promise.allSettled(open.map((r) => r.session.close(reason)));
      // Each native connection closes after its channels (see closePeerConnection): wait for it.
      await Promise.allSettled(open.map((r) => r.room.released()));
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function pick(body: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

/** LiveKit's starter apps send `{room_config: {agents: [{agent_name}]}}`: the agent to start with. */
function starterAgent(body: Record<string, unknown>): { agent?: string } {
  const agents = (body.room_config as { agents?: unknown } | undefined)?.agents;
  const first = Array.isArray(agents) ? (agents[0] as { agent_name?: unknown } | undefined) : undefined;
  const name = first?.agent_name;
  return typeof name === 'string' && name && body.agent === undefined ? { agent: name } : {};
}

function shortString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() && value.length <= 128 ? value.trim() : undefined;
}
