/**
 * Releasing synthesised chunks in text order. PCM mode: a chunk whose audio is complete is published
 * as `speech.chunk` (playout paces the frames separately), then `speech.complete` once the response
 * ended and every chunk is out. Encoded mode: the head response hands each ready chunk's bytes out
 * whole (a released chunk counts as heard), completes and finishes, then the next response may go.
 */
import type { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import type { OutputResponse } from './speech-response.ts';

/** What the releaser needs from its `SpeechOutput`. */
export interface ReleaseHost {
  bus: EventBus<EventMap>;
  sessionId: string;
  /** Encoded pass-through mode (an `EncodedTtsModel`). */
  encoded: boolean;
  format: string;
  outputSampleRate: number;
  /** Sample rate an encoded model declares, if any. */
  encodedSampleRate?: number;
  head(): OutputResponse | undefined;
  /** False while playout is paused. */
  running(): boolean;
  finish(r: OutputResponse): void;
}

export class ChunkReleaser {
  private releasing = false;

  constructor(private readonly h: ReleaseHost) {}

  /** Publishes `speech.chunk` for chunks complete in text order, then `speech.complete`. */
  release(r: OutputResponse): void {
    if (this.h.encoded) {
      this.releaseEncoded();
      return;
    }
    while (r.releaseIndex < r.chunks.length) {
      const c = r.chunks[r.releaseIndex]!;
      if (c.state === 'done') {
        // Ready-made audio (a realtime model's) is published piece by piece by its producer.
        if (!c.external && this.h.bus.hasSubscribers('speech.chunk')) {
          const all = new Int16Array(c.samples);
          let offset = 0;
          for (const p of c.pieces) {
            all.set(p, offset);
            offset += p.length;
          }
          this.h.bus.publish('speech.chunk', {
            sessionId: this.h.sessionId,
            turnId: r.turnId,
            chunkId: c.id,
            text: c.text,
            audio: new Uint8Array(all.buffer, 0, all.byteLength),
            format: this.h.format,
            sampleRate: this.h.outputSampleRate,
          });
        }
      } else if (c.state !== 'failed') {
        break;
      }
      r.releaseIndex++;
    }
    if (
      r.state === 'ended' &&
      r.releaseIndex === r.chunks.length &&
      r.startPublished &&
      !r.completePublished
    ) {
      r.completePublished = true;
      this.h.bus.publish('speech.complete', {
        sessionId: this.h.sessionId,
        turnId: r.turnId,
        streaming: true,
      });
    }
  }

  /**
   * Encoded mode: the head response releases its ready chunks in order (responses reach the client
   * one after another); a released chunk counts as heard. Once the last one is out the response
   * publishes `speech.complete` and finishes, and the next response may release. Held while paused.
   */
  releaseEncoded(): void {
    if (this.releasing) return;
    this.releasing = true;
    try {
      for (;;) {
        const r = this.h.head();
        if (r === undefined || !this.h.running()) return;
        while (r.releaseIndex < r.chunks.length) {
          const c = r.chunks[r.releaseIndex]!;
          if (c.state === 'done') {
            const audio = c.encoded ?? new Uint8Array(0);
            c.encoded = undefined;
            c.played = c.samples;
            if (!r.speaking) {
              r.speaking = true;
              this.h.bus.publish('bot.speaking.start', { sessionId: this.h.sessionId, turnId: r.turnId });
            }
            this.h.bus.publish('speech.chunk', {
              sessionId: this.h.sessionId,
              turnId: r.turnId,
              chunkId: c.id,
              text: c.text,
              audio,
              format: this.h.format,
              ...(this.h.encodedSampleRate !== undefined ? { sampleRate: this.h.encodedSampleRate } : {}),
            });
            this.h.bus.publish('bot.tts.text', {
              sessionId: this.h.sessionId,
              turnId: r.turnId,
              chunkId: c.id,
              text: c.text,
            });
          } else if (c.state !== 'failed') {
            break;
          }
          r.releaseIndex++;
          if (this.h.head() !== r || !this.h.running()) break; // a listener cut or paused it
        }
        if (this.h.head() !== r) continue;
        if (r.state !== 'ended' || r.releaseIndex < r.chunks.length) return;
        if (r.startPublished && !r.completePublished) {
          r.completePublished = true;
          this.h.bus.publish('speech.complete', {
            sessionId: this.h.sessionId,
            turnId: r.turnId,
            streaming: true,
          });
        }
        if (this.h.head() === r) this.h.finish(r);
      }
    } finally {
      this.releasing = false;
    }
  }
}
