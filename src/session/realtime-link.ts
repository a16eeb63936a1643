/**
 * The provider connection of a realtime session and its lifecycle:
 * - connect, and adopt the newest connection (events of an older or not yet adopted one are dropped);
 * - goAway (Gemini), or the provider's connection cap approaching (OpenAI, `goAwayLeadMs` ahead):
 *   `session.goaway {timeLeft}`, then a reconnect as soon as no response or tool call is running;
 * - an unexpected close: a reconnect. Gemini resumes with the newest resumable handle (`session.resume
 *   {handle}`); OpenAI (no resumption) replays the conversation as text. A refused resumption starts
 *   afresh. Backoff between attempts; three failures in a row are fatal;
 * - fatal provider errors (bad key, no quota, refused setup) fail the session.
 */
import type { ColloquyErrorCode } from '../errors.ts';
import { ProviderError, toColloquyError } from '../errors.ts';
import { RealtimeConnectError } from '../providers/realtime/realtime-socket.ts';
import type {
  RealtimeConnection,
  RealtimeErrorSeverity,
  RealtimeEvent,
  RealtimeModel,
  RealtimeSessionConfig,
} from '../providers/realtime/types.ts';
import type { RealtimeRunnerHost } from './realtime-config.ts';

export interface RealtimeLinkHost {
  readonly session: RealtimeRunnerHost;
  model(): RealtimeModel;
  /** The provider config of the current agent: resumed with a handle, or the conversation replayed. */
  config(history: { resumeHandle: string } | { replay: boolean }): Promise<RealtimeSessionConfig>;
  /** Conversation events of the adopted connection. */
  onEvent(e: Exclude<RealtimeEvent, { type: 'error' | 'closed' | 'goaway' | 'resumption' }>): void;
  /** The adopted connection closed unexpectedly (a reconnect follows). */
  connectionLost(): void;
  activeTurn(): { toolsPending: number; responding: boolean } | undefined;
  /** A reconnect adopted a new connection. */
  reconnected(): void;
  fail(err: unknown, code: ColloquyErrorCode): void;
}

