/**
 * The signalling socket of a LiveKit room (`/rtc/v1`), as the room sees it: decoded requests in,
 * responses out. It holds the client to its signalling budget (over it, a message is dropped before
 * it is decoded and the socket is read slower for a moment), decodes what is admitted (protobuf, or
 * JSON bounded before protobuf walks it), closes the room after too many undecodable messages, and
 * cuts a client that stopped reading instead of queueing for it without end. A rejoin or resume
 * attaches a new socket; the replaced one is closed and whatever it still delivers is ignored.
 */
import type { SignalRequest, SignalResponse } from '@livekit/protocol';
import type WebSocket from 'ws';
import type { ColloquyErrorCode } from '../../errors.ts';
import { parseJsonOrThrow } from '../../json-limits.ts';
import type { Logger } from '../../logger.ts';
import type { LiveKitProtocol } from './protocol.ts';
import { SignalBudget, type SignalBudgetLimits } from './signal-budget.ts';

/** Requests a LiveKit server handles that this single-peer, audio-only room has no use for. */
const NOT_SERVED: ReadonlySet<string> = new Set<NonNullable<SignalRequest['message']['case']>>([
  'answer',
  'subscription',
  'trackSetting',
  'updateLayers',
  'subscriptionPermission',
  'syncState',
  'simulate',
  'updateMetadata',
  'updateAudioTrack',
  'updateVideoTrack',
  'publishDataTrackRequest',
  'unpublishDataTrackRequest',
  'updateDataSubscription',
  'storeDataBlobRequest',
  'getDataBlobRequest',
]);

export interface SignalChannelOptions {
  proto: LiveKitProtocol;
  logger: Logger;
  roomName: string;
  budget: SignalBudgetLimits;
  /** Bytes queued on the socket beyond which it is cut. */
  maxBufferBytes: number;
  /** Undecodable messages on one socket before `onTooManyBad`. */
  maxBadMessages: number;
  /** A decoded request the room serves (those in `NOT_SERVED` are logged and dropped here). */
  onRequest(request: SignalRequest): void;
  /** The attached socket closed (not one already replaced). */
  onClosed(): void;
  onTooManyBad(): void;
  /** Reported once per room: the first message over the budget. */
  onRefused(code: ColloquyErrorCode, message: string): void;
  /** Reported once per room: the first socket cut for not reading. */
  onBacklog(code: ColloquyErrorCode, message: string): void;
}

export class SignalChannel {
  private ws: WebSocket | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private badMessages = 0;
  private readonly budget: SignalBudget;
  /** Sockets cut because the client stopped reading them. */
  backlogs = 0;

  constructor(private readonly options: SignalChannelOptions) {
    this.budget = new SignalBudget(options.budget);
  }

  /** Messages dropped over the budget. */
  get dropped(): number {
    return this.budget.dropped;
  }

  /** The socket the room now talks through; the previous one is closed. */
  attach(ws: WebSocket): void {
    const old = this.ws;
    this.ws = ws;
    this.badMessages = 0;
    if (old && old !== ws) old.close(1000);
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      const bytes = data as Buffer;
      if (!this.budget.admit(bytes.length)) {
        this.overBudget(ws);
        return;
      }
      this.decode(bytes, isBinary);
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.options.onClosed();
    });
    ws.on('error', (err) => this.options.logger.debug(`livekit ${this.options.roomName}: socket error`, err));
  }

  send(message: SignalResponse): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    // A client that stopped reading: cut its socket rather than queue without end. The room is
    // suspended as for any dropped socket; the client may resume within the window.
    if (ws.bufferedAmount > this.options.maxBufferBytes) {
      this.backlogs++;
      const text = `The client did not read its signalling socket (over ${this.options.maxBufferBytes} bytes queued): socket closed`;
      this.options.logger.warn(`livekit ${this.options.roomName}: ${text}`);
      if (this.backlogs === 1) this.options.onBacklog('livekit_signal_backlog', text);
      ws.terminate();
      return;
    }
    ws.send(message.toBinary());
  }

  /** Closes the socket (after whatever was sent last) and stops the read-pause timer. */
  detach(): void {
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
  }

  private decode(data: Buffer, isBinary: boolean): void {
    const { proto, logger, roomName } = this.options;
    let request: SignalRequest;
    try {
      request = isBinary
        ? proto.SignalRequest.fromBinary(data)
        : proto.SignalRequest.fromJson(
            parseJsonOrThrow(data.toString('utf8'), { maxDepth: 16, maxBytes: 1024 * 1024 }) as never,
          );
    } catch {
      this.badMessages++;
      logger.warn(`livekit ${roomName}: undecodable signal message (${data.length} bytes)`);
      if (this.badMessages > this.options.maxBadMessages) this.options.onTooManyBad();
      return;
    }
    const kind = request.message.case;
    if (kind !== undefined && NOT_SERVED.has(kind)) {
      logger.debug(`livekit ${roomName}: "${kind}" not served, ignored`);
      return;
    }
    this.options.onRequest(request);
  }

  /** Over the budget: the message is dropped; the socket is read slower for a moment. */
  private overBudget(ws: WebSocket): void {
    if (this.budget.dropped === 1) {
      const { messagesPerSecond, bytesPerSecond } = this.budget.limits;
      this.options.onRefused(
        'livekit_signal_rate',
        `Too many signal messages: dropped beyond ${messagesPerSecond} messages and ${Math.round(bytesPerSecond / 1024)} KiB per second`,
      );
    }
    if (this.readTimer || ws.readyState !== ws.OPEN) return;
    ws.pause();
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      if (ws.readyState === ws.OPEN) ws.resume();
    }, this.budget.pauseMs);
    this.readTimer.unref?.();
  }
}
