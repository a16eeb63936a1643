/**
 * End to end on realtime speech-to-speech models: the real Colloquy server configured with
 * `COLLOQUY_LLM=openai-realtime:…` / `google-live:…` pointed at the local fake provider servers, and
 * the real PipecatClient + WebSocketTransport in headless Chromium whose fake microphone speaks.
 * The client sees a realtime turn exactly like a cascade turn: user transcript, bot LLM text, bot
 * TTS text and output, speaking events, and the model's audio.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { FakeGeminiLiveServer } from '../../src/testing/fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from '../../src/testing/fake-openai-realtime-server.ts';
import type { FakeRealtimeServer } from '../../src/testing/fake-realtime-server.ts';
import {
  bundlePage,
  type LaunchedChromium,
  launchChromium,
  makeFakeMicWav,
  type PageEvent,
  type StartOptions,
  type StartResult,
  type StaticServer,
  servePage,
} from '../browser/index.ts';
import { startTestServer, until, withoutGreeting } from './helpers.ts';

const ANSWER = 'Breakfast is served from seven to ten.';
const QUESTION = 'what time is breakfast';

describe('Pipecat client in Chromium ↔ Colloquy server on a realtime model', () => {
  let openai: FakeOpenAIRealtimeServer;
  let gemini: FakeGeminiLiveServer;
  let openaiServer: RunningServer;
  let geminiServer: RunningServer;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const named = async (name: string) => (await events()).filter((e) => e.name === name);
  const data = async (name: string) => (await named(name)).map((e) => e.data);
  const start = async (options: StartOptions) => {
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });
  };

  beforeAll(async () => {
    const reply = { userTranscript: QUESTION, text: ANSWER, audioMs: 1200 };
    [openai, gemini] = await Promise.all([
      new FakeOpenAIRealtimeServer({ replies: [reply], speechThreshold: 200, silenceMs: 500 }).listen(),
      new FakeGeminiLiveServer({ replies: [reply], speechThreshold: 200, silenceMs: 500 }).listen(),
    ]);
    // The providers' keys and endpoints are read from the environment when a session connects.
    vi.stubEnv('OPENAI_API_KEY', openai.apiKey);
    vi.stubEnv('COLLOQUY_OPENAI_REALTIME_URL', openai.url);
    vi.stubEnv('GOOGLE_GENERATIVE_AI_API_KEY', gemini.apiKey);
    vi.stubEnv('COLLOQUY_GOOGLE_LIVE_URL', gemini.url);
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: QUESTION, wordsPerMinute: 130, leadingSilenceMs: 700, trailingSilenceMs: 6000 }),
      bundlePage(),
    ]);
    [openaiServer, geminiServer, site] = await Promise.all([
      startTestServer({
        edit: withoutGreeting,
        env: { COLLOQUY_LLM: 'openai-realtime:gpt-realtime' },
      }),
      startTestServer({
        edit: withoutGreeting,
        env: { COLLOQUY_LLM: 'google-live:gemini-2.5-flash-native-audio-preview-12-2025' },
      }),
      servePage(bundle),
    ]);
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await browser?.close();
    await Promise.all([
      openaiServer?.close(),
      geminiServer?.close(),
      site?.close(),
      openai?.close(),
      gemini?.close(),
    ]);
  });

  const conversation = (name: string, fake: () => FakeRealtimeServer, server: () => RunningServer) =>
    it(`${name}: speech in → the model's audio out with transcripts, seen by the client like a cascade turn`, async () => {
      await browser.page.goto(site.origin);
      await start({ transport: 'websocket', endpoint: `${server().url}/connect`, requestData: {} });
      await until(
        'bot stopped speaking',
        async () => ((await named('onBotStoppedSpeaking')).length ? true : undefined),
        30_000,
      );
      const finals = ((await data('onUserTranscript')) as Array<{ text: string; final: boolean }>).filter(
        (t) => t.final,
      );
      expect(finals.map((t) => t.text)).toEqual([QUESTION]);
      expect(await named('onBotLlmStarted')).not.toHaveLength(0);
      const llm = ((await data('onBotLlmText')) as Array<{ text: string }>).map((d) => d.text).join('');
      expect(llm).toBe(ANSWER);
      const tts = ((await data('onBotTtsText')) as Array<{ text: string }>).map((d) => d.text).join('');
      expect(tts).toBe(ANSWER);
      const outputs = (await data('onBotOutput')) as Array<{ text: string; spoken: boolean }>;
      expect(outputs.map((o) => o.text).join('')).toBe(ANSWER);
      expect(outputs.every((o) => o.spoken)).toBe(true);
      expect(await named('onBotStartedSpeaking')).toHaveLength(1);
      expect(await named('onBotTtsStarted')).not.toHaveLength(0);
      // The turn's latency summary reaches the client with the realtime segments, in ms.
      const metrics = await until(
        'turn metrics',
        async () =>
          ((await data('onMetrics')) as Array<Record<string, unknown>>).find(
            (m) => m.total_latency_ms !== undefined,
          ),
        5000,
      );
      for (const key of ['backend_to_llm_ms', 'llm_ttfb_ms', 'llm_to_backend_ms', 'total_latency_ms']) {
        expect(metrics[key], key).toEqual(expect.any(Number));
        expect(metrics[key] as number, key).toBeGreaterThanOrEqual(0);
      }
      expect(metrics.stt_latency_ms).toBeUndefined();
      expect(await named('onError')).toEqual([]);
      // The user's audio reached the provider (resampled to its rate) through the server.
      expect(fake().received.length).toBeGreaterThan(10);
      await browser.page.evaluate(() => window.__client?.disconnectBot());
      await until(
        'no live session',
        () => (server().context.registry.activeCount === 0 ? true : undefined),
        5000,
      );
    }, 60_000);

  conversation(
    'OpenAI Realtime',
    () => openai,
    () => openaiServer,
  );
  conversation(
    'Gemini Live',
    () => gemini,
    () => geminiServer,
  );
});
