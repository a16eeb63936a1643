/**
 * What the server writes to its log about a session, from the session's bus: one `info` line per
 * finished turn with its latency, every error (STT, TTS, LLM, tools…) at its severity, interruptions
 * at `info`, speech that gave no transcript at `debug`. Nothing here runs per audio frame.
 */
import type { EventBus, Unsubscribe } from '../bus/event-bus.ts';
import type { EventMap, LatencySegments } from '../bus/events.ts';
import type { Logger } from '../logger.ts';

const SEGMENTS: Array<[keyof LatencySegments, string]> = [
  ['clientToBackendMs', 'in'],
  ['sttMs', 'stt'],
  ['endpointingMs', 'endpointing'],
  ['backendToLLMMs', 'to model'],
  ['llmProcessingMs', 'llm'],
  ['llmToBackendMs', 'model audio'],
  ['ttsMs', 'tts'],
  ['backendToClientMs', 'out'],
];

/** `total 840 ms (stt 210, llm 380, tts 150)`, from the segments that are present. */
export function describeLatency(segments: LatencySegments): string {
  const parts = SEGMENTS.filter(([k]) => segments[k] !== undefined).map(
    ([k, label]) => `${label} ${Math.round(segments[k]!)}`,
  );
  const total =
    segments.totalE2EMs === undefined ? 'total n/a' : `total ${Math.round(segments.totalE2EMs)} ms`;
  return parts.length ? `${total} (${parts.join(', ')})` : total;
}

/** Subscribes the log lines of one session to its bus; returns the unsubscribe. */
export function logSessionEvents(bus: EventBus<EventMap>, logger: Logger): Unsubscribe {
  // An STT failure may be published both as `transcription.error` and as `error`: log it once.
  const logged = new WeakSet<object>();
  const offs = [
    bus.subscribe('turn.latency', (e) => {
      logger.info(`turn done (${e.kind}): ${describeLatency(e.segments)}`, {
        sessionId: e.sessionId,
        turnId: e.turnId,
      });
    }),
    bus.subscribe('turn.end', (e) => {
      if (!e.abandoned) return;
      logger.debug('speech gave no transcript: turn abandoned', { sessionId: e.sessionId, turnId: e.turnId });
    }),
    bus.subscribe('turn.interrupted', (e) => {
      logger.info(`turn interrupted${e.reason ? ` (${e.reason})` : ''}`, {
        sessionId: e.sessionId,
        turnId: e.turnId,
      });
    }),
    bus.subscribe('transcription.error', (e) => {
      logged.add(e.error);
      logger.warn('speech recognition failed', { sessionId: e.sessionId, component: 'stt' }, e.error);
    }),
    bus.subscribe('transcription.final', (e) => {
      logger.debug('heard', { sessionId: e.sessionId, text: e.text.slice(0, 200) });
    }),
    bus.subscribe('error', (e) => {
      if (logged.has(e.error)) return;
      const line = `${e.component} failed`;
      const fields = { ...(e.sessionId ? { sessionId: e.sessionId } : {}), component: e.component };
      if (e.severity === 'warn') logger.warn(line, fields, e.error);
      else logger.error(line, fields, e.error);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
