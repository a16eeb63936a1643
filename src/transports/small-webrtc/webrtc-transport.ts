/**
 * `RtviTransport` over SmallWebRTC (`@pipecat-ai/small-webrtc-transport`): RTVI JSON on the client's
 * `chat` data channel, mic audio from the client's Opus track as 16 kHz PCM16, bot audio paced out on
 * the audio track (wrtc encodes/decodes Opus; this class deals in PCM).
 *
 * The `chat` channel also carries signalling (`{type: 'signalling', message}`), which is not RTVI:
 * the client's `trackStatus` is recorded (`trackEnabled`), and `close()` sends `peerLeft` before the
 * connection goes down so the client fires `onBotDisconnected`. Its `ping: <ms>` keep-alives are
 * dropped by the peer.
 *
 * When the client recreates its peer connection (`restart_pc: true`), the signalling routes build a
 * new `SmallWebRtcPeer` and hand it over with `replacePeer`: the session and its handlers carry on.
 */
import { assertNever } from '../../errors.ts';
import { consoleLogger, type Logger } from '../../logger.ts';
import type { RtviTransport, RtviTransportCloseReason } from '../../server/rtvi-transport.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { PeerEndReason, SmallWebRtcPeer } from './peer.ts';

export interface SmallWebRtcTransportOptions {
  /**
   * Closes the transport (`onClose('error')`) when the client's `chat` channel has not opened within
   * this many ms of creation: a client that sent an offer and vanished must not hold a peer. Default
   * 30 000; 0 disables it.
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait in `close()` for the client to leave after `peerLeft` (the Pipecat client disconnects
   * on it) before the connection goes down anyway. Default 2000 ms.
   */
  closeFlushTimeoutMs?: number;
  /** Where a throwing handler is reported (once per kind); it never reaches the native callback. */
  logger?: Logger;
}

type AudioHandler = (frame: Int16Array, sampleRate: number) => void;
type MessageHandler = (raw: unknown) => void;
type CloseHandler = (reason: RtviTransportCloseReason) => void;

/** What the client said about each transceiver (`trackStatus`): 0 audio, 1 video, 2 screen video. */
export interface TrackStatus {
  receiverIndex: number;
  enabled: boolean;
}

type TransportState = 'open' | 'closing' | 'closed';

export class SmallWebRtcTransport implements RtviTransport {
  readonly specificationVersion = SPECIFICATION_VERSIONS.transport;
  readonly name = 'small-webrtc';
  private current: SmallWebRtcPeer;
  private detachPeer: () => void = () => {};
  private readonly audioHandlers = new Set<AudioHandler>();
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly closeHandlers = new Set<CloseHandler>();
  private readonly disposeHandlers = new Set<() => void>();
  private readonly tracks = new Map<number, boolean>();
  private readonly closeFlushTimeoutMs: number;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private state: TransportState = 'open';
  private readonly logger: Logger;
  private readonly reported = new Set<string>();

