import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { until as pollUntil } from '../../testing/signals.ts';
import { encodeFrame } from './frames.ts';
import { PipecatWsTransport, type PipecatWsTransportOptions } from './ws-transport.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real `ws` server whose connections get a `PipecatWsTransport`, and a client with the given options. */
async function pair(
  heartbeatMs: number,
  client: WebSocket.ClientOptions = {},
  options: PipecatWsTransportOptions = {},
) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const transport = new Promise<PipecatWsTransport>((resolve) =>
    wss.once('connection', (ws) => resolve(new PipecatWsTransport(ws, { heartbeatMs, ...options }))),
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

const until = <T>(what: string, probe: () => T | undefined, timeoutMs: number) =>
  pollUntil(what, probe, timeoutMs, 10);

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

describe('PipecatWsTransport: input budget', () => {
  it('a client sending faster than its byte budget is read slower: nothing dropped, the rate held', async () => {
    const rate = 1_000_000;
    const { t, ws } = await pair(0, {}, { maxBytesPerSecond: rate, maxFrameBytes: 200_000 });
    const got: number[] = [];
    t.onMessage((raw) => got.push(JSON.parse(raw as string).n));
    const payload = 'x'.repeat(99_000);
    const started = performance.now();
    // 2.5 MB at once: the first 1 MB (the burst) is read at once, the rest at 1 MB/s.
    for (let n = 0; n < 25; n++)
      ws.send(encodeFrame({ type: 'message', data: JSON.stringify({ n, payload }) }));
    await until('all 25 messages read', () => (got.length === 25 ? true : undefined), 30_000);
    const seconds = (performance.now() - started) / 1000;
    expect(got).toEqual(Array.from({ length: 25 }, (_, n) => n));
    expect(t.throttled).toBeGreaterThan(0);
    // At least (2.5 MB - 1 MB burst) / 1 MB/s, less timer slack: never faster than the budget.
    expect(seconds).toBeGreaterThan(1.2);
  });

  it('frames beyond the frame budget wait too; a client within it is never paused', async () => {
    const { t, ws } = await pair(0, {}, { maxFramesPerSecond: 200, maxBytesPerSecond: 100_000_000 });
    let got = 0;
    t.onMessage(() => got++);
    // 2 KB frames: a socket read holds a few dozen of them, and a pause holds back the next read.
    const frame = encodeFrame({ type: 'message', data: JSON.stringify('x'.repeat(2000)) });
    for (let i = 0; i < 300; i++) ws.send(frame); // within the burst (twice the rate)
    await until('300 read', () => (got === 300 ? true : undefined), 10_000);
    expect(t.throttled).toBe(0);
    const started = performance.now();
    for (let i = 0; i < 600; i++) ws.send(frame);
    await until('900 read', () => (got === 900 ? true : undefined), 10_000);
    expect(t.throttled).toBeGreaterThan(0);
    // At least 200 frames over the budget (the bucket holds 400 at most) at 200 per second, less
    // what one socket read holds.
    expect(performance.now() - started).toBeGreaterThan(600);
  });
});
