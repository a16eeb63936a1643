/**
 * What a LiveKit room's session takes from the room: the microphone's audio (a frame at a rate the
 * pipeline refuses is reported once, as a `livekit` warning) and `lk.chat` text (trimmed; blank text
 * is nothing). The room is a stand-in with the interface the session uses (the WebRTC side is covered
 * by the LiveKit e2e tests); the models are the offline demo's, with the energy VAD.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { LiveKitRoomLink, RoomEvents } from '../transports/livekit/room-options.ts';
import { loadServerConfig, resolveProfile } from './config.ts';
import { createLiveKitSession } from './livekit-session.ts';
import { ModelCache } from './session-factory.ts';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start() {
  const handlers: Partial<RoomEvents> = {};
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
    sessionId: 'lk-input-1',
  });
  cleanup.push(() => lk.close('test_done'));
  const events: BusEvent[] = [];
  lk.session.eventBus.subscribeAll((e) => events.push(e));
  handlers.mediaConnected!();
  return { lk, handlers, events };
}

describe('LiveKit session input', () => {
  it("the microphone's audio reaches the session; a frame it refuses is reported once, as a livekit warning", async () => {
    const { handlers, events, lk } = start();
    const levels: number[] = [];
    lk.session.eventBus.subscribe('audio.level', (p) => levels.push(p.level));
    handlers.micAudio!(new Int16Array(320).fill(3000), 16000);
    await expect.poll(() => levels.length).toBeGreaterThan(0);
    expect(levels[0]).toBeGreaterThan(0);
    handlers.micAudio!(new Int16Array(123).fill(3000), 12345);
    handlers.micAudio!(new Int16Array(123).fill(3000), 12345);
    const errors = events
      .filter((e) => e.type === 'error')
      .map((e) => e.payload as { component: string; severity: string; error: { code: string } });
    expect(errors.map((e) => [e.component, e.severity, e.error.code])).toEqual([
      ['livekit', 'warn', 'unsupported_sample_rate'],
    ]);
  });

  it('chat text is trimmed before it becomes the user turn; blank text is nothing', async () => {
    const { handlers, events, lk } = start();
    handlers.data!({ type: 'text', topic: 'lk.chat', text: '   ' } as never, 'guest');
    handlers.data!({ type: 'text', topic: 'lk.chat', text: '  when is breakfast?  ' } as never, 'guest');
    await expect.poll(() => lk.session.history.filter((m) => m.role === 'user').length).toBe(1);
    expect(lk.session.history.filter((m) => m.role === 'user')).toEqual([
      { role: 'user', content: 'when is breakfast?' },
    ]);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });
});
