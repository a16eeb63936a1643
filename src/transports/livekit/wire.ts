/**
 * Builders for the LiveKit protobuf messages Colloquy sends: participants (the user and the
 * agent), the signal responses (join, reconnect, answer, trickle, pongs, leave…), and data packets
 * (user packets and text-stream header / chunk / trailer).
 */
import { randomBytes } from 'node:crypto';
import type { DataPacket, ParticipantInfo, SignalResponse } from '@livekit/protocol';
import { ANNOUNCED_PROTOCOL, ANNOUNCED_SERVER_VERSION, type LiveKitProtocol } from './protocol.ts';

/** LiveKit-style ids: `PA_…` participants, `TR_…` tracks, `RM_…` rooms. */
export function liveKitId(prefix: 'PA' | 'TR' | 'RM' | 'ST'): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

export interface ParticipantDescription {
  sid: string;
  identity: string;
  name: string;
  kind: 'standard' | 'agent';
  /** Bumped on every update (the client ignores updates with an older version). */
  version: number;
  joinedAtMs: number;
  permission: { canPublish: boolean; canSubscribe: boolean; canPublishData: boolean };
  attributes: Record<string, string>;
  metadata?: string;
  /** The participant's published audio track (the agent's speech, the user's microphone). */
  audioTrack?: { sid: string; name: string; muted: boolean };
}

export function participantInfo(proto: LiveKitProtocol, p: ParticipantDescription): ParticipantInfo {
  const agent = p.kind === 'agent';
  return new proto.ParticipantInfo({
    sid: p.sid,
    identity: p.identity,
    name: p.name,
    state: proto.ParticipantInfo_State.ACTIVE,
    kind: agent ? proto.ParticipantInfo_Kind.AGENT : proto.ParticipantInfo_Kind.STANDARD,
    version: p.version,
    joinedAt: BigInt(Math.floor(p.joinedAtMs / 1000)),
    joinedAtMs: BigInt(p.joinedAtMs),
    isPublisher: p.audioTrack !== undefined,
    metadata: p.metadata ?? '',
    attributes: p.attributes,
    permission: new proto.ParticipantPermission({ ...p.permission, agent }),
    tracks: p.audioTrack
      ? [
          new proto.TrackInfo({
            sid: p.audioTrack.sid,
            type: proto.TrackType.AUDIO,
            source: proto.TrackSource.MICROPHONE,
            name: p.audioTrack.name,
            muted: p.audioTrack.muted,
            mimeType: 'audio/opus',
          }),
        ]
      : [],
  });
}

export function serverInfo(proto: LiveKitProtocol) {
  return new proto.ServerInfo({
    edition: proto.ServerInfo_Edition.Standard,
    version: ANNOUNCED_SERVER_VERSION,
    protocol: ANNOUNCED_PROTOCOL,
    region: 'colloquy',
    nodeId: 'colloquy',
  });
}

export interface JoinDescription {
  roomSid: string;
  roomName: string;
  user: ParticipantDescription;
  agent: ParticipantDescription;
  pingIntervalS: number;
  pingTimeoutS: number;
  iceServers: RTCIceServer[];
}

export function joinResponse(proto: LiveKitProtocol, join: JoinDescription): SignalResponse {
  const now = Date.now();
  return new proto.SignalResponse({
    message: {
      case: 'join',
      value: new proto.JoinResponse({
        room: new proto.Room({
          sid: join.roomSid,
          name: join.roomName,
          creationTime: BigInt(Math.floor(now / 1000)),
          creationTimeMs: BigInt(now),
          numParticipants: 2,
          numPublishers: 1,
          enabledCodecs: [new proto.Codec({ mime: 'audio/opus' })],
        }),
        participant: participantInfo(proto, join.user),
        otherParticipants: [participantInfo(proto, join.agent)],
        serverVersion: ANNOUNCED_SERVER_VERSION,
        serverInfo: serverInfo(proto),
        serverRegion: 'colloquy',
        pingInterval: join.pingIntervalS,
        pingTimeout: join.pingTimeoutS,
        iceServers: iceServers(proto, join.iceServers),
        subscriberPrimary: false,
      }),
    },
  });
}

