/**
 * Turn latency over the native WebSocket protocol, per kind of turn, with a real `ws` client: every
 * segment that means something for the turn is present, every other one is absent (not zero), and
 * `clientToBackendMs` comes from the client's own `timestamp`, whatever its clock's offset.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EventMap, LatencySegments } from '../../src/bus/events.ts';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { type MockResponseInput, mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import {
  type MessageLog,
  mockSpeechModel,
  mockTranscriptionModel,
  openClient,
  startServer,
} from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The client's clock runs this far ahead of the server's: the skew `clientToBackendMs` must not contain. */
const CLIENT_CLOCK_AHEAD_MS = 5 * 60_000;
const clientNow = () => Date.now() + CLIENT_CLOCK_AHEAD_MS;

async function setup(answers: MockResponseInput[], extra: { speech?: boolean } = {}) {
  const lookup = tool({
    description: 'Look up the weather',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, sky: 'clear' }),
  });
  const agent = new VoiceAgent({
    model: mockLanguageModel(answers),
    tools: { lookup },
    transcriptionModel: mockTranscriptionModel(['what is the weather'], 'en', 20).model,
    ...(extra.speech ? { speechModel: mockSpeechModel({ delayFor: () => 15 }).model } : {}),
    logger: silentLogger,
  });
  const rec = new EventRecorder(agent.bus);
  const server = await startServer((socket) => agent.handleSocket(socket));
  const log = await openClient(server.url);
  cleanups.push(
    () => log.socket.terminate(),
    () => agent.destroy(),
    () => server.close(),
  );
  return { agent, rec, log };
}

async function latencyOf(rec: EventRecorder, log: MessageLog, n: number): Promise<EventMap['turn.latency']> {
  await log.waitFor('response_complete', () => log.of('response_complete').length >= n, 8000);
  return rec
    .waitFor('turn.latency', () => rec.payloads('turn.latency').length >= n)
    .then(() => rec.payloads('turn.latency')[n - 1]!);
}

const keys = (s: LatencySegments) => Object.keys(s).sort();

describe('turn latency segments, per kind of turn (native protocol, real ws client)', () => {
  it('text turn without speech: client→backend from the stamped transcript, LLM→backend and backend→client from the text reaching the socket', async () => {
    const { rec, log } = await setup(['It is sunny.', 'Still sunny.']);
    const firstSentAt = Date.now();
    log.send({ type: 'transcript', text: 'weather?', timestamp: firstSentAt + CLIENT_CLOCK_AHEAD_MS });
    const first = await latencyOf(rec, log, 1);
    expect(first.kind).toBe('text');
    expect(keys(first.segments)).toEqual(
      [
        'clientToBackendMs',
        'backendToLLMMs',
        'llmProcessingMs',
        'llmToBackendMs',
        'backendToClientMs',
        'totalE2EMs',
      ].sort(),
    );
    // Loopback: the five-minute clock offset is gone, what is left is the transit bound (half a round trip).
    expect(first.segments.clientToBackendMs).toBeGreaterThanOrEqual(0);
    expect(first.segments.clientToBackendMs).toBeLessThan(250);
    expect(first.marks.firstTextOutAt).toBeGreaterThanOrEqual(first.marks.firstTextHandedAt!);
    expect(first.segments.totalE2EMs).toBeCloseTo(first.marks.firstTextOutAt! - first.marks.userTextAt!, 0);

    // A message that sat 400 ms in the client before it was sent shows as 400 ms more transit. The
    // estimate takes the fastest message seen (here the first) as the fastest possible transit: on a
    // loaded machine the first one's own transit is subtracted (test and server share one clock).
    const firstTransit = first.marks.clientReceivedAt! - firstSentAt;
    log.send({ type: 'transcript', text: 'and now?', timestamp: clientNow() - 400 });
    const second = await latencyOf(rec, log, 2);
    expect(second.segments.clientToBackendMs).toBeGreaterThanOrEqual(400 - firstTransit);
    expect(second.segments.clientToBackendMs).toBeLessThan(400 + 250);
  });

  it('a transcript without a timestamp has no clientToBackendMs (absent, not zero)', async () => {
    const { rec, log } = await setup(['Sunny.']);
    log.send({ type: 'transcript', text: 'weather?' });
    const { segments } = await latencyOf(rec, log, 1);
    expect(segments).not.toHaveProperty('clientToBackendMs');
    expect(segments).toHaveProperty('backendToClientMs');
  });

  it('spoken turn (stamped recording, spoken answer): every cascade segment', async () => {
    const { rec, log } = await setup(['It is sunny today.'], { speech: true });
    log.send({
      type: 'audio',
      data: Buffer.from('RIFF-not-really-audio').toString('base64'),
      timestamp: clientNow(),
    });
    const { kind, segments } = await latencyOf(rec, log, 1);
    expect(kind).toBe('cascade');
    expect(keys(segments)).toEqual(
      [
        'clientToBackendMs',
        'sttMs',
        'endpointingMs',
        'backendToLLMMs',
        'llmProcessingMs',
        'llmToBackendMs',
        'ttsMs',
        'backendToClientMs',
        'totalE2EMs',
      ].sort(),
    );
    // The mock STT takes 20 ms, the mock TTS 15 ms.
    expect(segments.sttMs).toBeGreaterThanOrEqual(15);
    expect(segments.ttsMs).toBeGreaterThanOrEqual(10);
  });

  it('tool turn without speech: the text segments, with the tool run inside llmToBackendMs', async () => {
    const { rec, log } = await setup([
      [{ toolCall: { name: 'lookup', args: { city: 'Oslo' }, id: 'w1' } }],
      'Clear skies in Oslo.',
    ]);
    log.send({ type: 'transcript', text: 'weather in Oslo?', timestamp: clientNow() });
    const { kind, segments, marks } = await latencyOf(rec, log, 1);
    expect(kind).toBe('text');
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: 'w1', status: 'success' });
    expect(keys(segments)).toEqual(
      [
        'clientToBackendMs',
        'backendToLLMMs',
        'llmProcessingMs',
        'llmToBackendMs',
        'backendToClientMs',
        'totalE2EMs',
      ].sort(),
    );
    // The first token was the tool call; the first text came after the tool ran.
    expect(marks.firstTextHandedAt).toBeGreaterThan(marks.llmFirstTokenAt!);
  });

  it('tool turn with speech: the spoken segments', async () => {
    const { rec, log } = await setup(
      [[{ toolCall: { name: 'lookup', args: { city: 'Oslo' }, id: 'w1' } }], 'Clear skies in Oslo.'],
      { speech: true },
    );
    log.send({ type: 'transcript', text: 'weather in Oslo?', timestamp: clientNow() });
    const { segments } = await latencyOf(rec, log, 1);
    expect(keys(segments)).toEqual(
      [
        'clientToBackendMs',
        'backendToLLMMs',
        'llmProcessingMs',
        'llmToBackendMs',
        'ttsMs',
        'backendToClientMs',
        'totalE2EMs',
      ].sort(),
    );
  });
});
