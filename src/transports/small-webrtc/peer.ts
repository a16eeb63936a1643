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
import { downmixToMono } from '../../audio/pcm.ts';
import { StreamingResampler } from '../../audio/resample.ts';
import { TransportError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';
import { requireOptional } from '../../optional-dependency.ts';
import { closePeerConnection } from '../close-peer-connection.ts';
import { DisconnectGrace } from './disconnect-grace.ts';
import { assertSafeIceCandidate, assertSafeOfferSdp } from './sdp-guard.ts';

export const WEBRTC_RATE = 48_000;
/** Data channels a client may hold open on one connection (Pipecat's client opens one, `chat`). */
export const MAX_CHANNELS = 4;
/** Samples per 10 ms frame at 48 kHz: what `RTCAudioSource.onData` takes. */
export const FRAME_SAMPLES = 480;
export const FRAME_MS = 10;
/** Most messages held for a `chat` channel that has not opened yet. */
const MAX_OUTBOX = 256;
/** Bounds of one `chat` channel message (the RTVI parser applies its own, tighter ones after). */
const CHANNEL_JSON_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 32 } as const;

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
  /**
   * How long the connection may stay `disconnected` (ICE lost the client) before it counts as
   * failed. Within it the network may come back, or the client re-offers (`restart_pc`). Default 15 000 ms.
   */
  disconnectGraceMs?: number;
}

type AudioFrameHandler = (pcm: Int16Array, sampleRate: number) => void;
type MessageHandler = (message: unknown) => void;
type SignallingHandler = (message: { type: string; [key: string]: unknown }) => void;
/** Why the connection ended on the wire: the client closed `chat`, or ICE/DTLS failed or closed. */
export type PeerEndReason = 'channel_closed' | 'failed' | 'closed';
type EndHandler = (reason: PeerEndReason) => void;

interface AudioSinkData {
  samples: Int16Array;
  sampleRate: number;
  channelCount?: number;
  numberOfFrames?: number;
}

interface AudioSourceData extends AudioSinkData {
  bitsPerSample: 16;
}

/** The part of `@roamhq/wrtc` used here (an optional dependency; its types stay out of Colloquy's). */
interface Wrtc {
  RTCPeerConnection: new (config: { iceServers: RTCIceServer[] }) => unknown;
  MediaStream: new (tracks: MediaStreamTrack[]) => unknown;
  nonstandard: {
    RTCAudioSource: new () => { createTrack(): unknown; onData(data: AudioSourceData): void };
    RTCAudioSink: new (
      track: MediaStreamTrack,
    ) => { ondata: ((data: AudioSinkData) => void) | undefined; stop(): void };
  };
}

/** Loads `@roamhq/wrtc` (a missing package throws `MissingDependencyError` naming the install command). */
export function loadWrtc(): Wrtc {
  return requireOptional<Wrtc>('@roamhq/wrtc', 'SmallWebRTC');
}

export class SmallWebRtcPeer {
  readonly pcId: string;
  private readonly pc: RTCPeerConnection;
  private readonly wrtc = loadWrtc();
  private readonly source = new this.wrtc.nonstandard.RTCAudioSource();
  private readonly track: MediaStreamTrack;
  private readonly inputRate: number;
  private readonly gatherTimeoutMs: number;
  private readonly maxQueuedSamples: number;
  private channel: RTCDataChannel | undefined;
  private readonly outbox: string[] = [];
  private readonly audioHandlers = new Set<AudioFrameHandler>();
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly signallingHandlers = new Set<SignallingHandler>();
  private readonly endHandlers = new Set<EndHandler>();
  private readonly openHandlers = new Set<() => void>();
  private trackAdded = false;
  private ended = false;
  /** `leave()` began: waiting for the client to go (the channel's close is then no news). */
  private leaving = false;
  private readonly leftHandlers = new Set<() => void>();
  private readonly sinks: Array<{ stop(): void }> = [];
  private inResampler: { rate: number; resampler: StreamingResampler } | undefined;
  private outResampler: { rate: number; resampler: StreamingResampler } | undefined;
  // Bot audio queue at 48 kHz, consumed in 480-sample frames.
  private queue: Int16Array[] = [];
  private queued = 0;
  private head = 0;
  private pacer: ReturnType<typeof setInterval> | undefined;
  private pacerStart = 0;
  private framesSent = 0;
  private closed = false;
  /** Resolves when the native connection is closed (`close()`). */
  private released: Promise<void> = Promise.resolve();
  /** The data channels the client opened and that are not closed yet. */
  private readonly channels = new Set<RTCDataChannel>();
  private readonly grace: DisconnectGrace;

