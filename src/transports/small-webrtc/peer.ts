/**
 * The server side of one SmallWebRTC connection (`@pipecat-ai/small-webrtc-transport` 1.10.8), on
 * `@roamhq/wrtc`: answer the client's offer with every server candidate in the SDP (there is no
 * server → client trickle), take the client's trickled candidates, read the mic track as 16 kHz PCM16,
 * send bot audio paced in 10 ms frames of 48 kHz, and carry RTVI JSON on the client's `chat` channel.
 *
 * wrtc quirk: a process that created an `RTCAudioSource` segfaults at natural exit (exit code 139);
 * processes using this class must end with an explicit `process.exit()`.
 */
import { randomUUID } from 'node:crypto';
import wrtc from '@roamhq/wrtc';
import { TransportError } from '../../errors.ts';
import { attachPcmSink, PacedAudioOutput } from './paced-audio.ts';

export { FRAME_MS, FRAME_SAMPLES, WEBRTC_RATE } from './paced-audio.ts';

export interface SdpMessage {
  sdp: string;
  type: string;
}
/** What the client PATCHes: `{pc_id, candidates: [...]}`. */
export interface PipecatIceCandidate {
  candidate: string;
  sdp_mid?: string | null;
  sdp_mline_index?: number | null;
}
export interface SmallWebRtcAnswer {
  sdp: string;
  type: 'answer';
  pc_id: string;
}

export interface SmallWebRtcPeerOptions {
  pcId?: string;
  iceServers?: RTCIceServer[];
  /** Rate of `onAudioFrame` PCM. Default 16000. */
  inputSampleRate?: number;
  /** Longest wait for ICE gathering before answering with what was gathered. Default 5000 ms. */
  gatherTimeoutMs?: number;
  /** Most bot audio queued, in ms (older audio is dropped beyond it). Default 120 s. */
  maxQueuedMs?: number;
}

type AudioFrameHandler = (pcm: Int16Array, sampleRate: number) => void;
type MessageHandler = (message: unknown) => void;
type SignallingHandler = (message: { type: string; [key: string]: unknown }) => void;
/** Why the connection ended on the wire: the client closed `chat`, or ICE/DTLS failed or closed. */
export type PeerEndReason = 'channel_closed' | 'failed' | 'closed';
type EndHandler = (reason: PeerEndReason) => void;

export class SmallWebRtcPeer {
  readonly pcId: string;
  private readonly pc: RTCPeerConnection;
  private readonly source = new wrtc.nonstandard.RTCAudioSource();
  private readonly track: MediaStreamTrack;
  private readonly inputRate: number;
  private readonly gatherTimeoutMs: number;
  private readonly output: PacedAudioOutput;
  private channel: RTCDataChannel | undefined;
  private readonly outbox: string[] = [];
  private readonly audioHandlers = new Set<AudioFrameHandler>();
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly signallingHandlers = new Set<SignallingHandler>();
  private readonly endHandlers = new Set<EndHandler>();
  private readonly openHandlers = new Set<() => void>();
  private trackAdded = false;
  private ended = false;
  private readonly sinks: Array<{ stop(): void }> = [];
  private closed = false;

