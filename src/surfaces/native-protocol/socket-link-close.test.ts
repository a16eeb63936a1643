/** SocketLink.close() with no arguments: a normal close (1000, "closing"), told to both ends, once. */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SocketLink } from './socket-link.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

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
