/**
 * One LiveKit room served by Colloquy: the user's participant (the `livekit-client` on the page),
 * the agent participant, the signalling socket (`/rtc/v1`, protobuf `SignalRequest` in,
 * `SignalResponse` out) and the single peer connection it negotiates.
 *
 * Lifecycle (explicit table below): `connecting` (socket joined, media not up yet; bounded by the
 * ICE timeout) → `connected` → `suspended` (the socket dropped or ICE failed: the client may resume
 * with `reconnect=1` or rejoin within the resume window) → `closed`.
 */
import type { JoinRequest, SignalRequest } from '@livekit/protocol';
import type WebSocket from 'ws';
import { TransportError } from '../../errors.ts';
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
import { DEFAULT_SIGNAL_BUDGET } from './signal-budget.ts';
import { SignalChannel } from './signal-channel.ts';
import {
  answerResponse,
  joinResponse,
  leaveResponse,
  liveKitId,
  type ParticipantDescription,
  participantUpdate,
  pongResponse,
  pongRespResponse,
  reconnectResponse,
  roomParticipants,
  textStreamWriter,
  trackPublishedResponse,
  trickleResponse,
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
  private readonly signal: SignalChannel;
  private peer: LiveKitPeer | undefined;
  /** Native connections still closing (at most the replaced ones and the last). */
  private readonly closing = new Set<Promise<void>>();
  private readonly incoming: IncomingDataDecoder;
  private resumeTimer: NodeJS.Timeout | undefined;
  private iceTimer: NodeJS.Timeout | undefined;
  /** Agent data packets dropped because the page's data channel was full. */
  droppedData = 0;
  private readonly handlers: Partial<RoomEvents> = {};
  private streamCounter = 0;

  constructor(private readonly options: LiveKitRoomOptions) {
    this.proto = loadLiveKitProtocol();
    this.name = options.name;
    this.logger = options.logger;
    const { user, agent } = roomParticipants(options);
    this.user = user;
    this.agent = agent;
    this.incoming = new IncomingDataDecoder(this.proto, options.dataLimits);
    this.signal = new SignalChannel({
      proto: this.proto,
      logger: this.logger,
      roomName: this.name,
      budget: options.signalBudget ?? DEFAULT_SIGNAL_BUDGET,
      maxBufferBytes: options.maxSignalBufferBytes ?? 8 * 1024 * 1024,
      maxBadMessages: options.maxBadMessages ?? 20,
      onRequest: (request) => this.onSignal(request),
      onClosed: () => this.suspend('signalling socket closed'),
      onTooManyBad: () => this.close('protocol_error'),
      onRefused: (code, message) => this.handlers.refused?.(code, message),
      onBacklog: (code, message) => this.handlers.backlog?.(code, message),
    });
  }

  /** Signal messages dropped over the client's budget. */
  get droppedSignals(): number {
    return this.signal.dropped;
  }

  /** Signalling sockets cut because the client stopped reading them. */
  get signalBacklogs(): number {
    return this.signal.backlogs;
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
    this.signal.attach(ws);
    this.closePeer();
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
    this.signal.attach(ws);
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
    return textStreamWriter(this.proto, (packet) => this.sendPacket(packet, true), {
      streamId,
      topic,
      senderIdentity,
      attributes,
    });
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
    this.logDrops();
    if (reason !== 'client_left') {
      this.send(
        leaveResponse(this.proto, reason === 'replaced' || reason === 'server_restarting' ? reason : 'other'),
      );
    }
    this.signal.detach();
    this.closePeer();
    this.handlers.closed?.(reason);
  }

  // ── internals ────────────────────────────────────────────────────────────────

  private move(to: RoomState): void {
    if (!TRANSITIONS[this.state].includes(to)) {
      throw new TransportError('livekit_bad_transition', `Room cannot go from ${this.state} to ${to}`);
    }
    this.state = to;
  }

  /** Closes the peer; its native connection closes after its channels (see closePeerConnection). */
  private closePeer(): void {
    const closing = this.peer?.close();
    this.peer = undefined;
    if (closing === undefined) return;
    this.closing.add(closing);
    void closing.then(() => this.closing.delete(closing));
  }

  /** Resolves once every native connection this room closed is closed (a replaced one, the last). */
  released(): Promise<void> {
    return Promise.all(this.closing).then(() => {});
  }

  private createPeer(): LiveKitPeer {
    const peer: LiveKitPeer = new LiveKitPeer({
      agentStreamId: `${this.agent.sid}|${this.agent.audioTrack!.sid}`,
      ...(this.options.iceServers ? { iceServers: this.options.iceServers } : {}),
      ...(this.options.maxDataBufferBytes ? { maxDataBufferBytes: this.options.maxDataBufferBytes } : {}),
      onCandidate: (candidateInit) => this.send(trickleResponse(this.proto, candidateInit)),
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

  private send(message: Parameters<SignalChannel['send']>[0]): void {
    this.signal.send(message);
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

  private logDrops(): void {
    const parts = [
      this.signal.dropped ? `${this.signal.dropped} signal messages over budget` : '',
      this.signalBacklogs ? `${this.signalBacklogs} signalling sockets cut (not read)` : '',
      this.droppedData ? `${this.droppedData} data packets for the page (not read)` : '',
    ].filter(Boolean);
    if (parts.length) this.logger.warn(`livekit ${this.name}: dropped ${parts.join(', ')}`);
  }

  private sendParticipantUpdate(p: ParticipantDescription): void {
    this.send(participantUpdate(this.proto, p));
  }

  private async answer(sdp: string, id: number): Promise<void> {
    const peer = this.peer;
    if (!peer) return;
    try {
      this.send(answerResponse(this.proto, await peer.answer(sdp), id));
    } catch (err) {
      this.logger.warn(`livekit ${this.name}: offer ${id} refused`, (err as Error).message);
      this.handlers.refused?.('livekit_bad_sdp', (err as Error).message);
      if (this.state === 'connecting' && peer.connectionState !== 'connected') this.close('protocol_error');
    }
  }

  private onSignal(request: SignalRequest): void {
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
        this.send(trackPublishedResponse(this.proto, add.cid, this.user));
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
        this.send(pongResponse(this.proto));
        return;
      case 'pingReq':
        this.send(pongRespResponse(this.proto, message.value.timestamp));
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
