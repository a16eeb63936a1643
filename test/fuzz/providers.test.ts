/**
 * Property-based fuzzing of what model providers send back — a provider (or whoever answers in its
 * place) is outside too. The OpenAI Realtime and Gemini Live adapters are connected over real
 * loopback WebSockets to the local fake servers, which then send thousands of hostile messages
 * (random and mutated protocol messages, deep JSON, non-JSON, wrong types in every field); the
 * Deepgram protocol parser gets the same treatment. Seeded and reproducible; asserting no crash,
 * typed errors only, well-formed events, and bounded memory.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { GeminiLiveModel } from '../../src/providers/realtime/gemini-live.ts';
import { OpenAIRealtimeModel } from '../../src/providers/realtime/openai-realtime.ts';
import type {
  RealtimeConnection,
  RealtimeEvent,
  RealtimeSessionConfig,
} from '../../src/providers/realtime/types.ts';
import { parseDeepgramMessage } from '../../src/providers/streaming/deepgram-protocol.ts';
import { FakeGeminiLiveServer } from '../../src/testing/fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from '../../src/testing/fake-openai-realtime-server.ts';
import { until } from '../../src/testing/signals.ts';

const SEED = 20261129;
const heapBefore = process.memoryUsage().heapUsed;

const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 7000 }), fc.boolean())
  .map(([depth, obj]) =>
    obj ? `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`,
  );

/** Any value a hostile provider could put in a field. */
const hostileValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.base64String({ maxLength: 400 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
);

/** Messages shaped like a protocol's (a known key set), every field hostile; plus garbage text. */
function hostileMessages(shaped: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: shaped.map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  );
}

const OPENAI_TYPES = [
  'session.created',
  'session.updated',
  'input_audio_buffer.speech_started',
  'input_audio_buffer.speech_stopped',
  'conversation.item.input_audio_transcription.delta',
  'conversation.item.input_audio_transcription.completed',
  'conversation.item.input_audio_transcription.failed',
  'response.created',
  'response.output_audio.delta',
  'response.audio.delta',
  'response.output_audio_transcript.delta',
  'response.output_audio_transcript.done',
  'response.output_item.done',
  'response.done',
  'error',
  'rate_limits.updated',
  'unknown.type',
];
const openAiMessage = fc.record(
  {
    type: fc.constantFrom(...OPENAI_TYPES),
    event_id: hostileValue,
    item_id: hostileValue,
    response_id: hostileValue,
    delta: hostileValue,
    transcript: hostileValue,
    item: fc.oneof(
      hostileValue,
      fc.record({
        type: fc.constantFrom('function_call', 'message', 'x'),
        call_id: hostileValue,
        name: hostileValue,
        arguments: hostileValue,
      }),
    ),
    response: fc.oneof(
      hostileValue,
      fc.record({ id: hostileValue, status: hostileValue, output: hostileValue, usage: hostileValue }),
    ),
    error: fc.oneof(
      hostileValue,
      fc.record({ code: hostileValue, message: hostileValue, type: hostileValue }),
    ),
  },
  { requiredKeys: ['type'] },
);

