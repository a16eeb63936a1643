/**
 * The process's Colloquy metrics, fed by the diagnostics channels (themselves a projection of each
 * session's bus): live sessions, sessions started and ended by reason, turns, latency histograms per
 * segment, interruptions, tool calls by status, errors by component and severity, provider errors,
 * provider time to first byte, event-loop lag. `enableProcessMetrics()` subscribes once per process;
 * `GET /metrics` renders `processMetrics` (one worker's, or all workers' through the primary).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LatencySegments } from '../bus/events.ts';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsMessages } from '../diagnostics.ts';
import { ProviderError } from '../errors.ts';
import { MetricsRegistry } from './metrics-registry.ts';

/**
 * The process's registry (add your own metrics to it; they appear on `GET /metrics`).
 *
 * @example
 * ```ts
 * import { loadServerConfig, processMetrics, startServer } from 'colloquy/server';
 *
 * const escalations = processMetrics.counter('app_escalations_total', 'Calls handed to a human', ['reason']);
 * const server = await startServer({ config: loadServerConfig() }); // serves GET /metrics
 * escalations.inc({ reason: 'angry_caller' });
 * ```
 */
export const processMetrics = new MetricsRegistry();

const SEGMENTS: ReadonlyArray<[keyof LatencySegments, string]> = [
  ['clientToBackendMs', 'client_to_backend'],
  ['sttMs', 'stt'],
  ['endpointingMs', 'endpointing'],
  ['backendToLLMMs', 'backend_to_llm'],
  ['llmProcessingMs', 'llm'],
  ['llmToBackendMs', 'llm_to_backend'],
  ['ttsMs', 'tts'],
  ['backendToClientMs', 'backend_to_client'],
  ['totalE2EMs', 'total'],
];

/** Components whose errors are a provider's (a speech or language model service). */
const PROVIDER_COMPONENTS = new Set(['stt', 'llm', 'tts', 'vad', 'realtime', 'memory', 'compaction']);

const m = processMetrics;
const live = m.gauge('colloquy_sessions_live', 'Sessions running now');
const started = m.counter('colloquy_sessions_started_total', 'Sessions started');
const ended = m.counter('colloquy_sessions_ended_total', 'Sessions ended, by reason', ['reason']);
const turns = m.counter('colloquy_turns_total', 'Turns finished, by outcome', ['outcome']);
const latency = m.histogram('colloquy_turn_latency_ms', 'Turn latency per segment (ms)', ['segment', 'kind']);
const interruptions = m.counter('colloquy_interruptions_total', 'Turns interrupted, by reason', ['reason']);
const tools = m.counter('colloquy_tool_calls_total', 'Tool calls finished, by status', ['status']);
const errors = m.counter('colloquy_errors_total', 'Errors, by component and severity', [
  'component',
  'severity',
]);
const providerErrors = m.counter(
  'colloquy_provider_errors_total',
  'Errors of providers (speech, language models), by component and code',
  ['component', 'code'],
);
const ttfb = m.histogram('colloquy_provider_ttfb_ms', 'Provider time to first byte (ms)', ['processor']);
const lag = m.gauge('colloquy_event_loop_lag_ms', 'Event-loop delay over the last interval (ms)', [
  'quantile',
]);

type Listener = (message: unknown) => void;
const handlers: { [K in keyof DiagnosticsMessages]?: (message: DiagnosticsMessages[K]) => void } = {
  sessionCreated: () => {
    live.add(1);
    started.inc();
  },
  sessionClosed: (p) => {
    live.add(-1);
    ended.inc({ reason: p.reason });
  },
  turnEnd: (p) => turns.inc({ outcome: p.abandoned ? 'abandoned' : 'completed' }),
  turnInterrupted: (p) => {
    turns.inc({ outcome: 'interrupted' });
    interruptions.inc({ reason: p.reason ?? 'unknown' });
  },
  turnLatency: (p) => {
    for (const [key, segment] of SEGMENTS) {
      const value = p.segments[key];
      if (value !== undefined) latency.observe(value, { segment, kind: p.kind });
    }
  },
  toolResult: (p) => tools.inc({ status: p.status }),
  providerCall: (p) => ttfb.observe(p.ttfbMs, { processor: p.processor }),
  error: (p) => {
    errors.inc({ component: p.component, severity: p.severity });
    if (p.error instanceof ProviderError || PROVIDER_COMPONENTS.has(p.component)) {
      providerErrors.inc({ component: p.component, code: p.error.code });
    }
  },
};

let subscribed: Array<[string, Listener]> | undefined;
let delay: ReturnType<typeof monitorEventLoopDelay> | undefined;
let lastReset = 0;
const LAG_WINDOW_MS = 10_000;

/**
 * Subscribes `processMetrics` to the diagnostics channels and starts measuring event-loop delay
 * (idempotent; the server calls it at start). Returns `processMetrics`.
 */
export function enableProcessMetrics(): MetricsRegistry {
  if (subscribed) return m;
  subscribed = [];
  for (const [name, handler] of Object.entries(handlers) as Array<[keyof DiagnosticsMessages, Listener]>) {
    const channel = DIAGNOSTICS_CHANNELS[name];
    diagnosticsChannel.subscribe(channel, handler);
    subscribed.push([channel, handler]);
  }
  delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  lastReset = Date.now();
  m.onCollect(collectLag);
  return m;
}

/** Event-loop delay (ms) over the current window: p50, p99, max (zeros before enabling). */
export function eventLoopLag(): { p50: number; p99: number; max: number } {
  if (!delay || delay.count === 0) return { p50: 0, p99: 0, max: 0 };
  const ms = (ns: number) => Math.max(0, ns / 1e6 - 20); // the sampling interval is not lag
  return { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
}

function collectLag(): void {
  const now = eventLoopLag();
  lag.set(now.p50, { quantile: '0.5' });
  lag.set(now.p99, { quantile: '0.99' });
  lag.set(now.max, { quantile: '1' });
  if (delay && Date.now() - lastReset >= LAG_WINDOW_MS) {
    delay.reset();
    lastReset = Date.now();
  }
}
