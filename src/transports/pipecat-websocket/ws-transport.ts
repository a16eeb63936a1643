/**
 * `RtviTransport` over a `ws` socket speaking Pipecat's protobuf frames (the server side of
 * `@pipecat-ai/websocket-transport`): `MessageFrame` ↔ RTVI JSON, `AudioRawFrame` in (the client's
 * mic, at the frame's `sample_rate`) and out (bot audio, 24 kHz mono PCM16: the client plays 24 kHz
 * whatever the header says). The session paces bot audio in real time, so frames are sent as they come.
 *
 * Bad input never closes the socket: a malformed or oversized frame, a text frame or bad audio gets a
 * non-fatal RTVI `error` (rate-limited) and is dropped. Backpressure is bounded: over
 * `maxBufferedBytes` queued, bot audio is dropped; over `closeBufferedBytes` the socket is closed.
 * Input is rate-bounded: a client sending more bytes or frames per second than its budget has its
 * socket read slower (TCP backpressure), so a flood costs the server no more work than the budget.
 */
import type { RawData, WebSocket } from 'ws';
import { bytesToInt16, downmixToMono } from '../../audio/pcm.ts';
import { isSupportedSampleRate, StreamingResampler } from '../../audio/resample.ts';
import type { Logger } from '../../logger.ts';
import type { RtviTransport } from '../../server/rtvi-transport.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import { errorMessage } from '../../surfaces/rtvi/messages.ts';
import { TokenBucket } from '../../token-bucket.ts';
import { decodeFrame, encodeAudioFrame, encodeMessageFrame, PIPECAT_FRAME_MAX_BYTES } from './frames.ts';

/** The rate the Pipecat client plays bot audio at. */
export const PIPECAT_PLAYER_SAMPLE_RATE = 24000;

export interface PipecatWsTransportOptions {
  /** Largest accepted frame (default `PIPECAT_FRAME_MAX_BYTES`, the client's own limit + framing). */
  maxFrameBytes?: number;
  /** Bot audio is dropped while more than this is queued on the socket (default 1 MiB ≈ 20 s of audio). */
  maxBufferedBytes?: number;
  /** The socket is closed when more than this is queued: the client stopped reading (default 8 MiB). */
  closeBufferedBytes?: number;
  /** Most error replies per second for bad input (default 5). */
  maxErrorsPerSecond?: number;
  /**
   * Liveness: a WebSocket ping every this many ms; a client that has not answered the previous one
   * (every WebSocket client answers pings) is lost (`onClose('error')`). Default 15 000; 0 turns it off.
   */
  heartbeatMs?: number;
  /**
   * Bytes per second the client may send, after a burst of `maxFrameBytes` (default 1 MiB). Beyond
   * it, the socket is not read until the budget is back: the client's sends wait in TCP buffers.
   */
  maxBytesPerSecond?: number;
  /** Frames per second the client may send, after a burst of twice as many (default 200; mic audio is 50). */
  maxFramesPerSecond?: number;
  logger?: Logger;
}

type CloseReason = 'client_disconnected' | 'error';

export class PipecatWsTransport implements RtviTransport {
  readonly specificationVersion = SPECIFICATION_VERSIONS.transport;
  readonly name = 'websocket';
  private messageHandler: ((raw: unknown) => void) | undefined;
  private audioHandler: ((frame: Int16Array, sampleRate: number) => void) | undefined;
  private closeHandler: ((reason: CloseReason) => void) | undefined;
  private readonly maxFrameBytes: number;
  private readonly maxBuffered: number;
  private readonly closeBuffered: number;
  private readonly maxErrors: number;
  private errorWindowStart = 0;
  private errorsInWindow = 0;
  private closedByUs = false;
  private closeReported = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  /** Bot audio at another rate is converted with state kept across frames (seamless boundaries). */
  private toPlayer: StreamingResampler | undefined;
  /** Bot audio frames dropped for backpressure (for tests and logs). */
  droppedAudioFrames = 0;
  /** Client audio frames refused, by problem (`empty_audio`, `odd_length_audio`). */
  readonly refusedAudio = new Map<string, number>();
  private readonly byteBudget: TokenBucket;
  private readonly frameBudget: TokenBucket;
  private throttleTimer: NodeJS.Timeout | undefined;
  /** Times reading was paused because the client sent over its byte or frame budget. */
  throttled = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: PipecatWsTransportOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? PIPECAT_FRAME_MAX_BYTES;
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.closeBuffered = options.closeBufferedBytes ?? 8 * 1024 * 1024;
    this.maxErrors = options.maxErrorsPerSecond ?? 5;
    const bytesPerSecond = options.maxBytesPerSecond ?? 1024 * 1024;
    this.byteBudget = new TokenBucket(bytesPerSecond, Math.max(bytesPerSecond, this.maxFrameBytes));
    const framesPerSecond = options.maxFramesPerSecond ?? 200;
    this.frameBudget = new TokenBucket(framesPerSecond, framesPerSecond * 2);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    // 1006: the connection dropped without a closing handshake (network loss, a killed client).
    ws.on('close', (code) => this.reportClose(code === 1006 ? 'error' : 'client_disconnected'));
    ws.on('error', (err) => {
      options.logger?.warn('pipecat websocket error', err.message);
      this.reportClose('error');
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    if (heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
      this.heartbeat.unref?.();
    }
  }

  /** One heartbeat: the previous ping must have been answered, else the client is gone. */
  private beat(): void {
    if (!this.open) return;
    if (this.awaitingPong) {
      this.options.logger?.warn('pipecat websocket: no answer to a ping, the client is gone');
      this.reportClose('error');
      this.closedByUs = true;
      this.ws.terminate();
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  sendMessage(message: object): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > this.closeBuffered) {
      this.overflow();
      return;
    }
    this.ws.send(encodeMessageFrame(message));
  }

  sendAudio(frame: Int16Array, sampleRate: number): void {
    if (!this.open) return;
    if (sampleRate !== PIPECAT_PLAYER_SAMPLE_RATE) {
      // The client plays 24 kHz whatever the header says: convert (sessions normally output 24 kHz).
      if (!isSupportedSampleRate(sampleRate)) return;
      if (this.toPlayer?.fromRate !== sampleRate) {
        this.toPlayer = new StreamingResampler(sampleRate, PIPECAT_PLAYER_SAMPLE_RATE);
      }
      frame = this.toPlayer.process(frame);
      sampleRate = PIPECAT_PLAYER_SAMPLE_RATE;
    }
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.closeBuffered) {
      this.overflow();
      return;
    }
    if (buffered > this.maxBuffered) {
      this.droppedAudioFrames++;
      return;
    }
    // encodeAudioFrame copies the samples into a fresh buffer: the caller may reuse `frame`.
    const bytes = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    this.ws.send(encodeAudioFrame(bytes, sampleRate, 1));
  }

