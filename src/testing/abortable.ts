/** Abortable waits for test doubles: they stop the moment their signal fires, like real providers. */

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Resolves after `ms`; rejects with the signal's reason as soon as it aborts.
 *
 * @example
 * ```ts
 * import type { TtsModel, TtsRequest } from 'colloquy';
 * import { SPECIFICATION_VERSIONS } from 'colloquy';
 * import { sleep } from 'colloquy/testing';
 *
 * // a slow TTS double that still honours the abort signal
 * const slowTts: TtsModel = {
 *   specificationVersion: SPECIFICATION_VERSIONS.tts,
 *   provider: 'test',
 *   modelId: 'slow',
 *   sampleRate: 16000,
 *   async *synthesize(request: TtsRequest) {
 *     await sleep(500, request.abortSignal);
 *     yield new Int16Array(1600);
 *   },
 * };
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never resolves; rejects when the signal aborts (a hung provider). */
export function waitForAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(abortError(signal));
    else signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
  });
}
