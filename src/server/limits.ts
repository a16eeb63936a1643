/**
 * The server's limits, in one typed section with safe defaults: body and message sizes, JSON depth,
 * queue lengths, sessions (in all and per client) and per-client request rates. docs/security.md
 * lists every one with its environment variable.
 *
 * Layers, later wins: the defaults, the config file's `limits`, the environment (`COLLOQUY_…`), then
 * `startServer({limits})`. The result is validated at start: a bad value is a `ConfigError`
 * (`invalid_limits`) naming it, never a silent fallback.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

const KIB = 1024;
const MIB = 1024 * KIB;

const bytes = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * Every limit with its bounds (what a deployment may set).
 *
 * @example
 * ```ts
 * import { LimitsSchema } from 'colloquy/server';
 *
 * const result = LimitsSchema.partial().safeParse({ maxSessions: 500, wsMessageBytes: 1024 });
 * if (!result.success) console.error(result.error.issues); // wsMessageBytes is below its minimum
 * ```
 */
export const LimitsSchema = z
  .object({
    /** Largest request body on routes without their own limit (413 beyond). */
    maxBodyBytes: bytes(KIB, 64 * MIB),
    /** Largest `POST /connect` body (the client's requestData). */
    connectBodyBytes: bytes(KIB, 16 * MIB),
    /** Largest `POST`/`PATCH /api/offer` body (SDP offer, ICE candidates). */
    offerBodyBytes: bytes(16 * KIB, 16 * MIB),
    /** Largest WebSocket message on `/ws` (the socket is closed with 1009 beyond). */
    wsMessageBytes: bytes(64 * KIB, 64 * MIB),
    /** Largest RTVI client message (JSON text or value). */
    rtviMessageBytes: bytes(KIB, 16 * MIB),
    /** Deepest RTVI client message (the envelope is level 1). */
    rtviJsonDepth: z.number().int().min(4).max(256),
    /** RTVI client messages one session may send per second, after a burst of twice as many (dropped beyond). */
    rtviMessagesPerSecond: z.number().int().min(1).max(100_000),
    /** Bytes of RTVI client messages one session may send per second, after a burst of one largest message. */
    rtviBytesPerSecond: bytes(KIB, 64 * MIB),
    /** Bytes per second one `/ws` client may send, after a burst of `wsMessageBytes`; beyond, its socket is read slower. */
    wsBytesPerSecond: bytes(64 * KIB, 256 * MIB),
    /** Frames per second one `/ws` client may send, after a burst of twice as many (mic audio is 50); beyond, read slower. */
    wsFramesPerSecond: z.number().int().min(60).max(100_000),
    /** How many times faster than real time a session's mic audio may arrive, after a 15 s burst (dropped beyond). */
    micAudioSpeed: z.number().int().min(1).max(100),
    /** Stream-mode `tts-speak` texts queued or speaking, per session. */
    ttsSpeakQueue: z.number().int().min(1).max(1000),
    /** Bot audio queued on one `/ws` socket beyond which audio frames are dropped (slow reader). */
    wsAudioBufferBytes: bytes(16 * KIB, 64 * MIB),
    /** Anything queued on one `/ws` or LiveKit `/rtc/v1` socket beyond which the socket is closed (client stopped reading). */
    wsCloseBufferBytes: bytes(64 * KIB, 256 * MIB),
    /** LiveKit signal messages one room's client may send per second, after a burst of twice as many (dropped beyond). */
    liveKitSignalMessagesPerSecond: z.number().int().min(5).max(100_000),
    /** Bytes of LiveKit signal messages one room's client may send per second, after a burst of one largest message (1 MiB). */
    liveKitSignalBytesPerSecond: bytes(16 * KIB, 64 * MIB),
    /** Agent data queued on one LiveKit data channel beyond which data packets for the page are dropped (it stopped reading). */
    liveKitDataBufferBytes: bytes(16 * KIB, 16 * MIB),
    /** Live sessions on the server, over every transport (503 beyond). */
    maxSessions: z.number().int().min(1).max(100_000),
    /** Live sessions one client address may hold (429 beyond). */
    maxSessionsPerClient: z.number().int().min(1).max(100_000),
    /** Session starts (connect, offer, WebSocket upgrade) one client address may make per minute (429 beyond). */
    connectsPerMinute: z.number().int().min(1).max(1_000_000),
    /** How many session starts a client address may make at once before the per-minute rate applies. */
    connectBurst: z.number().int().min(1).max(1_000_000),
    /** SmallWebRTC connections open at once (503 beyond). */
    maxWebRtcPeers: z.number().int().min(1).max(10_000),
    /** How long a connected client may take to send `client-ready`. */
    readyTimeoutMs: z.number().int().min(100).max(600_000),
  })
  .strict();

