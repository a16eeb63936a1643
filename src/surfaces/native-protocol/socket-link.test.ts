/**
 * The socket link over a real WebSocket on loopback. Its send buffer: a peer that stops reading
 * cannot make the server hold more than `maxBufferedBytes` unsent; with exactly that much unsent the
 * link still sends, past it the send is refused (`send_buffer_full`) and the socket closes (1008).
 * Socket errors, closing, and round-trip pings.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { ColloquyError } from '../../errors.ts';
import { sleep } from '../../testing/abortable.ts';
import { encodeServerMessage, type ServerMessage, serverMessages } from './server-messages.ts';
import { SocketLink, type SocketLinkHandlers } from './socket-link.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server-side socket and the client at its other end, on 127.0.0.1. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  const server = await accepted;
  cleanups.push(
    () => new Promise<void>((resolve) => wss.close(() => resolve())),
    () => server.terminate(),
    () => client.terminate(),
  );
  return { server, client };
}

function recordingHandlers() {
  const errors: ColloquyError[] = [];
  const closes: Array<[number, string]> = [];
  const handlers: SocketLinkHandlers = {
    onMessage: () => {},
    onBinary: () => {},
    onInvalid: () => {},
    onClose: (code, reason) => closes.push([code, reason]),
    onError: (error) => errors.push(error),
  };
  return { handlers, errors, closes };
}

/** Text messages the client receives, parsed. */
function received(client: WebSocket): ServerMessage[] {
  const out: ServerMessage[] = [];
  client.on('message', (data, isBinary) => {
    if (!isBinary) out.push(JSON.parse(data.toString()) as ServerMessage);
  });
  return out;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 2500) throw new Error('Timed out waiting for a condition');
    await sleep(2);
  }
}

const message = (n: number) =>
  serverMessages.textDelta({ turnId: 't1', id: `m${n}`, text: 'x'.repeat(1000) });

