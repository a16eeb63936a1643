/**
 * Test page: the real PipecatClient with the WebSocket or SmallWebRTC transport and the packages' own
 * WavMediaManager (the default Daily media manager loads a script from the internet). Every client
 * callback is recorded into `window.__events`; tests drive the page with `window.__start` / `__send`.
 */
import { type APIRequest, LogLevel, PipecatClient, type RTVIEventCallbacks } from '@pipecat-ai/client-js';
import {
  SmallWebRTCTransport,
  WavMediaManager as WebRtcWavMediaManager,
} from '@pipecat-ai/small-webrtc-transport';
import { WavMediaManager, WebSocketTransport } from '@pipecat-ai/websocket-transport';
import { playRemote, remoteAudio } from './remote-audio.ts';
import type { PageEvent, RemoteAudioStats, StartOptions, StartResult } from './types.ts';

declare global {
  interface Window {
    __events: PageEvent[];
    __start(options: StartOptions): Promise<StartResult>;
    __send(type: string, data?: unknown): void;
    __request(type: string, data?: unknown, timeoutMs?: number): Promise<unknown>;
    __sendText(text: string): Promise<void>;
    __disconnect(): Promise<void>;
    __disconnectBot(): void;
    /** What the page heard of the bot's remote audio track (SmallWebRTC). */
    __remoteAudio(): RemoteAudioStats;
    __client: PipecatClient | undefined;
  }
}

const CALLBACKS = [
  'onConnected',
  'onDisconnected',
  'onTransportStateChanged',
  'onBotStarted',
  'onBotConnected',
  'onBotReady',
  'onBotDisconnected',
  'onError',
  'onMessageError',
  'onServerMessage',
  'onMetrics',
  'onUserStartedSpeaking',
  'onUserStoppedSpeaking',
  'onUserMuteStarted',
  'onUserMuteStopped',
  'onUserTranscript',
  'onUserLlmText',
  'onBotStartedSpeaking',
  'onBotStoppedSpeaking',
  'onBotOutput',
  'onBotTranscript',
  'onBotLlmStarted',
  'onBotLlmText',
  'onBotLlmStopped',
  'onBotLlmSearchResponse',
  'onBotTtsStarted',
  'onBotTtsText',
  'onBotTtsStopped',
  'onLLMFunctionCallStarted',
  'onLLMFunctionCallInProgress',
  'onLLMFunctionCallStopped',
  'onTrackStarted',
  'onTrackStopped',
  'onParticipantJoined',
  'onParticipantLeft',
  'onDeviceError',
  'onMicUpdated',
] as const satisfies ReadonlyArray<keyof RTVIEventCallbacks>;

const started = performance.now();
window.__events = [];
window.__client = undefined;

/** Turns callback arguments into JSON-safe values. */
function plain(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (depth > 6) return '[deep]';
  if (typeof MediaStreamTrack !== 'undefined' && value instanceof MediaStreamTrack) {
    return { track: value.kind, id: value.id, readyState: value.readyState };
  }
  if (value instanceof Error) return { error: value.name, message: value.message };
  if (typeof MediaDeviceInfo !== 'undefined' && value instanceof MediaDeviceInfo) {
    return { deviceId: value.deviceId, kind: value.kind, label: value.label };
  }
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

function record(name: string, args: unknown[]): void {
  window.__events.push({
    name,
    data: plain(args[0]),
    extra: args.length > 1 ? plain(args.slice(1)) : undefined,
    t: performance.now() - started,
  });
}

function callbacks(): RTVIEventCallbacks {
  const out: Record<string, (...args: unknown[]) => void> = {};
  for (const name of CALLBACKS) out[name] = (...args: unknown[]) => record(name, args);
  // SmallWebRTC: the client does not play the bot's audio; the page does. The transport reports the
  // remote track without a participant; the media manager reports the mic with a local one.
  out.onTrackStarted = (...args: unknown[]) => {
    record('onTrackStarted', args);
    const [track, participant] = args as [MediaStreamTrack, { local?: boolean } | undefined];
    if (track.kind === 'audio' && !participant?.local) playRemote(track);
  };
  return out as RTVIEventCallbacks;
}

window.__remoteAudio = () => ({ ...remoteAudio });

window.__start = async (options: StartOptions): Promise<StartResult> => {
  const transport =
    options.transport === 'websocket'
      ? new WebSocketTransport({ mediaManager: new WavMediaManager(512, 16000) })
      : new SmallWebRTCTransport({ mediaManager: new WebRtcWavMediaManager(512, 16000) });
  const client = new PipecatClient({
    transport,
    enableMic: options.enableMic ?? true,
    enableCam: false,
    callbacks: callbacks(),
  });
  client.setLogLevel(LogLevel.WARN);
  window.__client = client;
  try {
    let botReady: unknown;
    if (options.endpoint) {
      const request: APIRequest = { endpoint: options.endpoint };
      if (options.requestData !== undefined)
        request.requestData = options.requestData as APIRequest['requestData'];
      if (options.headers) request.headers = new Headers(options.headers);
      botReady = await client.startBotAndConnect(request);
    } else {
      botReady = await client.connect(options.connectParams);
    }
    return { ok: true, botReady: plain(botReady) };
  } catch (err) {
    return {
      ok: false,
      error: err instanceof Error ? `${err.name}: ${err.message}` : JSON.stringify(plain(err)),
    };
  }
};

function client(): PipecatClient {
  if (!window.__client) throw new Error('call __start first');
  return window.__client;
}

window.__send = (type, data) => client().sendClientMessage(type, data);
window.__request = (type, data, timeoutMs) => client().sendClientRequest(type, data, timeoutMs);
window.__sendText = (text) => client().sendText(text);
window.__disconnect = () => client().disconnect();
window.__disconnectBot = () => client().disconnectBot();
document.title = 'colloquy-test-page';
