/**
 * Iterates `source` until `signal` aborts: a pending `next()` is abandoned at once (a source that
 * never yields again, like a hung microphone stream, cannot hold the consumer), and the abort
 * reason is thrown.
 *
 * One abort listener for the whole iteration, and nothing kept per item: a `Promise.race` against
 * one never-settling abort promise would leave a reaction on it for every item, held until the
 * stream ends (an utterance's audio is thousands of frames).
 *
 * An iterator object rather than an async generator: per item it hands on the source's own
 * result through one promise, with handlers made once per iteration (an async generator added a
 * request, a result object and two awaits per item, about 300 bytes per audio frame sent to STT).
 */
export function untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncIterable<T> {
  if (!signal) return passThrough(source);
  if (isAbortableIterable(source))
    return { [Symbol.asyncIterator]: () => source[ABORTABLE_ITERATOR](signal) };
  return { [Symbol.asyncIterator]: () => new AbortableIterator(source, signal) };
}

/**
 * A source that ends its own iteration when a signal aborts, with the same behaviour as
 * `untilAborted` gives any source (a waiting `next()` rejects at once with the reason, later calls
 * are done; the listener goes when the iteration ends), without a wrapper's promise per item. The
 * session's audio for STT (`AudioQueue`) is one: a frame then costs its own promise only.
 */
export const ABORTABLE_ITERATOR: unique symbol = Symbol('colloquy.abortableIterator');

export interface AbortableIterable<T> {
  [ABORTABLE_ITERATOR](signal: AbortSignal): AsyncIterator<T>;
}

function isAbortableIterable<T>(source: AsyncIterable<T>): source is AsyncIterable<T> & AbortableIterable<T> {
  return typeof (source as Partial<AbortableIterable<T>>)[ABORTABLE_ITERATOR] === 'function';
}

async function* passThrough<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  yield* source;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class AbortableIterator<T> implements AsyncIterator<T> {
  private iterator: AsyncIterator<T> | undefined;
  private finished = false;
  /** The settle functions of the `next()` waiting on the source, and its promise. */
  private resolvePending: ((result: IteratorResult<T>) => void) | undefined;
  private rejectPending: ((reason: unknown) => void) | undefined;
  private waiting: Promise<IteratorResult<T>> | undefined;
  private readonly order = new CallOrder<IteratorResult<T>>();

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly signal: AbortSignal,
  ) {}

  next(): Promise<IteratorResult<T>> {
    return this.order.call(this.resolvePending !== undefined ? this.waiting : undefined, this.step);
  }

  /** Ends the iteration; a call still waiting on the source is done, and so are later calls. */
  return(): Promise<IteratorResult<T>> {
    const resolve = this.resolvePending;
    if (resolve !== undefined) this.settle();
    this.finish();
    resolve?.(DONE);
    return Promise.resolve(DONE);
  }

  private readonly step = (): Promise<IteratorResult<T>> => {
    if (this.finished) return Promise.resolve(DONE);
    const signal = this.signal;
    if (signal.aborted) {
      const reason = abortReason(signal);
      this.finish();
      return Promise.reject(reason);
    }
    if (this.iterator === undefined) {
      this.iterator = this.source[Symbol.asyncIterator]();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    const waiting = new Promise<IteratorResult<T>>(this.capture);
    this.waiting = waiting;
    try {
      this.iterator.next().then(this.onResult, this.onError);
    } catch (err) {
      this.onError(err);
    }
    return waiting;
  };

  private readonly capture = (
    resolve: (result: IteratorResult<T>) => void,
    reject: (reason: unknown) => void,
  ): void => {
    this.resolvePending = resolve;
    this.rejectPending = reject;
  };

  private readonly onResult = (result: IteratorResult<T>): void => {
    const resolve = this.resolvePending;
    if (resolve === undefined) return; // abandoned: the signal aborted first
    this.settle();
    if (result.done) {
      this.finish();
      resolve(DONE);
    } else {
      resolve(result);
    }
  };

  private readonly onError = (err: unknown): void => {
    const reject = this.rejectPending;
    if (reject === undefined) return;
    this.settle();
    this.finish();
    reject(err);
  };

  private readonly onAbort = (): void => {
    const reject = this.rejectPending;
    if (reject === undefined) return; // the consumer holds an item: its next call throws
    this.settle();
    const reason = abortReason(this.signal);
    this.finish();
    reject(reason);
  };

  private settle(): void {
    this.resolvePending = undefined;
    this.rejectPending = undefined;
    this.waiting = undefined;
  }

  /**
   * Ends the iteration once: the listener goes, and the source is told to stop (not awaited: a
   * hung source may never settle its return()).
   */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const iterator = this.iterator;
    if (iterator === undefined) return;
    this.signal.removeEventListener('abort', this.onAbort);
    try {
      void Promise.resolve(iterator.return?.()).catch(() => {});
    } catch {
      // a source whose return() throws has nothing left to stop
    }
  }
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Runs an iterator's reads one after another in call order, as an async generator's `next()` calls
 * do: a call made while an earlier read waits runs once that read, and the calls queued behind it,
 * have settled. Nothing is chained while no read waits (the usual case: one call per item).
 */
export class CallOrder<R> {
  private tail: Promise<R> | undefined;

  /** `read()` now, or after `waiting` (the read in flight) and the calls made after it. */
  call(waiting: Promise<R> | undefined, read: () => Promise<R>): Promise<R> {
    const before = this.tail ?? waiting;
    if (before === undefined) return read();
    const after = before.then(read, read);
    this.tail = after;
    const settled = (): void => {
      if (this.tail === after) this.tail = undefined;
    };
    after.then(settled, settled);
    return after;
  }
}