const geminiMessage = fc.record(
  {
    setupComplete: fc.oneof(hostileValue, fc.record({ sessionId: hostileValue })),
    serverContent: fc.oneof(
      hostileValue,
      fc.record(
        {
          inputTranscription: fc.oneof(hostileValue, fc.record({ text: hostileValue })),
          outputTranscription: fc.oneof(hostileValue, fc.record({ text: hostileValue })),
          modelTurn: fc.oneof(
            hostileValue,
            fc.record({
              parts: fc.oneof(
                hostileValue,
                fc.array(
                  fc.record({
                    inlineData: fc.oneof(
                      hostileValue,
                      fc.record({ data: hostileValue, mimeType: hostileValue }),
                    ),
                  }),
                  {
                    maxLength: 3,
                  },
                ),
              ),
            }),
          ),
          interrupted: hostileValue,
          turnComplete: hostileValue,
          generationComplete: hostileValue,
        },
        { requiredKeys: [] },
      ),
    ),
    toolCall: fc.oneof(
      hostileValue,
      fc.record({
        functionCalls: fc.oneof(
          hostileValue,
          fc.array(fc.record({ id: hostileValue, name: hostileValue, args: hostileValue }), { maxLength: 3 }),
        ),
      }),
    ),
    toolCallCancellation: fc.oneof(hostileValue, fc.record({ ids: hostileValue })),
    goAway: fc.oneof(hostileValue, fc.record({ timeLeft: hostileValue })),
    sessionResumptionUpdate: fc.oneof(
      hostileValue,
      fc.record({ newHandle: hostileValue, resumable: hostileValue }),
    ),
    usageMetadata: fc.oneof(
      hostileValue,
      fc.record({ promptTokenCount: hostileValue, totalTokenCount: hostileValue }),
    ),
  },
  { requiredKeys: [] },
);

/** Fails unless the event is one the RealtimeEvent union allows, with well-typed fields. */
function checkEvent(e: RealtimeEvent): void {
  switch (e.type) {
    case 'error':
      expect(e.error).toBeInstanceOf(ProviderError);
      expect(typeof e.error.code).toBe('string');
      expect(['harmless', 'retryable', 'fatal']).toContain(e.severity);
      return;
    case 'audio':
      expect(e.pcm).toBeInstanceOf(Int16Array);
      expect(typeof e.itemId).toBe('string');
      return;
    case 'input-transcript':
    case 'output-transcript':
      expect(typeof e.text).toBe('string');
      expect(typeof e.final).toBe('boolean');
      return;
    case 'tool-call':
      expect(typeof e.callId).toBe('string');
      expect(typeof e.name).toBe('string');
      expect(typeof e.argumentsJson).toBe('string');
      return;
    case 'tool-cancel':
      expect(e.callIds.every((id) => typeof id === 'string')).toBe(true);
      return;
    case 'usage':
      for (const v of Object.values(e.usage)) if (v !== undefined) expect(Number.isFinite(v)).toBe(true);
      return;
    case 'goaway':
      expect(Number.isFinite(e.timeLeftMs)).toBe(true);
      return;
    case 'resumption':
      expect(typeof e.handle).toBe('string');
      return;
    case 'response-started':
    case 'response-done':
      expect(typeof e.responseId).toBe('string');
      return;
    case 'ready':
    case 'speech-started':
    case 'speech-stopped':
    case 'interrupted':
    case 'closed':
      return;
  }
}

const config: RealtimeSessionConfig = {
  instructions: 'Be brief.',
  tools: [],
  voice: 'cedar',
  turnDetection: { type: 'provider' },
};

interface Target {
  name: string;
  messages: fc.Arbitrary<string>;
  /** A message that certainly yields `sentinelEvent(n)`: everything sent before it was handled. */
  sentinel(n: number): string;
  isSentinel(e: RealtimeEvent, n: number): boolean;
  start(): Promise<{ conn: RealtimeConnection; sendRaw(text: string): void; close(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'OpenAI Realtime',
    messages: hostileMessages(openAiMessage),
    sentinel: (n) => JSON.stringify({ type: 'response.created', response: { id: `sentinel-${n}` } }),
    isSentinel: (e, n) => e.type === 'response-started' && e.responseId === `sentinel-${n}`,
    async start() {
      const server = await new FakeOpenAIRealtimeServer({ speed: 50 }).listen();
      const model = new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: 'test-key', url: server.url });
      const conn = await model.connect(config, { onEvent: (e) => events.push(e) });
      return { conn, sendRaw: (t) => server.sendRaw(t), close: () => server.close() };
    },
  },
  {
    name: 'Gemini Live',
    messages: hostileMessages(geminiMessage),
    sentinel: (n) =>
      JSON.stringify({ sessionResumptionUpdate: { newHandle: `sentinel-${n}`, resumable: true } }),
    isSentinel: (e, n) => e.type === 'resumption' && e.handle === `sentinel-${n}`,
    async start() {
      const server = await new FakeGeminiLiveServer({ speed: 50 }).listen();
      const model = new GeminiLiveModel({ model: 'gemini-live', apiKey: 'test-key', url: server.url });
      const conn = await model.connect(config, { onEvent: (e) => events.push(e) });
      return { conn, sendRaw: (t) => server.sendRaw(t), close: () => server.close() };
    },
  },
];

