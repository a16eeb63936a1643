/**
 * One conversation in a LiveKit room: the VoiceSession for a profile (the same pipeline as the
 * other transports), the user's microphone in, the agent's speech out, and the LiveKit projection
 * (agent state, transcripts, client events) onto the room. The session starts when media first
 * connects (the greeting is heard) and ends with the room.
 */
import { createHash } from 'node:crypto';
import { assertNever, failureCode, InvalidInputError, TransportError, toColloquyError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { Logger } from '../logger.ts';
import { SessionSnapshots } from '../session/resume-snapshots.ts';
import type { VoiceSession } from '../session/voice-session.ts';
import {
  LiveKitProjection,
  SUBAGENT_UI_RESPONSE_TOPIC,
  SUBAGENT_UI_TOPIC,
} from '../surfaces/livekit/livekit-projection.ts';
import { RTVI_MAX_JSON_DEPTH, RTVI_MAX_MESSAGE_BYTES } from '../surfaces/rtvi/messages.ts';
import type { IncomingData, LiveKitRoomLink, RoomCloseReason } from '../transports/livekit/room-options.ts';
import type { ServerConfig, SessionProfile } from './config.ts';
import { SERVER_SHUTDOWN } from './rtvi-session.ts';
import { buildServerSession, type ServerSessionServices } from './server-session.ts';
import type { ModelCache } from './session-factory.ts';
import type { SessionRegistry } from './session-registry.ts';

/** The key a LiveKit room's resume snapshot is known by (its room: the access token is the credential). */
export function liveKitRoomKey(room: string): string {
  return createHash('sha256').update(`livekit\0${room}`).digest('base64url');
}

/** Text streams on this topic are the user typing to the agent (LiveKit's chat topic). */
export const CHAT_TOPIC = 'lk.chat';

export interface LiveKitSessionOptions extends ServerSessionServices {
  room: LiveKitRoomLink;
  /**
   * Resume across a restart (a durable store): the session keeps a snapshot, and a server shutdown
   * (`close(SERVER_SHUTDOWN)`) suspends it and tells the client to rejoin instead of ending it.
   */
  resume?: { handleTtlMs: number };
  profile: SessionProfile;
  config: ServerConfig;
  logger: Logger;
  models: ModelCache;
  registry?: SessionRegistry;
  sessionId: string;
}

export interface LiveKitSession {
  readonly id: string;
  readonly session: VoiceSession;
  readonly projection: LiveKitProjection;
  readonly closed: Promise<string>;
  close(reason: string): Promise<void>;
}

export function createLiveKitSession(options: LiveKitSessionOptions): LiveKitSession {
  const { room, profile, logger, sessionId } = options;
  // The same session as every other transport's: store, memory, compaction, log lines.
  const built = buildServerSession({
    profile,
    config: options.config,
    logger,
    models: options.models,
    sessionId,
    userId: profile.userId ?? room.userIdentity,
    transport: 'livekit',
    output: {
      write: (frame, info) => room.sendAudio(frame, info.sampleRate),
      clear: () => room.clearAudio(),
    },
    ...(options.store ? { store: options.store } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.compaction ? { compaction: options.compaction } : {}),
  });
  const { bus, session } = built;
  const projection = new LiveKitProjection(bus, room);
  const snapshots =
    options.store && options.resume
      ? new SessionSnapshots({
          bus,
          writer: options.store,
          sessionId,
          profile,
          history: () => session.history,
          agentName: () => session.currentAgent,
          notifications: () => session.pendingNotifications,
          carrier: { kind: 'livekit', room: room.name },
          // The client comes back with its access token for the room: the key is the room itself.
          credential: () => ({
            userId: session.userId,
            handleHash: liveKitRoomKey(room.name),
            expiresAt: Date.now() + (options.resume?.handleTtlMs ?? 0),
          }),
        })
      : undefined;
  let suspended = false;
  let closedReason: string | undefined;
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((r) => {
    resolveClosed = r;
  });
  let started = false;
  let audioErrorReported = false;
  /** Registered while the page is connected: client_event tools and GUI events reach it. */
  let unregisterChannel: (() => void) | undefined;

  const reportError = (component: string, err: unknown, severity: 'warn' | 'error') => {
    bus.publish('error', {
      sessionId,
      component,
      error: toColloquyError(err, failureCode(component)),
      severity,
    });
  };

  room.on('mediaConnected', () => {
    if (closedReason) return;
    unregisterChannel ??= session.clientChannels.register({
      name: 'livekit',
      kinds: ['client.event', 'gui', 'ui.request'],
    });
    if (started) return;
    started = true;
    snapshots?.save();
    bus.publish('transport.connected', { sessionId, transport: 'livekit' });
    session
      .start()
      .then(() => {
        if (profile.greeting && !closedReason) return session.speak(profile.greeting);
      })
      .catch((err) => reportError('session', err, 'error'));
  });
  room.on('micAudio', (pcm, rate) => {
    if (!started || closedReason) return;
    try {
      session.pushAudio(pcm, rate);
    } catch (err) {
      if (audioErrorReported) return;
      audioErrorReported = true;
      reportError('livekit', err, 'warn');
    }
  });
  // The pipeline publishes user.mute.start / user.mute.stop.
  room.on('micMuted', (muted) => session.setMuted(muted));
  room.on('data', (data) => onData(data));
  room.on('refused', (code, message) => reportError('livekit', new InvalidInputError(code, message), 'warn'));
  room.on('backlog', (code, message) => reportError('livekit', new TransportError(code, message), 'warn'));
  room.on('closed', (reason) => {
    // Suspended (socket dropped, ICE failed) and not resumed within the window: lost for good.
    if (reason === 'resume_timeout') {
      const error = new TransportError(
        'transport_lost',
        'The livekit connection to the client was lost and did not come back',
      );
      bus.publish('error', { sessionId, component: 'transport', error, severity: 'fatal' });
    }
    void finish(closeReason(reason));
  });

  function onData(data: IncomingData): void {
    if (closedReason) return;
    switch (data.type) {
      case 'text':
        if (data.topic === CHAT_TOPIC) {
          const text = data.text.trim();
          if (!text) return;
          // sendText refuses text it cannot take (over its length limit) by throwing, not rejecting.
          try {
            session.sendText(text).catch((err) => reportError('livekit', err, 'warn'));
          } catch (err) {
            reportError('livekit', err, 'warn');
          }
          return;
        }
        bus.publish('client.data', {
          sessionId,
          transport: 'livekit',
          topic: data.topic,
          payload: data.text,
        });
        return;
      case 'data': {
        let text: string | undefined;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(data.payload);
        } catch {
          text = undefined; // not UTF-8
        }
        const parsed =
          text === undefined
            ? undefined
            : parseJsonWithLimits(text, { maxDepth: RTVI_MAX_JSON_DEPTH, maxBytes: RTVI_MAX_MESSAGE_BYTES });
        if (!parsed?.ok) {
          const why =
            !parsed || parsed.error.kind === 'malformed'
              ? 'must be UTF-8 JSON'
              : `refused: ${parsed.error.message}`;
          reportError(
            'livekit',
            new InvalidInputError('invalid_client_data', `Data from the page ${why}`, {
              cause: parsed?.error,
            }),
            'warn',
          );
          return;
        }
        const payload = parsed.value;
        if (data.topic === SUBAGENT_UI_RESPONSE_TOPIC) {
          answerSubagent(payload);
          return;
        }
        bus.publish('client.data', {
          sessionId,
          transport: 'livekit',
          ...(data.topic !== undefined ? { topic: data.topic } : {}),
          payload,
        });
        return;
      }
      default:
        assertNever(data, 'incoming data');
    }
  }

  /** The page answered a subagent's question; a refused answer goes back on the UI topic. */
  function answerSubagent(payload: unknown): void {
    try {
      session.subagentUi.respond(payload);
    } catch (err) {
      const error = toColloquyError(err, 'ui_invalid_response');
      const requestId = (payload as { requestId?: unknown } | null)?.requestId;
      projection.publishJson(SUBAGENT_UI_TOPIC, {
        type: 'error',
        ...(typeof requestId === 'string' ? { requestId: requestId.slice(0, 100) } : {}),
        code: error.code,
        message: error.message,
      });
      reportError('livekit', error, 'warn');
    }
  }

  async function finish(reason: string): Promise<void> {
    if (closedReason) return;
    closedReason = reason;
    if (!suspended) snapshots?.drop();
    unregisterChannel?.();
    bus.publish('transport.disconnected', { sessionId, transport: 'livekit', reason });
    try {
      await session.close(reason);
    } catch (err) {
      logger.warn(`session ${sessionId}: close failed`, err);
    }
    projection.dispose();
    built.dispose();
    options.registry?.markClosed(sessionId, reason);
    resolveClosed(reason);
  }

  const handle: LiveKitSession = {
    id: sessionId,
    session,
    projection,
    closed,
    close: async (reason) => {
      if (reason === SERVER_SHUTDOWN && snapshots && started && !closedReason) {
        // Suspended, not ended: the last snapshot kept, the stored session left waiting, and the
        // client told to rejoin (it will find a restarted server that picked the session up).
        suspended = true;
        snapshots.keep();
        built.dispose();
        options.store?.enqueue({ type: 'session.state', sessionId, state: 'detached', at: Date.now() });
        room.close('server_restarting');
        await finish(reason);
        return;
      }
      await finish(reason);
      room.close('server_closed');
    },
  };
  options.registry?.add({
    id: sessionId,
    transport: 'livekit',
    mode: profile.mode,
    userId: session.userId,
    startedAt: Date.now(),
    transcript: () => session.history,
    close: handle.close,
  });
  return handle;
}

function closeReason(reason: RoomCloseReason): string {
  switch (reason) {
    case 'client_left':
      return 'client_disconnected';
    case 'resume_timeout':
      return 'fatal:transport_lost';
    case 'ice_timeout':
      return 'ice_timeout';
    case 'replaced':
      return 'replaced';
    case 'server_closed':
      return 'server_closed';
    case 'server_restarting':
      return SERVER_SHUTDOWN;
    case 'protocol_error':
      return 'protocol_error';
    default:
      return assertNever(reason, 'room close reason');
  }
}
