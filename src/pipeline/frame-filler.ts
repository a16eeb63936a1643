/**
 * Assembles fixed-size output frames from a response's chunk audio, strictly in chunk order.
 * The frame buffer is allocated once and reused for every frame (the per-frame path allocates
 * nothing). A frame is held while the chunk it started in still streams; a frame that would span
 * a chunk boundary whose next audio has not arrived is padded with silence instead.
 */
import type { Chunk, OutputResponse } from './speech-response.ts';

/** frame: a full frame is ready; wait: not enough audio yet; end: the response has no more audio. */
export type FillResult = 'frame' | 'wait' | 'end';

export class FrameFiller {
  /** Allocated at the first frame: a session that never speaks holds none. */
  private buffer: Int16Array | undefined;
  /** Samples of `frame` filled so far. */
  filled = 0;
  /** Chunks whose first samples are in the current frame (for `bot.tts.text`). */
  readonly starting: Chunk[] = [];

  constructor(private readonly frameSamples: number) {}

  /** The frame being filled (reused for every frame). */
  get frame(): Int16Array {
    if (this.buffer === undefined) this.buffer = new Int16Array(this.frameSamples);
    return this.buffer;
  }

  /** Copies the next samples of `r` into the frame. */
  fill(r: OutputResponse): FillResult {
    const frame = this.frame;
    const size = frame.length;
    while (this.filled < size) {
      const c = r.chunks[r.playIndex];
      if (c === undefined) {
        if (r.state === 'ended') return 'end';
        return this.filled > 0 ? this.pad() : 'wait'; // waiting for more text
      }
      if (c.state === 'failed' || c.state === 'cancelled') {
        r.playIndex++;
        continue;
      }
      if (c.readPiece < c.pieces.length) {
        const piece = c.pieces[c.readPiece]!;
        if (c.played === 0) this.starting.push(c);
        let at = this.filled;
        let offset = c.readOffset;
        const n = Math.min(size - at, piece.length - offset);
        const stop = offset + n;
        while (offset < stop) frame[at++] = piece[offset++]!;
        this.filled = at;
        c.played += n;
        if (offset === piece.length) {
          c.readPiece++;
          c.readOffset = 0;
        } else {
          c.readOffset = offset;
        }
        continue;
      }
      if (c.state === 'done') {
        r.playIndex++;
        continue;
      }
      // The chunk's audio has not arrived yet: hold a frame started in this chunk, pad one that
      // ends the previous chunk (a short gap at a chunk boundary beats a stuck frame).
      return this.filled > 0 && c.played === 0 ? this.pad() : 'wait';
    }
    return 'frame';
  }

  /** Fills the rest of the frame with silence. */
  pad(): FillResult {
    this.frame.fill(0, this.filled);
    this.filled = this.frame.length;
    return 'frame';
  }

  reset(): void {
    this.filled = 0;
    this.starting.length = 0;
  }
}
