import { trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { enableTracing } from './tracing.ts';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
/** The spans of the trace whose root is the session span of `sessionId`. */
function traceOf(sessionId: string): { root: ReadableSpan; spans: ReadableSpan[] } {
  const spans = exporter.getFinishedSpans();
  const root = spans.find(
    (s) => s.name === 'colloquy.session' && s.attributes['colloquy.session.id'] === sessionId,
  );
  if (!root) throw new Error(`no session span for ${sessionId}`);
  return { root, spans: spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId) };
}

describe('OpenTelemetry traces (the OpenTelemetry SDK, in-memory exporter)', () => {
  let stop: () => void;
  // Enabled before any tracer provider is registered, as a server that starts before the app's SDK.
  beforeAll(() => {
    stop = enableTracing();
  });
  afterAll(async () => {
    stop();
    await provider.shutdown();
    trace.disable();
  });

  it('no tracer provider registered: a session records nothing; one registered later gets the next sessions', async () => {
    const quiet = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['Hi.']),
      logger: silentLogger,
    });
    await quiet.sendText('hello');
    await quiet.close('test_done');
    trace.setGlobalTracerProvider(provider);
    await provider.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('one trace per session; a span per turn with agent, model and turn id; LLM and tool spans under their turn', async () => {
    const lookup = tool({
      description: 'Look up',
      inputSchema: z.object({ q: z.string() }),
      execute: async ({ q }) => ({ q }),
    });
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'concierge', instructions: 'x', tools: { lookup } }],
      model: mockLanguageModel(
        [[{ toolCall: { name: 'lookup', args: { q: 'a' }, id: 'c1' } }], 'Done.', 'Again.'],
        'front-desk-model',
      ),
      logger: silentLogger,
    });
    const first = await session.sendText('look');
    const second = await session.sendText('again');
    await session.close('test_done');

    const { root, spans } = traceOf(session.sessionId);
    expect(parentOf(root)).toBeUndefined();
    expect(root.attributes).toMatchObject({
      'colloquy.session.id': session.sessionId,
      'colloquy.agent': 'concierge',
      'colloquy.session.close_reason': 'test_done',
    });
    const turns = spans.filter((s) => s.name === 'colloquy.turn');
    expect(turns.map((t) => t.attributes['colloquy.turn.id']).sort()).toEqual(
      [first.turnId, second.turnId].sort(),
    );
    for (const t of turns) {
      expect(parentOf(t)).toBe(idOf(root));
      expect(t.attributes).toMatchObject({
        'colloquy.session.id': session.sessionId,
        'colloquy.agent': 'concierge',
        'gen_ai.request.model': 'front-desk-model',
        'colloquy.turn.kind': 'text',
      });
    }
    const llm = spans.filter((s) => s.name === 'colloquy.llm');
    expect(llm).toHaveLength(2);
    for (const span of llm) {
      const turn = turns.find((t) => idOf(t) === parentOf(span));
      expect(turn?.attributes['colloquy.turn.id']).toBe(span.attributes['colloquy.turn.id']);
      expect(span.attributes).toMatchObject({ 'colloquy.agent': 'concierge' });
    }
    const toolSpan = spans.find((s) => s.name === 'colloquy.tool lookup');
    const firstTurn = turns.find((t) => t.attributes['colloquy.turn.id'] === first.turnId)!;
    expect(parentOf(toolSpan!)).toBe(idOf(firstTurn));
    expect(toolSpan!.attributes).toMatchObject({
      'colloquy.tool.status': 'success',
      'colloquy.tool.call_id': 'c1',
      'colloquy.turn.id': first.turnId,
      'colloquy.agent': 'concierge',
    });
    expect(toolSpan!.status.code).toBe(0);
  });

  it('a spoken answer: the TTS span runs from the first text to the end of the turn, its time to first audio an attribute', async () => {
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'concierge', instructions: 'x' }],
      model: mockLanguageModel(['Hello there. How can I help you today?']),
      logger: silentLogger,
      audio: {
        tts: new MockTts({ sampleRate: 24000, msPerChar: 5 }),
        outputSampleRate: 24000,
        output: { write: () => {} },
      },
    });
    const turn = await session.sendText('hi');
    await session.close('test_done');
    const { spans } = traceOf(session.sessionId);
    const turnSpan = spans.find((s) => s.name === 'colloquy.turn')!;
    const tts = spans.find((s) => s.name === 'colloquy.tts')!;
    expect(parentOf(tts)).toBe(idOf(turnSpan));
    expect(tts.attributes).toMatchObject({
      'colloquy.turn.id': turn.turnId,
      'colloquy.ttfb_ms': expect.any(Number),
    });
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    // 180 ms of audio for the whole answer: the span covers it, not only the first audio.
    expect(ms(tts.endTime) - ms(tts.startTime)).toBeGreaterThan(tts.attributes['colloquy.ttfb_ms'] as number);
    expect(ms(tts.endTime)).toBeGreaterThanOrEqual(
      ms(spans.find((s) => s.name === 'colloquy.llm')!.endTime) - 1,
    );
  });

  it('a failing tool ends its span with an error status; another session is another trace', async () => {
    const broken = tool({
      description: 'Broken',
      inputSchema: z.object({}),
      execute: async (): Promise<{ ok: boolean }> => {
        throw new Error('down');
      },
    });
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x', tools: { broken } }],
      model: mockLanguageModel([[{ toolCall: { name: 'broken', args: {}, id: 'c9' } }], 'Sorry.']),
      logger: silentLogger,
    });
    await session.sendText('try');
    await session.close('test_done');
    const { root, spans } = traceOf(session.sessionId);
    const roots = exporter.getFinishedSpans().filter((s) => s.name === 'colloquy.session');
    expect(new Set(roots.map((s) => s.spanContext().traceId)).size).toBe(roots.length);
    expect(roots.length).toBeGreaterThanOrEqual(2);
    const toolSpan = spans.find((s) => s.name === 'colloquy.tool broken');
    expect(toolSpan?.status).toEqual({ code: 2, message: 'error' });
    expect(toolSpan?.attributes['colloquy.tool.call_id']).toBe('c9');
    expect(root.attributes['colloquy.agent']).toBe('main');
  });
});
