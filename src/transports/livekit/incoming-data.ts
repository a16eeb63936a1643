/**
 * What a LiveKit page sends on its data channels, decoded and bounded: user packets
 * (`publishData`) and text streams (`sendText`: header, chunks, trailer) reassembled into one text.
 * Packets past the rate budget, oversized packets and oversized or excess open streams are
 * dropped (and counted), never queued.
 */
import type { LiveKitProtocol } from './protocol.ts';
import type { IncomingData, IncomingDataLimits } from './room-options.ts';

export type { IncomingData, IncomingDataLimits } from './room-options.ts';

export type IncomingDrop = 'malformed' | 'rate' | 'too_large' | 'too_many_streams';

interface OpenStream {
  topic: string;
  attributes: Record<string, string>;
  parts: string[];
  chars: number;
}

export class IncomingDataDecoder {
  private readonly maxPacketBytes: number;
  private readonly rate: number;
  private readonly maxOpenStreams: number;
  private readonly maxStreamChars: number;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly streams = new Map<string, OpenStream>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Highest reliable packet sequence received from the client (0: none since it joined). */
  private lastSequence = 0;
  readonly dropped: Record<IncomingDrop, number> = {
    malformed: 0,
    rate: 0,
    too_large: 0,
    too_many_streams: 0,
  };

  constructor(
    private readonly proto: LiveKitProtocol,
    limits: IncomingDataLimits = {},
  ) {
    this.maxPacketBytes = limits.maxPacketBytes ?? 64 * 1024;
    this.rate = limits.packetsPerSecond ?? 100;
    this.maxOpenStreams = limits.maxOpenStreams ?? 8;
    this.maxStreamChars = limits.maxStreamChars ?? 64 * 1024;
    this.tokens = this.rate;
  }

  /** Decodes one data-channel message; returns what it completes, or why it was dropped. */
  push(bytes: Uint8Array): IncomingData | { type: 'dropped'; reason: IncomingDrop } | undefined {
    if (bytes.length > this.maxPacketBytes) return this.drop('too_large');
    if (!this.take()) return this.drop('rate');
    let packet: ReturnType<LiveKitProtocol['DataPacket']['fromBinary']>;
    try {
      packet = this.proto.DataPacket.fromBinary(bytes);
    } catch {
      return this.drop('malformed');
    }
    // Reliable packets are numbered by the client; one it sends again after a resume is dropped.
    if (packet.sequence > 0 && packet.kind === this.proto.DataPacket_Kind.RELIABLE) {
      if (packet.sequence <= this.lastSequence) return undefined;
      this.lastSequence = packet.sequence;
    }
    const value = packet.value;
    switch (value.case) {
      case 'user':
        return {
          type: 'data',
          topic: value.value.topic,
          payload: value.value.payload,
          reliable: packet.kind === this.proto.DataPacket_Kind.RELIABLE,
        };
      case 'streamHeader': {
        const header = value.value;
        if (header.contentHeader.case !== 'textHeader') return undefined; // byte streams: not read
        if (this.streams.size >= this.maxOpenStreams) return this.drop('too_many_streams');
        this.streams.set(header.streamId, {
          topic: header.topic,
          attributes: { ...header.attributes },
          parts: [],
          chars: 0,
        });
        return undefined;
      }
      case 'streamChunk': {
        const stream = this.streams.get(value.value.streamId);
        if (!stream) return undefined;
        const text = this.decoder.decode(value.value.content);
        stream.chars += text.length;
        if (stream.chars > this.maxStreamChars) {
          this.streams.delete(value.value.streamId);
          return this.drop('too_large');
        }
        stream.parts.push(text);
        return undefined;
      }
      case 'streamTrailer': {
        const stream = this.streams.get(value.value.streamId);
        if (!stream) return undefined;
        this.streams.delete(value.value.streamId);
        return {
          type: 'text',
          topic: stream.topic,
          text: stream.parts.join(''),
          attributes: stream.attributes,
        };
      }
      default:
        return undefined; // rpc, chat, metrics, encrypted…: not served
    }
  }

  /** The last reliable packet received: what a resuming client is told, so it sends the rest again. */
  get lastReliableSequence(): number {
    return this.lastSequence;
  }

  /** A full rejoin: the client numbers its reliable packets from 1 again; half-sent streams are gone. */
  restart(): void {
    this.lastSequence = 0;
    this.streams.clear();
  }

  private drop(reason: IncomingDrop): { type: 'dropped'; reason: IncomingDrop } {
    this.dropped[reason]++;
    return { type: 'dropped', reason };
  }

  private take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
