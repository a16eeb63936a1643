/**
 * Reliable packets carry the client's sequence numbers: the decoder reports the last one (what a
 * resuming client is told, so it sends again what came after), drops the ones it already has, and
 * starts over when the client rejoins from scratch.
 */
import * as proto from '@livekit/protocol';
import { describe, expect, it } from 'vitest';
import { IncomingDataDecoder } from './incoming-data.ts';

const packet = (sequence: number, text: string, topic = 'app') =>
  new proto.DataPacket({
    kind: proto.DataPacket_Kind.RELIABLE,
    sequence,
    value: {
      case: 'user',
      value: new proto.UserPacket({ payload: new TextEncoder().encode(text), topic }),
    },
  }).toBinary();

const texts = (decoder: IncomingDataDecoder, packets: Uint8Array[]) =>
  packets.map((p) => {
    const out = decoder.push(p);
    return out?.type === 'data' ? new TextDecoder().decode(out.payload) : out;
  });

describe('IncomingDataDecoder: reliable sequence numbers', () => {
  it('reports the last reliable packet and drops a packet sent again (a resume replay)', () => {
    const decoder = new IncomingDataDecoder(proto);
    expect(decoder.lastReliableSequence).toBe(0);
    expect(texts(decoder, [packet(1, 'a'), packet(2, 'b')])).toEqual(['a', 'b']);
    expect(decoder.lastReliableSequence).toBe(2);
    // The client resends everything after what it was told, and sometimes more: duplicates go.
    expect(texts(decoder, [packet(2, 'b'), packet(3, 'c')])).toEqual([undefined, 'c']);
    expect(decoder.lastReliableSequence).toBe(3);
    expect(decoder.dropped.malformed).toBe(0);
  });

  it('packets without a sequence (older clients, lossy) are all taken', () => {
    const decoder = new IncomingDataDecoder(proto);
    expect(texts(decoder, [packet(0, 'x'), packet(0, 'x')])).toEqual(['x', 'x']);
    expect(decoder.lastReliableSequence).toBe(0);
  });

  it('a full rejoin starts the numbering over and forgets half-received text streams', () => {
    const decoder = new IncomingDataDecoder(proto);
    expect(texts(decoder, [packet(1, 'a'), packet(2, 'b')])).toEqual(['a', 'b']);
    const header = new proto.DataPacket({
      sequence: 3,
      value: {
        case: 'streamHeader',
        value: new proto.DataStream_Header({
          streamId: 's1',
          topic: 'lk.chat',
          contentHeader: { case: 'textHeader', value: new proto.DataStream_TextHeader({}) },
        }),
      },
    }).toBinary();
    expect(decoder.push(header)).toBeUndefined();
    decoder.restart();
    expect(decoder.lastReliableSequence).toBe(0);
    expect(texts(decoder, [packet(1, 'again')])).toEqual(['again']);
    const trailer = new proto.DataPacket({
      sequence: 2,
      value: { case: 'streamTrailer', value: new proto.DataStream_Trailer({ streamId: 's1' }) },
    }).toBinary();
    expect(decoder.push(trailer)).toBeUndefined(); // the stream opened before the rejoin is gone
  });
});
