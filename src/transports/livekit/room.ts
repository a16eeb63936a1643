/**
 * One LiveKit room served by Colloquy: the user's participant (the `livekit-client` on the page),
 * the agent participant, the signalling socket (`/rtc/v1`, protobuf `SignalRequest` in,
 * `SignalResponse` out) and the single peer connection it negotiates.
 *
 * Lifecycle (explicit table below): `connecting` (socket joined, media not up yet; bounded by the
 * ICE timeout) → `connected` → `suspended` (the socket dropped or ICE failed: the client may resume
 * with `reconnect=1` or rejoin within the resume window) → `closed`.
 */
import type { JoinRequest, SignalRequest, SignalResponse } from '@livekit/protocol';
import type WebSocket from 'ws';
import { TransportError } from '../../errors.ts';
import { parseJsonOrThrow } from '../../json-limits.ts';
import type { Logger } from '../../logger.ts';
import { IncomingDataDecoder } from './incoming-data.ts';
import { LiveKitPeer } from './livekit-peer.ts';
import { type LiveKitProtocol, loadLiveKitProtocol } from './protocol.ts';
import type {
  LiveKitRoomLink,
  LiveKitRoomOptions,
  RoomCloseReason,
  RoomEvents,
  RoomState,
  TextStreamWriter,
} from './room-options.ts';
import { DEFAULT_SIGNAL_BUDGET, SignalBudget } from './signal-budget.ts';
import {
  joinResponse,
  liveKitId,
  type ParticipantDescription,
  participantInfo,
  reconnectResponse,
  textStreamChunk,
  textStreamHeader,
  textStreamTrailer,
  userPacket,
} from './wire.ts';

const TRANSITIONS: Record<RoomState, readonly RoomState[]> = {
  connecting: ['connected', 'suspended', 'closed'],
  // A full rejoin can arrive before the old socket's close is noticed: it replaces the connection.
  connected: ['connecting', 'suspended', 'closed'],
  suspended: ['connecting', 'connected', 'closed'],
  closed: [],
};

export class LiveKitRoom implements LiveKitRoomLink {
  readonly name: string;
  readonly sid = liveKitId('RM');
  private readonly proto: LiveKitProtocol;
  private readonly logger: Logger;
  readonly user: ParticipantDescription;
  readonly agent: ParticipantDescription;
  private state: RoomState = 'connecting';
  private ws: WebSocket | undefined;
  private peer: LiveKitPeer | undefined;
  private readonly incoming: IncomingDataDecoder;
  private resumeTimer: NodeJS.Timeout | undefined;
  private iceTimer: NodeJS.Timeout | undefined;
  private badMessages = 0;
  private readonly signalBudget: SignalBudget;
  private readonly maxSignalBuffer: number;
  private readTimer: NodeJS.Timeout | undefined;
  /** Signalling sockets cut because the client stopped reading them. */
  signalBacklogs = 0;
  /** Agent data packets dropped because the page's data channel was full. */
  droppedData = 0;
  private readonly handlers: Partial<RoomEvents> = {};
  private streamCounter = 0;

  constructor(private readonly options: LiveKitRoomOptions) {
    this.proto = loadLiveKitProtocol();
    this.name = options.name;
    this.logger = options.logger;
    const now = Date.now();
    this.user = {
      sid: liveKitId('PA'),
      identity: options.user.identity,
      name: options.user.name,
      kind: 'standard',
      version: 1,
      joinedAtMs: now,
      permission: options.user.permission,
      attributes: {},
    };
    this.agent = {
      sid: liveKitId('PA'),
      identity: options.agent.identity,
      name: options.agent.name,
      kind: 'agent',
      version: 1,
      joinedAtMs: now,
      permission: { canPublish: true, canSubscribe: true, canPublishData: true },
      attributes: { 'lk.agent.state': 'initializing' },
      audioTrack: { sid: liveKitId('TR'), name: 'agent-voice', muted: false },
    };
    this.incoming = new IncomingDataDecoder(this.proto, options.dataLimits);
    this.signalBudget = new SignalBudget(options.signalBudget ?? DEFAULT_SIGNAL_BUDGET);
    this.maxSignalBuffer = options.maxSignalBufferBytes ?? 8 * 1024 * 1024;
  }

