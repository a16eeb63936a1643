/**
 * The transports the console can connect with. Each choice builds a Pipecat client transport (with
 * the packages' own `WavMediaManager`: 16 kHz PCM, no script from a CDN) and names itself to the
 * server in `requestData.transport`; LiveKit joins a room with livekit-client instead (livekit.ts).
 * The page enables each one when `GET /playground/info.json` says the server offers it.
 */
import type { RTVIMessage, Transport } from '@pipecat-ai/client-js';
import {
  SmallWebRTCTransport,
  WavMediaManager as WebRtcWavMediaManager,
} from '@pipecat-ai/small-webrtc-transport';
import { WavMediaManager, WebSocketTransport } from '@pipecat-ai/websocket-transport';

export type TransportKind = 'websocket' | 'webrtc' | 'livekit';

export interface TransportChoice {
  label: string;
  /** Builds the client transport; absent while this console cannot use the transport yet. */
  create?: () => Transport;
  /** What `/connect` receives as `requestData`. */
  requestData: Record<string, string>;
  /** SmallWebRTC: the page plays the bot's remote track itself. */
  playsRemoteTrack: boolean;
}

export const TRANSPORTS: Record<TransportKind, TransportChoice> = {
  websocket: {
    label: 'Pipecat WebSocket',
    create: () => new WebSocketTransport({ mediaManager: new WavMediaManager(512, 16000) }),
    requestData: {},
    playsRemoteTrack: false,
  },
  webrtc: {
    label: 'SmallWebRTC',
    create: () => new SmallWebRTCTransport({ mediaManager: new WebRtcWavMediaManager(512, 16000) }),
    requestData: { transport: 'webrtc' },
    playsRemoteTrack: true,
  },
  // LiveKit is not a Pipecat transport: the console joins a room with livekit-client (livekit.ts).
  livekit: {
    label: 'LiveKit',
    requestData: { transport: 'livekit' },
    playsRemoteTrack: true,
  },
};

export function isTransportKind(value: string): value is TransportKind {
  return Object.hasOwn(TRANSPORTS, value);
}

/** Every RTVI message the transport receives or sends, before the client handles it. */
export interface MessageTap {
  received(message: RTVIMessage): void;
  sent(message: RTVIMessage): void;
}

/** Wraps the transport's message handler and `sendMessage` so the page sees every message. */
export function tapMessages(transport: Transport, tap: MessageTap): Transport {
  const initialize = transport.initialize.bind(transport);
  transport.initialize = (options, handler) =>
    initialize(options, (message) => {
      tap.received(message);
      handler(message);
    });
  const send = transport.sendMessage.bind(transport);
  transport.sendMessage = (message) => {
    tap.sent(message);
    send(message);
  };
  return transport;
}
