/**
 * An in-memory stand-in for a `ws` WebSocket on the server side, for unit tests of what an agent sends
 * and does with client messages without a real socket: `sent` holds every JSON message the server
 * sent (parsed), `receive` / `receiveBinary` deliver a client message, `peerClose` is the client
 * closing. Synchronous: a message is handled before `receive` returns.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

export type SentMessage = { type: string; [key: string]: unknown };

export class FakeWebSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  readonly sent: SentMessage[] = [];
  /** The code and reason of the server's `close()`, if it closed the socket. */
  closedWith: { code: number; reason: string } | undefined;
  pings = 0;

  send(data: string, callback?: (error?: Error) => void): void {
    this.sent.push(JSON.parse(data) as SentMessage);
    callback?.();
  }

  ping(): void {
    this.pings++;
  }

  close(code: number, reason: string): void {
    this.readyState = WebSocket.CLOSED;
    this.closedWith = { code, reason };
  }

  terminate(): void {
    this.readyState = WebSocket.CLOSED;
  }

  /** A text message from the client (JSON-encoded unless it is a string already). */
  receive(message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    this.emit('message', Buffer.from(text), false);
  }

  /** A binary message from the client. */
  receiveBinary(bytes: Uint8Array): void {
    this.emit('message', Buffer.from(bytes), true);
  }

  /** The client closed the socket. */
  peerClose(code = 1000, reason = ''): void {
    this.readyState = WebSocket.CLOSED;
    this.emit('close', code, Buffer.from(reason));
  }

  /** The types of the messages sent, optionally only those listed. */
  types(only?: string[]): string[] {
    return this.sent.map((m) => m.type).filter((t) => !only || only.includes(t));
  }

  of(type: string): SentMessage[] {
    return this.sent.filter((m) => m.type === type);
  }

  /** Typed as the `ws` socket `handleSocket` takes. */
  get asSocket(): WebSocket {
    return this as unknown as WebSocket;
  }
}
