import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { PipecatWsTransport } from './ws-transport.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real `ws` server whose connections get a `PipecatWsTransport`, and a client with the given options. */
async function pair(heartbeatMs: number, client: WebSocket.ClientOptions = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const transport = new Promise<PipecatWsTransport>((resolve) =>
    wss.once('connection', (ws) => resolve(new PipecatWsTransport(ws, { heartbeatMs }))),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, client);
  cleanups.push(() => ws.terminate());
  const [t] = await Promise.all([transport, next(ws, 'open')]);
  cleanups.push(() => t.close());
  const closes: string[] = [];
  // The transport has one close handler: it records every reason and resolves `ended` on the first.
  const ended = new Promise<string>((resolve) =>
    t.onClose((reason) => {
      closes.push(reason);
      resolve(reason);
    }),
  );
  return { t, ws, closes, ended };
}

const next = (ws: WebSocket, event: 'ping' | 'close' | 'open') =>
  new Promise<unknown>((r) => ws.once(event, r));

describe('PipecatWsTransport: how a connection ends', () => {
  it('a client that stops answering pings is lost: onClose("error"), and the socket is cut', async () => {
    const { ws, closes, ended } = await pair(30, { autoPong: false });
    await Promise.all([ended, next(ws, 'close')]);
    expect(closes).toEqual(['error']);
  });

  it('a client that answers pings stays connected', async () => {
    const { ws, closes } = await pair(20);
    for (let i = 0; i < 4; i++) await next(ws, 'ping');
    expect(closes).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a dropped connection (no closing handshake) is "error"; a closing handshake is "client_disconnected"', async () => {
    const dropped = await pair(0);
    dropped.ws.terminate();
    expect(await dropped.ended).toBe('error');

    const polite = await pair(0);
    polite.ws.close(1000);
    expect(await polite.ended).toBe('client_disconnected');
    expect(polite.closes).toEqual(['client_disconnected']);
  });
});
