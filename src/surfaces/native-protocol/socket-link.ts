/**
 * One WebSocket speaking the native protocol: text frames are parsed and validated into typed client
 * messages (bad ones become typed errors, the socket stays open), binary frames are handed over as
 * bytes, and server messages are serialised out. A peer that stops reading cannot grow the send
 * buffer without bound: past `maxBufferedBytes` the socket is closed (1008).
 */
import WebSocket from 'ws';
import type { ColloquyError } from '../../errors.ts';
import { TransportError } from '../../errors.ts';
import { now } from '../../session/latency.ts';
import {
  type ClientMessage,
  DEFAULT_PROTOCOL_LIMITS,
  type ProtocolLimits,
  tryParseClientMessage,
} from './client-messages.ts';
import { encodeServerMessage, type ServerMessage } from './server-messages.ts';

export interface SocketLinkHandlers {
  /** A valid client message; `receivedAt` is when its frame arrived (ms since epoch). */
  onMessage(message: ClientMessage, receivedAt: number): void;
  /** A binary frame (raw bytes; validation is up to the receiver). */
  onBinary(data: Uint8Array): void;
  /** A text frame that failed validation; the link already keeps going. */
  onInvalid(error: ColloquyError): void;
  /** The socket closed (by either side); called once. */
  onClose(code: number, reason: string): void;
  /** A socket-level error (the `close` that follows still calls `onClose`). */
  onError(error: ColloquyError): void;
  /** A measured round trip (ms): a ping of `measureRoundTrip` came back. */
  onRoundTrip?(ms: number): void;
}

export interface SocketLinkOptions {
  limits?: ProtocolLimits;
  /** Largest amount of unsent data before the peer counts as stalled (default 32 MiB). */
  maxBufferedBytes?: number;
}

type LinkState = 'open' | 'closed';

export class SocketLink {
  readonly socket: WebSocket;
  private readonly handlers: SocketLinkHandlers;
  private readonly limits: ProtocolLimits;
  private readonly maxBufferedBytes: number;
  private state: LinkState = 'open';
  /** When the outstanding round-trip ping left (one at a time). */
  private pingSentAt: number | undefined;

  private readonly onMessageEvent = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (this.state !== 'open') return;
    const receivedAt = now();
    const bytes = toBytes(data);
    if (isBinary) {
      this.handlers.onBinary(bytes);
      return;
    }
    const parsed = tryParseClientMessage(bytes, this.limits);
    if (parsed.ok) this.handlers.onMessage(parsed.message, receivedAt);
    else this.handlers.onInvalid(parsed.error);
  };
  private readonly onCloseEvent = (code: number, reason: Buffer): void => {
    this.finish(code, reason.toString('utf8'));
  };
  private readonly onPongEvent = (): void => {
    const sentAt = this.pingSentAt;
    if (sentAt === undefined) return;
    this.pingSentAt = undefined;
    this.handlers.onRoundTrip?.(now() - sentAt);
  };
  private readonly onErrorEvent = (error: Error): void => {
    this.handlers.onError(
      new TransportError('socket_error', `WebSocket error: ${error.message}`, { cause: error }),
    );
  };

  constructor(socket: WebSocket, handlers: SocketLinkHandlers, options: SocketLinkOptions = {}) {
    this.socket = socket;
    this.handlers = handlers;
    this.limits = options.limits ?? DEFAULT_PROTOCOL_LIMITS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
    socket.on('message', this.onMessageEvent);
    socket.on('close', this.onCloseEvent);
    socket.on('error', this.onErrorEvent);
    socket.on('pong', this.onPongEvent);
    if (socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING) {
      queueMicrotask(() => this.finish(1006, 'socket already closed'));
    }
  }

  get open(): boolean {
    return this.state === 'open' && this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Send a WebSocket ping to measure the round trip (reported to `onRoundTrip` when the pong comes;
   * every WebSocket peer answers pings). At most one ping is outstanding.
   */
  measureRoundTrip(): void {
    if (!this.open || this.pingSentAt !== undefined) return;
    this.pingSentAt = now();
    this.socket.ping();
  }

  /** Send a message; `onWritten` runs once the socket accepted its bytes (not when it failed). */
  send(message: ServerMessage, onWritten?: () => void): void {
    if (!this.open) return;
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.handlers.onError(
        new TransportError(
          'send_buffer_full',
          `The client is not reading: over ${this.maxBufferedBytes} bytes unsent`,
        ),
      );
      this.close(1008, 'send buffer full');
      return;
    }
    if (onWritten) {
      this.socket.send(encodeServerMessage(message), (error) => {
        if (!error) onWritten();
      });
    } else this.socket.send(encodeServerMessage(message));
  }

  /** Closes the socket; `onClose` follows at once (the peer's close handshake is not awaited). */
  close(code = 1000, reason = 'closing'): void {
    if (this.state !== 'open') return;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      try {
        this.socket.close(code, reason);
      } catch {
        this.socket.terminate();
      }
    }
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.socket.off('message', this.onMessageEvent);
    this.socket.off('close', this.onCloseEvent);
    this.socket.off('error', this.onErrorEvent);
    this.socket.off('pong', this.onPongEvent);
    // Keep an error listener: a late socket error must not crash the process.
    this.socket.on('error', () => {});
    this.handlers.onClose(code, reason);
  }
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
