import { describe, expect, it } from 'vitest';
import { MAX_SERIES, MetricsRegistry, renderPrometheus } from './metrics-registry.ts';

describe('MetricsRegistry + renderPrometheus', () => {
  it('renders counters, gauges and histograms in the Prometheus text format, with source labels', () => {
    const r = new MetricsRegistry();
    r.counter('x_total', 'Things', ['kind']).inc({ kind: 'a' }, 2);
    r.gauge('live', 'Live now').set(3);
    const h = r.histogram('lat_ms', 'Latency', ['segment'], [100, 500]);
    h.observe(50, { segment: 'llm' });
    h.observe(300, { segment: 'llm' });
    h.observe(900, { segment: 'llm' });
    const text = renderPrometheus([{ labels: { worker: '1' }, metrics: r.snapshot() }]);
    expect(text.split('\n')).toEqual([
      '# HELP x_total Things',
      '# TYPE x_total counter',
      'x_total{worker="1",kind="a"} 2',
      '# HELP live Live now',
      '# TYPE live gauge',
      'live{worker="1"} 3',
      '# HELP lat_ms Latency',
      '# TYPE lat_ms histogram',
      'lat_ms_bucket{worker="1",segment="llm",le="100"} 1',
      'lat_ms_bucket{worker="1",segment="llm",le="500"} 2',
      'lat_ms_bucket{worker="1",segment="llm",le="+Inf"} 3',
      'lat_ms_sum{worker="1",segment="llm"} 1250',
      'lat_ms_count{worker="1",segment="llm"} 3',
      '',
    ]);
  });

  it('one metric from several processes: one HELP/TYPE, every process its series', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    a.counter('n_total', 'N').inc();
    b.counter('n_total', 'N').inc(undefined, 5);
    const text = renderPrometheus([
      { labels: { worker: '0' }, metrics: a.snapshot() },
      { labels: { worker: '1' }, metrics: b.snapshot() },
    ]);
    expect(text.match(/# TYPE n_total/g)).toHaveLength(1);
    expect(text).toContain('n_total{worker="0"} 1\nn_total{worker="1"} 5');
  });

  it('outside text in a label is escaped, cut at 64 chars, and label sets are bounded (the rest is "other")', () => {
    const r = new MetricsRegistry();
    const c = r.counter('ended_total', 'Ended', ['reason']);
    c.inc({ reason: 'a"b\\c\nd' });
    c.inc({ reason: 'x'.repeat(500) });
    for (let i = 0; i < MAX_SERIES * 3; i++) c.inc({ reason: `r${i}` });
    const snap = r.snapshot()[0]!;
    expect(snap.series.length).toBe(MAX_SERIES + 1);
    expect(snap.series.find((s) => s.labels.reason === 'other')?.value).toBe(
      MAX_SERIES * 3 - (MAX_SERIES - 2),
    );
    const text = renderPrometheus([{ metrics: [snap] }]);
    expect(text).toContain('ended_total{reason="a\\"b\\\\c\\nd"} 1');
    expect(text).toContain(`ended_total{reason="${'x'.repeat(64)}"} 1`);
  });

  it('ignores negative counter steps and non-finite values; asking a name twice gives the same metric', () => {
    const r = new MetricsRegistry();
    const c = r.counter('c_total', 'C');
    c.inc(undefined, -1);
    c.inc(undefined, Number.NaN);
    r.histogram('h', 'H').observe(Number.POSITIVE_INFINITY);
    expect(r.counter('c_total', 'C')).toBe(c);
    expect(() => r.gauge('c_total', 'C')).toThrow(/another kind/);
    expect(r.snapshot().flatMap((m) => m.series)).toEqual([]);
  });
});
