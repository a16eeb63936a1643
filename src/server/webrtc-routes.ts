/**
 * SmallWebRTC signalling for `@pipecat-ai/small-webrtc-transport` 1.10.8 (see docs/pipecat-compat.md):
 *
 *   POST  /api/offer  {sdp, type: 'offer', pc_id?, restart_pc?, requestData?} → {sdp, type: 'answer', pc_id}
 *   PATCH /api/offer  {pc_id, candidates: [{candidate, sdp_mid, sdp_mline_index}]} → 200 (unknown pc_id: 404)
 *
 * A first offer builds a `SmallWebRtcPeer`, answers it (every server candidate is in the answer: there
 * is no server → client trickle) and starts an RTVI session on it with the profile `requestData` picks.
 * An offer naming a live `pc_id` renegotiates that connection (`restart_pc: true`: a new peer
 * connection under the same session and `pc_id`). Errors answer `{info}` (what the client shows):
 * 400 for a malformed body, SDP wrtc refuses or an unknown configuration, 401 without the token,
 * 404 for an unknown `pc_id`, 503 when `maxPeers` connections are open.
 *
 * Auth, when a token is configured, is checked before the body is judged: the offer accepts the
 * server token as `Authorization: Bearer` or `?token=`, or in `requestData.token` the one-time token
 * `/connect` issued (the `/connect` answer is JSON, which cannot carry headers for the offer).
 * A PATCH only adds candidates to a connection whose unguessable `pc_id` an authorised offer
 * returned, so the `pc_id` is its credential; a wrong token given anyway is refused.
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { ConfigError, isColloquyError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import { ResumeError } from '../session/resume-handles.ts';
import { SmallWebRtcPeer } from '../transports/small-webrtc/peer.ts';
import { assertSafeOfferSdp } from '../transports/small-webrtc/sdp-guard.ts';
import { SmallWebRtcTransport } from '../transports/small-webrtc/webrtc-transport.ts';
import { zodIssueText } from '../zod-issues.ts';
import { bearerToken, tokenMatches } from './auth.ts';
import type { ClientGate, SessionSlot } from './client-gate.ts';
import {
  type RequestData,
  RequestDataSchema,
  resolveProfile,
  type ServerConfig,
  type SessionProfile,
} from './config.ts';
import type { ConnectTokens } from './connect-tokens.ts';
import { limitResponse, requestClient } from './http-guards.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { createRtviSession, type RtviSession } from './rtvi-session.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import type { ModelCache } from './session-factory.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { ServerResume } from './session-resume.ts';

export const WEBRTC_OFFER_PATH = '/api/offer';

const MAX_SDP_CHARS = 128 * 1024;

const OfferSchema = z.object({
  sdp: z
    .string()
    .min(1)
    .max(MAX_SDP_CHARS)
    .refine((sdp) => sdp.startsWith('v=0') && /\r?\nm=/.test(sdp), {
      message: 'not an SDP (expected "v=0" and at least one "m=" line)',
    }),
  type: z.literal('offer'),
  pc_id: z.string().min(1).max(128).nullish(),
  restart_pc: z.boolean().nullish(),
  requestData: z.record(z.string(), z.unknown()).nullish(),
});

const CandidatesSchema = z.object({
  pc_id: z.string().min(1).max(128),
  candidates: z
    .array(
      z.object({
        candidate: z.string().max(1024),
        sdp_mid: z.string().max(64).nullish(),
        sdp_mline_index: z.number().int().min(0).max(64).nullish(),
      }),
    )
    .max(256),
});

export interface WebRtcRoutesDeps {
  config: ServerConfig;
  logger?: Logger;
  /** Most connections open at once (further offers get 503). Default 32. */
  maxPeers?: number;
  /** ICE servers of the server peer (loopback and LAN need none). */
  iceServers?: RTCIceServer[];
  /** Where the routes live. Default `/api/offer`. */
  path?: string;
  /**
   * The server's one-time connect tokens: `/connect` puts one in `requestData.token` of its WebRTC
   * answer (never the long-lived server token); an offer carrying it is authorised once.
   */
  tokens?: ConnectTokens;
  /** A connection whose `chat` channel does not open within this is dropped. Default 30 000 ms. */
  connectTimeoutMs?: number;
  /** The server's shared model cache (a private one per session otherwise). */
  models?: ModelCache;
  /** Where sessions are listed while live (and their transcripts kept). */
  registry?: SessionRegistry;
  /**
   * Starts the RTVI session on a new transport (the server's `ServerContext.createSession`, so its
   * options apply); `createRtviSession` with `config`, `logger`, `models`, `registry` otherwise.
   */
  createSession?: (transport: RtviTransport, profile: SessionProfile) => RtviSession;
  /** Refuse offers without a grant (a connect hook decides every session). */
  connectRequired?: boolean;
  /**
   * Resume (the server's `ServerContext.resume`): an offer whose one-time token carries a handle
   * redeemed at `/connect` attaches its connection to the waiting session instead of starting one.
   */
  resume?: Pick<ServerResume, 'attach'>;
  /**
   * Per-client admission (the server's `ServerContext.gate`): every offer counts against the client's
   * rate, every new connection against its share of sessions (429 beyond either).
   */
  gate?: ClientGate;
}