  /** Signal messages dropped over the client's budget. */
  get droppedSignals(): number {
    return this.signalBudget.dropped;
  }

  get roomState(): RoomState {
    return this.state;
  }

  on<K extends keyof RoomEvents>(event: K, handler: RoomEvents[K]): void {
    this.handlers[event] = handler;
  }

  /** A socket joins (first join, or a full rejoin that replaces the old connection). */
  join(ws: WebSocket, request: JoinRequest): void {
    if (this.state === 'closed') throw new TransportError('livekit_room_closed', 'The room is closed');
    this.clearResumeTimer();
    this.replaceSocket(ws);
    this.peer?.close();
    this.peer = this.createPeer();
    this.incoming.restart();
    if (this.state !== 'connecting') this.move('connecting');
    this.armIceTimer();
    this.send(
      joinResponse(this.proto, {
        roomSid: this.sid,
        roomName: this.name,
        user: this.user,
        agent: this.agent,
        pingIntervalS: this.options.pingIntervalS ?? 5,
        pingTimeoutS: this.options.pingTimeoutS ?? 15,
        iceServers: this.options.iceServers ?? [],
      }),
    );
    const offer = request.publisherOffer;
    if (offer?.sdp) void this.answer(offer.sdp, offer.id);
  }

  /** A dropped client comes back with `reconnect=1`: same peer connection, ICE restarts. */
  resume(ws: WebSocket): void {
    if (this.state === 'closed') throw new TransportError('livekit_room_closed', 'The room is closed');
    this.clearResumeTimer();
    this.replaceSocket(ws);
    this.send(
      reconnectResponse(this.proto, this.options.iceServers ?? [], this.incoming.lastReliableSequence),
    );
    if (this.peer?.connectionState === 'connected') {
      if (this.state !== 'connected') this.move('connected');
    } else {
      if (this.state !== 'connecting') this.move('connecting');
      this.armIceTimer();
    }
  }

  /** Participant sid the client must name to resume. */
  get userSid(): string {
    return this.user.sid;
  }

  get userIdentity(): string {
    return this.user.identity;
  }

  get agentIdentity(): string {
    return this.agent.identity;
  }

  get userTrackSid(): string | undefined {
    return this.user.audioTrack?.sid;
  }

  get agentTrackSid(): string {
    return this.agent.audioTrack!.sid;
  }

  // ── What the session sends ───────────────────────────────────────────────────

  sendAudio(pcm: Int16Array, sampleRate: number): void {
    this.peer?.sendAudio(pcm, sampleRate);
  }

  /** Agent audio queued for the page, in ms (0 right after a barge-in). */
  get queuedAudioMs(): number {
    return this.peer?.queuedMs ?? 0;
  }

  /** Agent audio frames (10 ms) sent to the page so far. */
  get sentAudioFrames(): number {
    return this.peer?.sentFrames ?? 0;
  }

  clearAudio(): void {
    this.peer?.clearAudio();
  }

  /** A user packet from the agent (what `RoomEvent.DataReceived` delivers); false when undeliverable. */
  publishData(payload: Uint8Array, options: { topic?: string; reliable?: boolean } = {}): boolean {
    const reliable = options.reliable ?? true;
    return this.sendPacket(userPacket(this.proto, this.agent, payload, options.topic, reliable), reliable);
  }

  /** Whether a data packet sent now would reach the page. */
  get canDeliverData(): boolean {
    return this.state !== 'closed' && this.peer?.dataOpen === true;
  }

