/** Metrics (and their Prometheus text) from the diagnostics channels. */
export type { Labels, MetricKind, MetricSnapshot } from './metrics-registry.ts';
export {
  Counter,
  Gauge,
  Histogram,
  LATENCY_BUCKETS_MS,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
} from './metrics-registry.ts';
export { enableProcessMetrics, eventLoopLag, processMetrics } from './process-metrics.ts';
export { enableTracing } from './tracing.ts';
