/**
 * One-time connection tokens: `POST /connect` picks the session profile and issues a token that the
 * transport endpoint (`GET /ws?token=…`, the SmallWebRTC offer) redeems. With `COLLOQUY_AUTH_TOKEN`
 * set, a valid token is the only way in; without it a token still carries the chosen profile.
 */
import { randomBytes } from 'node:crypto';
import type { RequestData, SessionProfile } from './config.ts';

export interface ConnectGrant {
  profile: SessionProfile;
  requestData: RequestData;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
  /** The connection resumes this session (its handle was redeemed at `/connect`). */
  resume?: { sessionId: string; handle: string };
}

/**
 * One-time tokens a connect path issues and a transport redeems (`GET /ws?token=…`).
 *
 * @example
 * ```ts
 * import { ConnectTokens, type SessionProfile } from 'colloquy/server';
 *
 * const tokens = new ConnectTokens(30_000); // redeemable for 30 s
 * const profile: SessionProfile = {
 *   mode: 'agent',
 *   models: { llm: 'openai:gpt-4.1-mini', stt: 'openai:whisper-1', tts: 'espeak', vad: 'silero' },
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   tools: [],
 * };
 * const token = tokens.issue(profile, { user_id: 'user-7' });
 * const grant = tokens.consume(token); // the grant, once; undefined when used or expired
 * ```
 */
export class ConnectTokens {
  private readonly grants = new Map<string, ConnectGrant>();

  /**
   * @param ttlMs how long a token stays redeemable (default 60 s)
   * @param maxTokens most outstanding tokens (the oldest are dropped first)
   */
  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxTokens = 10_000,
  ) {}

  issue(profile: SessionProfile, requestData: RequestData, resume?: ConnectGrant['resume']): string {
    this.sweep();
    const token = randomBytes(24).toString('base64url');
    this.grants.set(token, {
      profile,
      requestData,
      expiresAt: Date.now() + this.ttlMs,
      ...(resume ? { resume } : {}),
    });
    while (this.grants.size > this.maxTokens) {
      this.grants.delete(this.grants.keys().next().value as string);
    }
    return token;
  }

  /** The grant of a live token, without redeeming it (e.g. SmallWebRTC's PATCH requests). */
  peek(token: string | null | undefined): ConnectGrant | undefined {
    if (!token) return undefined;
    const grant = this.grants.get(token);
    if (!grant) return undefined;
    if (grant.expiresAt < Date.now()) {
      this.grants.delete(token);
      return undefined;
    }
    return grant;
  }

  /** Redeems a token: its grant, once; `undefined` for unknown, used or expired tokens. */
  consume(token: string | null | undefined): ConnectGrant | undefined {
    const grant = this.peek(token);
    if (grant) this.grants.delete(token as string);
    return grant;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, grant] of this.grants) if (grant.expiresAt < now) this.grants.delete(token);
  }
}
