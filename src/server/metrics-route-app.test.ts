/**
 * `GET /metrics` registered inside the test (a mutation run sees the registration per test): the
 * Prometheus text with its content type, behind the guard it is given.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requireBearer } from './auth.ts';
import { METRICS_PATH, registerMetricsRoute } from './metrics-route.ts';

describe('registerMetricsRoute', () => {
  it('answers /metrics in the Prometheus text format, behind the given guard', async () => {
    expect(METRICS_PATH).toBe('/metrics');
    const app = new Hono();
    registerMetricsRoute(app, { auth: requireBearer('m-token') });
    app.onError((err, c) =>
      'getResponse' in err ? (err as { getResponse(): Response }).getResponse() : c.text('x', 500),
    );
    expect((await app.request('/metrics')).status).toBe(401);
    const res = await app.request('/metrics', { headers: { authorization: 'Bearer m-token' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toMatch(/^# HELP colloquy_/m);
    expect(
      (await app.request('/metrics', { method: 'POST', headers: { authorization: 'Bearer m-token' } }))
        .status,
    ).toBe(404);
  });
});
