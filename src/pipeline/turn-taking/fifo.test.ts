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

describe('Fifo bounds', () => {
  it('shift on an empty queue, new or drained, gives undefined and leaves the length at 0', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
    q.push(1);
    expect(q.shift()).toBe(1);
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
    q.push(2);
    q.push(3);
    expect(drain(q)).toEqual([2, 3]);
  });

  it('shift and clear release what they held: no slot past the length still holds an item', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) q.push(s); // storage of 8, full
    q.shift();
    expect(q.at(7)).toBeUndefined(); // the slot 'a' left
    q.push('i');
    q.clear();
    expect(Array.from({ length: 8 }, (_, i) => q.at(i))).toEqual(Array(8).fill(undefined));
  });

  it('grows past 8 and 16 items keeping the order, with the head moved', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    q.shift();
    q.shift();
    for (let i = 5; i < 20; i++) q.push(i);
    expect(q.length).toBe(18);
    expect([q.at(0), q.at(17)]).toEqual([2, 19]);
    expect(drain(q)).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
  });
});
