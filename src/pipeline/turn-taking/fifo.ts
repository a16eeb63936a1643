/**
 * A first-in first-out queue on a circular array that only grows: pushing and shifting allocate
 * nothing once it has held its largest length (an `Array` used with `push`/`shift` reallocates its
 * storage every few operations). For per-frame queues.
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  /** Removes and returns the oldest item (undefined when empty). */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  /** The item `i` places from the oldest (0 = oldest); `i` must be below `length`. */
  at(i: number): T {
    return this.items[(this.head + i) % this.items.length] as T;
  }

  /** Replaces the item `i` places from the oldest; `i` must be below `length`. */
  set(i: number, item: T): void {
    this.items[(this.head + i) % this.items.length] = item;
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.set(i, undefined as T);
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Array<T | undefined>(Math.max(8, this.items.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.items = next;
    this.head = 0;
  }
}