export type ServerLimits = z.infer<typeof LimitsSchema>;
/** Some limits, the rest default. */
export type LimitsInput = Partial<ServerLimits>;

/**
 * The config file's `limits` section (any subset).
 *
 * @example
 * ```ts
 * import { LimitsFileSchema } from 'colloquy/server';
 *
 * const limits = LimitsFileSchema.parse({ maxSessions: 200, maxSessionsPerClient: 4 });
 * ```
 */
export const LimitsFileSchema = LimitsSchema.partial();

/**
 * @example
 * ```ts
 * import { DEFAULT_LIMITS, loadServerConfig, startServer } from 'colloquy/server';
 *
 * // twice the default session cap, everything else as shipped
 * const server = await startServer({ config: loadServerConfig(), limits: { maxSessions: DEFAULT_LIMITS.maxSessions * 2 } });
 * ```
 */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBodyBytes: MIB,
  connectBodyBytes: 64 * KIB,
  offerBodyBytes: 256 * KIB,
  wsMessageBytes: 4 * MIB,
  rtviMessageBytes: MIB,
  rtviJsonDepth: 32,
  rtviMessagesPerSecond: 50,
  rtviBytesPerSecond: 256 * KIB,
  wsBytesPerSecond: MIB,
  wsFramesPerSecond: 200,
  micAudioSpeed: 2,
  ttsSpeakQueue: 8,
  wsAudioBufferBytes: MIB,
  wsCloseBufferBytes: 8 * MIB,
  liveKitSignalMessagesPerSecond: 50,
  liveKitSignalBytesPerSecond: 256 * KIB,
  liveKitDataBufferBytes: MIB,
  maxSessions: 100,
  maxSessionsPerClient: 10,
  connectsPerMinute: 120,
  connectBurst: 40,
  maxWebRtcPeers: 32,
  readyTimeoutMs: 30_000,
});

/**
 * The environment variable of each limit.
 *
 * @example
 * ```ts
 * import { LIMIT_ENV } from 'colloquy/server';
 *
 * console.log(LIMIT_ENV.maxSessions); // COLLOQUY_MAX_SESSIONS
 * for (const [limit, variable] of Object.entries(LIMIT_ENV)) console.log(`${variable} sets ${limit}`);
 * ```
 */
