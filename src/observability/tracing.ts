/**
 * OpenTelemetry traces of every session, through the OpenTelemetry API (`@opentelemetry/api`, an
 * optional peer): one trace per session, a span per turn, child spans for STT, LLM and TTS (from the
 * turn's latency marks) and for each tool call, with the session, turn and tool-call ids, the agent
 * and the model as attributes. A projection of the diagnostics channels, like the metrics.
 *
 * A no-op unless configured: without `@opentelemetry/api` nothing is subscribed; without a tracer
 * provider registered (an OpenTelemetry SDK set up by your app, or `colloquy start` with an OTLP
 * endpoint in the environment, see otlp-tracing.ts) a session's root span does not record and the
 * session is not followed at all.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsMessages } from '../diagnostics.ts';
import { hasOptional, requireOptional } from '../optional-dependency.ts';

type Attributes = Record<string, string | number | boolean>;

/** The parts of `@opentelemetry/api` used here (its types stay out of the public declarations). */
interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  isRecording(): boolean;
  end(endTime?: number): void;
}
interface OtelTracer {
  startSpan(
    name: string,
    options?: { startTime?: number; root?: boolean; attributes?: Attributes },
    context?: unknown,
  ): OtelSpan;
}
interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  ROOT_CONTEXT: unknown;
}

/** `SpanStatusCode.ERROR` of the API. */
const STATUS_ERROR = 2;
/** Most open turn and tool spans kept per session (a runaway model cannot grow these). */
const MAX_OPEN_TURNS = 16;
const MAX_OPEN_TOOLS = 64;

interface TurnTrace {
  span: OtelSpan;
  /** The language model of the turn (`llm.usage`), for its LLM span. */
  model?: string;
  /** The speech model and its time to first byte (`metrics.ttfb` of the TTS), for its TTS span. */
  tts?: { model: string | undefined; ttfbMs: number };
}

interface SessionTrace {
  span: OtelSpan;
  agent?: string;
  turns: Map<string, TurnTrace>;
  tools: Map<string, OtelSpan>;
}

type Listener = (message: unknown) => void;

let active: (() => void) | undefined;

/**
 * Starts tracing every session of the process through the OpenTelemetry API (idempotent; returns
 * the stop). `startServer` calls it; call it yourself for sessions you run without the server. The
 * spans go to the tracer provider your app registers (an OpenTelemetry SDK); without one, or without
 * `@opentelemetry/api` installed, nothing is traced and nothing is paid.
 *
 * @example
 * ```ts
 * import { enableTracing } from 'colloquy/server';
 *
 * // after your OpenTelemetry SDK registered its tracer provider:
 * const stopTracing = enableTracing(); // a trace per session, a span per turn, STT, LLM, TTS and tools
 * stopTracing();
 * ```
 */
