/**
 * A push-fed async iterable of audio frames: the utterance stream handed to `SttModel.transcribe`.
 * `push` never blocks; `end` finishes the iteration once buffered frames are read.
 *
 * It is also an `AbortableIterable`: a provider that reads it through `untilAborted` gets an
 * iterator that watches the signal itself, so each frame costs one promise (the read's own), not
 * a wrapper's promise and reaction on top (about 300 bytes per frame the user speaks).
 */
import {
  ABORTABLE_ITERATOR,
  type AbortableIterable,
  abortReason,
  CallOrder,
} from '../../providers/abortable-iterate.ts';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

export class AudioQueue implements AsyncIterable<Int16Array>, AbortableIterable<Int16Array> {
  private items: Int16Array[] = [];
  /** The iterator whose read waits for the next frame. */
  private reader: QueueReader | undefined;
  private ended = false;

  get isEnded(): boolean {
    return this.ended;
  }

  push(frame: Int16Array): void {
    if (this.ended || frame.length === 0) return;
    const reader = this.reader;
    if (reader !== undefined) {
      this.reader = undefined;
      reader.deliver(frame);
    } else {
      this.items.push(frame);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const reader = this.reader;
    if (reader !== undefined && this.items.length === 0) {
      this.reader = undefined;
      reader.deliver(undefined);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return new QueueReader(this, undefined);
  }

  [ABORTABLE_ITERATOR](signal: AbortSignal): AsyncIterator<Int16Array> {
    return new QueueReader(this, signal);
  }

  /** The next buffered frame, if any (for `QueueReader`). */
  take(): Int16Array | undefined {
    return this.items.shift();
  }

  /** `reader` waits for the next frame or the end (for `QueueReader`). */
  wait(reader: QueueReader): void {
    this.reader = reader;
  }

  /** `reader` stopped waiting (for `QueueReader`). */
  unwait(reader: QueueReader): void {
    if (this.reader === reader) this.reader = undefined;
  }

  /** The reader stopped early or was aborted: the queue ends and drops what was buffered. */
  stop(): void {
    this.ended = true;
    this.items = [];
  }
}

/**
 * One iteration of an `AudioQueue`, optionally until `signal` aborts: one listener for the whole
 * iteration, removed when it ends; per frame, a result and, when it has to wait, one promise.
 */
class QueueReader implements AsyncIterator<Int16Array> {
  private resolvePending: ((result: IteratorResult<Int16Array>) => void) | undefined;
  private rejectPending: ((reason: unknown) => void) | undefined;
  private waiting: Promise<IteratorResult<Int16Array>> | undefined;
  private readonly order = new CallOrder<IteratorResult<Int16Array>>();
  private listening = false;
  private finished = false;

  constructor(
    private readonly queue: AudioQueue,
    private readonly signal: AbortSignal | undefined,
  ) {}

  next(): Promise<IteratorResult<Int16Array>> {
    return this.order.call(this.waiting, this.read);
  }

  /** Ends the iteration; a read still waiting is done, and so are later calls. */
  return(): Promise<IteratorResult<Int16Array>> {
    const resolve = this.resolvePending;
    if (resolve !== undefined) {
      this.settle();
      this.queue.unwait(this);
    }
    this.queue.stop();
    this.finish();
    resolve?.(DONE);
    return Promise.resolve(DONE);
  }

  /** The queue hands the frame this read waited for, or `undefined` at the end. */
  deliver(frame: Int16Array | undefined): void {
    const resolve = this.resolvePending;
    if (resolve === undefined) return;
    this.settle();
    if (frame === undefined) {
      this.finish();
      resolve(DONE);
    } else {
      resolve({ done: false, value: frame });
    }
  }

  private readonly read = (): Promise<IteratorResult<Int16Array>> => {
    if (this.finished) return Promise.resolve(DONE);
    const signal = this.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        // as `untilAborted` does: a queue this iteration never read is left as it is
        if (this.listening) this.queue.stop();
        this.finish();
        return Promise.reject(abortReason(signal));
      }
      if (!this.listening) {
        this.listening = true;
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
    const frame = this.queue.take();
    if (frame !== undefined) return Promise.resolve({ done: false, value: frame });
    if (this.queue.isEnded) {
      this.finish();
      return Promise.resolve(DONE);
    }
    const waiting = new Promise<IteratorResult<Int16Array>>(this.capture);
    this.waiting = waiting;
    this.queue.wait(this);
    return waiting;
  };

  private readonly capture = (
    resolve: (result: IteratorResult<Int16Array>) => void,
    reject: (reason: unknown) => void,
  ): void => {
    this.resolvePending = resolve;
    this.rejectPending = reject;
  };

  private readonly onAbort = (): void => {
    const reject = this.rejectPending;
    if (reject === undefined) return; // the consumer holds a frame: its next call throws
    this.settle();
    this.queue.unwait(this);
    this.queue.stop();
    this.finish();
    reject(abortReason(this.signal!));
  };

  private settle(): void {
    this.resolvePending = undefined;
    this.rejectPending = undefined;
    this.waiting = undefined;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.listening) this.signal!.removeEventListener('abort', this.onAbort);
  }
}
