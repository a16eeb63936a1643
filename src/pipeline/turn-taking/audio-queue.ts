/**
 * A push-fed async iterable of audio frames: the utterance stream handed to `SttModel.transcribe`.
 * `push` never blocks; `end` finishes the iteration once buffered frames are read.
 */
export class AudioQueue implements AsyncIterable<Int16Array> {
  private items: Int16Array[] = [];
  private waiter: ((result: IteratorResult<Int16Array>) => void) | undefined;
  private ended = false;

  get isEnded(): boolean {
    return this.ended;
  }

  push(frame: Int16Array): void {
    if (this.ended || frame.length === 0) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter({ done: false, value: frame });
    } else {
      this.items.push(frame);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const waiter = this.waiter;
    if (waiter !== undefined && this.items.length === 0) {
      this.waiter = undefined;
      waiter({ done: true, value: undefined });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return {
      next: (): Promise<IteratorResult<Int16Array>> => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ done: false, value: item });
        if (this.ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<Int16Array>> => {
        this.ended = true;
        this.items = [];
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}
