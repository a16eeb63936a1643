/**
 * What both realtime connections do the same way: hold the socket, send JSON while open, hand every
 * event to the listener (a listener's exception never reaches the socket), turn parse failures into
 * harmless `error` events, and report the close with its code.
 */
import type WebSocket from 'ws';
import { ProviderError } from '../../errors.ts';
import { parseServerMessage } from './realtime-socket.ts';
import type { RealtimeErrorSeverity, RealtimeEvent } from './types.ts';

/**
 * Most characters of one transcript a connection accumulates (one user utterance, one model turn):
 * about half an hour of speech. The provider's text past it is dropped, so a session that never
 * ends a turn cannot grow memory without bound.
 */
export const MAX_TRANSCRIPT_CHARS = 20_000;

/** `text + more`, cut at `MAX_TRANSCRIPT_CHARS`. */
export function appendCapped(text: string, more: string): string {
  if (text.length >= MAX_TRANSCRIPT_CHARS) return text;
  return text.length + more.length <= MAX_TRANSCRIPT_CHARS
    ? text + more
    : text + more.slice(0, MAX_TRANSCRIPT_CHARS - text.length);
}

/** What a model is told for `say(text)`: speak the text, word for word, and nothing else. */
export function sayInstructions(text: string): string {
  return `Say exactly the following to the user, word for word, and nothing else:\n${text}`;
}

export abstract class BaseRealtimeConnection {
  private closing = false;
  private closedReported = false;
  /** Resolves the pending `awaitSetup` (set while the setup is unacknowledged). */
  private setupDone: (() => void) | undefined;

  constructor(
    protected readonly ws: WebSocket,
    private readonly onEvent: (event: RealtimeEvent) => void,
  ) {
    ws.on('message', (data, isBinary) => {
      const parsed = parseServerMessage(data, isBinary);
      if (!parsed.ok) {
        this.emit({ type: 'error', error: parsed.error, severity: 'harmless' });
        return;
      }
      try {
        this.handle(parsed.value);
      } catch (cause) {
        this.emit({
          type: 'error',
          error: new ProviderError('realtime_bad_message', 'A provider message could not be handled', {
            cause,
          }),
          severity: 'harmless',
        });
      }
    });
    ws.on('error', () => {
      // The close event that follows reports it.
    });
    ws.on('close', (code, reasonBuffer) => {
      if (this.closedReported) return;
      this.closedReported = true;
      const reason = reasonBuffer.toString('utf8').slice(0, 200);
      if (!this.closing) {
        const severity = this.closeSeverity(code, reason);
        this.emit({
          type: 'error',
          error: new ProviderError(
            'realtime_closed',
            `Provider closed the connection (${code}${reason ? `: ${reason}` : ''})`,
            {
              retryable: severity !== 'fatal',
              details: { code, reason },
            },
          ),
          severity,
        });
      }
      this.emit({ type: 'closed', code, reason, expected: this.closing });
    });
  }

  /**
   * Sends the setup (`sendSetup`) and resolves once the provider acknowledges it (`setupComplete`);
   * fails on a close during setup (retryable unless the close code says otherwise) or after
   * `timeoutMs` without `ack` (the connection is then closed).
   */
  protected awaitSetup(timeoutMs: number, ack: string, sendSetup: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onClose = (code: number, reasonBuffer: Buffer) => {
        clearTimeout(timer);
        this.setupDone = undefined;
        const reason = reasonBuffer.toString('utf8').slice(0, 200);
        reject(
          new ProviderError(
            'realtime_closed',
            `Closed during setup (${code}${reason ? `: ${reason}` : ''})`,
            {
              retryable: this.closeSeverity(code, reason) !== 'fatal',
              details: { code, reason },
            },
          ),
        );
      };
      const timer = setTimeout(() => {
        this.ws.off('close', onClose);
        this.setupDone = undefined;
        this.close();
        reject(
          new ProviderError('realtime_setup_timeout', `No ${ack} within ${timeoutMs} ms`, {
            retryable: true,
          }),
        );
      }, timeoutMs);
      this.ws.once('close', onClose);
      this.setupDone = () => {
        clearTimeout(timer);
        this.ws.off('close', onClose);
        this.setupDone = undefined;
        resolve();
      };
      sendSetup();
    });
  }

  /** The provider acknowledged the setup: `ready` is emitted and `awaitSetup` resolves (once). */
  protected setupComplete(providerSessionId: string | undefined): void {
    const done = this.setupDone;
    if (!done) return;
    this.emit({ type: 'ready', ...(providerSessionId ? { providerSessionId } : {}) });
    done();
  }

  /** Handles one parsed provider message. */
  protected abstract handle(message: Record<string, unknown>): void;

  /** How bad an unexpected close with this code is. */
  protected abstract closeSeverity(code: number, reason: string): RealtimeErrorSeverity;

  get open(): boolean {
    return this.ws.readyState === 1 && !this.closing;
  }

  protected emit(event: RealtimeEvent): void {
    try {
      this.onEvent(event);
    } catch {
      // The listener owns its errors; the connection goes on.
    }
  }

  protected send(message: unknown): void {
    if (this.ws.readyState !== 1 || this.closing) return;
    this.ws.send(JSON.stringify(message));
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(1000, 'client closed');
    // A peer that never answers the close handshake: cut it.
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    timer.unref?.();
  }
}
