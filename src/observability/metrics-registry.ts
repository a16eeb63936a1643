/**
 * A small Prometheus metrics registry: counters, gauges and histograms with labels, a JSON snapshot
 * (what a worker sends its primary) and the Prometheus text exposition format of one or more
 * snapshots (the primary adds a `worker` label to each). Label values come from framework code, but
 * some carry outside text (a close reason); each metric keeps at most `MAX_SERIES` label sets and
 * counts the rest under `other`, so nothing grows without bound.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

/** Most label sets one metric keeps; further ones are counted under the label value `other`. */
export const MAX_SERIES = 200;
const MAX_LABEL_CHARS = 64;

/** Buckets (ms) of the latency histograms. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
];

interface Series {
  labels: Labels;
  /** counter and gauge: the value; histogram: the sum. */
  value: number;
  /** histogram: cumulative counts per bucket, then the total count. */
  counts?: number[];
}

/** One metric's state, JSON-safe. */
export interface MetricSnapshot {
  name: string;
  help: string;
  kind: MetricKind;
  buckets?: number[];
  series: Array<{ labels: Labels; value: number; counts?: number[] }>;
}

class Metric {
  readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: MetricKind,
    readonly labelNames: readonly string[],
    readonly buckets?: readonly number[],
  ) {}

  protected at(labels: Labels | undefined): Series {
    const clean: Record<string, string> = {};
    for (const name of this.labelNames) clean[name] = labelValue(labels?.[name]);
    let key = this.labelNames.map((n) => clean[n]).join('\u0000');
    let series = this.series.get(key);
    if (series) return series;
    if (this.series.size >= MAX_SERIES) {
      for (const name of this.labelNames) clean[name] = 'other';
      key = this.labelNames.map((n) => clean[n]).join('\u0000');
      series = this.series.get(key);
      if (series) return series;
    }
    series = {
      labels: clean,
      value: 0,
      ...(this.buckets ? { counts: this.buckets.map(() => 0).concat(0) } : {}),
    };
    this.series.set(key, series);
    return series;
  }

  snapshot(): MetricSnapshot {
    return {
      name: this.name,
      help: this.help,
      kind: this.kind,
      ...(this.buckets ? { buckets: [...this.buckets] } : {}),
      series: [...this.series.values()].map((s) => ({
        labels: s.labels,
        value: s.value,
        ...(s.counts ? { counts: [...s.counts] } : {}),
      })),
    };
  }
}

/**
 * A monotonically increasing metric per label set (`inc`).
 *
 * @example
 * ```ts
 * import { processMetrics } from 'colloquy/server';
 *
 * const bookings = processMetrics.counter('app_bookings_total', 'Tables booked by the agent', ['restaurant']);
 * bookings.inc({ restaurant: 'harbour' }); // appears on GET /metrics
 * ```
 */
export class Counter extends Metric {
  inc(labels?: Labels, by = 1): void {
    if (by < 0 || !Number.isFinite(by)) return;
    this.at(labels).value += by;
  }
}

/**
 * A metric that goes up and down per label set (`set`, `add`).
 *
 * @example
 * ```ts
 * import { processMetrics } from 'colloquy/server';
 *
 * const queue = processMetrics.gauge('app_callback_queue', 'Callbacks waiting for a human');
 * queue.add(1);
 * queue.add(-1);
 * queue.set(0);
 * ```
 */
export class Gauge extends Metric {
  set(value: number, labels?: Labels): void {
    if (Number.isFinite(value)) this.at(labels).value = value;
  }
  add(by: number, labels?: Labels): void {
    if (Number.isFinite(by)) this.at(labels).value += by;
  }
}

/**
 * Observations counted into buckets (default: the latency buckets, in ms) per label set.
 *
 * @example
 * ```ts
 * import { processMetrics } from 'colloquy/server';
 *
 * const lookup = processMetrics.histogram('app_crm_lookup_ms', 'CRM lookup time', ['outcome'], [50, 100, 250, 500, 1000]);
 * const started = performance.now();
 * // … the lookup …
 * lookup.observe(performance.now() - started, { outcome: 'found' });
 * ```
 */
export class Histogram extends Metric {
  observe(value: number, labels?: Labels): void {
    if (!Number.isFinite(value) || value < 0) return;
    const s = this.at(labels);
    s.value += value;
    const counts = s.counts as number[];
    const buckets = this.buckets as readonly number[];
    for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) counts[i]!++;
    counts[buckets.length]!++;
  }
}

