/**
 * Runs one provider call with a bounded time and the caller's abort signal. The call gets a
 * signal that fires on either; the returned promise settles as soon as either fires even if the
 * provider ignores its signal, so a stalled provider can never hang a turn.
 */
import { type ColloquyErrorCode, isAbortError, ProviderError, TimeoutError } from '../../errors.ts';

export interface BoundedCallOptions {
  /** What is being done, for the timeout message (e.g. 'OpenAI transcription'). */
  what: string;
  timeoutMs: number;
  abortSignal?: AbortSignal;
  /** Error code for provider failures (e.g. 'stt_failed'). */
  failureCode: ColloquyErrorCode;
}

export async function boundedCall<T>(
  call: (signal: AbortSignal) => PromiseLike<T>,
  options: BoundedCallOptions,
): Promise<T> {
  const { abortSignal, timeoutMs, what } = options;
  abortSignal?.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  let cleanup = () => {};
  const stop = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      const err = new TimeoutError(what, timeoutMs);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
    const onAbort = () => {
      controller.abort(abortSignal?.reason);
      reject(abortSignal?.reason ?? new DOMException('This operation was aborted', 'AbortError'));
    };
    abortSignal?.addEventListener('abort', onAbort, { once: true });
    cleanup = () => {
      clearTimeout(timer);
      abortSignal?.removeEventListener('abort', onAbort);
    };
  });
  stop.catch(() => {});
  try {
    return await Promise.race([Promise.resolve(call(controller.signal)), stop]);
  } catch (err) {
    if (timedOut) throw new TimeoutError(what, timeoutMs, { cause: err });
    if (abortSignal?.aborted) throw abortSignal.reason ?? err;
    if (isAbortError(err) || err instanceof TimeoutError) throw err;
    if (err instanceof ProviderError) throw err;
    const retryable = (err as { isRetryable?: unknown }).isRetryable === true;
    const message = err instanceof Error ? err.message : String(err);
    throw new ProviderError(options.failureCode, `${what} failed: ${message}`, { cause: err, retryable });
  } finally {
    cleanup();
  }
}
