import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { loadServerConfig } from './config.ts';
import { type RunningServer, startServer } from './server.ts';

describe('GET /metrics', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const config = loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_AUTH_TOKEN: 'metrics-test-token-0123456789',
    });
    server = await startServer({ config, logger: silentLogger });
  });
  afterAll(() => server?.close());

  it('answers the Prometheus text format behind the server token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${server.url}/metrics`, {
      headers: { authorization: 'Bearer metrics-test-token-0123456789' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    for (const name of [
      'colloquy_sessions_live gauge',
      'colloquy_sessions_started_total counter',
      'colloquy_sessions_ended_total counter',
      'colloquy_turns_total counter',
      'colloquy_turn_latency_ms histogram',
      'colloquy_interruptions_total counter',
      'colloquy_tool_calls_total counter',
      'colloquy_errors_total counter',
      'colloquy_provider_errors_total counter',
      'colloquy_event_loop_lag_ms gauge',
    ]) {
      expect(text).toContain(`# TYPE ${name}\n`);
    }
    expect(text).toMatch(/^colloquy_event_loop_lag_ms\{quantile="0\.5"\} [\d.]+$/m);
  });
});
