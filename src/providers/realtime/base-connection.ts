/**
 * What both realtime connections do the same way: hold the socket, send JSON while open, hand every
 * event to the listener (a listener's exception never reaches the socket), turn parse failures into
 * harmless `error` events, and report the close with its code.
 */
import type WebSocket from 'ws';
import { ProviderError } from '../../errors.ts';
import { parseServerMessage } from './realtime-socket.ts';
import type { RealtimeErrorSeverity, RealtimeEvent } from './types.ts';

export abstract class BaseRealtimeConnection {
  private closing = false;
  private closedReported = false;

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
