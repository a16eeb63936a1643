/**
 * Provider failures become `error` events with a component and a severity that says whether the
 * conversation goes on (the source of `onError` and RTVI `pipeline-error`):
 *
 * | failure | component | severity |
 * |---|---|---|
 * | a TTS chunk failed (skipped, the response goes on) | `tts` | `warn` |
 * | an STT stream failed (that utterance is lost) | `stt` | `error` |
 * | the STT provider refused the credentials (401/403) | `stt` | `fatal` |
 * | `maxConsecutiveFailures` STT streams failed in a row (it cannot restart) | `stt` | `fatal` (`stt_unavailable`) |
 * | `maxConsecutiveFailures` LLM calls failed in a row (the provider is gone) | `llm` | `fatal` (`llm_unavailable`) |
 *
 * The LLM's own failures (and its 401/403, `fatal`) are published by the turn. A `fatal` error ends
 * the session (`VoiceSession` closes with reason `fatal:<code>`).
 */
import type { SessionEventBus, Unsubscribe } from '../bus/event-bus.ts';
import { authFailureStatus, ProviderError } from '../errors.ts';

/** Consecutive failures of one provider after which it is considered gone (default 3). */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 3;

export function watchProviderFailures(
  bus: SessionEventBus,
  sessionId: string,
  maxConsecutiveFailures = DEFAULT_MAX_CONSECUTIVE_FAILURES,
): Unsubscribe {
  let sttFailures = 0;
  let llmFailures = 0;
  const offs = [
    bus.subscribe('speech.chunk.error', (p) =>
      bus.publish('error', { sessionId, component: 'tts', error: p.error, severity: 'warn' }),
    ),
    bus.subscribe('transcription.final', () => {
      sttFailures = 0;
    }),
    bus.subscribe('transcription.error', (p) => {
      if (p.error.code === 'empty_transcript') return; // no words: not a provider failure
      const auth = authFailureStatus(p.error) !== undefined;
      bus.publish('error', {
        sessionId,
        component: 'stt',
        error: p.error,
        severity: auth ? 'fatal' : 'error',
      });
      if (auth || ++sttFailures < maxConsecutiveFailures) return;
      const error = new ProviderError(
        'stt_unavailable',
        `Speech-to-text failed ${sttFailures} times in a row; last: ${p.error.message}`,
        { cause: p.error },
      );
      bus.publish('error', { sessionId, component: 'stt', error, severity: 'fatal' });
    }),
    bus.subscribe('llm.end', (p) => {
      if (p.outcome === 'finish') llmFailures = 0;
    }),
    bus.subscribe('error', (p) => {
      if (p.component !== 'llm' || p.severity !== 'error') return;
      if (++llmFailures < maxConsecutiveFailures) return;
      const error = new ProviderError(
        'llm_unavailable',
        `The language model failed ${llmFailures} times in a row; last: ${p.error.message}`,
        { cause: p.error },
      );
      bus.publish('error', { sessionId, component: 'llm', error, severity: 'fatal' });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
