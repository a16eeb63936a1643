/**
 * A LiveKit room's session on a realtime model (`COLLOQUY_LLM=openai-realtime:…`): the server's
 * LiveKit session runs on the model like the RTVI one does, with the config file's `realtime`
 * settings (turn detection, OpenAI context budget, Gemini compression). The room is a stand-in with the
 * interface the session uses (the WebRTC side is covered by the LiveKit e2e tests); the provider is
 * the local fake OpenAI Realtime server on loopback.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stubRoom } from '../../test/support/livekit-room-stub.ts';
import { silentLogger } from '../logger.ts';
import { FakeGeminiLiveServer } from '../testing/fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from '../testing/fake-openai-realtime-server.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { createLiveKitSession } from './livekit-session.ts';
import { ModelCache } from './session-factory.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function roomDouble() {
  const audio: number[] = [];
  const { room, handlers } = stubRoom('room-1', { sendAudio: (pcm) => void audio.push(pcm.length) });
  return { room, handlers, audio };
}

describe('LiveKit session on a realtime model', () => {
  it('greets through the model, answers chat through the model, and its audio goes to the room', async () => {
    const fake = await new FakeOpenAIRealtimeServer({
      speed: 8,
      replies: [
        { text: 'Welcome to the hotel.', audioMs: 200 },
        { text: 'Breakfast is from seven.', audioMs: 200 },
      ],
    }).listen();
    cleanup.push(() => fake.close());
    const env = {
      PORT: '0',
      COLLOQUY_LLM: 'openai-realtime:gpt-realtime',
      OPENAI_API_KEY: fake.apiKey,
      COLLOQUY_OPENAI_REALTIME_URL: fake.url,
    };
    const config = loadServerConfig(env);
    const profile = { ...resolveProfile(config), greeting: 'Welcome to the hotel.' };
    const { room, handlers, audio } = roomDouble();
    const lk = createLiveKitSession({
      room,
      profile,
      config,
      logger: silentLogger,
      models: new ModelCache(config.baseDir, env),
      sessionId: 'lk-realtime-1',
    });
    cleanup.push(() => lk.close('test_done'));
    const texts: string[] = [];
    lk.session.eventBus.subscribe('assistant.text', (p) => texts.push(p.text));
    handlers.mediaConnected!();
    await expect.poll(() => texts, { timeout: 3000 }).toEqual(['Welcome to the hotel.']);
    // The greeting was the model's own turn: a response with the text in its instructions.
    expect(fake.messages('response.create')[0]).toMatchObject({
      response: { instructions: expect.stringContaining('Welcome to the hotel.') },
    });
    handlers.data!({ type: 'text', topic: 'lk.chat', text: 'when is breakfast?' } as never, 'guest');
    await expect
      .poll(() => texts, { timeout: 3000 })
      .toEqual(['Welcome to the hotel.', 'Breakfast is from seven.']);
    expect(fake.connectionCount).toBe(1);
    // 400 ms of the model's audio, paced to the room in 20 ms frames at 24 kHz.
    expect(audio.length).toBe(20);
    expect(audio.every((n) => n === 480)).toBe(true);
  });

  it("applies the config file's realtime section: local turn detection, OpenAI context off, Gemini's sliding window", async () => {
    const [openai, gemini] = await Promise.all([
      new FakeOpenAIRealtimeServer({ replies: [{ text: 'Hi.', audioMs: 100 }] }).listen(),
      new FakeGeminiLiveServer({ replies: [{ text: 'Hi.', audioMs: 100 }] }).listen(),
    ]);
    cleanup.push(
      () => openai.close(),
      () => gemini.close(),
    );
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-realtime-config-'));
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        agents: [{ name: 'front', instructions: 'Be brief.' }],
        realtime: {
          turnDetection: 'local',
          context: false,
          compression: { triggerTokens: 1000, targetTokens: 400 },
        },
      }),
    );
    const env = {
      COLLOQUY_CONFIG: path,
      OPENAI_API_KEY: openai.apiKey,
      COLLOQUY_OPENAI_REALTIME_URL: openai.url,
      GOOGLE_GENERATIVE_AI_API_KEY: gemini.apiKey,
      COLLOQUY_GOOGLE_LIVE_URL: gemini.url,
    };
    const config = loadServerConfig(env);
    expect(config.realtime).toEqual({
      turnDetection: 'local',
      context: false,
      compression: { triggerTokens: 1000, targetTokens: 400 },
    });
    const models = new ModelCache(config.baseDir, env, config.realtime);
    for (const llm of ['openai-realtime:gpt-realtime', 'google-live:gemini-live-test']) {
      const profile = resolveProfile(config);
      profile.models = { ...profile.models, llm };
      const { room, handlers } = roomDouble();
      const lk = createLiveKitSession({
        room,
        profile,
        config,
        logger: silentLogger,
        models,
        sessionId: llm,
      });
      cleanup.push(() => lk.close('test_done'));
      handlers.mediaConnected!();
      await lk.session.start();
    }
    // Local turn detection: the server's VAD drives both models.
    const update = openai.messages('session.update')[0]!.session as {
      audio: { input: Record<string, unknown> };
    };
    expect(update.audio.input.turn_detection).toBeNull();
    expect(gemini.setups[0]!.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    expect(gemini.setups[0]!.contextWindowCompression).toEqual({
      triggerTokens: '1000',
      slidingWindow: { targetTokens: '400' },
    });
    // The environment wins over the file; a bad value is a typed config error.
    expect(
      loadServerConfig({ ...env, COLLOQUY_REALTIME_TURN_DETECTION: 'provider' }).realtime?.turnDetection,
    ).toBe('provider');
    expect(() => loadServerConfig({ ...env, COLLOQUY_REALTIME_TURN_DETECTION: 'sometimes' })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
