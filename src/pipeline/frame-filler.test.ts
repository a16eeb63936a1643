import { describe, expect, it } from 'vitest';
import { FrameFiller } from './frame-filler.ts';
import { type ChunkState, newChunk, newResponse, type OutputResponse } from './speech-response.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';

function response(state: OutputResponse['state'] = 'open'): OutputResponse {
  const r = newResponse('t1', 16000, new SpeechSegmenter(), () => {});
  r.state = state;
  return r;
}

/** Adds a chunk whose audio so far is `pieces` (each piece given as its sample values). */
function chunk(r: OutputResponse, state: ChunkState, ...pieces: number[][]) {
  const c = newChunk(r.chunks.length, `chunk ${r.chunks.length}`, r);
  c.state = state;
  for (const p of pieces) {
    c.pieces.push(Int16Array.from(p));
    c.samples += p.length;
  }
  r.chunks.push(c);
  return c;
}

describe('FrameFiller', () => {
  it('fills frames across pieces and chunks in order, and ends with the response', () => {
    const r = response('ended');
    const a = chunk(r, 'done', [1, 2, 3], [4, 5]);
    const b = chunk(r, 'done', [6, 7, 8]);
    const f = new FrameFiller(4);
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([1, 2, 3, 4]);
    expect(f.starting).toEqual([a]);
    f.reset();
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([5, 6, 7, 8]);
    expect(f.starting).toEqual([b]);
    expect([a.played, b.played]).toEqual([5, 3]);
    f.reset();
    expect(f.fill(r)).toBe('end');
  });

  it('skips failed and cancelled chunks', () => {
    const r = response('ended');
    chunk(r, 'failed', [9, 9]);
    chunk(r, 'cancelled', [9, 9]);
    chunk(r, 'done', [1, 2]);
    const f = new FrameFiller(2);
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([1, 2]);
  });

  it('holds a frame started inside a chunk whose audio is still streaming', () => {
    const r = response();
    const c = chunk(r, 'synthesizing', [1, 2]);
    const f = new FrameFiller(4);
    expect(f.fill(r)).toBe('wait');
    expect(f.filled).toBe(2);
    c.pieces.push(Int16Array.of(3, 4, 5));
    c.samples += 3;
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([1, 2, 3, 4]);
    expect(c.readOffset).toBe(2);
  });

  it('pads a frame ending one chunk with silence when the next chunk has no audio yet', () => {
    const r = response();
    chunk(r, 'done', [1, 2, 3]);
    chunk(r, 'synthesizing');
    const f = new FrameFiller(5);
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([1, 2, 3, 0, 0]);
  });

  it('pads a partial frame while the text goes on, waits on an empty one', () => {
    const r = response();
    const f = new FrameFiller(4);
    expect(f.fill(r)).toBe('wait');
    chunk(r, 'done', [1]);
    expect(f.fill(r)).toBe('frame');
    expect([...f.frame]).toEqual([1, 0, 0, 0]);
  });

  it('a frame from an earlier, longer response is overwritten, not mixed in', () => {
    const first = response('ended');
    chunk(first, 'done', [5, 5, 5, 5]);
    const f = new FrameFiller(4);
    f.fill(first);
    f.reset();
    const next = response();
    chunk(next, 'done', [1, 2]);
    expect(f.fill(next)).toBe('frame');
    expect([...f.frame]).toEqual([1, 2, 0, 0]);
  });

  it('allocates its frame once', () => {
    const f = new FrameFiller(3);
    expect(f.frame).toBe(f.frame);
    expect(f.frame).toHaveLength(3);
  });
});
