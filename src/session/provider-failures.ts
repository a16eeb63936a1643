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
import type { EventTable, SessionEventBus, Unsubscribe } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { authFailureStatus, ProviderError } from '../errors.ts';

/** Consecutive failures of one provider after which it is considered gone (default 3). */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 3;

/** One session's failure counts (the context of the shared table below). */
interface FailureWatch {
  readonly bus: SessionEventBus;
  readonly sessionId: string;
  readonly max: number;
  sttFailures: number;
  llmFailures: number;
}

const FAILURES_TABLE: EventTable<EventMap, FailureWatch> = {
  'speech.chunk.error': (p, w) =>
    w.bus.publish('error', { sessionId: w.sessionId, component: 'tts', error: p.error, severity: 'warn' }),
  'transcription.final': (_p, w) => {
    w.sttFailures = 0;
  },
  'transcription.error': (p, w) => {
    if (p.error.code === 'empty_transcript') return; // no words: not a provider failure
    const auth = authFailureStatus(p.error) !== undefined;
    w.bus.publish('error', {
      sessionId: w.sessionId,
      component: 'stt',
      error: p.error,
      severity: auth ? 'fatal' : 'error',
    });
    if (auth || ++w.sttFailures < w.max) return;
    const error = new ProviderError(
      'stt_unavailable',
      `Speech-to-text failed ${w.sttFailures} times in a row; last: ${p.error.message}`,
      { cause: p.error },
    );
    w.bus.publish('error', { sessionId: w.sessionId, component: 'stt', error, severity: 'fatal' });
  },
  'llm.end': (p, w) => {
    if (p.outcome === 'finish') w.llmFailures = 0;
  },
  error: (p, w) => {
    if (p.component !== 'llm' || p.severity !== 'error') return;
    if (++w.llmFailures < w.max) return;
    const error = new ProviderError(
      'llm_unavailable',
      `The language model failed ${w.llmFailures} times in a row; last: ${p.error.message}`,
      { cause: p.error },
    );
    w.bus.publish('error', { sessionId: w.sessionId, component: 'llm', error, severity: 'fatal' });
  },
};

/** Subscribes one shared table per session (no closures per session); returns its unsubscribe. */
export function watchProviderFailures(
  bus: SessionEventBus,
  sessionId: string,
  maxConsecutiveFailures = DEFAULT_MAX_CONSECUTIVE_FAILURES,
): Unsubscribe {
  return bus.subscribeTable(FAILURES_TABLE, {
    bus,
    sessionId,
    max: maxConsecutiveFailures,
    sttFailures: 0,
    llmFailures: 0,
  });
}