/**
 * The answer to a resume. `lastMessageSeq` is the last reliable packet received from the client:
 * the client sends again what it sent (or held back while reconnecting) after it.
 */
export function reconnectResponse(
  proto: LiveKitProtocol,
  servers: RTCIceServer[],
  lastMessageSeq = 0,
): SignalResponse {
  return new proto.SignalResponse({
    message: {
      case: 'reconnect',
      value: new proto.ReconnectResponse({
        serverInfo: serverInfo(proto),
        iceServers: iceServers(proto, servers),
        lastMessageSeq,
      }),
    },
  });
}

function iceServers(proto: LiveKitProtocol, servers: RTCIceServer[]) {
  return servers.map(
    (s) =>
      new proto.ICEServer({
        urls: Array.isArray(s.urls) ? s.urls : [s.urls],
        ...(s.username ? { username: s.username } : {}),
        ...(typeof s.credential === 'string' ? { credential: s.credential } : {}),
      }),
  );
}

/** A user data packet from `sender` (what `RoomEvent.DataReceived` delivers). */
export function userPacket(
  proto: LiveKitProtocol,
  sender: { sid: string; identity: string },
  payload: Uint8Array,
  topic: string | undefined,
  reliable: boolean,
): DataPacket {
  return new proto.DataPacket({
    kind: reliable ? proto.DataPacket_Kind.RELIABLE : proto.DataPacket_Kind.LOSSY,
    participantIdentity: sender.identity,
    participantSid: sender.sid,
    value: {
      case: 'user',
      value: new proto.UserPacket({
        participantSid: sender.sid,
        participantIdentity: sender.identity,
        payload,
        ...(topic !== undefined ? { topic } : {}),
      }),
    },
  });
}

export interface TextStreamOpen {
  streamId: string;
  topic: string;
  senderIdentity: string;
  attributes: Record<string, string>;
  /** Set when the whole text is known up front. */
  totalLength?: number;
}

export function textStreamHeader(proto: LiveKitProtocol, open: TextStreamOpen): DataPacket {
  return new proto.DataPacket({
    kind: proto.DataPacket_Kind.RELIABLE,
    participantIdentity: open.senderIdentity,
    value: {
      case: 'streamHeader',
      value: new proto.DataStream_Header({
        streamId: open.streamId,
        timestamp: BigInt(Date.now()),
        topic: open.topic,
        mimeType: 'text/plain',
        attributes: open.attributes,
        ...(open.totalLength !== undefined ? { totalLength: BigInt(open.totalLength) } : {}),
        contentHeader: {
          case: 'textHeader',
          value: new proto.DataStream_TextHeader({ operationType: proto.DataStream_OperationType.CREATE }),
        },
      }),
    },
  });
}

export function textStreamChunk(
  proto: LiveKitProtocol,
  senderIdentity: string,
  streamId: string,
  chunkIndex: number,
  text: string,
): DataPacket {
  return new proto.DataPacket({
    kind: proto.DataPacket_Kind.RELIABLE,
    participantIdentity: senderIdentity,
    value: {
      case: 'streamChunk',
      value: new proto.DataStream_Chunk({
        streamId,
        chunkIndex: BigInt(chunkIndex),
        content: new TextEncoder().encode(text),
      }),
    },
  });
}

export function textStreamTrailer(
  proto: LiveKitProtocol,
  senderIdentity: string,
  streamId: string,
  attributes: Record<string, string> = {},
): DataPacket {
  return new proto.DataPacket({
    kind: proto.DataPacket_Kind.RELIABLE,
    participantIdentity: senderIdentity,
    value: {
      case: 'streamTrailer',
      value: new proto.DataStream_Trailer({ streamId, reason: '', attributes }),
    },
  });
}