export class RealtimeLink {
  private current: RealtimeConnection | undefined;
  private generation = 0;
  /** The generation whose connection is adopted (events of a connection still being set up are its connect()'s). */
  private adopted = 0;
  private handle: string | undefined;
  private failures = 0;
  private goAwayPending = false;
  private goAwayTimer: ReturnType<typeof setTimeout> | undefined;
  private capTimer: ReturnType<typeof setTimeout> | undefined;
  private pending: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly host: RealtimeLinkHost) {}

  /** The adopted connection. */
  get conn(): RealtimeConnection | undefined {
    return this.current;
  }

  /** The reconnect under way, if any. */
  get reconnecting(): Promise<void> | undefined {
    return this.pending;
  }

  private get h(): RealtimeRunnerHost {
    return this.host.session;
  }

  /** Opens a connection (resumed or replaying the conversation when `withHistory`) and adopts it. */
  async connect(withHistory: boolean): Promise<void> {
    const model = this.host.model();
    const resume = withHistory && model.capabilities.resumption ? this.handle : undefined;
    const config = await this.host.config(resume ? { resumeHandle: resume } : { replay: withHistory });
    const gen = ++this.generation;
    const conn = await model.connect(config, {
      onEvent: (e) => this.onEvent(gen, e),
      signal: this.h.sessionSignal,
      timeoutMs: this.h.realtime.connectTimeoutMs ?? 15_000,
    });
    if (this.closed || gen !== this.generation) {
      conn.close();
      return;
    }
    const old = this.current;
    this.current = conn;
    this.adopted = gen;
    old?.close();
    this.failures = 0;
    this.goAwayPending = false;
    this.armCap();
    if (config.resumeHandle)
      this.h.bus.publish('session.resume', { sessionId: this.h.sessionId, handle: config.resumeHandle });
  }

  /** Reconnects with backoff; three failed attempts in a row are fatal. */
  reconnect(): Promise<void> {
    this.pending ??= this.reconnectLoop().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Another model: its connections start afresh (no handle of the old one applies). */
  forgetHandle(): void {
    this.handle = undefined;
  }

  /** Nothing runs: a pending goAway reconnects now. */
  onIdle(): void {
    if (this.goAwayPending) this.reconnectAfterGoAway(false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    if (this.capTimer) clearTimeout(this.capTimer);
    this.generation++;
    this.current?.close();
    this.current = undefined;
  }

  private onEvent(gen: number, e: RealtimeEvent): void {
    if (gen !== this.generation || gen !== this.adopted || this.closed) return;
    switch (e.type) {
      case 'error':
        this.onProviderError(e.error, e.severity);
        return;
      case 'closed':
        if (e.expected) return;
        this.host.connectionLost();
        void this.reconnect();
        return;
      case 'goaway':
        this.onGoAway(e.timeLeftMs);
        return;
      case 'resumption':
        this.handle = e.handle;
        return;
      default:
        this.host.onEvent(e);
    }
  }

  private onProviderError(error: ProviderError, severity: RealtimeErrorSeverity): void {
    if (severity === 'fatal') {
      this.host.fail(error, error.code);
      return;
    }
    // A close is reported as an error, then `closed` reconnects: say it once, as a warning.
    this.h.reportError(
      'realtime',
      error,
      severity === 'harmless' || error.code === 'realtime_closed' ? 'warn' : 'error',
    );
  }

  private onGoAway(timeLeftMs: number): void {
    this.h.bus.publish('session.goaway', { sessionId: this.h.sessionId, timeLeft: timeLeftMs });
    this.goAwayPending = true;
    // Reconnect at the next quiet moment; past the deadline, at once unless a tool call is open.
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    this.goAwayTimer = setTimeout(() => this.reconnectAfterGoAway(true), Math.max(0, timeLeftMs - 2000));
    this.goAwayTimer.unref?.();
    this.reconnectAfterGoAway(false);
  }

  private reconnectAfterGoAway(deadline: boolean): void {
    if (!this.goAwayPending || this.pending || this.closed) return;
    const turn = this.host.activeTurn();
    if (turn && turn.toolsPending > 0) return; // never mid tool call: its result goes to this connection
    if (turn?.responding && !deadline) return;
    void this.reconnect();
  }

  private armCap(): void {
    if (this.capTimer) clearTimeout(this.capTimer);
    const cap = this.h.realtime.maxConnectionMs ?? this.host.model().capabilities.maxConnectionMs;
    if (cap === undefined) return;
    const lead = Math.min(this.h.realtime.goAwayLeadMs ?? 60_000, cap);
    this.capTimer = setTimeout(() => this.onGoAway(lead), cap - lead);
    this.capTimer.unref?.();
  }

  private async reconnectLoop(): Promise<void> {
    if (this.h.state() === 'active') this.h.transition('reconnecting');
    const r = this.h.realtime.reconnect ?? {};
    const maxFailures = r.maxFailures ?? 3;
    while (!this.closed) {
      try {
        await this.connect(true);
        if (this.h.state() === 'reconnecting') this.h.transition('active');
        this.host.reconnected();
        return;
      } catch (err) {
        const error = toColloquyError(err, 'realtime_reconnect_failed');
        if (this.handle && !(err instanceof RealtimeConnectError)) {
          // The provider refused the resumption (an expired or unknown handle): start afresh with the history.
          this.h.reportError(
            'realtime',
            new ProviderError('realtime_resume_rejected', `Resumption refused: ${error.message}`, {
              cause: err,
            }),
            'warn',
          );
          this.handle = undefined;
        }
        const fatal = err instanceof RealtimeConnectError && err.severity === 'fatal';
        if (fatal || ++this.failures >= maxFailures) {
          this.host.fail(
            new ProviderError(
              'realtime_reconnect_failed',
              `Could not reconnect to ${this.host.model().provider} (${this.failures} attempts): ${error.message}`,
              { cause: err },
            ),
            'realtime_reconnect_failed',
          );
          return;
        }
        this.h.reportError('realtime', error, 'warn');
        const delay = Math.min(r.maxDelayMs ?? 4000, (r.initialDelayMs ?? 250) * 2 ** (this.failures - 1));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