export function enableTracing(): () => void {
  if (active) return active;
  if (!hasOptional('@opentelemetry/api')) return () => {};
  const api = requireOptional<OtelApi>('@opentelemetry/api', 'OpenTelemetry traces');
  const tracer = api.trace.getTracer('colloquy');
  const sessions = new Map<string, SessionTrace>();
  const under = (parent: OtelSpan) => api.trace.setSpan(api.ROOT_CONTEXT, parent);
  const withAgent = (s: SessionTrace, attributes: Attributes): Attributes => {
    if (s.agent !== undefined) attributes['colloquy.agent'] = s.agent;
    return attributes;
  };

  const handlers: { [K in keyof DiagnosticsMessages]?: (m: DiagnosticsMessages[K]) => void } = {
    sessionCreated: (m) => {
      const span = tracer.startSpan(
        'colloquy.session',
        { root: true, attributes: { 'colloquy.session.id': m.sessionId } },
        api.ROOT_CONTEXT,
      );
      // No tracer provider registered: the API's no-op span; this session is not followed.
      if (!span.isRecording()) return;
      sessions.set(m.sessionId, { span, turns: new Map(), tools: new Map() });
    },
    turnStart: (m) => {
      const s = sessions.get(m.sessionId);
      if (!s || s.turns.size >= MAX_OPEN_TURNS) return;
      const attributes = withAgent(s, { 'colloquy.session.id': m.sessionId, 'colloquy.turn.id': m.turnId });
      s.turns.set(m.turnId, { span: tracer.startSpan('colloquy.turn', { attributes }, under(s.span)) });
    },
    llmStart: (m) => {
      const s = sessions.get(m.sessionId);
      if (!s) return;
      s.agent = m.agentName;
      s.span.setAttribute('colloquy.agent', m.agentName);
      s.turns.get(m.turnId)?.span.setAttribute('colloquy.agent', m.agentName);
    },
    llmUsage: (m) => {
      const turn = sessions.get(m.sessionId)?.turns.get(m.turnId);
      if (!turn) return;
      turn.model = m.model;
      turn.span.setAttribute('gen_ai.request.model', m.model);
      if (m.inputTokens !== undefined) turn.span.setAttribute('gen_ai.usage.input_tokens', m.inputTokens);
      if (m.outputTokens !== undefined) turn.span.setAttribute('gen_ai.usage.output_tokens', m.outputTokens);
    },
    providerCall: (m) => {
      if (m.processor !== 'tts' || m.turnId === undefined) return;
      const turn = sessions.get(m.sessionId)?.turns.get(m.turnId);
      if (turn && !turn.tts) turn.tts = { model: m.model, ttfbMs: m.ttfbMs };
    },
    turnLatency: (m) => {
      const s = sessions.get(m.sessionId);
      const turn = s?.turns.get(m.turnId);
      if (!s || !turn) return;
      const k = m.marks;
      const child = (name: string, start: number | undefined, end: number | undefined, extra: Attributes) => {
        if (start === undefined || end === undefined || end < start) return;
        const attributes = withAgent(s, {
          'colloquy.session.id': m.sessionId,
          'colloquy.turn.id': m.turnId,
          ...extra,
        });
        tracer.startSpan(name, { startTime: start, attributes }, under(turn.span)).end(end);
      };
      child('colloquy.stt', k.userSpeechEndAt, k.transcriptFinalAt, {});
      child(
        'colloquy.llm',
        k.llmRequestAt,
        k.turnEndAt ?? k.llmFirstTokenAt,
        turn.model !== undefined ? { 'gen_ai.request.model': turn.model } : {},
      );
      const tts: Attributes = {};
      if (turn.tts?.model !== undefined) tts['colloquy.tts.model'] = turn.tts.model;
      if (turn.tts) tts['colloquy.ttfb_ms'] = turn.tts.ttfbMs;
      // Synthesis runs from the first text handed to the speech model until the turn's speech is
      // done (the turn's end); its time to first audio is the `colloquy.ttfb_ms` attribute.
      child('colloquy.tts', k.firstTextToTtsAt, k.turnEndAt ?? k.firstAudioOutAt ?? k.ttsFirstByteAt, tts);
      turn.span.setAttribute('colloquy.turn.kind', m.kind);
      if (m.segments.totalE2EMs !== undefined) {
        turn.span.setAttribute('colloquy.latency.total_ms', m.segments.totalE2EMs);
      }
    },
    toolCall: (m) => {
      const s = sessions.get(m.sessionId);
      if (!s || s.tools.size >= MAX_OPEN_TOOLS) return;
      const attributes = withAgent(s, {
        'colloquy.session.id': m.sessionId,
        'colloquy.tool.name': m.name,
        'colloquy.tool.call_id': m.toolCallId,
      });
      if (m.turnId !== undefined) attributes['colloquy.turn.id'] = m.turnId;
      const parent = (m.turnId !== undefined ? s.turns.get(m.turnId)?.span : undefined) ?? s.span;
      s.tools.set(m.toolCallId, tracer.startSpan(`colloquy.tool ${m.name}`, { attributes }, under(parent)));
    },
    toolResult: (m) => {
      const s = sessions.get(m.sessionId);
      const span = s?.tools.get(m.toolCallId);
      if (!s || !span) return;
      s.tools.delete(m.toolCallId);
      span.setAttribute('colloquy.tool.status', m.status);
      if (m.status !== 'success') span.setStatus({ code: STATUS_ERROR, message: m.status });
      span.end();
    },
    turnInterrupted: (m) => {
      const turn = sessions.get(m.sessionId)?.turns.get(m.turnId);
      turn?.span.setAttribute('colloquy.turn.interrupted', true);
      if (m.reason !== undefined) turn?.span.setAttribute('colloquy.turn.interrupt_reason', m.reason);
    },
    turnEnd: (m) => {
      const s = sessions.get(m.sessionId);
      const turn = s?.turns.get(m.turnId);
      if (!s || !turn) return;
      if (m.abandoned) turn.span.setAttribute('colloquy.turn.abandoned', true);
      s.turns.delete(m.turnId);
      turn.span.end();
    },
    error: (m) => {
      const s = m.sessionId !== undefined ? sessions.get(m.sessionId) : undefined;
      if (!s || m.severity === 'warn') return;
      s.span.setStatus({ code: STATUS_ERROR, message: `${m.component}: ${m.error.code}` });
    },
    sessionClosed: (m) => {
      const s = sessions.get(m.sessionId);
      if (!s) return;
      sessions.delete(m.sessionId);
      for (const span of s.tools.values()) span.end();
      for (const turn of s.turns.values()) turn.span.end();
      s.span.setAttribute('colloquy.session.close_reason', m.reason);
      s.span.end();
    },
  };
  const subscribed: Array<[string, Listener]> = [];
  for (const [name, handler] of Object.entries(handlers) as Array<[keyof DiagnosticsMessages, Listener]>) {
    diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS[name], handler);
    subscribed.push([DIAGNOSTICS_CHANNELS[name], handler]);
  }
  const stop = () => {
    for (const [name, handler] of subscribed) diagnosticsChannel.unsubscribe(name, handler);
    for (const s of sessions.values()) s.span.end();
    sessions.clear();
    active = undefined;
  };
  active = stop;
  return stop;
}
