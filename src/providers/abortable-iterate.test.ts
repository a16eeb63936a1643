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
  it('yields every item of the source in order, then removes its abort listener', async () => {
    const controller = new AbortController();
    const source = new AudioQueue();
    const frames = Array.from({ length: 50 }, (_, i) => Int16Array.of(i));
    for (const f of frames) source.push(f);
    source.end();
    expect(await collect(untilAborted(source, controller.signal))).toEqual(frames);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('abandons a source that never yields again as soon as the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const source = new AudioQueue(); // never yields, never ends
    const iterator = untilAborted(source, controller.signal)[Symbol.asyncIterator]();
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
        for await (const f of untilAborted(source, controller.signal)) {
          seen.push(f[0]!);
          controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1]);
  });
});
