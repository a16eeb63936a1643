/**
 * The socket link against a scripted socket (an event emitter with a `readyState`): what each socket
 * event becomes for the handlers, the exact times it reports, when it counts as open, and that a
 * closed link hands nothing on. The real-socket behaviour (send buffer, close handshake, pings on the
 * wire) is in `socket-link.test.ts`.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { serverMessages } from './server-messages.ts';
import { SocketLink, type SocketLinkHandlers } from './socket-link.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** The parts of a `ws` socket the link uses, scripted. */
class ScriptedSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  readonly closes: Array<[number, string]> = [];
  pings = 0;
  terminated = false;
  /** Completes a send with this error (undefined: written). */
  sendError: Error | undefined;
  send(data: string, cb?: (error?: Error) => void): void {
    this.sent.push(data);
    cb?.(this.sendError);
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
    this.readyState = WebSocket.CLOSING;
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {
    this.pings++;
  }
}

type Call = [string, ...unknown[]];

function link(socket = new ScriptedSocket()) {
  const calls: Call[] = [];
  const handlers: SocketLinkHandlers = {
    onMessage: (message, receivedAt) => calls.push(['message', message, receivedAt]),
    onBinary: (data) => calls.push(['binary', [...data]]),
    onInvalid: (error) => calls.push(['invalid', error.code]),
    onClose: (code, reason) => calls.push(['close', code, reason]),
    onError: (error) => calls.push(['error', error.code, error.message]),
    onRoundTrip: (ms) => calls.push(['roundTrip', ms]),
  };
  const l = new SocketLink(socket as unknown as WebSocket, handlers);
  return { socket, calls, link: l };
}

/** `performance.now()` answers these values in turn. */
function clock(...values: number[]) {
  const spy = vi.spyOn(performance, 'now');
  for (const v of values) spy.mockReturnValueOnce(v);
}

describe('SocketLink: socket events → handlers', () => {
  it('a text frame (one buffer, fragments, an ArrayBuffer) is parsed and handed on with the time it arrived', () => {
    const { socket, calls } = link();
    const text = '{"type":"interrupt","reason":"stop"}';
    clock(100, 200, 300);
    socket.emit('message', Buffer.from(text), false);
    socket.emit('message', [Buffer.from(text.slice(0, 5)), Buffer.from(text.slice(5))], false);
    const bytes = new TextEncoder().encode(text);
    socket.emit('message', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), false);
    const at = (ms: number) => performance.timeOrigin + ms;
    expect(calls).toEqual([
      ['message', { type: 'interrupt', reason: 'stop' }, at(100)],
      ['message', { type: 'interrupt', reason: 'stop' }, at(200)],
      ['message', { type: 'interrupt', reason: 'stop' }, at(300)],
    ]);
  });

  it('a binary frame is handed on as bytes (fragments joined); a bad text frame as its error', () => {
    const { socket, calls } = link();
    socket.emit('message', Buffer.from([1, 2]), true);
    socket.emit('message', [Buffer.from([3]), Buffer.from([4, 5])], true);
    socket.emit('message', new Uint8Array([6, 7]).buffer, true);
    socket.emit('message', Buffer.from('{"type":"nope"}'), false);
    socket.emit('message', Buffer.from('not json'), false);
    expect(calls).toEqual([
      ['binary', [1, 2]],
      ['binary', [3, 4, 5]],
      ['binary', [6, 7]],
      ['invalid', 'unknown_message_type'],
      ['invalid', 'malformed_json'],
    ]);
  });

  it("the socket's close reaches onClose once, with its code and reason; nothing is handed on after it", () => {
    const { socket, calls, link: l } = link();
    socket.readyState = WebSocket.CLOSED;
    socket.emit('close', 4001, Buffer.from('bye now'));
    expect(l.open).toBe(false);
    // The link let go of the socket: these reach nobody.
    socket.emit('close', 1000, Buffer.from('again'));
    socket.emit('message', Buffer.from('{"type":"interrupt"}'), false);
    socket.emit('pong');
    expect(calls).toEqual([['close', 4001, 'bye now']]);
  });

  it('a frame in the same socket event as the link closing (closed by an earlier listener) is not handed on', () => {
    const socket = new ScriptedSocket();
    let closing: SocketLink | undefined;
    socket.on('message', () => closing?.close(4000, 'enough'));
    const { calls, link: l } = link(socket);
    closing = l;
    socket.emit('message', Buffer.from('{"type":"interrupt"}'), false);
    socket.emit('message', Buffer.from([1, 2]), true);
    expect(calls).toEqual([['close', 4000, 'enough']]);
    expect(socket.closes).toEqual([[4000, 'enough']]);
  });

  it('a socket already closing or closed when the link is made: onClose (1006) after the current task, once', async () => {
    for (const state of [WebSocket.CLOSING, WebSocket.CLOSED]) {
      const socket = new ScriptedSocket();
      socket.readyState = state;
      const { calls, link: l } = link(socket);
      expect(calls).toEqual([]);
      expect(l.open).toBe(false);
      await Promise.resolve();
      expect(calls, `readyState ${state}`).toEqual([['close', 1006, 'socket already closed']]);
      l.close();
      expect(socket.closes).toEqual([]); // nothing to close
    }
  });

  it('a link closed at once on a socket already closed reports only that close', async () => {
    const socket = new ScriptedSocket();
    socket.readyState = WebSocket.CLOSED;
    const { calls, link: l } = link(socket);
    l.close(4003, 'gone');
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toEqual([['close', 4003, 'gone']]);
    expect(socket.closes).toEqual([]); // a closed socket is not closed again
  });

  it('a connecting socket is not open yet, and is left connecting', async () => {
    const socket = new ScriptedSocket();
    socket.readyState = WebSocket.CONNECTING;
    const { calls, link: l } = link(socket);
    await Promise.resolve();
    expect(calls).toEqual([]);
    expect(l.open).toBe(false);
  });
});