  constructor(peer: SmallWebRtcPeer, options: SmallWebRtcTransportOptions = {}) {
    this.current = peer;
    this.closeFlushTimeoutMs = options.closeFlushTimeoutMs ?? 2000;
    this.logger = options.logger ?? consoleLogger;
    const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        this.connectTimer = undefined;
        if (!this.current.channelOpen) this.end('error');
      }, connectTimeoutMs);
    }
    this.attach(peer);
  }

  /** The client's peer connection id. */
  get pcId(): string {
    return this.current.pcId;
  }

  get peer(): SmallWebRtcPeer {
    return this.current;
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /** Whether the client said its track at `receiverIndex` is enabled (`undefined`: not told yet). */
  trackEnabled(receiverIndex: number): boolean | undefined {
    return this.tracks.get(receiverIndex);
  }

  sendMessage(message: object): void {
    if (this.state !== 'open') return;
    this.current.sendMessage(message);
  }

  /** Bot audio; the peer copies it (or resamples it into a new buffer) before returning. */
  sendAudio(frame: Int16Array, sampleRate: number): void {
    if (this.state !== 'open') return;
    this.current.sendAudio(frame, sampleRate);
  }

  clearAudio(): void {
    this.current.clearAudio();
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandlers.add(handler);
  }

  onAudio(handler: AudioHandler): void {
    this.audioHandlers.add(handler);
  }

  /** The client went away (`client_disconnected`) or the connection failed (`error`); fires once, not for `close()`. */
  onClose(handler: CloseHandler): void {
    this.closeHandlers.add(handler);
  }

  /** Fires once when the transport is done, however it ended (for the peer registry). */
  onDispose(handler: () => void): void {
    if (this.state === 'closed') handler();
    else this.disposeHandlers.add(handler);
  }

  /**
   * Swaps in the peer of a recreated connection (`restart_pc`): handlers move over, the old peer is
   * closed without firing `onClose`. Queued bot audio of the old peer is dropped.
   */
  replacePeer(peer: SmallWebRtcPeer): void {
    if (peer === this.current) return;
    if (this.state !== 'open') {
      peer.close();
      return;
    }
    const old = this.current;
    this.detachPeer();
    this.current = peer;
    this.attach(peer);
    old.close();
  }

  /** Resolves `released` (set before it: fields initialise in order). */
  private markReleased: () => void = () => {};
  /**
   * Resolves once the transport has closed and its native connection with it (after `close()`: the
   * client's leave, at most `closeFlushTimeoutMs`, then its channels, at most 1 s more).
   */
  readonly released: Promise<void> = new Promise<void>((resolve) => {
    this.markReleased = resolve;
  });

  /** The bot leaves: `peerLeft` goes out (the client fires `onBotDisconnected`), then the connection closes. */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.clearConnectTimer();
    const peer = this.current;
    peer.clearAudio();
    // `peerLeft` goes out behind the messages sent before it (from the outbox while the channel is
    // still opening); the connection goes down once the client has left on it, or after the bound.
    void peer.leave(this.closeFlushTimeoutMs).finally(() => this.finish());
  }

  private attach(peer: SmallWebRtcPeer): void {
    const offs = [
      peer.onMessage((raw) => {
        for (const handler of this.messageHandlers) this.guard('message', () => handler(raw));
      }),
      peer.onAudioFrame((pcm, rate) => {
        for (const handler of this.audioHandlers) this.guard('audio', () => handler(pcm, rate));
      }),
      peer.onSignalling((message) => this.signalling(message)),
      peer.onEnd((reason) => this.end(endReason(reason))),
      peer.onChannelOpen(() => this.clearConnectTimer()),
    ];
    this.detachPeer = () => {
      for (const off of offs) off();
    };
  }

  /** Runs a handler from a native wrtc callback, where an exception would take the process down. */
  private guard(kind: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      if (this.reported.has(kind)) return;
      this.reported.add(kind);
      this.logger.warn(`small-webrtc ${this.pcId}: ${kind} handler threw`, err);
    }
  }

  private signalling(message: { type: string; [key: string]: unknown }): void {
    if (message.type === 'trackStatus') {
      const index = message.receiver_index;
      if (typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < 8) {
        this.tracks.set(index, message.enabled === true);
      }
    }
    // Other client signalling (none in 1.10.8) is ignored.
  }

  /** The wire ended under us. */
  private end(reason: RtviTransportCloseReason): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.clearConnectTimer();
    for (const handler of [...this.closeHandlers]) handler(reason);
    this.finish();
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.detachPeer();
    void this.current.close().then(this.markReleased);
    this.closeHandlers.clear();
    this.audioHandlers.clear();
    this.messageHandlers.clear();
    for (const handler of [...this.disposeHandlers]) handler();
    this.disposeHandlers.clear();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }
}

function endReason(reason: PeerEndReason): RtviTransportCloseReason {
  switch (reason) {
    case 'channel_closed':
    case 'closed':
      return 'client_disconnected';
    case 'failed':
      return 'error';
    default:
      return assertNever(reason, 'peer end reason');
  }
}
