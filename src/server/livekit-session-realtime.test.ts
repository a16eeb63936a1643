/**
 * A LiveKit room's session on a realtime model (`COLLOQUY_LLM=openai-realtime:…`): the server's
 * LiveKit session runs on the model like the RTVI one does. The room is a stand-in with the
 * interface the session uses (the WebRTC side is covered by the LiveKit e2e tests); the provider is
 * the local fake OpenAI Realtime server on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { FakeOpenAIRealtimeServer } from '../testing/fake-openai-realtime-server.ts';
import type { LiveKitRoomLink, RoomEvents } from '../transports/livekit/room-options.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { createLiveKitSession } from './livekit-session.ts';
import { ModelCache } from './session-factory.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function roomDouble() {
  const handlers: Partial<RoomEvents> = {};
  const audio: number[] = [];
  const room: LiveKitRoomLink = {
    name: 'room-1',
    roomState: 'connected' as LiveKitRoomLink['roomState'],
    userIdentity: 'guest',
    agentIdentity: 'agent',
    userTrackSid: undefined,
    agentTrackSid: 'TR_agent',
    queuedAudioMs: 0,
    sentAudioFrames: 0,
    on: (event, handler) => {
      (handlers as Record<string, unknown>)[event] = handler;
    },
    sendAudio: (pcm) => audio.push(pcm.length),
    clearAudio: () => {},
    close: () => {},
    setAgentAttributes: () => {},
    publishData: () => true,
    openTextStream: () => ({ write: () => {}, close: () => {} }),
  };
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
    await expect.poll(() => texts).toEqual(['Welcome to the hotel.']);
    // The greeting was the model's own turn: a response with the text in its instructions.
    expect(fake.messages('response.create')[0]).toMatchObject({
      response: { instructions: expect.stringContaining('Welcome to the hotel.') },
    });
    handlers.data!({ type: 'text', topic: 'lk.chat', text: 'when is breakfast?' } as never, 'guest');
    await expect.poll(() => texts).toEqual(['Welcome to the hotel.', 'Breakfast is from seven.']);
    expect(fake.connectionCount).toBe(1);
    // 400 ms of the model's audio, paced to the room in 20 ms frames at 24 kHz.
    expect(audio.length).toBe(20);
    expect(audio.every((n) => n === 480)).toBe(true);
  });
});
