/**
 * Refused mic audio over the Pipecat WebSocket endpoint: each kind of problem is reported to the
 * client once (a non-fatal `error` naming it), and every refused frame is counted. Audio and
 * messages beyond a session's budget are dropped before any work is done on them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.ts';
import { loadServerConfig } from '../../src/server/config.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { encodeFrame } from '../../src/transports/pipecat-websocket/index.ts';
import { connectRaw, OFFLINE_ENV, until, withoutGreeting } from './helpers.ts';

const audio = (bytes: number, sampleRate = 16000) =>
  encodeFrame({
    type: 'audio',
    id: 1n,
    name: 'mic',
    audio: new Uint8Array(bytes),
    sampleRate,
    numChannels: 1,
  });

describe('refused mic audio', () => {
  let server: RunningServer;
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
  beforeAll(async () => {
    const config = withoutGreeting(
      loadServerConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        ...OFFLINE_ENV,
        COLLOQUY_STORE: 'memory',
        COLLOQUY_RESUME_WINDOW_MS: '0',
      }),
    );
    server = await startServer({ config, logger });
  });
  afterAll(async () => server?.close());

  it('empty, odd-length and unsupported-rate frames: one error per kind, all counted', async () => {
    const c = await connectRaw(server.url);
    await c.ready();
    for (let i = 0; i < 3; i++) c.sendBytes(audio(0));
    for (let i = 0; i < 3; i++) c.sendBytes(audio(321));
    for (let i = 0; i < 3; i++) c.sendBytes(audio(640, 12345));
    c.send({ label: 'rtvi-ai', type: 'client-message', id: 'ping-0001', data: { t: 'ping' } });
    await c.waitFor('ping answered', (m) => m.id === 'ping-0001');
    const errors = await until('three errors', () => {
      const e = c.messages.filter((m) => m.type === 'error').map((m) => m.data.error as string);
      return e.length >= 3 ? e : undefined;
    });
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^Empty audio frame \(empty_audio\)/);
    expect(errors[1]).toMatch(/^Audio frame must hold whole PCM16 samples \(odd_length_audio\)/);
    expect(errors[2]).toMatch(/^Audio refused \(\w+\): .*12345/);
    expect(c.messages.filter((m) => m.type === 'error').every((m) => m.data.fatal === false)).toBe(true);
    c.ws.terminate();
    // The count of every refused frame reaches the server log when the session ends.
    const summary = await until('summaries', () => {
      const lines = warnings.filter((w) => w.includes('refused audio frames'));
      return lines.length === 2 ? lines.sort() : undefined;
    });
    expect(summary[0]).toBe('pipecat websocket: refused audio frames: empty_audio ×3, odd_length_audio ×3');
    expect(summary[1]).toMatch(/^session [\w-]+: refused audio frames: \w+ ×3$/);
  });

  it('mic audio faster than 2× real time: the excess dropped before speech detection, one error, counted', async () => {
    const c = await connectRaw(server.url);
    await c.ready();
    // 30 s of audio at once, in 100 ms frames: a 15 s burst passes, the rest is too fast.
    for (let i = 0; i < 300; i++) c.sendBytes(audio(3200));
    c.send({ label: 'rtvi-ai', type: 'client-message', id: 'ping-0002', data: { t: 'ping' } });
    await c.waitFor('ping answered', (m) => m.id === 'ping-0002');
    const errors = c.messages
      .filter((m) => m.type === 'error')
      .map((m) => m.data as { error: string; fatal: boolean });
    expect(errors).toMatchObject([
      {
        error:
          'Audio refused (audio_too_fast): mic audio arrives faster than 2× real time. Further frames with this problem are dropped and counted.',
        fatal: false,
      },
    ]);
    c.ws.terminate();
    const summary = await until('summary', () =>
      warnings.find((w) => w.includes('refused audio frames: audio_too_fast')),
    );
    const dropped = Number(/audio_too_fast ×(\d+)/.exec(summary)![1]);
    // 300 frames of 100 ms: 150 fit the burst, a few more the refill while they arrive.
    expect(dropped).toBeGreaterThan(100);
    expect(dropped).toBeLessThanOrEqual(150);
  });

  it('a message flood: beyond 100 at once messages are dropped unparsed, the client told once; later ones answered', async () => {
    const c = await connectRaw(server.url);
    await c.ready();
    for (let i = 0; i < 300; i++) {
      c.send({ label: 'rtvi-ai', type: 'client-message', id: `flood-${i}`, data: { t: 'ping' } });
    }
    const notice = await c.waitFor('notice', (m) => m.type === 'error');
    expect(notice.data).toMatchObject({
      error:
        'Too many messages: 1 dropped (a session may send 50 messages and 256 KiB per second); slow down',
      fatal: false,
    });
    // The session goes on: once the budget refills, a ping is answered.
    let attempt = 0;
    await until('answered again', async () => {
      const id = `later-${attempt++}`;
      c.send({ label: 'rtvi-ai', type: 'client-message', id, data: { t: 'ping' } });
      return (await c.waitFor(id, (m) => m.id === id || m.type === 'never', 1500).catch(() => undefined))
        ? true
        : undefined;
    });
    const answered = c.messages.filter((m) => m.type === 'server-response' && m.id?.startsWith('flood-'));
    expect(answered.length).toBeGreaterThanOrEqual(100);
    expect(answered.length).toBeLessThan(200);
    c.ws.terminate();
  });
});
