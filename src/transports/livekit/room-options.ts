/**
 * The LiveKit room's options, events and the face it shows the session. No protobuf types here, so
 * these can appear in public declarations without the optional `@livekit/protocol` package.
 */
import type { ColloquyErrorCode } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { LiveKitOutlet, TextStreamSink } from '../../surfaces/livekit/livekit-projection.ts';

export type RoomState = 'connecting' | 'connected' | 'suspended' | 'closed';

/** Why a room closed. */
export type RoomCloseReason =
  | 'client_left'
  | 'resume_timeout'
  | 'ice_timeout'
  | 'replaced'
  | 'server_closed'
  /** The server is shutting down and will be back: the client is told to rejoin (`leave` RECONNECT). */
  | 'server_restarting'
  | 'protocol_error';

/** What the page published: a user packet (`publishData`) or a whole text stream (`sendText`). */
export type IncomingData =
  | { type: 'data'; topic: string | undefined; payload: Uint8Array; reliable: boolean }
  | { type: 'text'; topic: string; text: string; attributes: Record<string, string> };

export interface IncomingDataLimits {
  /** Largest packet, bytes. Default 64 KiB. */
  maxPacketBytes?: number;
  /** Packets per second (token bucket, burst of the same size). Default 100. */
  packetsPerSecond?: number;
  /** Text streams open at once. Default 8. */
  maxOpenStreams?: number;
  /** Largest reassembled text, characters. Default 64 KiB. */
  maxStreamChars?: number;
}

/** What a participant may do. */
export interface ParticipantPermissions {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
}

export interface LiveKitRoomOptions {
  name: string;
  user: { identity: string; name: string; permission: ParticipantPermissions };
  agent: { identity: string; name: string };
  logger: Logger;
  iceServers?: RTCIceServer[];
  /** Ping interval / timeout the client is told to use, seconds. Defaults 5 / 15. */
  pingIntervalS?: number;
  pingTimeoutS?: number;
  /** How long a dropped client may take to resume or rejoin. Default 20 000 ms. */
  resumeWindowMs?: number;
  /** How long ICE may take to connect. Default 20 000 ms. */
  iceTimeoutMs?: number;
  /** Bounds on what the page sends on its data channels. */
  dataLimits?: IncomingDataLimits;
  /** Signal messages that fail to decode before the socket is closed. Default 20. */
  maxBadMessages?: number;
  /**
   * Signal messages (and their bytes) the client may send per second, after a burst of twice the
   * messages and one largest message. Beyond, messages are dropped before they are decoded, counted,
   * reported once, and the socket is read slower. Defaults 50 and 256 KiB.
   */
  signalBudget?: { messagesPerSecond: number; bytesPerSecond: number };
  /** Bytes queued on the signalling socket beyond which it is cut (the client stopped reading). Default 8 MiB. */
  maxSignalBufferBytes?: number;
  /** Bytes queued on a data channel beyond which agent data packets are dropped and counted. Default 1 MiB. */
  maxDataBufferBytes?: number;
}

export interface RoomEvents {
  /** Media flows (first ICE connection, and again after a rejoin). */
  mediaConnected(): void;
  micAudio(pcm: Int16Array, sampleRate: number): void;
  micMuted(muted: boolean): void;
  /** Data or text the page published. */
  data(data: IncomingData, senderIdentity: string): void;
  /** Something the page sent was refused (non-JSON data, floods…). */
  refused(code: ColloquyErrorCode, message: string): void;
  /** The page does not read what the room sends: its socket was cut, or data for it dropped. */
  backlog(code: ColloquyErrorCode, message: string): void;
  closed(reason: RoomCloseReason): void;
}

export interface TextStreamWriter extends TextStreamSink {
  readonly streamId: string;
}

/** The room as the session uses it. */
export interface LiveKitRoomLink extends LiveKitOutlet {
  readonly name: string;
  readonly roomState: RoomState;
  on<K extends keyof RoomEvents>(event: K, handler: RoomEvents[K]): void;
  sendAudio(pcm: Int16Array, sampleRate: number): void;
  clearAudio(): void;
  /** Agent audio queued for the page, in ms (0 right after a barge-in). */
  readonly queuedAudioMs: number;
  /** Agent audio frames (10 ms) sent to the page so far. */
  readonly sentAudioFrames: number;
  close(reason: RoomCloseReason): void;
}
