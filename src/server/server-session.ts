/**
 * One server session, whatever carries it (RTVI over the Pipecat WebSocket or SmallWebRTC, a
 * LiveKit room): the bus and its log lines, the profile's agents and tools, the VoiceSession (its
 * models, realtime model, user mute, long-term memory and context compaction) and its recording
 * into the session store. The transports add only what is theirs: the wire, the projection of the
 * bus onto it, and their lifecycle.
 */
import type { MemoryOptions } from '../agents/memory.ts';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import type { Logger } from '../logger.ts';
import type { AudioSink } from '../pipeline/speech-response.ts';
import type { ClientChannels } from '../session/client-channels.ts';
import type { CompactionOptions } from '../session/context-compaction.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { recordSession } from '../store/store-recorder.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import type { ClientFunctionCall } from '../tools/declarative/index.ts';
import type { ServerConfig, SessionProfile } from './config.ts';
import { realtimeSessionOptions } from './server-realtime.ts';
import { buildAgents, type ModelCache } from './session-factory.ts';
import { logSessionEvents } from './session-log.ts';

/** What the server gives every session it builds (see `startServer`). */
export interface ServerSessionServices {
  /** Records each session (transcript, tool calls, state, history) into the session store. */
  store?: StoreWriter;
  /** Long-term memory of the session's user. */
  memory?: MemoryOptions;
  /** Context compaction of the session's history. */
  compaction?: CompactionOptions;
}

export interface ServerSessionOptions extends ServerSessionServices {
  profile: SessionProfile;
  config: ServerConfig;
  logger: Logger;
  models: ModelCache;
  sessionId: string;
  userId: string;
  /** Transport name, as stored with the session. */
  transport: string;
  /** Where the agent's speech goes. */
  output: AudioSink;
  /** The session's client channels (the transport's projection reads them too). */
  clientChannels?: ClientChannels;
  /** Asks the client to run a `client_function` tool. */
  callClient?: (call: ClientFunctionCall, signal: AbortSignal) => Promise<unknown>;
}

export interface ServerSession {
  readonly bus: EventBus<EventMap>;
  readonly session: VoiceSession;
  /** Stops the log lines and the store recording (once the session closed). */
  dispose(): void;
}

/** Builds the session for a profile. Throws `ConfigError` for a bad profile (nothing is left behind). */
export function buildServerSession(options: ServerSessionOptions): ServerSession {
  const { profile, config, logger, sessionId } = options;
  const models = options.models.models(profile.models);
  const bus = new EventBus<EventMap>({ logger });
  const agents = buildAgents(profile, {
    bus,
    sessionId,
    cache: options.models,
    ...(options.callClient ? { callClient: options.callClient } : {}),
    ...(config.httpAllow ? { httpAllow: config.httpAllow } : {}),
  });
  const session = new VoiceSession({
    sessionId,
    userId: options.userId,
    agents,
    ...(profile.initialAgent ? { initialAgent: profile.initialAgent } : {}),
    model: models.llm,
    ...(models.realtime
      ? { realtime: { model: models.realtime, ...realtimeSessionOptions(config.realtime) } }
      : {}),
    mode: profile.mode,
    eventBus: bus,
    ...(options.clientChannels ? { clientChannels: options.clientChannels } : {}),
    logger,
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.compaction ? { compaction: options.compaction } : {}),
    // A text chat has no speech pipeline: answers go out as text at once, audio in is refused.
    ...(profile.textOnly
      ? {}
      : {
          audio: {
            vad: models.vad,
            stt: models.stt,
            tts: models.tts,
            inputSampleRate: 16000,
            outputSampleRate: 24000,
            output: options.output,
            ...(profile.userMute ? { userMute: profile.userMute } : {}),
          },
        }),
  });
  const offs = [
    // Operators get every error once, whole, with its session and component (the client only a
    // redacted text, see surfaces/client-safe.ts).
    logSessionEvents(bus, logger),
  ];
  if (options.store) {
    offs.push(
      recordSession(bus, options.store, {
        transport: options.transport,
        mode: profile.mode,
        history: () => session.history,
      }),
    );
  }
  return {
    bus,
    session,
    dispose: () => {
      for (const off of offs.splice(0)) off();
    },
  };
}
