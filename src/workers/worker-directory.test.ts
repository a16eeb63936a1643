import { describe, expect, it } from 'vitest';
import { ROUTE_TTL_MS, WorkerDirectory } from './worker-directory.ts';

describe('WorkerDirectory', () => {
  it('routes a token, peer, room and session to the worker that made it, until it expires', () => {
    let now = 1_000;
    const d = new WorkerDirectory(100, () => now);
    d.remember('token', 'tok', 1);
    d.remember('pc', 'pc-1', 0);
    d.remember('room', 'room-1', 1);
    d.session(0, 's-1', true);
    expect([d.lookup('token', 'tok'), d.lookup('pc', 'pc-1'), d.lookup('room', 'room-1')]).toEqual([1, 0, 1]);
    expect(d.lookup('session', 's-1')).toBe(0);
    expect(d.lookup('token', 'other')).toBeUndefined();
    expect(d.lookup('pc', 'tok')).toBeUndefined(); // kinds are apart
    now += ROUTE_TTL_MS.token + 1;
    expect(d.lookup('token', 'tok')).toBeUndefined();
    expect(d.lookup('pc', 'pc-1')).toBe(0);
  });

  it('is bounded: the oldest keys go first; empty and oversized keys are not kept', () => {
    const d = new WorkerDirectory(3);
    for (let i = 0; i < 10; i++) d.remember('token', `t${i}`, i);
    expect(['t6', 't7', 't8', 't9'].map((t) => d.lookup('token', t))).toEqual([undefined, 7, 8, 9]);
    d.remember('token', '', 1);
    d.remember('token', 'x'.repeat(513), 1);
    expect(d.lookup('token', '')).toBeUndefined();
    expect(d.lookup('token', 'x'.repeat(513))).toBeUndefined();
  });

  it('a worker gone: its tokens, peers and rooms route nowhere, its live sessions are listed, other workers keep theirs', () => {
    const d = new WorkerDirectory();
    d.remember('token', 'a', 1);
    d.remember('pc', 'p', 1);
    d.remember('room', 'r', 0);
    d.session(1, 's-1', true);
    d.session(1, 's-2', true);
    d.session(1, 's-2', false);
    d.session(0, 's-3', true);
    expect(d.workerGone(1)).toEqual(['s-1']);
    expect([d.lookup('token', 'a'), d.lookup('pc', 'p'), d.lookup('room', 'r')]).toEqual([
      undefined,
      undefined,
      0,
    ]);
    // Its sessions stay known: their transcripts are asked of its replacement.
    expect(d.lookup('session', 's-1')).toBe(1);
    expect(d.liveOf(1)).toEqual([]);
    expect(d.liveOf(0)).toEqual(['s-3']);
  });
});
