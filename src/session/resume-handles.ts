/**
 * Resume handles: an opaque, unguessable (256 random bits), expiring secret bound to one session and
 * its user, handed to the client so it can reconnect to the same session. A handle works once: it is
 * consumed when redeemed (a new one comes with the next `bot-ready`), and only the latest handle of a
 * session works. Only a hash of each handle is kept.
 *
 * Refusals are `ResumeError`s with a stable code: `resume_unknown` (never issued: forged or from
 * another server), `resume_used` (replayed, or the other client of a race won), `resume_expired`,
 * `resume_foreign` (another user's handle).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ColloquyError } from '../errors.ts';

export type ResumeErrorCode =
  | 'resume_unknown'
  | 'resume_used'
  | 'resume_expired'
  | 'resume_foreign'
  | 'resume_gone';

export class ResumeError extends ColloquyError {
  declare readonly code: ResumeErrorCode;
  constructor(code: ResumeErrorCode, message: string) {
    super(code, message);
  }

  /** The HTTP status that answers this refusal. */
  get status(): 400 | 403 | 404 | 409 | 410 {
    switch (this.code) {
      case 'resume_unknown':
        return 404;
      case 'resume_used':
        return 409;
      case 'resume_expired':
      case 'resume_gone':
        return 410;
      case 'resume_foreign':
        return 403;
      default:
        return 400;
    }
  }
}

interface Entry {
  sessionId: string;
  userId: string;
  expiresAt: number;
}

export const hashHandle = (handle: string): string => createHash('sha256').update(handle).digest('base64url');

export class ResumeHandles {
  private readonly live = new Map<string, Entry>();
  private readonly latest = new Map<string, string>();
  /** Hashes of recently used or superseded handles (bounded), to tell a replay from a forgery. */
  private readonly spent = new Map<string, 'resume_used' | 'resume_gone' | 'resume_expired'>();

  /**
   * @param maxHandles most live handles (the oldest are dropped first)
   * @param now clock
   */
  constructor(
    private readonly maxHandles = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Told of every handle issued (by hash), e.g. to say in a cluster's directory where its session runs. */
  onIssue: ((sessionId: string, handleHash: string, expiresAt: number) => void) | undefined;

  /** A new handle for the session, valid `ttlMs`; the session's previous handle stops working. */
  issue(sessionId: string, userId: string, ttlMs: number): { handle: string; expiresAt: number } {
    const previous = this.latest.get(sessionId);
    if (previous) this.drop(previous, 'resume_used');
    const handle = randomBytes(32).toString('base64url');
    const hash = hashHandle(handle);
    const expiresAt = this.now() + ttlMs;
    this.live.set(hash, { sessionId, userId, expiresAt });
    this.latest.set(sessionId, hash);
    this.onIssue?.(sessionId, hash, expiresAt);
    while (this.live.size > this.maxHandles) {
      const oldest = this.live.keys().next().value as string;
      this.drop(oldest, 'resume_expired');
    }
    return { handle, expiresAt };
  }

  /**
   * The session's live handle, by hash (the handle itself is never kept): what a snapshot stores so
   * that a restarted server can honour it.
   */
  current(sessionId: string): { handleHash: string; userId: string; expiresAt: number } | undefined {
    const hash = this.latest.get(sessionId);
    const entry = hash ? this.live.get(hash) : undefined;
    return hash && entry ? { handleHash: hash, userId: entry.userId, expiresAt: entry.expiresAt } : undefined;
  }

  /**
   * Honour a handle issued before (by a server that stopped), known by its hash from a stored
   * snapshot. An already expired one is not taken.
   */
  adopt(handleHash: string, sessionId: string, userId: string, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    const previous = this.latest.get(sessionId);
    if (previous && previous !== handleHash) this.drop(previous, 'resume_used');
    this.live.set(handleHash, { sessionId, userId, expiresAt });
    this.latest.set(sessionId, handleHash);
  }

  /** Consume a handle. `userId`, when the client names one, must be the session's. Throws `ResumeError`. */
  redeem(handle: string, userId?: string): { sessionId: string; userId: string } {
    const hash = hashHandle(handle);
    const entry = this.live.get(hash);
    if (!entry) {
      const spent = this.spent.get(hash);
      if (spent === 'resume_used') {
        throw new ResumeError(
          'resume_used',
          'This resume handle was already used (or replaced by a newer one)',
        );
      }
      if (spent === 'resume_gone') throw new ResumeError('resume_gone', 'The session has ended');
      if (spent === 'resume_expired')
        throw new ResumeError('resume_expired', 'The resume handle has expired');
      throw new ResumeError('resume_unknown', 'Unknown resume handle');
    }
    if (entry.expiresAt <= this.now()) {
      this.drop(hash, 'resume_expired');
      throw new ResumeError('resume_expired', 'The resume handle has expired');
    }
    if (userId !== undefined && userId !== entry.userId) {
      throw new ResumeError('resume_foreign', 'This resume handle belongs to another user');
    }
    this.drop(hash, 'resume_used');
    return { sessionId: entry.sessionId, userId: entry.userId };
  }

  /** The session ended: its handle stops working. */
  revoke(sessionId: string): void {
    const hash = this.latest.get(sessionId);
    if (hash) this.drop(hash, 'resume_gone');
  }

  private drop(hash: string, why: 'resume_used' | 'resume_gone' | 'resume_expired'): void {
    const entry = this.live.get(hash);
    this.live.delete(hash);
    if (entry && this.latest.get(entry.sessionId) === hash) this.latest.delete(entry.sessionId);
    this.spent.set(hash, why);
    while (this.spent.size > this.maxHandles) this.spent.delete(this.spent.keys().next().value as string);
  }
}
