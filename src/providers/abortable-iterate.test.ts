import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AudioQueue } from '../pipeline/turn-taking/audio-queue.ts';
import { untilAborted } from './abortable-iterate.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('untilAborted', () => {
  it('a consumer that stops early (break) stops the source and removes its listener', async () => {
    const controller = new AbortController();
    let stopped = 0;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        stopped++;
      }
    }
    const seen: number[] = [];
    for await (const x of untilAborted(source(), controller.signal)) {
      seen.push(x);
      if (x === 2) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(stopped).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it("a source's error ends the iteration with that error; later calls are done", async () => {
    const controller = new AbortController();
    async function* source() {
      yield 1;
      throw new Error('stream broke');
    }
    const iterator = untilAborted(source(), controller.signal)[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    await expect(iterator.next()).rejects.toThrow('stream broke');
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted signal rejects the first call without opening the source', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let opened = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]() {
        opened = true;
        return { next: async () => ({ done: false, value: 1 }) };
      },
    };
    await expect(untilAborted(source, controller.signal)[Symbol.asyncIterator]().next()).rejects.toThrow(
      'gone',
    );
    expect(opened).toBe(false);
  });
});

/** The same source seen as any async iterable: `untilAborted` wraps it (not the queue's own iterator). */
const plain = (q: AudioQueue): AsyncIterable<Int16Array> => ({
  [Symbol.asyncIterator]: () => q[Symbol.asyncIterator](),
});

describe.each([
  ['an AudioQueue (its own abortable iterator)', (q: AudioQueue): AsyncIterable<Int16Array> => q],
  ['any async iterable (the wrapper)', plain],
])('untilAborted over %s', (_name, wrap) => {
  it('yields every item of the source in order, then removes its abort listener', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    const frames = Array.from({ length: 50 }, (_, i) => Int16Array.of(i));
    for (const f of frames) source.push(f);
    source.end();
    expect(await collect(untilAborted(wrap(source), controller.signal))).toEqual(frames);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('abandons a source that never yields again as soon as the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const source = new AudioQueue(); // never yields, never ends
    const iterator = untilAborted(wrap(source), controller.signal)[Symbol.asyncIterator]();
    const pending = iterator.next(); // waiting on the source
    controller.abort(new Error('hung up'));
    await expect(pending).rejects.toThrow('hung up');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an abort while the consumer handles an item ends the iteration before the next item', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    source.push(Int16Array.of(1));
    source.push(Int16Array.of(2));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const f of untilAborted(wrap(source), controller.signal)) {
          seen.push(f[0]!);
          controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1]);
  });

  it('an already aborted signal rejects the first call with its reason, no listener left', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const source = new AudioQueue();
    source.push(Int16Array.of(1));
    await expect(
      untilAborted(wrap(source), controller.signal)[Symbol.asyncIterator]().next(),
    ).rejects.toThrow('gone');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a consumer that stops early (break) ends the queue and removes the listener', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    source.push(Int16Array.of(1));
    source.push(Int16Array.of(2));
    for await (const f of untilAborted(wrap(source), controller.signal)) {
      expect(f[0]).toBe(1);
      break;
    }
    expect(source.isEnded).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    source.push(Int16Array.of(3));
    expect(await source[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('return() while a call waits on the source settles that call as done, and later calls too', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    const iterator = untilAborted(wrap(source), controller.signal)[Symbol.asyncIterator]();
    const outcomes: unknown[] = [];
    const record = (r: IteratorResult<Int16Array>) => outcomes.push(r.done ? 'done' : r.value[0]);
    iterator.next().then(record, (e: unknown) => outcomes.push(e)); // waiting on the source
    expect(await iterator.return!()).toEqual({ done: true, value: undefined });
    iterator.next().then(record, (e: unknown) => outcomes.push(e));
    source.push(Int16Array.of(1));
    await new Promise((resolve) => setImmediate(resolve)); // every promise that will settle has
    expect(outcomes).toEqual(['done', 'done']);
    expect(source.isEnded).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('calls made before the previous one settles get the items in order', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    const iterator = untilAborted(wrap(source), controller.signal)[Symbol.asyncIterator]();
    const calls = [iterator.next(), iterator.next(), iterator.next(), iterator.next()];
    source.push(Int16Array.of(1));
    source.push(Int16Array.of(2));
    source.push(Int16Array.of(3));
    source.end();
    const results = await Promise.all(calls);
    expect(results.map((r) => (r.done ? 'done' : r.value[0]))).toEqual([1, 2, 3, 'done']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
