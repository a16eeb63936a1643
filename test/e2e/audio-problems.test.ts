/**
 * Refused mic audio over the Pipecat WebSocket endpoint: each kind of problem is reported to the
 * client once (a non-fatal `error` naming it), and every refused frame is counted.
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
});