export const LIMIT_ENV: Readonly<Record<keyof ServerLimits, string>> = Object.freeze({
  maxBodyBytes: 'COLLOQUY_MAX_BODY_BYTES',
  connectBodyBytes: 'COLLOQUY_CONNECT_BODY_BYTES',
  offerBodyBytes: 'COLLOQUY_OFFER_BODY_BYTES',
  wsMessageBytes: 'COLLOQUY_WS_MESSAGE_BYTES',
  rtviMessageBytes: 'COLLOQUY_RTVI_MESSAGE_BYTES',
  rtviJsonDepth: 'COLLOQUY_RTVI_JSON_DEPTH',
  rtviMessagesPerSecond: 'COLLOQUY_RTVI_MESSAGES_PER_SECOND',
  rtviBytesPerSecond: 'COLLOQUY_RTVI_BYTES_PER_SECOND',
  wsBytesPerSecond: 'COLLOQUY_WS_BYTES_PER_SECOND',
  wsFramesPerSecond: 'COLLOQUY_WS_FRAMES_PER_SECOND',
  micAudioSpeed: 'COLLOQUY_MIC_AUDIO_SPEED',
  ttsSpeakQueue: 'COLLOQUY_TTS_SPEAK_QUEUE',
  wsAudioBufferBytes: 'COLLOQUY_WS_AUDIO_BUFFER_BYTES',
  wsCloseBufferBytes: 'COLLOQUY_WS_CLOSE_BUFFER_BYTES',
  liveKitSignalMessagesPerSecond: 'COLLOQUY_LIVEKIT_SIGNAL_MESSAGES_PER_SECOND',
  liveKitSignalBytesPerSecond: 'COLLOQUY_LIVEKIT_SIGNAL_BYTES_PER_SECOND',
  liveKitDataBufferBytes: 'COLLOQUY_LIVEKIT_DATA_BUFFER_BYTES',
  maxSessions: 'COLLOQUY_MAX_SESSIONS',
  maxSessionsPerClient: 'COLLOQUY_MAX_SESSIONS_PER_CLIENT',
  connectsPerMinute: 'COLLOQUY_CONNECTS_PER_MINUTE',
  connectBurst: 'COLLOQUY_CONNECT_BURST',
  maxWebRtcPeers: 'COLLOQUY_MAX_WEBRTC_PEERS',
  readyTimeoutMs: 'COLLOQUY_READY_TIMEOUT_MS',
});

/**
 * The limits set in the environment (only those present; values are checked by `resolveLimits`).
 *
 * @example
 * ```ts
 * import { limitsFromEnv, resolveLimits } from 'colloquy/server';
 *
 * const fromEnv = limitsFromEnv({ COLLOQUY_MAX_SESSIONS: '250' }); // { maxSessions: 250 }
 * const limits = resolveLimits({ maxSessionsPerClient: 4 }, fromEnv);
 * ```
 */
export function limitsFromEnv(env: Record<string, string | undefined>): LimitsInput {
  const out: Record<string, number> = {};
  for (const [key, name] of Object.entries(LIMIT_ENV)) {
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value)) {
      throw new ConfigError('invalid_limits', `${name} must be a whole number, got "${text}"`);
    }
    out[key] = value;
  }
  return out as LimitsInput;
}

/**
 * Defaults overlaid with each layer in turn (later wins), then validated: every value within its
 * bounds, and the pairs that must agree do. Throws `ConfigError('invalid_limits')`.
 *
 * @example
 * ```ts
 * import { limitsFromEnv, resolveLimits } from 'colloquy/server';
 *
 * // defaults, then the config file's section, then the environment: later layers win
 * const limits = resolveLimits({ maxSessions: 100 }, limitsFromEnv(process.env));
 * console.log(limits.maxSessions, limits.wsMessageBytes);
 * ```
 */
export function resolveLimits(...layers: Array<LimitsInput | undefined>): ServerLimits {
  const merged: Record<string, unknown> = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) if (value !== undefined) merged[key] = value;
  }
  const parsed = LimitsSchema.safeParse(merged);
  if (!parsed.success) {
    const text = parsed.error.issues
      .map((i) => {
        const key = String(i.path[0] ?? '');
        const env = LIMIT_ENV[key as keyof ServerLimits];
        return `limits.${key}${env ? ` (${env})` : ''}: ${i.message}`;
      })
      .join('; ');
    throw new ConfigError('invalid_limits', text);
  }
  const limits = parsed.data;
  // Audio is dropped for a slow reader before the socket is closed for one that stopped reading.
  if (limits.wsAudioBufferBytes >= limits.wsCloseBufferBytes) {
    throw new ConfigError(
      'invalid_limits',
      `limits.wsAudioBufferBytes (${limits.wsAudioBufferBytes}) must be below limits.wsCloseBufferBytes (${limits.wsCloseBufferBytes})`,
    );
  }
  return limits;
}
