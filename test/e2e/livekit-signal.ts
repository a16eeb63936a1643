/**
 * A LiveKit client made of raw parts for the server tests: the `/rtc/v1` signalling socket speaking
 * `@livekit/protocol` messages, and a `@roamhq/wrtc` peer that joins with a publisher offer and a
 * `_reliable` data channel (what `livekit-client` does, without a browser). Processes using the peer
 * must end with an explicit exit (wrtc's audio source segfaults at natural exit; vitest's workers do).
 */
import { gzipSync } from 'node:zlib';
import * as proto from '@livekit/protocol';
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { closePeerConnection } from '../../src/transports/close-peer-connection.ts';
import { until } from './helpers.ts';

/** The `join_request` query parameter: a `WrappedJoinRequest`, gzip-compressed unless told not to. */
export function joinParam(request: proto.JoinRequest, gzip = true): string {
  const bytes = request.toBinary();
  const wrapped = new proto.WrappedJoinRequest({
    joinRequest: gzip ? gzipSync(bytes) : bytes,
    compression: gzip ? proto.WrappedJoinRequest_Compression.GZIP : proto.WrappedJoinRequest_Compression.NONE,
  });
  return Buffer.from(wrapped.toBinary()).toString('base64url');
}

export interface Signal {
  ws: WebSocket;
  received: proto.SignalResponse[];
  closed: Promise<number>;
  send(request: proto.SignalRequest): void;
  next(kind: string, timeoutMs?: number): Promise<proto.SignalResponse>;
}

/** Opens `/rtc/v1`; resolves with the HTTP status when the upgrade is refused. */
export function openSignal(origin: string, query: Record<string, string>): Promise<Signal | number> {
  const url = new URL('/rtc/v1', origin.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  const received: proto.SignalResponse[] = [];
  ws.on('message', (data) => received.push(proto.SignalResponse.fromBinary(data as Buffer)));
  const signal: Signal = {
    ws,
    received,
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
    send: (request) => ws.send(request.toBinary()),
    next: (kind, timeoutMs = 10_000) =>
      until(kind, () => received.find((m) => m.message.case === kind), timeoutMs),
  };
  return new Promise((resolve) => {
    ws.once('open', () => resolve(signal));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  });
}

export interface JoinedPeer {
  pc: RTCPeerConnection;
  reliable: RTCDataChannel;
  signal: Signal;
  /** Sends `text` as a LiveKit text stream on `topic` (header, one chunk, trailer), like `sendText`. */
  sendText(text: string, topic: string): void;
  /** Sends `leave` (the page hung up), as `room.disconnect()` does. */
  leave(): void;
  /** Closes the data channel, the peer and the socket. */
  close(): void;
}

/** A wrtc client that joins with a publisher offer and a `_reliable` data channel; resolves once ICE connected. */
export async function joinWithPeer(origin: string, accessToken: string): Promise<JoinedPeer> {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const reliable = pc.createDataChannel('_reliable', { ordered: true });
  await pc.setLocalDescription(await pc.createOffer());
  const signal = await openSignal(origin, {
    access_token: accessToken,
    join_request: joinParam(
      new proto.JoinRequest({
        publisherOffer: new proto.SessionDescription({ type: 'offer', sdp: pc.localDescription!.sdp, id: 1 }),
      }),
    ),
  });
  if (typeof signal === 'number') {
    await closePeerConnection(pc, [reliable]);
    throw new Error(`join refused: ${signal}`);
  }
  pc.onicecandidate = (e) => {
    if (e.candidate)
      signal.send(
        new proto.SignalRequest({
          message: {
            case: 'trickle',
            value: new proto.TrickleRequest({ candidateInit: JSON.stringify(e.candidate) }),
          },
        }),
      );
  };
  const answer = (await signal.next('answer')).message.value as proto.SessionDescription;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  for (const m of signal.received.filter((r) => r.message.case === 'trickle')) {
    await pc.addIceCandidate(JSON.parse((m.message.value as proto.TrickleRequest).candidateInit));
  }
  signal.ws.on('message', (data) => {
    const m = proto.SignalResponse.fromBinary(data as Buffer);
    if (m.message.case === 'trickle')
      void pc.addIceCandidate(JSON.parse(m.message.value.candidateInit)).catch(() => {});
  });
  await until('data channel open', () => (reliable.readyState === 'open' ? true : undefined));
  let streams = 0;
  const send = (value: proto.DataPacket['value']) =>
    reliable.send(
      new proto.DataPacket({
        kind: proto.DataPacket_Kind.RELIABLE,
        value,
      }).toBinary() as Uint8Array<ArrayBuffer>,
    );
  return {
    pc,
    reliable,
    signal,
    sendText: (text, topic) => {
      const streamId = `stream-${++streams}`;
      send({
        case: 'streamHeader',
        value: new proto.DataStream_Header({
          streamId,
          topic,
          mimeType: 'text/plain',
          timestamp: BigInt(Date.now()),
          contentHeader: { case: 'textHeader', value: new proto.DataStream_TextHeader({}) },
        }),
      });
      send({
        case: 'streamChunk',
        value: new proto.DataStream_Chunk({
          streamId,
          chunkIndex: 0n,
          content: new TextEncoder().encode(text),
        }),
      });
      send({ case: 'streamTrailer', value: new proto.DataStream_Trailer({ streamId }) });
    },
    leave: () =>
      signal.send(
        new proto.SignalRequest({
          message: {
            case: 'leave',
            value: new proto.LeaveRequest({ reason: proto.DisconnectReason.CLIENT_INITIATED }),
          },
        }),
      ),
    close: () => {
      // The channel, then the peer once the channel has closed (both at once can crash wrtc).
      void closePeerConnection(pc, [reliable]);
      signal.ws.close();
    },
  };
}