  constructor(options: SmallWebRtcPeerOptions = {}) {
    this.pcId = options.pcId ?? randomUUID();
    this.inputRate = options.inputSampleRate ?? 16_000;
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? 5000;
    this.output = new PacedAudioOutput(this.source, options.maxQueuedMs ?? 120_000);
    this.pc = new wrtc.RTCPeerConnection({
      iceServers: options.iceServers ?? [],
    }) as unknown as RTCPeerConnection;
    this.track = this.source.createTrack() as unknown as MediaStreamTrack;
    this.pc.ontrack = (event) => {
      if (event.track.kind === 'audio') this.attachSink(event.track);
    };
    this.pc.ondatachannel = (event) => {
      if (event.channel.label === 'chat') this.attachChannel(event.channel);
    };
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      if (state === 'failed' || state === 'closed') this.end(state);
    };
  }

  /**
   * Answers the client's offer; the answer holds every server candidate. Called again on the same
   * peer, it renegotiates (the client's `restart_pc: false` re-offer).
   */
  async createAnswer(offer: SdpMessage): Promise<SmallWebRtcAnswer> {
    if (offer.type !== 'offer' || typeof offer.sdp !== 'string') {
      throw new TransportError('webrtc_bad_offer', 'Expected {sdp, type: "offer"}');
    }
    if (this.closed) throw new TransportError('webrtc_closed', 'The peer connection is closed');
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    if (!this.trackAdded) {
      // Bot audio goes out on the client's first (audio) transceiver: addTrack reuses it.
      this.pc.addTrack(this.track, new wrtc.MediaStream([this.track]) as unknown as MediaStream);
      this.trackAdded = true;
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.iceGatheringComplete();
    const local = this.pc.localDescription;
    if (!local) throw new TransportError('webrtc_no_answer', 'No local description after createAnswer');
    return { sdp: local.sdp, type: 'answer', pc_id: this.pcId };
  }

  /** Adds the client's trickled candidates; unusable ones (e.g. TCP port 9) are skipped. */
  async addIceCandidates(candidates: readonly PipecatIceCandidate[]): Promise<number> {
    let added = 0;
    for (const c of candidates) {
      if (!c.candidate) continue;
      try {
        await this.pc.addIceCandidate({
          candidate: c.candidate,
          sdpMid: c.sdp_mid ?? null,
          sdpMLineIndex: c.sdp_mline_index ?? null,
        });
        added++;
      } catch {
        // A candidate the stack cannot use is not fatal; the others may connect.
      }
    }
    return added;
  }

  /** Mic audio, downmixed and resampled to `inputSampleRate`, in 10 ms pieces. */
  onAudioFrame(handler: AudioFrameHandler): () => void {
    this.audioHandlers.add(handler);
    return () => this.audioHandlers.delete(handler);
  }

  /** RTVI messages from the `chat` channel (parsed JSON; pings and signalling are filtered out). */
  onMessage(handler: MessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  /** `{type: 'signalling', message}` payloads from the client (`trackStatus`). */
  onSignalling(handler: SignallingHandler): () => void {
    this.signallingHandlers.add(handler);
    return () => this.signallingHandlers.delete(handler);
  }

  /**
   * The connection ended on the wire (the client closed `chat` or the connection failed/closed);
   * fires once, never for a local `close()`.
   */
  onEnd(handler: EndHandler): () => void {
    this.endHandlers.add(handler);
    return () => this.endHandlers.delete(handler);
  }

  /** The `chat` channel opened (fires at once if it is already open). */
  onChannelOpen(handler: () => void): () => void {
    if (this.channelOpen) {
      handler();
      return () => {};
    }
    this.openHandlers.add(handler);
    return () => this.openHandlers.delete(handler);
  }

  get channelOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  /**
   * Resolves once everything sent on `chat` has left (outbox empty, `bufferedAmount` 0), or after
   * `timeoutMs`: lets a last message (`peerLeft`) reach the client before `close()`.
   */
  async flush(timeoutMs = 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      const channel = this.channel;
      // A channel still connecting will flush its outbox when it opens: wait for that too.
      if (channel === undefined || channel.readyState === 'closing' || channel.readyState === 'closed')
        return;
      if (channel.readyState === 'open' && this.outbox.length === 0 && channel.bufferedAmount === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Sends one JSON message on `chat` (queued until the channel opens). */
  sendMessage(message: unknown): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    if (this.channel?.readyState === 'open') sendQuietly(this.channel, text);
    else this.outbox.push(text);
  }

  /** Tells the client the bot left (fires its `onBotDisconnected`). */
  sendPeerLeft(): void {
    this.sendMessage({ type: 'signalling', message: { type: 'peerLeft' } });
  }

  /** Queues bot audio (mono PCM16); it leaves in real time, 10 ms at a time. */
  sendAudio(pcm: Int16Array, sampleRate: number): void {
    if (this.closed) return;
    this.output.write(pcm, sampleRate);
  }

  /** Drops queued bot audio (barge-in). */
  clearAudio(): void {
    this.output.clear();
  }

  /** Bot audio still queued, in ms. */
  get queuedMs(): number {
    return this.output.queuedMs;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.output.close();
    for (const sink of this.sinks.splice(0)) sink.stop();
    this.channel?.close();
    this.track.stop();
    this.pc.close();
    this.audioHandlers.clear();
    this.messageHandlers.clear();
    this.signallingHandlers.clear();
    this.endHandlers.clear();
    this.openHandlers.clear();
  }

  private end(reason: PeerEndReason): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    for (const handler of [...this.endHandlers]) handler(reason);
  }

  private iceGatheringComplete(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      const check = () => {
        if (this.pc.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, this.gatherTimeoutMs);
      this.pc.addEventListener('icegatheringstatechange', check);
    });
  }

  private attachSink(track: MediaStreamTrack): void {
    const sink = new wrtc.nonstandard.RTCAudioSink(track as never);
    this.sinks.push(sink);
    attachPcmSink(sink as never, this.inputRate, (pcm, rate) => {
      for (const handler of this.audioHandlers) handler(pcm, rate);
    });
  }

  private attachChannel(channel: RTCDataChannel): void {
    this.channel = channel;
    const flush = () => {
      // The channel may have closed again before this callback ran (wrtc fires it late).
      if (channel.readyState !== 'open') return;
      for (const text of this.outbox.splice(0)) sendQuietly(channel, text);
      for (const handler of [...this.openHandlers]) handler();
      this.openHandlers.clear();
    };
    if (channel.readyState === 'open') flush();
    channel.onopen = flush;
    channel.onclose = () => {
      if (this.channel === channel) this.end('channel_closed');
    };
    channel.onmessage = (event) => {
      const text =
        typeof event.data === 'string' ? event.data : Buffer.from(event.data as ArrayBuffer).toString('utf8');
      if (text.startsWith('ping:')) return; // the client's keep-alive, not JSON
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = text; // let the RTVI parser refuse it with a typed error
      }
      const obj = value as { type?: unknown; message?: unknown };
      if (
        obj &&
        typeof obj === 'object' &&
        obj.type === 'signalling' &&
        obj.message &&
        typeof obj.message === 'object'
      ) {
        for (const handler of this.signallingHandlers) handler(obj.message as { type: string });
        return;
      }
      for (const handler of this.messageHandlers) handler(value);
    };
  }
}

/** `send` that never throws into wrtc's native callbacks: a channel closing under us drops the text. */
function sendQuietly(channel: RTCDataChannel, text: string): void {
  try {
    channel.send(text);
  } catch {
    // InvalidStateError: the channel closed between the state check and the send.
  }
}
