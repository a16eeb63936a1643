/**
 * Iterates `source` until `signal` aborts: a pending `next()` is abandoned at once (a source that
 * never yields again, like a hung microphone stream, cannot hold the consumer), and the abort
 * reason is thrown.
 *
 * One abort listener for the whole iteration, and nothing kept per item: a `Promise.race` against
 * one never-settling abort promise would leave a reaction on it for every item, held until the
 * stream ends (an utterance's audio is thousands of frames).
 */
export async function* untilAborted<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  if (!signal) {
    yield* source;
    return;
  }
  signal.throwIfAborted();
  const iterator = source[Symbol.asyncIterator]();
  let rejectPending: ((reason: unknown) => void) | undefined;
  const onAbort = (): void => {
    rejectPending?.(abortReason(signal));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const result = await new Promise<IteratorResult<T>>((resolve, reject) => {
        rejectPending = reject;
        iterator.next().then(resolve, reject);
      });
      rejectPending = undefined;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    rejectPending = undefined;
    signal.removeEventListener('abort', onAbort);
    // Not awaited: a hung source may never settle its return().
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
