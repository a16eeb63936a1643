/**
 * The server end of a LiveKit client's single peer connection (`/rtc/v1`), on `@roamhq/wrtc`.
 * Only the client offers: the first offer (inside the join request) has recvonly audio/video
 * sections and the client's `_reliable` / `_lossy` data channels; the agent's audio track goes on
 * one of the recvonly audio sections, in a stream whose id is `<agent sid>|<track sid>` (how the
 * client maps a received track to a participant's publication). Later offers add the user's
 * microphone or restart ICE. Candidates trickle both ways.
 *
 * wrtc quirk: a process that created an `RTCAudioSource` segfaults at natural exit; processes using
 * this class must end with an explicit `process.exit()`.
 */
import { TransportError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';
import { requireOptional } from '../../optional-dependency.ts';
import { closePeerConnection } from '../close-peer-connection.ts';
import { attachPcmSink, PacedAudioOutput, type PcmSinkLike } from '../small-webrtc/paced-audio.ts';
import { MAX_CHANNELS } from '../small-webrtc/peer.ts';
import { assertSafeIceCandidate, assertSafeOfferSdp } from '../small-webrtc/sdp-guard.ts';

type Wrtc = typeof import('@roamhq/wrtc');

let wrtcModule: Wrtc | undefined;
function loadWrtc(): Wrtc {
  wrtcModule ??= requireOptional<Wrtc>('@roamhq/wrtc', 'The LiveKit transport (WebRTC media)');
  return wrtcModule;
}

export interface LiveKitPeerOptions {
  /** `<agent participant sid>|<agent track sid>`. */
  agentStreamId: string;
  iceServers?: RTCIceServer[];
  /** Rate of the mic PCM handed to `onMicAudio`. Default 16000. */
  inputSampleRate?: number;
  /** Most agent audio queued, in ms. Default 120 s. */
  maxQueuedMs?: number;
  /** Bytes queued on a data channel beyond which `sendData` drops the packet. Default 1 MiB. */
  maxDataBufferBytes?: number;
  /** A local ICE candidate to trickle to the client (`RTCIceCandidateInit` as JSON). */
  onCandidate(candidateInit: string): void;
  /** Mic audio, mono PCM16 at `inputSampleRate`, 10 ms at a time (called from a native callback). */
  onMicAudio(pcm: Int16Array, sampleRate: number): void;
  /** A message on one of the client's data channels. */
  onData(bytes: Uint8Array, label: string): void;
  /** The connection state changed. */
  onState(state: RTCPeerConnectionState): void;
}

/** Largest candidate accepted from the client. */
const MAX_CANDIDATE_CHARS = 2048;

/** What became of a data packet: sent, no open channel, or dropped because the channel is full. */
export type DataSendResult = 'sent' | 'unavailable' | 'backlog';

export class LiveKitPeer {
  private readonly pc: RTCPeerConnection;
  private readonly track: MediaStreamTrack;
  private readonly stream: MediaStream;
  private readonly output: PacedAudioOutput;
  private readonly sinks: PcmSinkLike[] = [];
  private readonly channels = new Map<string, RTCDataChannel>();
  private readonly maxDataBuffer: number;
  private trackAdded = false;
  private closed = false;
  /** Resolves when the native connection is closed (`close()`). */
  private released: Promise<void> = Promise.resolve();
  /** Every data channel the client opened that is not closed yet (`channels` has the latest by label). */
  private readonly open = new Set<RTCDataChannel>();
  /** Offers are answered one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: LiveKitPeerOptions) {
    const wrtc = loadWrtc();
    this.maxDataBuffer = options.maxDataBufferBytes ?? 1024 * 1024;
    this.pc = new wrtc.RTCPeerConnection({
      iceServers: options.iceServers ?? [],
    }) as unknown as RTCPeerConnection;
    const source = new wrtc.nonstandard.RTCAudioSource();
    this.track = source.createTrack() as unknown as MediaStreamTrack;
    this.stream = new (wrtc.MediaStream as unknown as new (init: { id: string }) => MediaStream)({
      id: options.agentStreamId,
    });
    this.stream.addTrack(this.track);
    this.output = new PacedAudioOutput(source, options.maxQueuedMs ?? 120_000);
    const inputRate = options.inputSampleRate ?? 16_000;
    this.pc.onicecandidate = (event) => {
      if (!event.candidate || this.closed) return;
      this.guard(() => options.onCandidate(JSON.stringify(event.candidate)));
    };
    this.pc.ontrack = (event) => {
      if (event.track.kind !== 'audio' || this.closed) return;
      const sink = new wrtc.nonstandard.RTCAudioSink(event.track as never) as unknown as PcmSinkLike;
      this.sinks.push(
        attachPcmSink(sink, inputRate, (pcm, rate) => this.guard(() => options.onMicAudio(pcm, rate))),
      );
    };
    this.pc.ondatachannel = (event) => {
      const channel = event.channel;
      // Every channel the client opens is closed before the connection (see closePeerConnection):
      // at most MAX_CHANNELS at a time, none once closing; one by the same label replaces it.
      if (this.closed || this.open.size >= MAX_CHANNELS) {
        channel.close();
        return;
      }
      this.open.add(channel);
      channel.addEventListener('close', () => this.open.delete(channel));
      this.channels.get(channel.label)?.close();
      channel.binaryType = 'arraybuffer';
      this.channels.set(channel.label, channel);
      channel.onmessage = (message) => {
        const data = message.data;
        const bytes =
          typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data as ArrayBuffer);
        this.guard(() => options.onData(bytes, channel.label));
      };
      channel.onclose = () => {
        if (this.channels.get(channel.label) === channel) this.channels.delete(channel.label);
      };
    };
    this.pc.onconnectionstatechange = () => {
      // After close() the connection waits for its channels to close; its owner has let it go.
      if (this.closed) return;
      this.guard(() => options.onState(this.pc.connectionState));
    };
  }

  /** `closed` from `close()` on (the native connection closes once its channels have). */
  get connectionState(): RTCPeerConnectionState {
    return this.closed ? 'closed' : this.pc.connectionState;
  }

  /** Answers a client offer (first, re-offer or ICE restart); answers go out in offer order. */
  answer(sdp: string): Promise<string> {
    const run = async () => {
      if (this.closed) throw new TransportError('livekit_peer_closed', 'The peer connection is closed');
      try {
        // The native stack crashes the process on some malformed offers: only what WebRTC clients
        // send gets through (the same allowlist as SmallWebRTC offers).
        assertSafeOfferSdp(sdp);
      } catch (cause) {
        throw new TransportError('livekit_bad_sdp', `Offer refused: ${(cause as Error).message}`, { cause });
      }
      try {
        await this.pc.setRemoteDescription({ type: 'offer', sdp });
      } catch (cause) {
        throw new TransportError('livekit_bad_sdp', `Offer refused: ${(cause as Error).message}`, { cause });
      }
      if (!this.trackAdded) {
        this.pc.addTrack(this.track, this.stream);
        this.trackAdded = true;
      }
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      const local = this.pc.localDescription;
      if (!local) throw new TransportError('livekit_no_answer', 'No local description after createAnswer');
      return local.sdp;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => {});
    return next;
  }

  /** Adds a trickled client candidate (JSON `RTCIceCandidateInit`); false when unusable. */
  async addCandidate(candidateInit: string): Promise<boolean> {
    if (this.closed || candidateInit.length > MAX_CANDIDATE_CHARS) return false;
    // A flat object: anything nested deeper is not a candidate.
    const parsed = parseJsonWithLimits(candidateInit, { maxBytes: MAX_CANDIDATE_CHARS, maxDepth: 2 });
    if (!parsed.ok) return false;
    const value = parsed.value as Record<string, unknown> | null;
    if (!value || typeof value !== 'object' || typeof value.candidate !== 'string') return false;
    const init: RTCIceCandidateInit = {
      candidate: value.candidate,
      sdpMid: typeof value.sdpMid === 'string' ? value.sdpMid : null,
      sdpMLineIndex: typeof value.sdpMLineIndex === 'number' ? value.sdpMLineIndex : null,
    };
    if (!init.candidate) return false; // end-of-candidates
    try {
      assertSafeIceCandidate(init.candidate);
    } catch {
      return false;
    }
    try {
      await this.chain;
      await this.pc.addIceCandidate(init);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends on the client's `_reliable` (or `_lossy`) channel. A client that does not read lets the
   * channel's send buffer grow: past `maxDataBufferBytes` the packet is dropped (`backlog`), so
   * memory stays bounded while audio and the conversation go on.
   */
  sendData(bytes: Uint8Array, reliable = true): DataSendResult {
    const channel = this.channels.get(reliable ? '_reliable' : '_lossy') ?? this.channels.get('_reliable');
    if (channel?.readyState !== 'open' || this.closed) return 'unavailable';
    // One packet always fits an empty buffer: the bound is the cap plus one packet.
    const buffered = channel.bufferedAmount;
    if (buffered > 0 && buffered + bytes.length > this.maxDataBuffer) return 'backlog';
    try {
      channel.send(bytes as Uint8Array<ArrayBuffer>);
      return 'sent';
    } catch {
      return 'unavailable';
    }
  }

  /** The client's reliable data channel is open. */
  get dataOpen(): boolean {
    return !this.closed && this.channels.get('_reliable')?.readyState === 'open';
  }

  /** Bytes waiting in the reliable channel's send buffer. */
  get bufferedAmount(): number {
    return this.channels.get('_reliable')?.bufferedAmount ?? 0;
  }

  /** Queues agent audio (mono PCM16); it leaves in real time. */
  sendAudio(pcm: Int16Array, sampleRate: number): void {
    if (!this.closed) this.output.write(pcm, sampleRate);
  }

  /** Drops queued agent audio (barge-in). */
  clearAudio(): void {
    this.output.clear();
  }

  get sentFrames(): number {
    return this.output.sentFrames;
  }

  get queuedMs(): number {
    return this.output.queuedMs;
  }

  /**
   * Closes the connection; resolves once the native connection is closed (after its channels have
   * closed, so the two are never freed at once: see `closePeerConnection`).
   */
  close(): Promise<void> {
    if (this.closed) return this.released;
    this.closed = true;
    this.output.close();
    for (const sink of this.sinks.splice(0)) sink.stop();
    const channels = [...this.open];
    this.open.clear();
    this.channels.clear();
    this.track.stop();
    this.released = closePeerConnection(this.pc, channels);
    return this.released;
  }

  /** Handlers run inside wrtc callbacks, where an exception would take the process down. */
  private guard(run: () => void): void {
    try {
      run();
    } catch {
      // The owner reports its own failures; a throw here must not reach native code.
    }
  }
}