let events: RealtimeEvent[] = [];

describe.each(targets)('fuzz: $name adapter fed hostile server messages', (target) => {
  let link: Awaited<ReturnType<Target['start']>>;
  beforeAll(async () => {
    events = [];
    link = await target.start();
  });
  afterAll(async () => {
    link.conn.close();
    await link.close();
  });

  it('thousands of messages: only well-formed events and typed errors; the connection stays usable', async () => {
    let n = 0;
    let messages = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(target.messages, { minLength: 20, maxLength: 40 }), async (batch) => {
        events = [];
        for (const text of batch) link.sendRaw(text);
        messages += batch.length;
        const id = n++;
        link.sendRaw(target.sentinel(id));
        await until(
          'sentinel',
          () => (events.some((e) => target.isSentinel(e, id)) ? true : undefined),
          10_000,
        );
        for (const e of events) checkEvent(e);
        expect(events.some((e) => e.type === 'closed')).toBe(false);
      }),
      { seed: SEED, numRuns: 100 },
    );
    expect(messages).toBeGreaterThan(2000);
  });
});

describe('fuzz: Deepgram server messages', () => {
  const deepgramMessage = fc.record(
    {
      type: fc.constantFrom('Results', 'Metadata', 'UtteranceEnd', 'SpeechStarted', 'Error', 'x'),
      is_final: hostileValue,
      speech_final: hostileValue,
      from_finalize: hostileValue,
      start: hostileValue,
      duration: hostileValue,
      request_id: hostileValue,
      last_word_end: hostileValue,
      timestamp: hostileValue,
      channel: fc.oneof(
        hostileValue,
        fc.record({
          alternatives: fc.oneof(
            hostileValue,
            fc.array(
              fc.record({
                transcript: hostileValue,
                confidence: hostileValue,
                languages: hostileValue,
                words: fc.oneof(
                  hostileValue,
                  fc.array(
                    fc.record({
                      word: hostileValue,
                      start: hostileValue,
                      end: hostileValue,
                      confidence: hostileValue,
                    }),
                    {
                      maxLength: 4,
                    },
                  ),
                ),
              }),
              { maxLength: 2 },
            ),
          ),
        }),
      ),
    },
    { requiredKeys: ['type'] },
  );

  it('any message parses to a well-typed message or throws a ProviderError', () => {
    fc.assert(
      fc.property(hostileMessages(deepgramMessage), (text) => {
        let message: ReturnType<typeof parseDeepgramMessage>;
        try {
          message = parseDeepgramMessage(text, 1024 * 1024);
        } catch (err) {
          expect(err).toBeInstanceOf(ProviderError);
          expect((err as ProviderError).code).toBe('stt_bad_message');
          return;
        }
        switch (message.type) {
          case 'Results':
            expect(typeof message.transcript).toBe('string');
            expect(Array.isArray(message.words)).toBe(true);
            expect(Number.isFinite(message.start) && Number.isFinite(message.duration)).toBe(true);
            return;
          case 'Metadata':
            expect(typeof message.requestId).toBe('string');
            return;
          case 'UtteranceEnd':
            expect(Number.isFinite(message.lastWordEnd)).toBe(true);
            return;
          case 'SpeechStarted':
            expect(Number.isFinite(message.timestamp)).toBe(true);
            return;
          case 'unknown':
            expect(message.name.length).toBeLessThanOrEqual(40);
            return;
        }
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });
});

describe('fuzz: memory', () => {
  it('the whole run left the heap bounded', () => {
    globalThis.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 1024 * 1024);
  });
});
