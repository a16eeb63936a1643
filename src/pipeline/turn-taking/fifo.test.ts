import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.ts';

const drain = <T>(q: Fifo<T>): T[] => {
  const out: T[] = [];
  while (q.length > 0) out.push(q.shift() as T);
  return out;
};

describe('Fifo', () => {
  it('gives items back in the order they were pushed, across growth and wrap-around', () => {
    const q = new Fifo<number>();
    const expected: number[] = [];
    let next = 0;
    // interleave pushes and shifts so the head wraps around the storage several times
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) {
        q.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < round % 5; i++) expect(q.shift()).toBe(expected.shift());
      expect(q.length).toBe(expected.length);
    }
    expect(drain(q)).toEqual(expected);
    expect(q.shift()).toBeUndefined();
  });

  it('at and set address items from the oldest; clear empties it', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) q.push(s);
    q.shift();
    q.shift();
    q.push('i');
    expect([q.at(0), q.at(6)]).toEqual(['c', 'i']);
    q.set(1, 'D');
    expect(drain(q)).toEqual(['c', 'D', 'e', 'f', 'g', 'h', 'i']);
    q.push('x');
    q.clear();
    expect(q.length).toBe(0);
    q.push('y');
    expect(drain(q)).toEqual(['y']);
  });
});
