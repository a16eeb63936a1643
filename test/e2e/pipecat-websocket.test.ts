/**
 * End to end: the real Colloquy server (offline demo: scripted LLM + kb tool, pocketsphinx with the
 * demo grammar, espeak, Silero) and the real PipecatClient + WebSocketTransport in headless Chromium,
 * whose fake microphone says "what time is breakfast". Asserts the client callbacks of seed 002 with
 * their payloads, then stream mode's `tts-speak` and the idle timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
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
import { BREAKFAST_QUESTION, startTestServer, until, withoutGreeting } from './helpers.ts';

const BREAKFAST = 'Breakfast is served from seven to ten in the garden room.';

describe('Pipecat WebSocket transport: real client ↔ Colloquy server', () => {
  let agentServer: RunningServer;
  let streamServer: RunningServer;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const named = async (name: string) => (await events()).filter((e) => e.name === name);
  const data = async (name: string) => (await named(name)).map((e) => e.data);
  const serverMessages = async () => (await data('onServerMessage')) as Array<{ type: string; data: any }>;
  const waitForServerMessage = (type: string, timeoutMs = 20_000) =>
    until(
      `server-message ${type}`,
      async () => (await serverMessages()).find((m) => m.type === type),
      timeoutMs,
    );
  const start = async (options: StartOptions) => {
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });
    return result as Extract<StartResult, { ok: true }>;
  };

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({
        text: 'what time is breakfast',
        wordsPerMinute: 130,
        leadingSilenceMs: 700,
        trailingSilenceMs: 2500,
      }),
      bundlePage(),
    ]);
    [agentServer, streamServer, site] = await Promise.all([
      startTestServer({ edit: withoutGreeting }),
      startTestServer({ edit: withoutGreeting, env: { COLLOQUY_IDLE_TIMEOUT_MS: '2500' } }),
      servePage(bundle),
    ]);
    browser = await launchChromium({ wav: mic.path });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([agentServer?.close(), streamServer?.close(), site?.close()]);
  });

  it('speech in → transcript → LLM + tool → speech out, with every seed event and payload', async () => {
    await browser.page.goto(site.origin);
    const ready = await start({
      transport: 'websocket',
      endpoint: `${agentServer.url}/connect`,
      requestData: { agent: 'concierge' },
    });
    expect(ready.botReady).toMatchObject({
      version: '2.1.0',
      about: { library: 'colloquy', session_id: expect.any(String) },
    });
    const [botReady] = await data('onBotReady');
    expect(botReady).toEqual(ready.botReady);

    // The whole turn: wait until the bot finished speaking the kb answer.
    await until(
      'bot stopped speaking',
      async () => ((await named('onBotStoppedSpeaking')).length ? true : undefined),
      30_000,
    );
    const turnMetrics = () =>
      data('onMetrics').then((all) =>
        (all as Array<Record<string, unknown>>).find((m) => m.total_latency_ms !== undefined),
      );
    const metrics = await until('turn metrics', turnMetrics, 5000);

    expect(await named('onUserStartedSpeaking')).not.toHaveLength(0);
    expect(await named('onUserStoppedSpeaking')).not.toHaveLength(0);
    const finals = ((await data('onUserTranscript')) as Array<Record<string, unknown>>).filter(
      (t) => t.final,
    );
    expect(finals).toEqual([
      {
        text: expect.stringMatching(BREAKFAST_QUESTION),
        final: true,
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        user_id: expect.any(String),
      },
    ]);

    expect(await named('onBotLlmStarted')).not.toHaveLength(0);
    expect(await named('onBotLlmStopped')).not.toHaveLength(0);
    const llmText = ((await data('onBotLlmText')) as Array<{ text: string }>).map((d) => d.text).join('');
    expect(llmText.replace(/\s+/g, ' ').trim()).toBe(BREAKFAST);

    const [callStarted] = await data('onLLMFunctionCallStarted');
    expect(callStarted).toEqual({ function_name: 'hotel_faq' });
    const [inProgress] = (await data('onLLMFunctionCallInProgress')) as Array<Record<string, unknown>>;
    expect(inProgress).toEqual({
      tool_call_id: expect.any(String),
      function_name: 'hotel_faq',
      arguments: { query: 'breakfast' },
    });
    const [stopped] = await data('onLLMFunctionCallStopped');
    expect(stopped).toEqual({
      tool_call_id: inProgress.tool_call_id,
      function_name: 'hotel_faq',
      arguments: { query: 'breakfast' },
      cancelled: false,
      result: { results: [expect.objectContaining({ text: BREAKFAST })] },
      transition_to: null,
    });

    expect(await named('onBotTtsStarted')).not.toHaveLength(0);
    expect(await named('onBotTtsStopped')).not.toHaveLength(0);
    const ttsText = ((await data('onBotTtsText')) as Array<{ text: string }>).map((d) => d.text).join(' ');
    expect(ttsText.replace(/\s+/g, ' ').trim()).toBe(BREAKFAST);
    expect(await named('onBotStartedSpeaking')).toHaveLength(1);
    expect(await named('onBotStoppedSpeaking')).toHaveLength(1);
    const outputs = (await data('onBotOutput')) as Array<Record<string, unknown>>;
    expect(outputs.length).toBeGreaterThan(0);
    for (const o of outputs) expect(o).toMatchObject({ spoken: true, text: expect.any(String) });
    expect(
      outputs
        .map((o) => o.text)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
    ).toBe(BREAKFAST);

    for (const key of ['stt_latency_ms', 'llm_ttfb_ms', 'tts_ttfb_ms', 'total_latency_ms']) {
      expect(metrics[key], key).toEqual(expect.any(Number));
      expect(metrics[key] as number, key).toBeGreaterThanOrEqual(0);
    }

    // Order of the custom server messages so far.
    expect((await serverMessages()).map((m) => m.type)).toEqual(['bot-ready', 'conversation-start']);
    expect(await serverMessages()).toContainEqual({ type: 'conversation-start', data: {} });
    expect(await named('onError')).toEqual([]);

    // disconnect-bot → conversation-end {reason: client_disconnected}, then the server closes.
    await browser.page.evaluate(() => window.__client?.disconnectBot());
    const end = await waitForServerMessage('conversation-end', 5000);
    expect(end).toEqual({ type: 'conversation-end', data: { reason: 'client_disconnected' } });
    await until('disconnect', async () => ((await named('onDisconnected')).length ? true : undefined), 5000);
    await until(
      'no live session',
      () => (agentServer.context.registry.activeCount === 0 ? true : undefined),
      5000,
    );
  });

  it('stream mode: tts-speak queues texts FIFO, ignores empty ones; idle timeout ends the call', async () => {
    await browser.page.goto(site.origin);
    await start({
      transport: 'websocket',
      endpoint: `${streamServer.url}/connect`,
      requestData: { config: 'stream' },
      enableMic: false,
    });
    await browser.page.evaluate(() => {
      window.__send('tts-speak', { text: 'First sentence here.' });
      window.__send('tts-speak', { text: '' });
      window.__send('tts-speak', { text: 42 });
      window.__send('tts-speak', { text: 'Second one follows.' });
    });
    await until(
      'two utterances',
      async () => ((await named('onBotStoppedSpeaking')).length >= 2 ? true : undefined),
      20_000,
    );
    const tts = ((await data('onBotTtsText')) as Array<{ text: string }>).map((d) => d.text);
    expect(tts).toEqual(['First sentence here.', 'Second one follows.']);
    expect(await named('onBotTtsStarted')).toHaveLength(2);
    expect(await named('onBotTtsStopped')).toHaveLength(2);
    expect(await named('onBotStartedSpeaking')).toHaveLength(2);
    const outputs = (await data('onBotOutput')) as Array<{ text: string; spoken: boolean }>;
    expect(outputs.map((o) => [o.text, o.spoken])).toEqual([
      ['First sentence here.', true],
      ['Second one follows.', true],
    ]);
    // Stream mode: no LLM, no function calls; nothing was refused (empty texts are silently ignored).
    expect(await named('onBotLlmStarted')).toEqual([]);
    expect(await named('onMessageError')).toEqual([]);
    // Nobody speaks: the idle timeout (2.5 s) ends the conversation.
    const end = await waitForServerMessage('conversation-end', 10_000);
    expect(end).toEqual({ type: 'conversation-end', data: { reason: 'idle_timeout' } });
    expect((await serverMessages()).map((m) => m.type)).toEqual([
      'bot-ready',
      'conversation-start',
      'conversation-end',
    ]);
  });
});
