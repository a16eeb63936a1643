/**
 * `GET /metrics`: the process's metrics in the Prometheus text format (behind the server token when
 * one is set; Prometheus sends it with `authorization: {credentials: …}`). With `--workers N` the
 * primary answers this path itself, with every worker's series labelled `worker`.
 */
import type { Hono } from 'hono';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../observability/metrics-registry.ts';
import { enableProcessMetrics } from '../observability/process-metrics.ts';
import type { ServerContext } from './app.ts';

export const METRICS_PATH = '/metrics';

export function registerMetricsRoute(app: Hono, context: Pick<ServerContext, 'auth'>): void {
  const metrics = enableProcessMetrics();
  app.get(METRICS_PATH, context.auth, (c) =>
    c.body(renderPrometheus([{ metrics: metrics.snapshot() }]), 200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
    }),
  );
}
