import { describe, expect, it } from 'vitest';
import { InputQueueFullError } from './errors.ts';
import { InputQueue } from './input-queue.ts';

/** A queue whose session stays busy until `idle()` is called. */
function queue(limit: number) {
  let release!: () => void;
  let idle = new Promise<void>((r) => {
    release = r;
  });
  const q = new InputQueue(limit, () => idle);
  return {
    q,
    idle: () => release(),
    busyAgain: () => {
      idle = new Promise<void>((r) => {
        release = r;
      });
    },
  };
}

describe('VoiceAgent input queue', () => {
  it('keeps exactly `limit` waiting inputs and refuses the next with InputQueueFullError', () => {
    const { q } = queue(2);
    void q.push(async () => 'a');
    void q.push(async () => 'b');
    expect(q.size).toBe(2);
    expect(() => q.push(async () => 'c')).toThrow(InputQueueFullError);
    expect(q.size).toBe(2);
  });

  it('runs inputs one at a time in arrival order once the session is idle', async () => {
    const { q, idle } = queue(3);
    const order: string[] = [];
    let running = 0;
    const job = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      order.push(name);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return name.toUpperCase();
    };
    const results = [q.push(job('a')), q.push(job('b')), q.push(job('c'))];
    expect(order).toEqual([]);
    idle();
    expect(await Promise.all(results)).toEqual(['A', 'B', 'C']);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(q.busy).toBe(false);
  });

  it('a running input no longer counts against the limit', async () => {
    const { q, idle } = queue(1);
    let finish!: () => void;
    const first = q.push(
      () =>
        new Promise<string>((r) => {
          finish = () => r('first');
        }),
    );
    idle();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.size).toBe(0); // running, not waiting
    const second = q.push(async () => 'second');
    expect(() => q.push(async () => 'third')).toThrow(InputQueueFullError);
    finish();
    expect(await first).toBe('first');
    expect(await second).toBe('second');
  });

  it('a failing input rejects with its error, and the next input still runs', async () => {
    const { q, idle } = queue(2);
    const boom = new Error('transcription failed');
    const failing = q.push(async () => {
      throw boom;
    });
    const next = q.push(async () => 'next');
    idle();
    await expect(failing).rejects.toBe(boom);
    expect(await next).toBe('next');
    expect(q.busy).toBe(false);
  });

  it('rejectAll rejects every waiting input with the given error', async () => {
    const { q } = queue(2);
    const a = q.push(async () => 'a');
    const b = q.push(async () => 'b');
    const err = new Error('agent destroyed');
    q.rejectAll(err);
    await expect(a).rejects.toBe(err);
    await expect(b).rejects.toBe(err);
    expect(q.size).toBe(0);
  });
});