  /** Opens a text stream; returns its id. */
  openTextStream(
    topic: string,
    senderIdentity: string,
    attributes: Record<string, string>,
  ): TextStreamWriter {
    const streamId = `${this.sid}-${++this.streamCounter}-${Date.now().toString(36)}`;
    this.sendPacket(textStreamHeader(this.proto, { streamId, topic, senderIdentity, attributes }), true);
    let index = 0;
    let open = true;
    return {
      streamId,
      write: (text) => {
        if (!open || !text) return;
        this.sendPacket(textStreamChunk(this.proto, senderIdentity, streamId, index++, text), true);
      },
      close: (trailerAttributes = {}) => {
        if (!open) return;
        open = false;
        this.sendPacket(textStreamTrailer(this.proto, senderIdentity, streamId, trailerAttributes), true);
      },
    };
  }

  /** Sets attributes of the agent participant (e.g. `lk.agent.state`) and tells the client. */
  setAgentAttributes(attributes: Record<string, string>): void {
    let changed = false;
    for (const [key, value] of Object.entries(attributes)) {
      if (this.agent.attributes[key] !== value) {
        this.agent.attributes[key] = value;
        changed = true;
      }
    }
    if (!changed) return;
    this.agent.version++;
    this.sendParticipantUpdate(this.agent);
  }

  /** Ends the room: `leave` to the client, socket and peer closed. */
  close(reason: RoomCloseReason): void {
    if (this.state === 'closed') return;
    this.move('closed');
    this.clearResumeTimer();
    if (this.iceTimer) clearTimeout(this.iceTimer);
    if (this.readTimer) clearTimeout(this.readTimer);
    this.logDrops();
    if (reason !== 'client_left') {
      this.send(
        new this.proto.SignalResponse({
          message: {
            case: 'leave',
            value: new this.proto.LeaveRequest({
              // A restarting server: livekit-client rejoins from scratch (same URL and token) and
              // retries with back-off until the server is back.
              canReconnect: reason === 'server_restarting',
              action:
                reason === 'server_restarting'
                  ? this.proto.LeaveRequest_Action.RECONNECT
                  : this.proto.LeaveRequest_Action.DISCONNECT,
              reason:
                reason === 'replaced'
                  ? this.proto.DisconnectReason.DUPLICATE_IDENTITY
                  : this.proto.DisconnectReason.SERVER_SHUTDOWN,
            }),
          },
        }),
      );
    }
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
    this.peer?.close();
    this.peer = undefined;
    this.handlers.closed?.(reason);
  }

  // ── internals ────────────────────────────────────────────────────────────────

  private move(to: RoomState): void {
    if (!TRANSITIONS[this.state].includes(to)) {
      throw new TransportError('livekit_bad_transition', `Room cannot go from ${this.state} to ${to}`);
    }
    this.state = to;
  }

  private createPeer(): LiveKitPeer {
    const peer: LiveKitPeer = new LiveKitPeer({
      agentStreamId: `${this.agent.sid}|${this.agent.audioTrack!.sid}`,
      ...(this.options.iceServers ? { iceServers: this.options.iceServers } : {}),
      ...(this.options.maxDataBufferBytes ? { maxDataBufferBytes: this.options.maxDataBufferBytes } : {}),
      onCandidate: (candidateInit) =>
        this.send(
          new this.proto.SignalResponse({
            message: {
              case: 'trickle',
              value: new this.proto.TrickleRequest({
                candidateInit,
                target: this.proto.SignalTarget.PUBLISHER,
              }),
            },
          }),
        ),
      onMicAudio: (pcm, rate) => this.handlers.micAudio?.(pcm, rate),
      onData: (bytes) => this.onData(bytes),
      onState: (state) => {
        if (this.peer !== peer || this.state === 'closed') return;
        if (state === 'connected') {
          if (this.iceTimer) clearTimeout(this.iceTimer);
          if (this.state !== 'connected') {
            this.move('connected');
            this.handlers.mediaConnected?.();
          }
        } else if (state === 'failed') {
          this.suspend('ice failed');
        }
      },
    });
    return peer;
  }

