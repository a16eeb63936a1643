/**
 * A LiveKit room's session on a stand-in room: the `LiveKitRoomLink` interface the session uses, with
 * no WebRTC behind it (the e2e tests cover that side). The handlers the session registers are kept so
 * a test can play the room's events; the models are the offline demo's, with the energy VAD and no
 * greeting.
 */
import type { BusEvent } from '../../src/bus/events.ts';
import { silentLogger } from '../../src/logger.ts';
import { loadServerConfig, resolveProfile } from '../../src/server/config.ts';
import { createLiveKitSession } from '../../src/server/livekit-session.ts';
import { ModelCache } from '../../src/server/session-factory.ts';
import type { LiveKitRoomLink, RoomEvents } from '../../src/transports/livekit/room-options.ts';

/** A connected stand-in room for user 'guest' and agent 'agent'; `overrides` replace its members. */
export function stubRoom(name: string, overrides: Partial<LiveKitRoomLink> = {}) {
  const handlers: Partial<RoomEvents> = {};
  const room: LiveKitRoomLink = {
    name,
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
    ...overrides,
  };
  return { room, handlers };
}

/**
 * A session on `stubRoom(roomName)`, closed by the caller's `cleanup` list; every bus event recorded.
 * `mediaConnected`: the room's media connection is played as up first.
 */
export function startRoomSession(
  roomName: string,
  sessionId: string,
  cleanup: Array<() => Promise<unknown> | unknown>,
  { mediaConnected = true } = {},
) {
  const { room, handlers } = stubRoom(roomName);
  const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
  const profile = resolveProfile(config);
  delete profile.greeting;
  const lk = createLiveKitSession({
    room,
    profile,
    config,
    logger: silentLogger,
    models: new ModelCache(config.baseDir),
    sessionId,
  });
  cleanup.push(() => lk.close('test_done'));
  const events: BusEvent[] = [];
  lk.session.eventBus.subscribeAll((e) => events.push(e));
  if (mediaConnected) handlers.mediaConnected!();
  return { lk, handlers, events };
}
