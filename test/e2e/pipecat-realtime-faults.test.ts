/**
 * A realtime session's lifecycle and faults end to end: the real Colloquy server on a realtime model
 * (`COLLOQUY_LLM=openai-realtime:…` / `google-live:…` pointed at the local fake provider servers)
 * and the real PipecatClient + WebSocketTransport in headless Chromium.
 *
 * - Gemini `goAway` → a new connection resumed with the newest handle; the conversation continues.
 * - A tool round trip on both providers (the demo's knowledge-base tool), seen by the client.
 * - A transfer on Gemini: the new agent's setup on a resumed connection, and the new agent answers.
 * - OpenAI: a provider error and a dropped socket are survived; an invalid key is fatal.
 * - OpenAI barge-in: the looped fake microphone speaks over a long answer; playout stops and the
 *   provider is told the position the user heard, less than the audio it had sent.
 *
 * Typed turns run with the microphone off (`enableMic: false`) and check that no audio reached the
 * provider; only the barge-in test listens to the microphone, and only through the fake's energy
 * detector (no speech recognition involved).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServerConfig } from '../../src/server/config.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { FakeGeminiLiveServer } from '../../src/testing/fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from '../../src/testing/fake-openai-realtime-server.ts';
import type { FakeRealtimeReply, FakeRealtimeServerOptions } from '../../src/testing/fake-realtime-server.ts';
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

const GEMINI_SPEC = 'google-live:gemini-2.5-flash-native-audio-preview-12-2025';
const QUESTION = 'what time is breakfast';
const STORY = [
  'The lighthouse keeper climbed the stairs every evening at dusk.',
  'He polished the great lens until it shone like a second moon.',
  'Ships far out on the water counted on that steady light.',
  'In spring the gulls nested on the rocks below his window.',
  'He knew each of them by the way it called at dawn.',
].join(' ');

describe('Pipecat client in Chromium ↔ Colloquy on a realtime model: lifecycle and faults', () => {
  let site: StaticServer;
  let browser: LaunchedChromium;
  let server: RunningServer | undefined;
  let fake: FakeOpenAIRealtimeServer | FakeGeminiLiveServer | undefined;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const named = async (name: string) => (await events()).filter((e) => e.name === name);
  const data = async (name: string) => (await named(name)).map((e) => e.data);
  const llmText = async () =>
    ((await data('onBotLlmText')) as Array<{ text: string }>).map((d) => d.text).join('');
  const start = async (options: Omit<StartOptions, 'transport' | 'endpoint'>) => {
    await browser.page.goto(site.origin);
    const result = (await browser.page.evaluate((o) => window.__start(o), {
      transport: 'websocket',
      endpoint: `${server!.url}/connect`,
      requestData: {},
      ...options,
    } as StartOptions)) as StartResult;
    expect(result, browser.logs.join('\n')).toMatchObject({ ok: true });
  };
  const sendText = (text: string) => browser.page.evaluate((t) => window.__sendText(t), text);
  const botStopped = (times: number) =>
    until(`the bot stopped speaking ${times}×`, async () =>
      (await named('onBotStoppedSpeaking')).length >= times ? true : undefined,
    );
  const saidSoFar = (text: string) =>
    until(
      `the bot said "${text}"`,
      async () => ((await llmText()).includes(text) ? true : undefined),
      30_000,
    );

  /** A fake provider and a Colloquy server on it (keys and endpoints from the environment). */
  async function serve(
    kind: 'openai' | 'gemini',
    replies: FakeRealtimeReply[],
    o: { fake?: FakeRealtimeServerOptions; edit?: (c: ServerConfig) => ServerConfig } = {},
  ): Promise<void> {
    if (kind === 'openai') {
      const f = await new FakeOpenAIRealtimeServer({ replies, ...o.fake }).listen();
      vi.stubEnv('OPENAI_API_KEY', f.apiKey);
      vi.stubEnv('COLLOQUY_OPENAI_REALTIME_URL', f.url);
      fake = f;
    } else {
      const f = await new FakeGeminiLiveServer({ replies, ...o.fake }).listen();
      vi.stubEnv('GOOGLE_GENERATIVE_AI_API_KEY', f.apiKey);
      vi.stubEnv('COLLOQUY_GOOGLE_LIVE_URL', f.url);
      fake = f;
    }
    server = await startTestServer({
      edit: (c) => (o.edit ?? ((x) => x))(withoutGreeting(c)),
      env: { COLLOQUY_LLM: kind === 'openai' ? 'openai-realtime:gpt-realtime' : GEMINI_SPEC },
    });
  }

  /** User audio that reached the provider (none may, with the microphone off). */
  const audioToProvider = () =>
    fake instanceof FakeOpenAIRealtimeServer
      ? fake.messages('input_audio_buffer.append').length
      : (fake?.messages('realtimeInput').filter((m) => (m.realtimeInput as { audio?: unknown }).audio)
          .length ?? 0);

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      // Looped by Chromium: the question comes again ~3 s after it ended, while the story plays.
      makeFakeMicWav({ text: QUESTION, wordsPerMinute: 130, leadingSilenceMs: 500, trailingSilenceMs: 2500 }),
      bundlePage(),
    ]);
    site = await servePage(bundle);
    browser = await launchChromium({ wav: mic.path, loop: true });
  }, 60_000);

  afterEach(async () => {
    await browser.page.evaluate(() => window.__client?.disconnect()).catch(() => {});
    await server?.close();
    await fake?.close();
    server = undefined;
    fake = undefined;
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('Gemini goAway → the session resumes with the newest handle on a new connection; the conversation continues', async () => {
    await serve('gemini', [
      { text: 'Breakfast is from seven.', audioMs: 600 },
      { text: 'Dinner is from six.', audioMs: 600 },
    ]);
    const gemini = fake as FakeGeminiLiveServer;
    await start({ enableMic: false });
    await sendText(QUESTION);
    await saidSoFar('Breakfast is from seven.');
    // The turn ended (its audio played): the handle marked resumable after it has arrived.
    await botStopped(1);
    gemini.goAway(30_000);
    await until('the resumed connection', () => (gemini.setups.length === 2 ? true : undefined));
    expect(gemini.setups[1]!.sessionResumption).toEqual({ handle: 'handle-1-1' });
    await sendText('and dinner?');
    await saidSoFar('Dinner is from six.');
    await botStopped(2); // the turn completed (the fake records the model's turn at its end)
    // One conversation on the provider's side, across both connections.
    expect(gemini.conversationTurns).toEqual([
      `user: ${QUESTION}`,
      'model: Breakfast is from seven.',
      'user: and dinner?',
      'model: Dinner is from six.',
    ]);
    await until('the old connection closed', () => (gemini.openConnections === 1 ? true : undefined));
    expect(await named('onError')).toEqual([]);
    expect(await named('onDisconnected')).toEqual([]);
    expect(audioToProvider()).toBe(0);
  }, 60_000);

  for (const kind of ['openai', 'gemini'] as const) {
    it(`${kind}: a tool round trip: the call and its result reach the client, the result goes to the model, which answers`, async () => {
      const answer = 'Breakfast is served from seven to ten.';
      await serve(kind, [
        { toolCall: { name: 'hotel_faq', args: { query: 'breakfast' } }, text: answer, audioMs: 400 },
      ]);
      await start({ enableMic: false });
      await sendText(QUESTION);
      await saidSoFar(answer);
      expect(await data('onLLMFunctionCallStarted')).toEqual([{ function_name: 'hotel_faq' }]);
      const [inProgress] = (await data('onLLMFunctionCallInProgress')) as Array<Record<string, unknown>>;
      expect(inProgress).toMatchObject({ function_name: 'hotel_faq', arguments: { query: 'breakfast' } });
      const stopped = await until('the call result', async () =>
        ((await data('onLLMFunctionCallStopped')) as Array<Record<string, unknown>>).at(0),
      );
      expect(stopped).toMatchObject({ function_name: 'hotel_faq', cancelled: false });
      expect(JSON.stringify(stopped.result)).toContain('garden room');
      // The model got the knowledge-base result as the call's output.
      const output =
        fake instanceof FakeOpenAIRealtimeServer
          ? fake.messages('conversation.item.create').map((m) => m.item as { type: string; output?: string })
          : (fake?.messages('toolResponse') ?? []);
      expect(JSON.stringify(output)).toContain('garden room');
      expect(await named('onError')).toEqual([]);
      expect(audioToProvider()).toBe(0);
    }, 60_000);
  }

  it('a transfer (Gemini): the new agent’s instructions and voice on a resumed connection; it answers', async () => {
    await serve(
      'gemini',
      [
        { text: 'Front desk, hello.', audioMs: 400 },
        { toolCall: { name: 'transfer_to_agent', args: { agent: 'billing', reason: 'invoice' } } },
        { text: 'Billing here.', audioMs: 400 },
      ],
      {
        edit: (c) => ({
          ...c,
          file: {
            ...c.file,
            agents: [
              { name: 'front', instructions: 'You route callers.', transfers: ['billing'] },
              { name: 'billing', instructions: 'You do billing.', voice: 'Kore' },
            ],
          },
        }),
      },
    );
    const gemini = fake as FakeGeminiLiveServer;
    await start({ enableMic: false });
    await sendText('hi');
    await saidSoFar('Front desk, hello.');
    // The fake sends the resumption handle after the turn's turnComplete: wait for the turn to end
    // (a question sent while the answer's last chunk plays would transfer before any handle exists,
    // and the new connection would replay the conversation instead of resuming it).
    await botStopped(1);
    await sendText('I have a question about my invoice');
    await saidSoFar('Billing here.');
    const setup = gemini.setups.at(-1)!;
    expect(gemini.setups).toHaveLength(2);
    expect(JSON.stringify(setup.systemInstruction)).toContain('You do billing.');
    expect(JSON.stringify(setup.systemInstruction)).not.toContain('You route callers.');
    expect(setup.generationConfig).toMatchObject({
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } },
    });
    expect(setup.sessionResumption).toEqual({ handle: 'handle-1-1' });
    // The client saw the transfer call and its result.
    const calls = (await data('onLLMFunctionCallStarted')) as Array<{ function_name?: string }>;
    expect(calls.map((c) => c.function_name)).toContain('transfer_to_agent');
    expect(await named('onError')).toEqual([]);
    expect(audioToProvider()).toBe(0);
  }, 60_000);

  it('OpenAI: a provider error and a dropped socket are survived; the conversation goes on, replayed', async () => {
    await serve('openai', [
      { text: 'Breakfast is from seven.', audioMs: 400 },
      { text: 'Checkout is at noon.', audioMs: 400 },
    ]);
    const openai = fake as FakeOpenAIRealtimeServer;
    await start({ enableMic: false });
    await sendText(QUESTION);
    await saidSoFar('Breakfast is from seven.');
    await botStopped(1); // the answer played and is in the session's history
    openai.sendError(
      'server_error',
      'The server had an error while processing your request.',
      'server_error',
    );
    const errors = await until('the error reached the client', async () => {
      const e = await data('onError');
      return e.length > 0 ? e : undefined;
    });
    expect(errors).toEqual([expect.objectContaining({ data: expect.objectContaining({ fatal: false }) })]);
    openai.closeConnections(1011, 'internal error');
    await until('a new connection', () => (openai.connectionCount === 2 ? true : undefined));
    await sendText('when is checkout?');
    await saidSoFar('Checkout is at noon.');
    // The new connection was seeded with the conversation so far.
    const replayed = openai.received
      .filter((r) => r.connection === 2 && r.message.type === 'conversation.item.create')
      .map((r) => (r.message.item as { content: Array<{ text: string }> }).content[0]!.text);
    expect(replayed.slice(0, 2)).toEqual([QUESTION, 'Breakfast is from seven.']);
    expect(await named('onDisconnected')).toEqual([]);
    expect(audioToProvider()).toBe(0);
  }, 60_000);

  it('OpenAI: an invalid key is fatal: the client is told and disconnected, the session ends', async () => {
    await serve('openai', [{ text: 'Breakfast is from seven.', audioMs: 400 }]);
    const openai = fake as FakeOpenAIRealtimeServer;
    await start({ enableMic: false });
    await sendText(QUESTION);
    await saidSoFar('Breakfast is from seven.');
    openai.sendError('invalid_api_key', 'Incorrect API key provided: sk-SECRET', 'invalid_request_error');
    const fatal = await until('a fatal error', async () =>
      ((await data('onError')) as Array<{ data?: { fatal?: boolean; message?: string } }>).find(
        (e) => e.data?.fatal,
      ),
    );
    expect(JSON.stringify(fatal)).not.toContain('SECRET');
    await until('the client disconnected', async () =>
      (await named('onDisconnected')).length ? true : undefined,
    );
    await until(
      'no live session',
      () => (server!.context.registry.activeCount === 0 ? true : undefined),
      5000,
    );
    expect(audioToProvider()).toBe(0);
  }, 60_000);

  it('OpenAI barge-in: the user speaks over a long answer; playout stops and the provider is told what was heard', async () => {
    await serve(
      'openai',
      [
        { userTranscript: QUESTION, text: STORY, audioMs: 20_000 },
        { userTranscript: QUESTION, text: 'Seven to ten.', audioMs: 800 },
      ],
      { fake: { speechThreshold: 200, silenceMs: 500 } },
    );
    const openai = fake as FakeOpenAIRealtimeServer;
    await start({ enableMic: true });
    await saidSoFar('Seven to ten.');
    await botStopped(2);
    // The story's item was truncated (not deleted) at the heard position: less than the audio sent.
    const truncate = openai.messages('conversation.item.truncate')[0];
    expect(truncate).toBeDefined();
    const [applied] = openai.truncations;
    expect(applied).toEqual({
      itemId: truncate!.item_id,
      audioEndMs: truncate!.audio_end_ms,
      sentMs: expect.any(Number),
    });
    expect(applied!.audioEndMs).toBeGreaterThan(0);
    expect(applied!.audioEndMs).toBeLessThan(applied!.sentMs);
    expect(applied!.sentMs).toBeLessThanOrEqual(20_000);
    // The client was shown only the words it heard of the story, then the next answer.
    const tts = ((await data('onBotTtsText')) as Array<{ text: string }>).map((d) => d.text).join('');
    expect(tts.endsWith('Seven to ten.')).toBe(true);
    const heard = tts.slice(0, -'Seven to ten.'.length);
    expect(STORY.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThan(STORY.length);
    // The fake speaks one word of the story per 100 ms of audio: the words shown are the words heard
    // up to the truncation point (a few words of slack for the 40 ms release timer on a loaded machine).
    const words = heard.trim().split(/\s+/).length;
    expect(Math.abs(words - applied!.audioEndMs / 100)).toBeLessThanOrEqual(3);
    expect(await named('onBotStartedSpeaking')).toHaveLength(2);
    expect(await named('onUserStartedSpeaking')).not.toHaveLength(0);
  }, 90_000);
});
