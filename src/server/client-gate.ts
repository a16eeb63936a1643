/**
 * Per-client admission: how often one client address may start sessions (a token bucket:
 * `connectBurst` at once, then `connectsPerMinute`), and how many live sessions it may hold
 * (`maxSessionsPerClient`). Both answer with a `ClientLimitError` (HTTP 429 with `Retry-After`), so
 * one client cannot use up the server's sessions or its CPU for everyone else.
 *
 * Memory is bounded: at most `maxTrackedClients` buckets are kept, least recently seen dropped
 * first (a dropped client starts again with a full bucket); session counts exist only while a
 * client has live sessions.
 */
import { ColloquyError } from '../errors.ts';
import type { ServerLimits } from './limits.ts';

export type ClientLimitCode = 'rate_limited' | 'too_many_sessions';

/**
 * A client went over its request rate or its share of sessions; `status` is 429.
 *
 * @example
 * ```ts
 * import { ClientGate, ClientLimitError } from 'colloquy/server';
 *
 * const gate = new ClientGate({ connectsPerMinute: 60, connectBurst: 10, maxSessionsPerClient: 2 });
 * function admit(client: string): Response | undefined {
 *   try {
 *     gate.request(client);
 *     return undefined;
 *   } catch (err) {
 *     if (!(err instanceof ClientLimitError)) throw err;
 *     return new Response(err.message, { status: err.status, headers: { 'Retry-After': String(err.retryAfterSeconds) } });
 *   }
 * }
 * ```
 */
export class ClientLimitError extends ColloquyError {
  declare readonly code: ClientLimitCode;
  readonly status = 429 as const;
  /** Seconds after which trying again may succeed. */
  readonly retryAfterSeconds: number;
  constructor(code: ClientLimitCode, message: string, retryAfterSeconds: number) {
    super(code, message, { retryable: true, details: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type GateLimits = Pick<ServerLimits, 'connectsPerMinute' | 'connectBurst' | 'maxSessionsPerClient'>;

/** A reserved session place of one client; `release()` gives it back (idempotent). */
export interface SessionSlot {
  release(): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-client admission: a token bucket on session starts and a cap on live sessions per address.
 *
 * @example
 * ```ts
 * import { ClientGate, ClientLimitError, DEFAULT_LIMITS } from 'colloquy/server';
 *
 * const gate = new ClientGate({ connectsPerMinute: 30, connectBurst: 5, maxSessionsPerClient: DEFAULT_LIMITS.maxSessionsPerClient });
 * function startSession(clientAddress: string): () => void {
 *   gate.request(clientAddress); // throws ClientLimitError (rate_limited) over the rate
 *   const slot = gate.openSession(clientAddress); // throws ClientLimitError (too_many_sessions)
 *   return () => slot.release();
 * }
 * ```
 */
export class ClientGate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sessions = new Map<string, number>();
  private readonly perMs: number;

  constructor(
    private readonly limits: GateLimits,
    private readonly now: () => number = Date.now,
    private readonly maxTrackedClients = 10_000,
  ) {
    this.perMs = limits.connectsPerMinute / 60_000;
  }

  /** Live sessions of `client`. */
  sessionsOf(client: string): number {
    return this.sessions.get(client) ?? 0;
  }

  /** Counts one session start (connect, offer, upgrade) of `client`; throws `ClientLimitError` over the rate. */
  request(client: string): void {
    const now = this.now();
    const bucket = this.buckets.get(client);
    let tokens = this.limits.connectBurst;
    if (bucket) {
      tokens = Math.min(this.limits.connectBurst, bucket.tokens + (now - bucket.at) * this.perMs);
      this.buckets.delete(client); // re-inserted below: the map stays in least-recently-seen order
    }
    if (tokens < 1) {
      this.buckets.set(client, { tokens, at: now });
      const waitS = Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
      throw new ClientLimitError(
        'rate_limited',
        `Too many session starts from your address (${this.limits.connectsPerMinute} per minute); try again in ${waitS} s`,
        waitS,
      );
    }
    this.buckets.set(client, { tokens: tokens - 1, at: now });
    while (this.buckets.size > this.maxTrackedClients) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }

  /** Reserves one live session of `client`; throws `ClientLimitError` when it holds its share already. */
  openSession(client: string): SessionSlot {
    const held = this.sessionsOf(client);
    if (held >= this.limits.maxSessionsPerClient) {
      throw new ClientLimitError(
        'too_many_sessions',
        `Too many sessions from your address (${this.limits.maxSessionsPerClient}); end one first`,
        5,
      );
    }
    this.sessions.set(client, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = this.sessionsOf(client) - 1;
        if (left > 0) this.sessions.set(client, left);
        else this.sessions.delete(client);
      },
    };
  }
}
