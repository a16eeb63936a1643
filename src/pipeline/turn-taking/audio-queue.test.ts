import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ABORTABLE_ITERATOR } from '../../providers/abortable-iterate.ts';
import { AudioQueue } from './audio-queue.ts';

const frame = (v: number) => Int16Array.of(v, v);

async function readAll(q: AudioQueue): Promise<number[]> {
  const out: number[] = [];
  for await (const f of q) out.push(f[0]!);
  return out;
}

describe('AudioQueue', () => {
  it('yields frames pushed before and while it is read, in order, until end', async () => {
    const q = new AudioQueue();
    q.push(frame(1));
    q.push(frame(2));
    const reading = readAll(q);
    await Promise.resolve();
    q.push(frame(3));
    q.push(frame(4));
    q.end();
    expect(await reading).toEqual([1, 2, 3, 4]);
  });

  it('a reader waiting on an empty queue gets the next frame, and end finishes it', async () => {
    const q = new AudioQueue();
    const it = q[Symbol.asyncIterator]();
    const first = it.next();
    q.push(frame(7));
    expect(await first).toEqual({ done: false, value: frame(7) });
    const second = it.next();
    expect(q.isEnded).toBe(false);
    q.end();
    expect(q.isEnded).toBe(true);
    expect(await second).toEqual({ done: true, value: undefined });
  });

  it('end keeps the buffered frames readable; frames after end and empty frames are dropped', async () => {
    const q = new AudioQueue();
    q.push(frame(1));
    q.push(new Int16Array(0));
    q.end();
    q.push(frame(2));
    q.end();
    expect(await readAll(q)).toEqual([1]);
  });

  it('a reader that stops early ends the queue and drops what was buffered', async () => {
    const q = new AudioQueue();
    q.push(frame(1));
    q.push(frame(2));
    for await (const f of q) {
      expect(f[0]).toBe(1);
      break;
    }
    expect(q.isEnded).toBe(true);
    q.push(frame(3));
    expect(await q[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('read until a signal aborts: one abort listener for the iteration, removed when it ends or is aborted', async () => {
    const q = new AudioQueue();
    const c = new AbortController();
    const reader = q[ABORTABLE_ITERATOR](c.signal);
    q.push(Int16Array.of(1));
    expect((await reader.next()).value).toEqual(Int16Array.of(1));
    q.push(Int16Array.of(2));
    await reader.next();
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    q.end();
    expect(await reader.next()).toEqual({ done: true, value: undefined });
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);

    const waited = new AudioQueue();
    const stop = new AbortController();
    const waiting = waited[ABORTABLE_ITERATOR](stop.signal).next();
    stop.abort(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    waited.push(Int16Array.of(3)); // the queue ended with the abort: nothing is kept
    expect(waited.isEnded).toBe(true);
  });

  it('return() while a read waits settles that read as done, and later reads too', async () => {
    const q = new AudioQueue();
    const it = q[Symbol.asyncIterator]();
    const outcomes: unknown[] = [];
    const record = (r: IteratorResult<Int16Array>) => outcomes.push(r.done ? 'done' : r.value[0]);
    it.next().then(record); // waiting for a frame
    expect(await it.return!()).toEqual({ done: true, value: undefined });
    it.next().then(record);
    q.push(frame(1));
    await new Promise((resolve) => setImmediate(resolve)); // every promise that will settle has
    expect(outcomes).toEqual(['done', 'done']);
    expect(q.isEnded).toBe(true);
  });
});

describe('AudioQueue aborts and call order', () => {
  it('a signal already aborted before the first read: the read rejects with its reason, the queue is left as it is', async () => {
    const q = new AudioQueue();
    q.push(frame(1));
    const c = new AbortController();
    const reason = new Error('gone');
    c.abort(reason);
    const reader = q[ABORTABLE_ITERATOR](c.signal);
    await expect(reader.next()).rejects.toBe(reason);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    expect(await reader.next()).toEqual({ done: true, value: undefined });
    expect(q.isEnded).toBe(false);
    q.push(frame(2));
    q.end();
    expect(await readAll(q)).toEqual([1, 2]);
  });

  it('aborted while the consumer holds a frame: its next call rejects, the queue ends and drops its frames, later calls are done', async () => {
    const q = new AudioQueue();
    q.push(frame(1));
    q.push(frame(2));
    const c = new AbortController();
    const reader = q[ABORTABLE_ITERATOR](c.signal);
    expect(await reader.next()).toEqual({ done: false, value: frame(1) });
    const reason = new Error('stop');
    c.abort(reason);
    expect(q.isEnded).toBe(false); // nothing waited: the abort is seen by the next call
    await expect(reader.next()).rejects.toBe(reason);
    expect(q.isEnded).toBe(true);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    expect(await reader.next()).toEqual({ done: true, value: undefined });
    expect(await q[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('a waiting read aborted rejects once; later calls are done and frames pushed later are dropped', async () => {
    const q = new AudioQueue();
    const c = new AbortController();
    const reader = q[ABORTABLE_ITERATOR](c.signal);
    const waiting = reader.next();
    const reason = new Error('closed');
    c.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    q.push(frame(5));
    expect(await reader.next()).toEqual({ done: true, value: undefined });
    expect(await q[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('reads called before any frame arrives get the frames in call order, then the end', async () => {
    const q = new AudioQueue();
    const it = q[Symbol.asyncIterator]();
    const reads = [it.next(), it.next(), it.next()];
    q.push(frame(1));
    q.push(frame(2));
    q.end();
    expect(await Promise.all(reads)).toEqual([
      { done: false, value: frame(1) },
      { done: false, value: frame(2) },
      { done: true, value: undefined },
    ]);
  });

  it('reads called before any frame arrives on an abortable reader: in call order, and one listener', async () => {
    const q = new AudioQueue();
    const c = new AbortController();
    const it = q[ABORTABLE_ITERATOR](c.signal);
    const reads = [it.next(), it.next()];
    q.push(frame(1));
    await reads[0];
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    q.push(frame(2));
    expect(await Promise.all(reads)).toEqual([
      { done: false, value: frame(1) },
      { done: false, value: frame(2) },
    ]);
    q.end();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  });

  it('an empty queue ended before it is read is done at once', async () => {
    const q = new AudioQueue();
    q.end();
    expect(q.isEnded).toBe(true);
    expect(await readAll(q)).toEqual([]);
  });

  it('a frame pushed to a waiting reader is handed over, not buffered: a second reader after end sees nothing', async () => {
    const q = new AudioQueue();
    const it = q[Symbol.asyncIterator]();
    const first = it.next();
    q.push(frame(3));
    q.end();
    expect(await first).toEqual({ done: false, value: frame(3) });
    expect(await q[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });
});

describe('AudioQueue: abort after a handed-over frame', () => {
  it('a frame handed to a waiting read, then an abort: the queue ends only when the consumer calls next', async () => {
    const q = new AudioQueue();
    const c = new AbortController();
    const reader = q[ABORTABLE_ITERATOR](c.signal);
    const waiting = reader.next();
    q.push(frame(1)); // handed over to the waiting read
    expect(await waiting).toEqual({ done: false, value: frame(1) });
    const reason = new Error('stop');
    c.abort(reason);
    expect(q.isEnded).toBe(false);
    await expect(reader.next()).rejects.toBe(reason);
    expect(q.isEnded).toBe(true);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  });
});