export interface WebRtcRoutes {
  readonly path: string;
  /** Connections open (or being answered). */
  readonly size: number;
  /** The live transport of a `pc_id`. */
  get(pcId: string): SmallWebRtcTransport | undefined;
  /** The RTVI session of a `pc_id`. */
  session(pcId: string): RtviSession | undefined;
  /** Ends every session (server shutdown): each client gets `conversation-end`, then `peerLeft`. */
  closeAll(reason?: string): Promise<void>;
}

type OfferBody = z.infer<typeof OfferSchema>;
/** Any Hono app, whatever its bindings and variables. */
type AnyHono = Hono<any, any, any>;

/** Registers `POST` and `PATCH` on `deps.path` (default `/api/offer`). */
export function registerWebRtcRoutes(app: AnyHono, deps: WebRtcRoutesDeps): WebRtcRoutes {
  const path = deps.path ?? WEBRTC_OFFER_PATH;
  const logger = deps.logger ?? consoleLogger;
  const maxPeers = deps.maxPeers ?? deps.config.limits?.maxWebRtcPeers ?? DEFAULT_LIMITS.maxWebRtcPeers;
  const maxBodyBytes = deps.config.limits?.offerBodyBytes ?? DEFAULT_LIMITS.offerBodyBytes;
  const trustProxy = deps.config.trustProxy === true;
  const peers = new Map<string, SmallWebRtcTransport>();
  const sessions = new Map<string, RtviSession>();
  let answering = 0;

  const fail = (c: Context, status: 400 | 401 | 403 | 404 | 413 | 429 | 500 | 503, info: string) =>
    c.json({ info }, status);

  app.use(
    path,
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => fail(c, 413, `Body larger than ${maxBodyBytes} bytes`),
    }),
  );

  app.post(path, async (c) => {
    const client = requestClient(c, trustProxy);
    const json = await readJson(c, maxBodyBytes);
    // Auth comes before any detail about the body: only the token is read from it first.
    const bodyToken = stringOrUndefined(
      (json.ok ? (json.value as { requestData?: { token?: unknown } } | null)?.requestData : undefined)
        ?.token,
    );
    const grant = deps.tokens?.peek(bodyToken);
    // An offer with a one-time token was counted at /connect; any other offer counts here.
    if (deps.gate && !grant) {
      try {
        deps.gate.request(client);
      } catch (err) {
        return limitResponse(c, err);
      }
    }
    const headerToken = presentedToken(c);
    if (!grant && !tokenMatches(headerToken ?? bodyToken, deps.config.authToken)) {
      return fail(c, 401, 'Missing or wrong token');
    }
    if (!json.ok) return fail(c, 400, json.info);
    const parsed = OfferSchema.safeParse(json.value);
    if (!parsed.success) return fail(c, 400, `Invalid offer: ${zodIssueText(parsed.error)}`);
    const offer = parsed.data;
    const { token: _token, ...requestData } = offer.requestData ?? {};
    const existing = offer.pc_id ? peers.get(offer.pc_id) : undefined;
    if (existing && !existing.closed) return renegotiate(c, existing, offer);

    if (peers.size + answering >= maxPeers) {
      c.header('retry-after', '5');
      return fail(c, 503, `Too many connections (${maxPeers}); try again later`);
    }
    let profile: SessionProfile;
    let resuming: { sessionId: string; handle: string } | undefined;
    try {
      // A one-time token from `/connect` carries the profile chosen there (by a connect hook too); it is
      // used up here.
      const redeemed = grant ? deps.tokens?.consume(bodyToken) : undefined;
      if (redeemed) {
        profile = redeemed.profile;
        resuming = redeemed.resume;
      } else if (deps.connectRequired) return fail(c, 403, 'Start the session through a connect path');
      else profile = resolveProfile(deps.config, RequestDataSchema.parse(requestData) as RequestData);
    } catch (err) {
      if (err instanceof ConfigError) return fail(c, 400, err.message);
      if (err instanceof z.ZodError) return fail(c, 400, `Invalid requestData: ${zodIssueText(err)}`);
      throw err;
    }
    if (profile.textOnly)
      return fail(c, 400, 'Invalid requestData: text_only is for the WebSocket transport');

    try {
      assertSafeOfferSdp(offer.sdp); // before any native object exists (the peer checks again)
    } catch (err) {
      return fail(c, 400, `SDP refused: ${errorMessage(err)}`);
    }
    let slot: SessionSlot | undefined;
    try {
      slot = deps.gate?.openSession(client);
    } catch (err) {
      return limitResponse(c, err);
    }
    answering++;
    const peer = new SmallWebRtcPeer({ ...(deps.iceServers ? { iceServers: deps.iceServers } : {}) });
    let answer: Awaited<ReturnType<SmallWebRtcPeer['createAnswer']>>;
    try {
      answer = await peer.createAnswer({ sdp: offer.sdp, type: offer.type });
    } catch (err) {
      answering--;
      slot?.release();
      peer.close();
      return fail(c, 400, `SDP refused: ${errorMessage(err)}`);
    }
    answering--;
    const transport = new SmallWebRtcTransport(peer, {
      logger,
      ...(deps.connectTimeoutMs !== undefined ? { connectTimeoutMs: deps.connectTimeoutMs } : {}),
    });
    peers.set(peer.pcId, transport);
    transport.onDispose(() => {
      slot?.release();
      if (peers.get(peer.pcId) === transport) {
        peers.delete(peer.pcId);
        sessions.delete(peer.pcId);
      }
      logger.info(`webrtc: ${peer.pcId} closed (${peers.size} open)`);
    });
    if (resuming) {
      try {
        if (!deps.resume) throw new ResumeError('resume_gone', 'Resume is off on this server');
        const session = deps.resume.attach(resuming.sessionId, transport, resuming.handle);
        if (!transport.closed) sessions.set(peer.pcId, session);
        logger.info(`session ${resuming.sessionId} resumed (webrtc ${peer.pcId})`);
        return c.json(answer);
      } catch (err) {
        transport.close();
        const error = err instanceof ResumeError ? err : new ResumeError('resume_gone', errorMessage(err));
        return c.json(
          { info: `Cannot resume the session: ${error.message}`, code: error.code },
          error.status,
        );
      }
    }
    try {
      const session = deps.createSession
        ? deps.createSession(transport, profile)
        : createRtviSession({
            transport,
            profile,
            config: deps.config,
            logger,
            ...(deps.models ? { models: deps.models } : {}),
            ...(deps.registry ? { registry: deps.registry } : {}),
          });
      if (!transport.closed) sessions.set(peer.pcId, session);
    } catch (err) {
      transport.close();
      logger.error(`webrtc: session for ${peer.pcId} failed to start: ${errorMessage(err)}`);
      if (err instanceof ConfigError) return fail(c, 400, err.message);
      return fail(c, 500, 'The session could not start');
    }
    logger.info(`webrtc: ${peer.pcId} answered (${peers.size} open)`);
    return c.json(answer);
  });

  app.patch(path, async (c) => {
    const given = presentedToken(c);
    if (given !== undefined && !tokenMatches(given, deps.config.authToken)) {
      return fail(c, 401, 'Wrong token');
    }
    const json = await readJson(c, maxBodyBytes);
    if (!json.ok) return fail(c, 400, json.info);
    const parsed = CandidatesSchema.safeParse(json.value);
    if (!parsed.success) return fail(c, 400, `Invalid candidates: ${zodIssueText(parsed.error)}`);
    const transport = peers.get(parsed.data.pc_id);
    if (!transport || transport.closed) return fail(c, 404, `No peer connection "${parsed.data.pc_id}"`);
    const added = await transport.peer.addIceCandidates(parsed.data.candidates);
    return c.json({ status: 'success', added });
  });

  /** An offer for a live connection: same peer (ICE/track changes) or a new one (`restart_pc`). */
  async function renegotiate(c: Context, transport: SmallWebRtcTransport, offer: OfferBody) {
    const pcId = transport.pcId;
    if (!offer.restart_pc) {
      try {
        return c.json(await transport.peer.createAnswer({ sdp: offer.sdp, type: offer.type }));
      } catch (err) {
        return fail(c, 400, `SDP refused: ${errorMessage(err)}`);
      }
    }
    const peer = new SmallWebRtcPeer({
      pcId,
      ...(deps.iceServers ? { iceServers: deps.iceServers } : {}),
    });
    try {
      const answer = await peer.createAnswer({ sdp: offer.sdp, type: offer.type });
      if (transport.closed) {
        peer.close();
        return fail(c, 404, `No peer connection "${pcId}"`);
      }
      transport.replacePeer(peer);
      logger.info(`webrtc: ${pcId} restarted its peer connection`);
      return c.json(answer);
    } catch (err) {
      peer.close();
      return fail(c, 400, `SDP refused: ${errorMessage(err)}`);
    }
  }

  return {
    path,
    get size() {
      return peers.size + answering;
    },
    get: (pcId) => peers.get(pcId),
    session: (pcId) => sessions.get(pcId),
    async closeAll(reason = 'server_shutdown') {
      await Promise.allSettled([...sessions.values()].map((s) => s.close(reason)));
      const open = [...peers.values()];
      for (const transport of open) transport.close();
      // Each native connection closes after its channels (see closePeerConnection): wait for it.
      await Promise.allSettled(open.map((transport) => transport.released));
    },
  };
}

/**
 * What `POST /connect` answers a SmallWebRTC client: where to send the offer, and the `requestData`
 * to send with it (the offer has no headers of its own, so a token travels in `requestData`).
 */
export function smallWebRtcConnectAnswer(
  endpoint: string,
  requestData?: Record<string, unknown>,
): { webrtcRequestParams: { endpoint: string; requestData?: Record<string, unknown> } } {
  return { webrtcRequestParams: { endpoint, ...(requestData ? { requestData } : {}) } };
}

async function readJson(
  c: Context,
  maxBytes: number,
): Promise<{ ok: true; value: unknown } | { ok: false; info: string }> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    return { ok: false, info: 'Unreadable body' };
  }
  const parsed = parseJsonWithLimits(text, { maxBytes, maxDepth: 16 });
  if (parsed.ok) return parsed;
  return { ok: false, info: parsed.error.kind === 'malformed' ? 'Body must be JSON' : parsed.error.message };
}

/** A token from `Authorization: Bearer …` or `?token=`. */
function presentedToken(c: Context): string | undefined {
  return bearerToken(c.req.header('authorization')) ?? c.req.query('token') ?? undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function errorMessage(err: unknown): string {
  if (isColloquyError(err) || err instanceof Error) return err.message;
  return String(err);
}