/**
 * Metrics by name; asking twice for one name gives the same metric.
 *
 * @example
 * ```ts
 * import { MetricsRegistry, renderPrometheus } from 'colloquy/server';
 *
 * // a registry of your own (the server's is `processMetrics`)
 * const registry = new MetricsRegistry();
 * const calls = registry.counter('calls_total', 'Calls answered', ['line']);
 * calls.inc({ line: 'sales' });
 * console.log(renderPrometheus([{ metrics: registry.snapshot() }]));
 * ```
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  /** Called before each snapshot (gauges read at scrape time, e.g. event-loop lag). */
  private readonly collectors = new Set<() => void>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.get(name, () => new Counter(name, help, 'counter', labelNames), Counter);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.get(name, () => new Gauge(name, help, 'gauge', labelNames), Gauge);
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS_MS,
  ): Histogram {
    return this.get(name, () => new Histogram(name, help, 'histogram', labelNames, buckets), Histogram);
  }

  /** Runs `collect` before every snapshot; returns the removal. */
  onCollect(collect: () => void): () => void {
    this.collectors.add(collect);
    return () => this.collectors.delete(collect);
  }

  snapshot(): MetricSnapshot[] {
    for (const collect of this.collectors) collect();
    return [...this.metrics.values()].map((m) => m.snapshot());
  }

  private get<M extends Metric>(name: string, make: () => M, type: abstract new (...args: never[]) => M): M {
    const existing = this.metrics.get(name);
    if (existing) {
      if (!(existing instanceof type)) throw new TypeError(`metric ${name} exists with another kind`);
      return existing;
    }
    const metric = make();
    this.metrics.set(name, metric);
    return metric;
  }
}

function labelValue(value: string | undefined): string {
  if (value === undefined || value === '') return 'none';
  return value.length > MAX_LABEL_CHARS ? value.slice(0, MAX_LABEL_CHARS) : value;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels, extra?: Labels): string {
  const all = { ...extra, ...labels };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6))));

/**
 * The Prometheus text format (version 0.0.4) of snapshots from one or more processes; each source's
 * `labels` (e.g. `{worker: "2"}`) are added to its series. A metric appears once, with all series.
 *
 * @example
 * ```ts
 * import { processMetrics, renderPrometheus } from 'colloquy/server';
 *
 * // the Prometheus text of this process, labelled as one worker among several
 * const text = renderPrometheus([{ labels: { worker: '1' }, metrics: processMetrics.snapshot() }]);
 * ```
 */
export function renderPrometheus(
  sources: ReadonlyArray<{ labels?: Labels; metrics: MetricSnapshot[] }>,
): string {
  const byName = new Map<string, { meta: MetricSnapshot; lines: string[] }>();
  for (const source of sources) {
    for (const metric of source.metrics) {
      let entry = byName.get(metric.name);
      if (!entry) {
        entry = { meta: metric, lines: [] };
        byName.set(metric.name, entry);
      }
      if (entry.meta.kind !== metric.kind) continue;
      for (const s of metric.series) {
        if (metric.kind !== 'histogram') {
          entry.lines.push(`${metric.name}${labelText(s.labels, source.labels)} ${num(s.value)}`);
          continue;
        }
        const buckets = metric.buckets ?? [];
        const counts = s.counts ?? [];
        buckets.forEach((le, i) => {
          const labels = labelText({ ...s.labels, le: String(le) }, source.labels);
          entry.lines.push(`${metric.name}_bucket${labels} ${counts[i] ?? 0}`);
        });
        const total = counts[buckets.length] ?? 0;
        entry.lines.push(
          `${metric.name}_bucket${labelText({ ...s.labels, le: '+Inf' }, source.labels)} ${total}`,
        );
        entry.lines.push(`${metric.name}_sum${labelText(s.labels, source.labels)} ${num(s.value)}`);
        entry.lines.push(`${metric.name}_count${labelText(s.labels, source.labels)} ${total}`);
      }
    }
  }
  const out: string[] = [];
  for (const [name, { meta, lines }] of byName) {
    out.push(`# HELP ${name} ${escapeHelp(meta.help)}`, `# TYPE ${name} ${meta.kind}`, ...lines);
  }
  return `${out.join('\n')}\n`;
}

/** The content type of `renderPrometheus`'s text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
