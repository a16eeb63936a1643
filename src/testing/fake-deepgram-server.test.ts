/**
 * Keeps the fake honest: the official Deepgram SDK (`@deepgram/sdk`, a dev dependency) talks to
 * `FakeDeepgramServer` exactly as it would to Deepgram, and gets the messages its types describe.
 */
import { DeepgramClient } from '@deepgram/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakeDeepgramServer } from './fake-deepgram-server.ts';
import { tone } from './signals.ts';

let server: FakeDeepgramServer;
beforeAll(async () => {
  server = await FakeDeepgramServer.start({ transcript: 'the sdk hears this', msPerWord: 100 });
});
afterAll(() => server.close());

const baseUrl = () => server.url.replace(/\/v1\/listen$/, '');

describe('FakeDeepgramServer with the official @deepgram/sdk client', () => {
  it('listen.v1: the SDK connects with its API key, streams audio, gets Results then Metadata on CloseStream', async () => {
    const client = new DeepgramClient({ apiKey: server.apiKey, baseUrl: baseUrl() });
    const socket = await client.listen.v1.connect({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: 16000,
      interim_results: 'true',
      reconnectAttempts: 0,
    });
    const messages: Array<{
      type: string;
      is_final?: boolean;
      channel?: { alternatives: Array<{ transcript: string }> };
    }> = [];
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('message', (m) => messages.push(m as (typeof messages)[number]));
    socket.connect();
    await socket.waitForOpen();
    const pcm = tone({ sampleRate: 16000, samples: 16000 });
    for (let i = 0; i < pcm.length; i += 1600) socket.sendMedia(Buffer.from(pcm.buffer, i * 2, 3200));
    socket.sendKeepAlive({ type: 'KeepAlive' });
    socket.sendCloseStream({ type: 'CloseStream' });
    await closed;

    const [c] = server.connections.slice(-1);
    expect(c!.headers.authorization).toBe(`Token ${server.apiKey}`);
    expect(c!.query.get('model')).toBe('nova-3');
    expect(c!.audioBytes).toBe(32000);
    expect(c!.controls).toEqual(['KeepAlive', 'CloseStream']);
    expect(c!.invalid).toEqual([]);

    const results = messages.filter((m) => m.type === 'Results');
    expect(results.some((m) => m.is_final === false)).toBe(true);
    const finals = results.filter((m) => m.is_final === true);
    expect(finals).toHaveLength(1);
    expect(finals[0]!.channel!.alternatives[0]!.transcript).toBe('the sdk hears this');
    expect(messages.at(-1)?.type).toBe('Metadata');
  });

  it('refuses a wrong key at the handshake with 401 and a dg-error header, as Deepgram does', async () => {
    const ws = new WebSocket(`${server.url}?encoding=linear16&sample_rate=16000`, {
      headers: { Authorization: 'Token nope' },
    });
    ws.on('error', () => {}); // terminate() during the handshake reports an error
    const response = await new Promise<{ status: number; dgError: unknown }>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, dgError: res.headers['dg-error'] });
        ws.terminate();
      });
    });
    expect(response).toEqual({ status: 401, dgError: 'Invalid credentials.' });
  });

  it('accepts the browser form of auth (subprotocols "token", KEY) and refuses raw audio without sample_rate', async () => {
    const ok = new WebSocket(`${server.url}?encoding=linear16&sample_rate=8000`, ['token', server.apiKey]);
    await new Promise((resolve, reject) => {
      ok.on('open', resolve);
      ok.on('error', reject);
    });
    ok.close();
    const bad = new WebSocket(`${server.url}?encoding=linear16`, {
      headers: { Authorization: `Token ${server.apiKey}` },
    });
    bad.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      bad.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        bad.terminate();
      });
    });
    expect(status).toBe(400);
  });

  it('closes an idle stream (no audio, no KeepAlive) with 1011 NET-0001', async () => {
    const idle = await FakeDeepgramServer.start({ idleTimeoutMs: 50 });
    const ws = new WebSocket(`${idle.url}?encoding=linear16&sample_rate=16000`, {
      headers: { Authorization: `Token ${idle.apiKey}` },
    });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 1011, reason: 'NET-0001' });
    await idle.close();
  });
});
