/**
 * The store's single writer: sessions enqueue writes (O(1), nothing touches the database on the
 * turn's path) and the writer applies them in batches, one transaction each, shortly after. The
 * queue is bounded. Failures are never silent:
 *
 * - a retryable failure (locked, disk full) keeps the writes queued and retries with back-off,
 *   reporting the failure once per streak;
 * - a batch that fails for another reason is retried write by write; a write that still fails is
 *   reported (with its type and session) and dropped, so one bad write cannot block the rest;
 * - when the queue is full (the store has been failing or stalling for a while) a new write is
 *   reported as dropped (`store_queue_full`) and a flush is started.
 *
 * `close()` flushes everything and says how many writes could not be stored.
 */
import { StoreError } from './store-error.ts';
import type { SessionStore, StoreWrite } from './types.ts';

export interface StoreWriterOptions {
  /** Most writes waiting (default 10 000). */
  maxQueued?: number;
  /** Most writes per transaction (default 500). */
  maxBatch?: number;
  /** Wait before a flush, so a turn's writes share one transaction (default 20 ms). */
  flushDelayMs?: number;
  /** First retry wait after a retryable failure; doubles up to 30 s (default 500 ms). */
  retryDelayMs?: number;
  /** Told about every failure (the server logs it and publishes it on the session's bus). */
  onError?: (error: StoreError, writes: readonly StoreWrite[]) => void;
}

type WriterState = 'idle' | 'scheduled' | 'flushing' | 'closed';

/**
 * The store's single writer: writes are queued (bounded) and applied in batches, off the turn's path.
 *
 * @example
 * ```ts
 * import { InMemorySessionStore, StoreWriter } from 'colloquy';
 *
 * const writer = new StoreWriter(new InMemorySessionStore(), {
 *   maxQueued: 5000,
 *   onError: (error, writes) => console.error(`store: ${error.code}, ${writes.length} writes affected`),
 * });
 * // … recordSession(session.eventBus, writer) for each session …
 * await writer.close(); // flushes what is queued
 * ```
 */
export class StoreWriter {
  private queue: StoreWrite[] = [];
  private state: WriterState = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failing = false;
  private retryMs: number;
  private readonly maxQueued: number;
  private readonly maxBatch: number;
  private readonly flushDelayMs: number;
  private readonly baseRetryMs: number;
  /** Writes dropped so far (reported each time). */
  dropped = 0;
  /** Writes stored so far. */
  written = 0;

  constructor(
    readonly store: SessionStore,
    private readonly options: StoreWriterOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.flushDelayMs = options.flushDelayMs ?? 20;
    this.baseRetryMs = options.retryDelayMs ?? 500;
    this.retryMs = this.baseRetryMs;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queue a write; returns at once. */
  enqueue(write: StoreWrite): void {
    if (this.state === 'closed') {
      this.report(new StoreError('store_closed', 'The session store writer is closed'), [write], true);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.report(
        new StoreError('store_queue_full', `The store write queue is full (${this.maxQueued} writes)`, {
          retryable: true,
        }),
        [write],
        true,
      );
      if (!this.flushing && !this.failing) void this.flush();
      return;
    }
    this.queue.push(write);
    this.schedule(this.flushDelayMs);
  }

  /** Apply everything queued now. Resolves when the queue is empty or the store fails (retry later). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.drain().finally(() => {
      this.flushing = undefined;
      if (this.state === 'flushing') this.state = 'idle';
    });
    this.flushing = run;
    return run;
  }

  /** Flush and stop. Throws a `StoreError` naming how many writes could not be stored. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const left = this.queue.length;
    if (left > 0) {
      this.dropped += left;
      this.queue = [];
      throw new StoreError('store_write_failed', `${left} writes could not be stored before closing`);
    }
  }

  private schedule(delayMs: number): void {
    if (this.state !== 'idle') return;
    this.state = 'scheduled';
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref?.();
  }

  private async drain(): Promise<void> {
    if (this.state !== 'closed') this.state = 'flushing';
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch);
      try {
        await this.store.write(batch);
        this.queue.splice(0, batch.length);
        this.written += batch.length;
        this.recovered();
      } catch (err) {
        const error = toStoreError(err);
        if (error.retryable) {
          this.failed(error, batch);
          return;
        }
        if (!(await this.oneByOne(batch))) return;
      }
    }
  }

  /**
   * A batch failed for a non-retryable reason: store what can be stored, report the rest. False when
   * the store started failing in a retryable way (the rest waits for the retry).
   */
  private async oneByOne(batch: StoreWrite[]): Promise<boolean> {
    for (const w of batch) {
      try {
        await this.store.write([w]);
        this.written++;
        this.queue.shift();
      } catch (err) {
        const error = toStoreError(err);
        if (error.retryable) {
          this.failed(error, [w]);
          return false;
        }
        this.queue.shift();
        this.report(error, [w], true);
      }
    }
    return true;
  }

  private failed(error: StoreError, batch: StoreWrite[]): void {
    if (!this.failing) this.report(error, batch, false);
    this.failing = true;
    if (this.state === 'closed') return;
    this.state = 'idle';
    this.schedule(this.retryMs);
    this.retryMs = Math.min(30_000, this.retryMs * 2);
  }

  private recovered(): void {
    this.failing = false;
    this.retryMs = this.baseRetryMs;
  }

  private report(error: StoreError, writes: readonly StoreWrite[], dropped: boolean): void {
    if (dropped) this.dropped += writes.length;
    this.options.onError?.(error, writes);
  }
}

function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('store_write_failed', (err as Error)?.message ?? String(err), { cause: err });
}

/** The session a write belongs to. */
export function writeSessionId(w: StoreWrite): string {
  switch (w.type) {
    case 'session.open':
      return w.session.id;
    case 'transcript':
      return w.entry.sessionId;
    case 'tool.call':
      return w.call.sessionId;
    case 'summary':
      return w.summary.sessionId;
    case 'snapshot.save':
      return w.snapshot.sessionId;
    default:
      return w.sessionId;
  }
}