/** A text stream's writer: the header now, a chunk per `write`, the trailer on `close` (once). */
export function textStreamWriter(
  proto: LiveKitProtocol,
  send: (packet: DataPacket) => void,
  open: TextStreamOpen,
): { streamId: string; write(text: string): void; close(attributes?: Record<string, string>): void } {
  const { streamId, senderIdentity } = open;
  send(textStreamHeader(proto, open));
  let index = 0;
  let closed = false;
  return {
    streamId,
    write: (text) => {
      if (closed || !text) return;
      send(textStreamChunk(proto, senderIdentity, streamId, index++, text));
    },
    close: (attributes = {}) => {
      if (closed) return;
      closed = true;
      send(textStreamTrailer(proto, senderIdentity, streamId, attributes));
    },
  };
}

// ── Signal responses the room sends besides join and reconnect ─────────────────

export function participantUpdate(proto: LiveKitProtocol, p: ParticipantDescription): SignalResponse {
  return new proto.SignalResponse({
    message: {
      case: 'update',
      value: new proto.ParticipantUpdate({ participants: [participantInfo(proto, p)] }),
    },
  });
}

export function answerResponse(proto: LiveKitProtocol, sdp: string, id: number): SignalResponse {
  return new proto.SignalResponse({
    message: { case: 'answer', value: new proto.SessionDescription({ type: 'answer', sdp, id }) },
  });
}

/** A local ICE candidate of the agent's peer connection (the client's publisher side). */
export function trickleResponse(proto: LiveKitProtocol, candidateInit: string): SignalResponse {
  return new proto.SignalResponse({
    message: {
      case: 'trickle',
      value: new proto.TrickleRequest({ candidateInit, target: proto.SignalTarget.PUBLISHER }),
    },
  });
}

export function trackPublishedResponse(
  proto: LiveKitProtocol,
  cid: string,
  user: ParticipantDescription,
): SignalResponse {
  const track = participantInfo(proto, user).tracks[0];
  return new proto.SignalResponse({
    message: { case: 'trackPublished', value: new proto.TrackPublishedResponse({ cid, track }) },
  });
}

export function pongResponse(proto: LiveKitProtocol): SignalResponse {
  return new proto.SignalResponse({ message: { case: 'pong', value: BigInt(Date.now()) } });
}

export function pongRespResponse(proto: LiveKitProtocol, lastPingTimestamp: bigint): SignalResponse {
  return new proto.SignalResponse({
    message: {
      case: 'pongResp',
      value: new proto.Pong({ lastPingTimestamp, timestamp: BigInt(Date.now()) }),
    },
  });
}

/**
 * The server ends the client's connection. A restarting server asks `livekit-client` to rejoin from
 * scratch (same URL and token; it retries with back-off until the server is back).
 */
export function leaveResponse(
  proto: LiveKitProtocol,
  reason: 'replaced' | 'server_restarting' | 'other',
): SignalResponse {
  const restarting = reason === 'server_restarting';
  return new proto.SignalResponse({
    message: {
      case: 'leave',
      value: new proto.LeaveRequest({
        canReconnect: restarting,
        action: restarting ? proto.LeaveRequest_Action.RECONNECT : proto.LeaveRequest_Action.DISCONNECT,
        reason:
          reason === 'replaced'
            ? proto.DisconnectReason.DUPLICATE_IDENTITY
            : proto.DisconnectReason.SERVER_SHUTDOWN,
      }),
    },
  });
}

/** The two participants of a room: the user (the page) and the agent, with its voice track. */
export function roomParticipants(options: {
  user: { identity: string; name: string; permission: ParticipantDescription['permission'] };
  agent: { identity: string; name: string };
}): { user: ParticipantDescription; agent: ParticipantDescription } {
  const joinedAtMs = Date.now();
  return {
    user: {
      sid: liveKitId('PA'),
      identity: options.user.identity,
      name: options.user.name,
      kind: 'standard',
      version: 1,
      joinedAtMs,
      permission: options.user.permission,
      attributes: {},
    },
    agent: {
      sid: liveKitId('PA'),
      identity: options.agent.identity,
      name: options.agent.name,
      kind: 'agent',
      version: 1,
      joinedAtMs,
      permission: { canPublish: true, canSubscribe: true, canPublishData: true },
      attributes: { 'lk.agent.state': 'initializing' },
      audioTrack: { sid: liveKitId('TR'), name: 'agent-voice', muted: false },
    },
  };
}
