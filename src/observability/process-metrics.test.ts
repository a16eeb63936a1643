import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { type MetricSnapshot, renderPrometheus } from './metrics-registry.ts';
import { enableProcessMetrics } from './process-metrics.ts';

/** The value of one series (0 when absent). */
function seriesValue(metrics: MetricSnapshot[], name: string, labels: Record<string, string> = {}): number {
  const metric = metrics.find((m) => m.name === name);
  const series = metric?.series.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (!series) return 0;
  return metric?.kind === 'histogram' ? (series.counts?.at(-1) ?? 0) : series.value;
}

describe('process metrics (from the diagnostics channels)', () => {
  it('a session with a tool call, a failing tool and a turn: sessions, turns, latency and tool calls by status counted', async () => {
    const metrics = enableProcessMetrics();
    const before = metrics.snapshot();
    const weather = tool({
      description: 'Weather',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, tempC: 21 }),
    });
    const broken = tool({
      description: 'Broken',
      inputSchema: z.object({}),
      execute: async (): Promise<{ ok: boolean }> => {
        throw new Error('down');
      },
    });
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x', tools: { weather, broken } }],
      model: mockLanguageModel([
        [
          { toolCall: { name: 'weather', args: { city: 'Paris' }, id: 'c1' } },
          { toolCall: { name: 'broken', args: {}, id: 'c2' } },
        ],
        'It is 21 degrees.',
      ]),
      logger: silentLogger,
    });
    const live = seriesValue(metrics.snapshot(), 'colloquy_sessions_live');
    expect(live).toBe(seriesValue(before, 'colloquy_sessions_live') + 1);
    await session.sendText('weather?');
    await session.close('test_done');
    const after = metrics.snapshot();
    const delta = (name: string, labels?: Record<string, string>) =>
      seriesValue(after, name, labels) - seriesValue(before, name, labels);
    expect(delta('colloquy_sessions_live')).toBe(0);
    expect(delta('colloquy_sessions_started_total')).toBe(1);
    expect(delta('colloquy_sessions_ended_total', { reason: 'test_done' })).toBe(1);
    expect(delta('colloquy_turns_total', { outcome: 'completed' })).toBe(1);
    expect(delta('colloquy_turn_latency_ms', { segment: 'total', kind: 'text' })).toBe(1);
    expect(delta('colloquy_tool_calls_total', { status: 'success' })).toBe(1);
    expect(delta('colloquy_tool_calls_total', { status: 'error' })).toBe(1);
    const text = renderPrometheus([{ metrics: after }]);
    expect(text).toMatch(/^colloquy_event_loop_lag_ms\{quantile="0.99"\} \d/m);
  });

  it('an interrupted turn counts an interruption by reason', async () => {
    const metrics = enableProcessMetrics();
    const before = metrics.snapshot();
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel([{ parts: [{ text: 'A long answer that goes on.' }], chunkDelayMs: 50 }]),
      logger: silentLogger,
    });
    const turn = session.sendText('talk');
    await new Promise<void>((resolve) => session.eventBus.subscribe('llm.text.delta', () => resolve()));
    session.interrupt('user_speaking');
    await turn;
    await session.close('test_done');
    const after = metrics.snapshot();
    expect(
      seriesValue(after, 'colloquy_interruptions_total', { reason: 'user_speaking' }) -
        seriesValue(before, 'colloquy_interruptions_total', { reason: 'user_speaking' }),
    ).toBe(1);
  });

  it('errors by component and severity; a language model failure is also a provider error, a handler bug is not', async () => {
    const metrics = enableProcessMetrics();
    const before = metrics.snapshot();
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel([[{ error: new Error('rate limited') }]]),
      logger: silentLogger,
    });
    session.eventBus.subscribe('turn.start', () => {
      throw new Error('handler bug');
    });
    await session.sendText('hi').catch(() => undefined);
    await session.close('test_done');
    const after = metrics.snapshot();
    const delta = (name: string, labels: Record<string, string>) =>
      seriesValue(after, name, labels) - seriesValue(before, name, labels);
    expect(delta('colloquy_errors_total', { component: 'event-bus', severity: 'warn' })).toBe(1);
    expect(delta('colloquy_provider_errors_total', { component: 'event-bus' })).toBe(0);
    const llmErrors = after
      .find((m) => m.name === 'colloquy_errors_total')
      ?.series.filter((s) => s.labels.component === 'llm');
    expect(llmErrors?.length).toBeGreaterThan(0);
    expect(delta('colloquy_provider_errors_total', { component: 'llm' })).toBeGreaterThanOrEqual(1);
  });
});