  private replaceSocket(ws: WebSocket): void {
    const old = this.ws;
    this.ws = ws;
    this.badMessages = 0;
    if (old && old !== ws) old.close(1000);
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      const bytes = data as Buffer;
      if (!this.signalBudget.admit(bytes.length)) {
        this.overBudget(ws);
        return;
      }
      this.onSignal(bytes, isBinary);
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.suspend('signalling socket closed');
    });
    ws.on('error', (err) => this.logger.debug(`livekit ${this.name}: socket error`, err));
  }

  /** The client went quiet: wait for it to resume or rejoin, else close. */
  private suspend(why: string): void {
    if (this.state === 'closed' || this.state === 'suspended') return;
    this.logger.debug(`livekit ${this.name}: suspended (${why})`);
    this.move('suspended');
    if (this.iceTimer) clearTimeout(this.iceTimer);
    this.resumeTimer = setTimeout(() => this.close('resume_timeout'), this.options.resumeWindowMs ?? 20_000);
    this.resumeTimer.unref?.();
  }

  private armIceTimer(): void {
    if (this.iceTimer) clearTimeout(this.iceTimer);
    this.iceTimer = setTimeout(() => {
      if (this.state === 'connecting') {
        this.logger.warn(`livekit ${this.name}: ICE did not connect in time`);
        this.close('ice_timeout');
      }
    }, this.options.iceTimeoutMs ?? 20_000);
    this.iceTimer.unref?.();
  }

  private clearResumeTimer(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  private send(message: SignalResponse): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    // A client that stopped reading: cut its socket rather than queue without end. The room is
    // suspended as for any dropped socket; the client may resume within the window.
    if (ws.bufferedAmount > this.maxSignalBuffer) {
      this.signalBacklogs++;
      const text = `The client did not read its signalling socket (over ${this.maxSignalBuffer} bytes queued): socket closed`;
      this.logger.warn(`livekit ${this.name}: ${text}`);
      if (this.signalBacklogs === 1) this.handlers.backlog?.('livekit_signal_backlog', text);
      ws.terminate();
      return;
    }
    ws.send(message.toBinary());
  }

  private sendPacket(packet: { toBinary(): Uint8Array }, reliable: boolean): boolean {
    if (this.state === 'closed' || !this.peer) return false;
    const result = this.peer.sendData(packet.toBinary(), reliable);
    if (result !== 'backlog') return result === 'sent';
    // The page does not read its data channel: drop the packet, count it, report the first.
    if (++this.droppedData === 1) {
      this.handlers.backlog?.(
        'livekit_data_backlog',
        'The page did not read its data channel: data for it is dropped (and counted) until it catches up',
      );
    }
    return false;
  }

  /** Over the signalling budget: the message is dropped; the socket is read slower for a moment. */
  private overBudget(ws: WebSocket): void {
    if (this.signalBudget.dropped === 1) {
      const { messagesPerSecond, bytesPerSecond } = this.signalBudget.limits;
      this.handlers.refused?.(
        'livekit_signal_rate',
        `Too many signal messages: dropped beyond ${messagesPerSecond} messages and ${Math.round(bytesPerSecond / 1024)} KiB per second`,
      );
    }
    if (this.readTimer || ws.readyState !== ws.OPEN) return;
    ws.pause();
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      if (ws.readyState === ws.OPEN) ws.resume();
    }, this.signalBudget.pauseMs);
    this.readTimer.unref?.();
  }

  private logDrops(): void {
    const parts = [
      this.signalBudget.dropped ? `${this.signalBudget.dropped} signal messages over budget` : '',
      this.signalBacklogs ? `${this.signalBacklogs} signalling sockets cut (not read)` : '',
      this.droppedData ? `${this.droppedData} data packets for the page (not read)` : '',
    ].filter(Boolean);
    if (parts.length) this.logger.warn(`livekit ${this.name}: dropped ${parts.join(', ')}`);
  }

  private sendParticipantUpdate(p: ParticipantDescription): void {
    this.send(
      new this.proto.SignalResponse({
        message: {
          case: 'update',
          value: new this.proto.ParticipantUpdate({ participants: [participantInfo(this.proto, p)] }),
        },
      }),
    );
  }

  private async answer(sdp: string, id: number): Promise<void> {
    const peer = this.peer;
    if (!peer) return;
    try {
      const answer = await peer.answer(sdp);
      this.send(
        new this.proto.SignalResponse({
          message: {
            case: 'answer',
            value: new this.proto.SessionDescription({ type: 'answer', sdp: answer, id }),
          },
        }),
      );
    } catch (err) {
      this.logger.warn(`livekit ${this.name}: offer ${id} refused`, (err as Error).message);
      this.handlers.refused?.('livekit_bad_sdp', (err as Error).message);
      if (this.state === 'connecting' && peer.connectionState !== 'connected') this.close('protocol_error');
    }
  }

  private onSignal(data: Buffer, isBinary: boolean): void {
    let request: SignalRequest;
    try {
      // JSON signalling (rare) is bounded like any JSON from outside before protobuf walks it.
      request = isBinary
        ? this.proto.SignalRequest.fromBinary(data)
        : this.proto.SignalRequest.fromJson(
            parseJsonOrThrow(data.toString('utf8'), { maxDepth: 16, maxBytes: 1024 * 1024 }) as never,
          );
    } catch {
      this.badMessages++;
      this.logger.warn(`livekit ${this.name}: undecodable signal message (${data.length} bytes)`);
      if (this.badMessages > (this.options.maxBadMessages ?? 20)) this.close('protocol_error');
      return;
    }
    const message = request.message;
    switch (message.case) {
      case 'offer':
        void this.answer(message.value.sdp, message.value.id);
        return;
      case 'trickle':
        void this.peer?.addCandidate(message.value.candidateInit);
        return;
      case 'addTrack': {
        const add = message.value;
        if (!this.user.permission.canPublish || add.type !== this.proto.TrackType.AUDIO) {
          this.logger.debug(`livekit ${this.name}: addTrack of type ${add.type} ignored`);
          return;
        }
        this.user.audioTrack = { sid: liveKitId('TR'), name: add.name || 'microphone', muted: add.muted };
        this.user.version++;
        const track = participantInfo(this.proto, this.user).tracks[0];
        this.send(
          new this.proto.SignalResponse({
            message: {
              case: 'trackPublished',
              value: new this.proto.TrackPublishedResponse({ cid: add.cid, track }),
            },
          }),
        );
        return;
      }
      case 'mute': {
        const track = this.user.audioTrack;
        if (track && message.value.sid === track.sid) {
          track.muted = message.value.muted;
          this.handlers.micMuted?.(track.muted);
        }
        return;
      }
      case 'leave':
        this.close('client_left');
        return;
      case 'ping':
        this.send(new this.proto.SignalResponse({ message: { case: 'pong', value: BigInt(Date.now()) } }));
        return;
      case 'pingReq':
        this.send(
          new this.proto.SignalResponse({
            message: {
              case: 'pongResp',
              value: new this.proto.Pong({
                lastPingTimestamp: message.value.timestamp,
                timestamp: BigInt(Date.now()),
              }),
            },
          }),
        );
        return;
      case 'answer':
      case 'subscription':
      case 'trackSetting':
      case 'updateLayers':
      case 'subscriptionPermission':
      case 'syncState':
      case 'simulate':
      case 'updateMetadata':
      case 'updateAudioTrack':
      case 'updateVideoTrack':
      case 'publishDataTrackRequest':
      case 'unpublishDataTrackRequest':
      case 'updateDataSubscription':
      case 'storeDataBlobRequest':
      case 'getDataBlobRequest':
        this.logger.debug(`livekit ${this.name}: "${message.case}" not served, ignored`);
        return;
      default:
        this.logger.warn(`livekit ${this.name}: unknown signal message ignored`);
    }
  }

  private onData(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    const result = this.incoming.push(bytes);
    if (!result) return;
    if (result.type === 'dropped') {
      // Report the first drop of each kind only: a flood must not become a flood of events.
      if (this.incoming.dropped[result.reason] === 1) {
        this.handlers.refused?.(
          `livekit_data_${result.reason}`,
          `Data from the page dropped: ${result.reason}`,
        );
      }
      return;
    }
    if (!this.user.permission.canPublishData) return;
    this.handlers.data?.(result, this.user.identity);
  }
}