  constructor(options: SmallWebRtcPeerOptions = {}) {
    this.pcId = options.pcId ?? randomUUID();
    this.inputRate = options.inputSampleRate ?? 16_000;
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? 5000;
    this.maxQueuedSamples = Math.round(((options.maxQueuedMs ?? 120_000) * WEBRTC_RATE) / 1000);
    this.pc = new this.wrtc.RTCPeerConnection({
      iceServers: options.iceServers ?? [],
    }) as unknown as RTCPeerConnection;
    this.track = this.source.createTrack() as unknown as MediaStreamTrack;
    this.pc.ontrack = (event) => {
      if (event.track.kind === 'audio' && !this.closed) this.attachSink(event.track);
    };
    this.pc.ondatachannel = (event) => {
      const channel = event.channel;
      // Every channel the client opens is closed before the connection (see closePeerConnection):
      // at most MAX_CHANNELS at a time, none once closing.
      if (this.closed || this.channels.size >= MAX_CHANNELS) {
        channel.close();
        return;
      }
      this.channels.add(channel);
      channel.addEventListener('close', () => this.channels.delete(channel));
      if (channel.label === 'chat') this.attachChannel(channel);
    };
    this.grace = new DisconnectGrace(options.disconnectGraceMs ?? 15_000, (reason) => this.end(reason));
    this.pc.onconnectionstatechange = () => {
      // After close() the connection waits for its channel to close; nothing is left to end.
      if (!this.closed) this.grace.update(this.pc.connectionState);
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
    // The native stack crashes the process on some malformed offers: only what this transport uses.
    assertSafeOfferSdp(offer.sdp);
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    if (!this.trackAdded) {
      // Bot audio goes out on the client's first (audio) transceiver: addTrack reuses it.
      this.pc.addTrack(this.track, new this.wrtc.MediaStream([this.track]) as unknown as MediaStream);
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
        assertSafeIceCandidate(c.candidate);
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
   * The bot leaves: `peerLeft` goes out behind everything sent before it, and this resolves once the
   * client has left in turn (it closed `chat` or the connection, as the Pipecat client does on
   * `peerLeft`), or after `timeoutMs` (a client that stays). `close()` may follow at once.
   *
   * Nothing sooner says the client has the message: `bufferedAmount` 0 only means the bytes were
   * handed to SCTP, and closing the connection then drops what is still in flight; closing the
   * channel first drops it too (wrtc).
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.closed || this.leaving) return;
    this.leaving = true;
    this.sendMessage({ type: 'signalling', message: { type: 'peerLeft' } });
    // Nobody to tell: the client is gone, or never connected. A connection that is up may not have
    // announced the client's channel yet (wrtc fires it late): `peerLeft` waits in the outbox for it.
    const channel = this.channel;
    if (this.ended) return;
    if (channel ? channel.readyState === 'closed' : this.pc.connectionState !== 'connected') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      this.leftHandlers.add(resolve);
    });
    clearTimeout(timer);
  }

  /** Sends one JSON message on `chat` (queued until the channel opens). */
  sendMessage(message: unknown): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    if (this.channel?.readyState === 'open') sendQuietly(this.channel, text);
    else {
      this.outbox.push(text);
      // Bounded: a channel that never opens cannot pile up messages (the oldest go first).
      if (this.outbox.length > MAX_OUTBOX) this.outbox.shift();
    }
  }

  /** Queues bot audio (mono PCM16); it leaves in real time, 10 ms at a time. */
  sendAudio(pcm: Int16Array, sampleRate: number): void {
    if (this.closed || pcm.length === 0) return;
    if (this.outResampler?.rate !== sampleRate) {
      this.outResampler =
        sampleRate === WEBRTC_RATE
          ? undefined
          : { rate: sampleRate, resampler: new StreamingResampler(sampleRate, WEBRTC_RATE) };
    }
    const samples = this.outResampler ? this.outResampler.resampler.process(pcm) : pcm.slice();
    if (samples.length === 0) return;
    this.queue.push(samples);
    this.queued += samples.length;
    while (this.queued - this.head > this.maxQueuedSamples && this.queue.length > 1) {
      const dropped = this.queue.shift()!;
      this.queued -= dropped.length;
      this.head = 0;
    }
    this.startPacer();
  }

  /** Drops queued bot audio (barge-in). */
  clearAudio(): void {
    this.queue = [];
    this.queued = 0;
    this.head = 0;
    this.outResampler?.resampler.reset();
  }

  /** Bot audio still queued, in ms. */
  get queuedMs(): number {
    return ((this.queued - this.head) * 1000) / WEBRTC_RATE;
  }

  /** `closed` from `close()` on (the native connection closes once its channel has). */
  get connectionState(): RTCPeerConnectionState {
    return this.closed ? 'closed' : this.pc.connectionState;
  }

  /**
   * Closes the connection; resolves once the native connection is closed (after its channel has
   * closed, so the two are never freed at once: see `closePeerConnection`).
   */
  close(): Promise<void> {
    if (this.closed) return this.released;
    this.closed = true;
    this.grace.cancel();
    this.stopPacer();
    this.clearAudio();
    for (const sink of this.sinks.splice(0)) sink.stop();
    this.track.stop();
    this.released = closePeerConnection(this.pc, [...this.channels]);
    this.channels.clear();
    this.audioHandlers.clear();
    this.messageHandlers.clear();
    this.signallingHandlers.clear();
    this.endHandlers.clear();
    this.openHandlers.clear();
    for (const handler of [...this.leftHandlers]) handler();
    this.leftHandlers.clear();
    return this.released;
  }

  private end(reason: PeerEndReason): void {
    this.grace.cancel();
    if (this.ended || this.closed) return;
    this.ended = true;
    for (const handler of [...this.leftHandlers]) handler();
    this.leftHandlers.clear();
    if (this.leaving) return;
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
    const sink = new this.wrtc.nonstandard.RTCAudioSink(track);
    this.sinks.push(sink);
    sink.ondata = (data: AudioSinkData) => {
      if (this.audioHandlers.size === 0) return;
      const mono = downmixToMono(data.samples, data.channelCount ?? 1);
      if (this.inResampler?.rate !== data.sampleRate) {
        this.inResampler = {
          rate: data.sampleRate,
          resampler: new StreamingResampler(data.sampleRate, this.inputRate),
        };
      }
      const pcm = data.sampleRate === this.inputRate ? mono : this.inResampler.resampler.process(mono);
      for (const handler of this.audioHandlers) handler(pcm, this.inputRate);
    };
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
      // Bounded before anything walks it; a refused text goes on as a string, which the RTVI
      // parser refuses again with its typed error (and the client gets `error`).
      const parsed = parseJsonWithLimits(text, CHANNEL_JSON_LIMITS);
      const value: unknown = parsed.ok ? parsed.value : text;
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

  private startPacer(): void {
    if (this.pacer || this.closed) return;
    this.pacerStart = performance.now();
    this.framesSent = 0;
    this.pacer = setInterval(() => this.pace(), FRAME_MS);
    this.pace();
  }

  private stopPacer(): void {
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = undefined;
  }

  /** Sends the frames that are due by the wall clock (timers drift; the clock does not). */
  private pace(): void {
    const due = Math.floor((performance.now() - this.pacerStart) / FRAME_MS) + 1 - this.framesSent;
    for (let i = 0; i < due; i++) {
      const frame = this.takeFrame();
      if (!frame) {
        this.stopPacer();
        return;
      }
      this.source.onData({
        samples: frame,
        sampleRate: WEBRTC_RATE,
        bitsPerSample: 16,
        channelCount: 1,
        numberOfFrames: FRAME_SAMPLES,
      });
      this.framesSent++;
    }
  }

  /** The next 480 samples (the tail is padded with silence). */
  private takeFrame(): Int16Array | undefined {
    if (this.queued - this.head <= 0) return undefined;
    const frame = new Int16Array(FRAME_SAMPLES);
    let filled = 0;
    while (filled < FRAME_SAMPLES && this.queue.length > 0) {
      const chunk = this.queue[0];
      const n = Math.min(FRAME_SAMPLES - filled, chunk.length - this.head);
      frame.set(chunk.subarray(this.head, this.head + n), filled);
      filled += n;
      this.head += n;
      if (this.head === chunk.length) {
        this.queue.shift();
        this.queued -= chunk.length;
        this.head = 0;
      }
    }
    return frame;
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
