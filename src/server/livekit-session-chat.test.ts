/**
 * `lk.chat` text the session refuses (over the session's 8000 characters: the room takes text
 * streams up to 64 KiB) is reported as a `livekit` warning like any other refused chat, not thrown
 * back into the room's data handler (where the WebRTC peer's guard swallowed it, so nobody heard of it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { IncomingData, LiveKitRoomLink, RoomEvents } from '../transports/livekit/room-options.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { CHAT_TOPIC, createLiveKitSession } from './livekit-session.ts';
import { ModelCache } from './session-factory.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start() {
  const handlers: Partial<RoomEvents> = {};
  const room: LiveKitRoomLink = {
    name: 'room-chat',
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
    sendAudio: () => {},
    clearAudio: () => {},
    close: () => {},
    setAgentAttributes: () => {},
    publishData: () => true,
    openTextStream: () => ({ write: () => {}, close: () => {} }),
  };
  const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
  const profile = resolveProfile(config);
  delete profile.greeting;
  const lk = createLiveKitSession({
    room,
    profile,
    config,
    logger: silentLogger,
    models: new ModelCache(config.baseDir),
    sessionId: 'lk-chat-1',
  });
  cleanup.push(() => lk.close('test_done'));
  const events: BusEvent[] = [];
  lk.session.eventBus.subscribeAll((e) => events.push(e));
  handlers.mediaConnected!();
  const chat = (text: string): IncomingData => ({ type: 'text', topic: CHAT_TOPIC, text, attributes: {} });
  return { lk, handlers, events, chat };
}

describe('LiveKit chat text the session refuses', () => {
  it('is reported once as a livekit warning (text_too_long), and the next message is taken', async () => {
    const { lk, handlers, events, chat } = start();
    expect(() => handlers.data!(chat('x'.repeat(8001)), 'guest')).not.toThrow();
    const errors = events
      .filter((e) => e.type === 'error')
      .map(
        (e) => e.payload as { component: string; severity: string; error: { code: string; message: string } },
      );
    expect(errors.map((e) => [e.component, e.severity, e.error.code, e.error.message])).toEqual([
      ['livekit', 'warn', 'text_too_long', 'Text has 8001 characters; the limit is 8000'],
    ]);
    handlers.data!(chat('x'.repeat(8000)), 'guest');
    await expect.poll(() => lk.session.history.filter((m) => m.role === 'user').length).toBe(1);
  });
});
