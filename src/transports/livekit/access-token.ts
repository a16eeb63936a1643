/**
 * LiveKit access tokens: JWTs signed with HMAC-SHA256 (`HS256`) by an API secret, issued by an API
 * key (`iss`), naming the participant (`sub`, `name`) and its grants (`video`). The same format
 * LiveKit's server SDKs produce, so a token minted there with the same key and secret is accepted
 * here and the other way round. Built on `node:crypto` only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TransportError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';

/** The `video` grant: what the participant may do in which room. */
export interface LiveKitVideoGrant {
  roomJoin?: boolean;
  room?: string;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  [key: string]: unknown;
}

/** The claims a LiveKit token carries (only the ones Colloquy reads are typed). */
export interface LiveKitClaims {
  iss: string;
  sub: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  video: LiveKitVideoGrant;
  /** Seconds since the epoch. */
  exp: number;
  nbf?: number;
  jti?: string;
  [key: string]: unknown;
}

export interface LiveKitKeys {
  apiKey: string;
  apiSecret: string;
}

export interface MintTokenOptions {
  identity: string;
  name?: string;
  room: string;
  /** Lifetime, default 10 minutes. */
  ttlMs?: number;
  metadata?: string;
  /** Defaults: join `room`, publish, subscribe and publish data. */
  grant?: Partial<LiveKitVideoGrant>;
  /** "Now" for tests, ms since the epoch. */
  nowMs?: number;
}

/** Why a token was refused (`TransportError.code`). */
export type TokenRefusal =
  | 'token_missing'
  | 'token_malformed'
  | 'token_bad_signature'
  | 'token_wrong_issuer'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_no_room_join';

/** Largest token accepted (a LiveKit token is well under 2 KiB). */
export const MAX_TOKEN_CHARS = 8192;
/** Clock skew tolerated on `exp` / `nbf`. */
const LEEWAY_S = 10;

export class LiveKitTokenError extends TransportError {
  constructor(code: TokenRefusal, message: string) {
    super(code, message);
  }
}

/**
 * Signs a LiveKit access token.
 *
 * @example
 * ```ts
 * import { mintLiveKitToken } from 'colloquy/livekit';
 *
 * // a LiveKit access token for the browser's `room.connect(url, token)`
 * const token = mintLiveKitToken(
 *   { apiKey: process.env.COLLOQUY_LIVEKIT_API_KEY ?? '', apiSecret: process.env.COLLOQUY_LIVEKIT_API_SECRET ?? '' },
 *   { identity: 'user-7', name: 'Ada', room: 'support-42', ttlMs: 10 * 60_000 },
 * );
 * ```
 */
export function mintLiveKitToken(keys: LiveKitKeys, options: MintTokenOptions): string {
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims: LiveKitClaims = {
    video: {
      roomJoin: true,
      room: options.room,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      ...options.grant,
    },
    iss: keys.apiKey,
    sub: options.identity,
    jti: options.identity,
    nbf: now,
    exp: now + Math.max(1, Math.round((options.ttlMs ?? 600_000) / 1000)),
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  };
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  return `${head}.${body}.${sign(keys.apiSecret, `${head}.${body}`)}`;
}

/**
 * Checks a token's signature, issuer, lifetime and room-join grant; returns its claims. Throws
 * `LiveKitTokenError` with a `TokenRefusal` code otherwise.
 */
export function verifyLiveKitToken(
  token: string | null | undefined,
  keys: LiveKitKeys,
  nowMs = Date.now(),
): LiveKitClaims {
  if (!token) throw new LiveKitTokenError('token_missing', 'No access token');
  if (token.length > MAX_TOKEN_CHARS) throw new LiveKitTokenError('token_malformed', 'Access token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new LiveKitTokenError('token_malformed', 'Access token is not a JWT');
  const [head, body, signature] = parts;
  const header = parseJson(head);
  if (header?.alg !== 'HS256') {
    throw new LiveKitTokenError('token_malformed', 'Access token must be signed with HS256');
  }
  const expected = Buffer.from(sign(keys.apiSecret, `${head}.${body}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new LiveKitTokenError('token_bad_signature', 'Access token signature does not match');
  }
  const claims = parseJson(body);
  if (!claims || typeof claims !== 'object') {
    throw new LiveKitTokenError('token_malformed', 'Access token claims are not an object');
  }
  if (claims.iss !== keys.apiKey) {
    throw new LiveKitTokenError('token_wrong_issuer', 'Access token was issued for another API key');
  }
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + LEEWAY_S < now) {
    throw new LiveKitTokenError('token_expired', 'Access token expired');
  }
  if (typeof claims.nbf === 'number' && claims.nbf - LEEWAY_S > now) {
    throw new LiveKitTokenError('token_not_yet_valid', 'Access token is not valid yet');
  }
  const video = claims.video as LiveKitVideoGrant | undefined;
  if (
    !video ||
    typeof video !== 'object' ||
    video.roomJoin !== true ||
    typeof video.room !== 'string' ||
    !video.room
  ) {
    throw new LiveKitTokenError('token_no_room_join', 'Access token does not grant joining a room');
  }
  if (typeof claims.sub !== 'string' || !claims.sub || claims.sub.length > 256) {
    throw new LiveKitTokenError('token_malformed', 'Access token has no participant identity (sub)');
  }
  if (claims.name !== undefined && typeof claims.name !== 'string') {
    throw new LiveKitTokenError('token_malformed', 'Access token name must be a string');
  }
  return claims as LiveKitClaims;
}

function sign(secret: string, input: string): string {
  return createHmac('sha256', secret).update(input).digest('base64url');
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function parseJson(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  // JWT header and claims are small, shallow objects (a `video` grant, a few `metadata` strings).
  const parsed = parseJsonWithLimits(Buffer.from(part, 'base64url').toString('utf8'), {
    maxBytes: 16 * 1024,
    maxDepth: 8,
  });
  const value = parsed.ok ? parsed.value : undefined;
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