  /** Audio already sent is in the client's player; nothing is queued here beyond the socket. */
  clearAudio(): void {}

  onMessage(handler: (raw: unknown) => void): void {
    this.messageHandler = handler;
  }

  onAudio(handler: (frame: Int16Array, sampleRate: number) => void): void {
    this.audioHandler = handler;
  }

  onClose(handler: (reason: CloseReason) => void): void {
    this.closeHandler = handler;
  }

  close(): void {
    this.stopHeartbeat();
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.logRefusedAudio();
    if (this.ws.readyState === this.ws.CONNECTING || this.ws.readyState === this.ws.OPEN) {
      this.ws.close(1000, 'session ended');
      // A peer that never completes the closing handshake is cut off.
      setTimeout(() => this.ws.terminate(), 2000).unref?.();
    }
  }

  private overflow(): void {
    this.options.logger?.warn('pipecat websocket: client is not reading, closing');
    this.reportClose('error');
    this.closedByUs = true;
    this.ws.terminate();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
  }

  /** Over budget: stop reading the socket until the budget is paid back. */
  private throttle(waitMs: number): void {
    if (this.throttleTimer || !this.open) return;
    this.throttled++;
    this.ws.pause();
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = undefined;
      if (this.open) this.ws.resume();
    }, waitMs);
  }

  private reportClose(reason: CloseReason): void {
    this.stopHeartbeat();
    if (this.closeReported || this.closedByUs) return;
    this.closeReported = true;
    this.logRefusedAudio();
    this.closeHandler?.(reason);
  }

  private refuse(message: string): void {
    const now = Date.now();
    if (now - this.errorWindowStart >= 1000) {
      this.errorWindowStart = now;
      this.errorsInWindow = 0;
    }
    if (++this.errorsInWindow > this.maxErrors) return;
    this.sendMessage(errorMessage(message, false));
  }

  private logRefusedAudio(): void {
    if (this.refusedAudio.size === 0) return;
    const counts = [...this.refusedAudio].map(([kind, n]) => `${kind} ×${n}`).join(', ');
    this.options.logger?.warn(`pipecat websocket: refused audio frames: ${counts}`);
  }

  /** A refused mic frame: the client hears of each kind of problem once; every frame is counted. */
  private refuseAudio(kind: string, message: string): void {
    const seen = this.refusedAudio.get(kind) ?? 0;
    this.refusedAudio.set(kind, seen + 1);
    if (seen === 0) this.refuse(`${message} (${kind}); further frames like it are dropped and counted`);
  }

  private receive(data: RawData, isBinary: boolean): void {
    const bytes = toBytes(data);
    // What arrived is paid for; over budget, the next frames wait in the client's TCP buffers.
    const waitMs = Math.max(this.frameBudget.spend(1), this.byteBudget.spend(bytes.length));
    if (waitMs > 0) this.throttle(waitMs);
    if (!isBinary) {
      this.refuse('Text frames are not supported: send protobuf binary frames');
      return;
    }
    const decoded = decodeFrame(bytes, { maxBytes: this.maxFrameBytes });
    if (!decoded.ok) {
      this.refuse(decoded.error.message);
      return;
    }
    const frame = decoded.frame;
    switch (frame.type) {
      case 'message':
        this.messageHandler?.(frame.data);
        return;
      case 'audio': {
        const channels = frame.numChannels || 1;
        const rate = frame.sampleRate || 16000;
        if (frame.audio.length === 0) {
          this.refuseAudio('empty_audio', 'Empty audio frame');
          return;
        }
        if (frame.audio.length % (2 * channels) !== 0) {
          this.refuseAudio('odd_length_audio', 'Audio frame must hold whole PCM16 samples');
          return;
        }
        // A view when 2-byte aligned (the socket buffer is ours), a copy otherwise.
        let samples = bytesToInt16(frame.audio);
        if (channels > 1) samples = downmixToMono(samples, channels);
        this.audioHandler?.(samples, rate);
        return;
      }
      case 'text':
      case 'transcription':
        this.refuse(`"${frame.type}" frames are not accepted from the client`);
        return;
    }
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}
