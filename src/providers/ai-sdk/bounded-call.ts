/**
 * Runs one provider call with a bounded time and the caller's abort signal. The call gets a
 * signal that fires on either; the returned promise settles as soon as either fires even if the
 * provider ignores its signal, so a stalled provider can never hang a turn.
 *
 * A caller that already bounds the call itself (it aborts `abortSignal` and stops waiting once its
 * own deadline passes, as the speech pipeline does for every TTS request) says so with
 * `callerTimeoutMs`: when that bound is not longer than `timeoutMs`, the call runs on the caller's
 * signal without a second timer, controller and race (same errors).
 */
import { type ColloquyErrorCode, isAbortError, ProviderError, TimeoutError } from '../../errors.ts';

export interface BoundedCallOptions {
  /** What is being done, for the timeout message (e.g. 'OpenAI transcription'). */
  what: string;
  timeoutMs: number;
  abortSignal?: AbortSignal;
  /** Error code for provider failures (e.g. 'stt_failed'). */
  failureCode: ColloquyErrorCode;
  /**
   * The caller's own bound on this call (ms): it aborts `abortSignal` and stops waiting when it
   * passes. Only honoured together with `abortSignal`.
   */
  callerTimeoutMs?: number;
}

export async function boundedCall<T>(
  call: (signal: AbortSignal) => PromiseLike<T>,
  options: BoundedCallOptions,
): Promise<T> {
  const { abortSignal, timeoutMs, what } = options;
  abortSignal?.throwIfAborted();
  if (
    abortSignal !== undefined &&
    options.callerTimeoutMs !== undefined &&
    options.callerTimeoutMs <= timeoutMs
  ) {
    try {
      return await call(abortSignal);
    } catch (err) {
      throw callFailure(err, options, false);
    }
  }
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
    throw callFailure(err, options, timedOut);
  } finally {
    cleanup();
  }
}

/** What a failed call rejects with: the timeout, the caller's abort reason, or a `ProviderError`. */
function callFailure(err: unknown, options: BoundedCallOptions, timedOut: boolean): unknown {
  const { abortSignal, timeoutMs, what } = options;
  if (timedOut) return new TimeoutError(what, timeoutMs, { cause: err });
  if (abortSignal?.aborted) return abortSignal.reason ?? err;
  if (isAbortError(err) || err instanceof TimeoutError) return err;
  if (err instanceof ProviderError) return err;
  const retryable = (err as { isRetryable?: unknown }).isRetryable === true;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(options.failureCode, `${what} failed: ${message}`, { cause: err, retryable });
}