describe('SocketLink: open, send, ping', () => {
  it('open only while the link is open and its socket is OPEN', () => {
    const { socket, link: l } = link();
    expect(l.open).toBe(true);
    socket.readyState = WebSocket.CLOSING; // the peer began to close
    expect(l.open).toBe(false);
    l.send(serverMessages.streamStart({ turnId: 't' }));
    l.measureRoundTrip();
    expect([socket.sent, socket.pings]).toEqual([[], 0]);
    socket.readyState = WebSocket.OPEN;
    expect(l.open).toBe(true);
    l.close();
    socket.readyState = WebSocket.OPEN; // a socket that ignored the close: the link is closed anyway
    expect(l.open).toBe(false);
    l.send(serverMessages.streamStart({ turnId: 't' }));
    expect(socket.sent).toEqual([]);
  });

  it('send serialises the message; onWritten runs once the socket wrote it, not when the write failed', () => {
    const { socket, link: l } = link();
    const written: string[] = [];
    l.send(serverMessages.streamStart({ turnId: 't1' }), () => written.push('t1'));
    socket.sendError = new Error('EPIPE');
    l.send(serverMessages.streamStart({ turnId: 't2' }), () => written.push('t2'));
    l.send(serverMessages.streamStart({ turnId: 't3' }));
    expect(socket.sent).toEqual([
      '{"type":"stream_start","turnId":"t1"}',
      '{"type":"stream_start","turnId":"t2"}',
      '{"type":"stream_start","turnId":"t3"}',
    ]);
    expect(written).toEqual(['t1']);
  });

  it('the round trip is the time from the ping to its pong; a pong nobody asked for is ignored', () => {
    const { socket, calls, link: l } = link();
    socket.emit('pong'); // unsolicited
    clock(1000, 1042.5);
    l.measureRoundTrip();
    l.measureRoundTrip(); // outstanding: not sent
    expect(socket.pings).toBe(1);
    socket.emit('pong');
    socket.emit('pong'); // a second pong for the same ping
    expect(calls.map(([kind]) => kind)).toEqual(['roundTrip']);
    expect(calls[0]![1]).toBeCloseTo(42.5, 2); // performance.timeOrigin + now, both times
  });

  it('a socket error reaches onError while open; after close a late error is swallowed', () => {
    const { socket, calls, link: l } = link();
    socket.emit('error', new Error('ECONNRESET'));
    l.close(4002, 'done');
    socket.emit('error', new Error('late'));
    expect(calls).toEqual([
      ['error', 'socket_error', 'WebSocket error: ECONNRESET'],
      ['close', 4002, 'done'],
    ]);
  });

  it('a close the socket throws on terminates it; onClose still gets the code and reason', () => {
    const socket = new ScriptedSocket();
    socket.close = () => {
      throw new Error('invalid code');
    };
    const { calls, link: l } = link(socket);
    l.close(1005, 'reserved');
    expect(socket.terminated).toBe(true);
    expect(calls).toEqual([['close', 1005, 'reserved']]);
  });
});
