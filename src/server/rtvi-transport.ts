/**
 * The transport-agnostic seam between an RTVI session (`createRtviSession`) and
 * the wire that carries it (Pipecat WebSocket protobuf frames, SmallWebRTC data
 * channel + audio track, ...). A transport only moves bytes: RTVI JSON messages
 * both ways, user mic audio in, bot audio out.
 */
import type { SPECIFICATION_VERSIONS } from '../specification-version.ts';

export interface RtviTransport {
  /** The contract version this transport implements (`'colloquy-transport-v1'`); checked by `createRtviSession`. */
  readonly specificationVersion: typeof SPECIFICATION_VERSIONS.transport;
  /** 'websocket' | 'small-webrtc' */
  readonly name: string;
  /** One RTVI JSON message to the client. */
  sendMessage(message: object): void;
  /** Bot audio. The buffer is reused by the caller: copy/encode before returning. */
  sendAudio(frame: Int16Array, sampleRate: number): void;
  /** Drop queued bot audio (barge-in). */
  clearAudio(): void;
  /** RTVI JSON from the client (already JSON-parsed, or a string to parse). */
  onMessage(handler: (raw: unknown) => void): void;
  /** User mic audio. */
  onAudio(handler: (frame: Int16Array, sampleRate: number) => void): void;
  onClose(handler: (reason: 'client_disconnected' | 'error') => void): void;
  close(): void;
}

/** Why a transport closed: the client went away, or the wire failed. */
export type RtviTransportCloseReason = 'client_disconnected' | 'error';