describe('SocketLink over a real socket', () => {
  it('with exactly maxBufferedBytes unsent it still sends; past it the send is refused and the socket closes', async () => {
    const { server, client } = await pair();
    const got = received(client);
    client.pause(); // the peer stops reading
    // Fill the kernel's buffers (everything here is synchronous: nothing is written out meanwhile),
    // until the socket holds unsent bytes of its own.
    const filler = encodeServerMessage(
      serverMessages.textDelta({ turnId: 't0', id: 'f', text: 'f'.repeat(16_384) }),
    );
    for (let i = 0; server.bufferedAmount === 0 && i < 10_000; i++) server.send(filler);
    expect(server.bufferedAmount).toBeGreaterThan(0);
    // From now on the backlog grows by one message's frame per send.
    const before = server.bufferedAmount;
    server.send(encodeServerMessage(message(0)));
    const frame = server.bufferedAmount - before;
    expect(frame).toBeGreaterThan(Buffer.byteLength(encodeServerMessage(message(0))));

    const { handlers, errors, closes } = recordingHandlers();
    const limit = server.bufferedAmount + frame;
    const link = new SocketLink(server, handlers, { maxBufferedBytes: limit });
    link.send(message(1)); // one frame below the limit
    expect(server.bufferedAmount).toBe(limit);
    link.send(message(2)); // exactly at the limit: still sent
    expect(server.bufferedAmount).toBe(limit + frame);
    expect(errors).toEqual([]);
    expect(link.open).toBe(true);

    link.send(message(3)); // past it: refused
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['send_buffer_full', `The client is not reading: over ${limit} bytes unsent`],
    ]);
    expect(closes).toEqual([[1008, 'send buffer full']]);
    expect(link.open).toBe(false);
    link.send(message(4)); // a closed link sends nothing

    // The client reads again: the two messages the link sent, not the refused ones, then the close.
    const closed = new Promise<[number, string]>((resolve) =>
      client.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    client.resume();
    expect(await closed).toEqual([1008, 'send buffer full']);
    const ids = got.filter((m) => m.type === 'text_delta').map((m) => (m as { id: string }).id);
    expect(ids.filter((id) => id !== 'f')).toEqual(['m0', 'm1', 'm2']);
  });

  it('by default a link holds up to 32 MiB unsent for a peer that stopped reading', async () => {
    const { server, client } = await pair();
    client.pause();
    const { handlers, errors, closes } = recordingHandlers();
    const link = new SocketLink(server, handlers);
    const mib = serverMessages.textDelta({ turnId: 't1', id: 'big', text: 'x'.repeat(1024 * 1024) });
    // Synchronous sends: nothing is written out meanwhile beyond what the kernel took at first.
    let sent = 0;
    while (errors.length === 0 && sent < 200) {
      const before = server.bufferedAmount;
      link.send(mib);
      if (errors.length === 0) sent++;
      else expect(before).toBeGreaterThan(32 * 1024 * 1024);
    }
    expect(errors.map((e) => e.message)).toEqual(['The client is not reading: over 33554432 bytes unsent']);
    expect(closes).toEqual([[1008, 'send buffer full']]);
    // Every send before the refusal was taken (the kernel's buffers took the first few).
    expect(sent).toBeGreaterThanOrEqual(32);
  });

  it('a socket error reaches onError as a TransportError, then the close reaches onClose once', async () => {
    const { server, client } = await pair();
    const { handlers, errors, closes } = recordingHandlers();
    const link = new SocketLink(server, handlers);
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    client.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false }); // a text frame that is not UTF-8
    await closed;
    expect(errors.map((e) => [e.name, e.code, e.message])).toEqual([
      ['TransportError', 'socket_error', 'WebSocket error: Invalid WebSocket frame: invalid UTF-8 sequence'],
    ]);
    expect(closes).toHaveLength(1); // the socket's own close (1006: ws cut it after its 1007)
    expect(link.open).toBe(false);
  });

  it('a closed link leaves only a guard against late socket errors on its socket', async () => {
    const { server } = await pair();
    const before = ['message', 'close', 'error', 'pong'].map((e) => server.listenerCount(e));
    const link = new SocketLink(server, recordingHandlers().handlers);
    link.close(1000, 'done');
    expect(['message', 'close', 'error', 'pong'].map((e) => server.listenerCount(e))).toEqual([
      before[0],
      before[1],
      before[2]! + 1,
      before[3],
    ]);
    server.emit('error', new Error('late')); // no crash: the guard takes it
  });

  it('a close the socket refuses (an invalid code) terminates it', async () => {
    const { server, client } = await pair();
    const { handlers, closes } = recordingHandlers();
    const link = new SocketLink(server, handlers);
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    link.close(1005, 'reserved'); // ws refuses to send 1005
    expect(server.readyState).not.toBe(WebSocket.OPEN);
    expect(closes).toEqual([[1005, 'reserved']]);
    expect(await closed).toBe(1006); // no close frame: the connection was cut
  });

  it('one round-trip ping at a time; its pong reports the round trip once', async () => {
    const { server, client } = await pair();
    let pings = 0;
    client.on('ping', () => pings++);
    const trips: number[] = [];
    const link = new SocketLink(server, {
      ...recordingHandlers().handlers,
      onRoundTrip: (ms) => trips.push(ms),
    });
    link.measureRoundTrip();
    link.measureRoundTrip(); // one is outstanding: no second ping
    server.send('{"type":"barrier"}'); // after the ping(s) on the wire
    const barrier = new Promise<void>((resolve) => client.once('message', () => resolve()));
    await barrier;
    expect(pings).toBe(1);
    await until(() => trips.length === 1);
    expect(trips[0]).toBeGreaterThanOrEqual(0);
    link.measureRoundTrip(); // the pong came back: the next one goes
    await until(() => trips.length === 2);
    expect(pings).toBe(2);
  });
});

describe('SocketLink.close defaults', () => {
  it('close() sends 1000 "closing" to the peer and reports it once to onClose', async () => {
    const { server, client } = await pair();
    const closes: Array<[number, string]> = [];
    const link = new SocketLink(server, {
      onMessage: () => {},
      onBinary: () => {},
      onInvalid: () => {},
      onClose: (code, reason) => closes.push([code, reason]),
      onError: () => {},
    });
    const seen = new Promise<[number, string]>((resolve) =>
      client.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    link.close();
    link.close(); // already closed: nothing more
    expect(closes).toEqual([[1000, 'closing']]);
    expect(link.open).toBe(false);
    expect(await seen).toEqual([1000, 'closing']);
  });
});
