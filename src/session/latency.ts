/**
 * Per-turn latency: records the time of every step of a turn from bus events and, when the turn
 * ends, publishes `turn.latency` with the segment breakdown (the source of `onTurnLatency` and of
 * RTVI metrics). Subscribes only to per-turn events, never to per-frame ones.
 */
import type { EventTable, SessionEventBus } from '../bus/event-bus.ts';
import type { EventMap, LatencyMarks, LatencySegments } from '../bus/events.ts';
import type { ClientOutputStage } from './client-channels.ts';
import type { ClientTiming } from './client-clock.ts';

export const now = (): number => performance.timeOrigin + performance.now();

const diff = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.max(0, b - a);

/**
 * Turn marks into segments; a segment whose marks are missing is left out. A turn that spoke measures
 * its output path to the first audio frame; a turn without speech (a text-only session, or speech
 * that never started) to its first text written to a client connection.
 */
export function computeSegments(marks: LatencyMarks, kind: 'cascade' | 'realtime' | 'text'): LatencySegments {
  const s: LatencySegments = {};
  const set = (k: keyof LatencySegments, v: number | undefined) => {
    if (v !== undefined) s[k] = Math.round(v * 100) / 100;
  };
  const committed = marks.userTextAt ?? marks.turnStartAt;
  const origin = marks.userSpeechEndAt ?? committed;
  set('clientToBackendMs', diff(marks.clientSentAt, marks.clientReceivedAt));
  if (kind === 'realtime') return realtimeSegments(marks, origin, s, set);
  if (kind === 'cascade') {
    set('sttMs', diff(marks.userSpeechEndAt, marks.transcriptFinalAt));
    set('endpointingMs', diff(marks.transcriptFinalAt, committed));
  }
  set('backendToLLMMs', diff(committed, marks.llmRequestAt));
  set('llmProcessingMs', diff(marks.llmRequestAt, marks.llmFirstTokenAt));
  const spoke =
    marks.firstTextToTtsAt !== undefined ||
    marks.ttsFirstByteAt !== undefined ||
    marks.firstAudioOutAt !== undefined;
  if (spoke) {
    set('llmToBackendMs', diff(marks.llmFirstTokenAt, marks.firstTextToTtsAt));
    set('ttsMs', diff(marks.firstTextToTtsAt, marks.ttsFirstByteAt));
    set('backendToClientMs', diff(marks.ttsFirstByteAt, marks.firstAudioOutAt));
    set('totalE2EMs', diff(origin, marks.firstAudioOutAt ?? marks.llmFirstTokenAt));
  } else {
    set('llmToBackendMs', diff(marks.llmFirstTokenAt, marks.firstTextHandedAt));
    set('backendToClientMs', diff(marks.firstTextHandedAt, marks.firstTextOutAt));
    set('totalE2EMs', diff(origin, marks.firstTextOutAt ?? marks.llmFirstTokenAt));
  }
  return s;
}

/**
 * A realtime speech-to-speech turn: end of user speech (or the typed turn) → the provider starts its
 * response (`backendToLLMMs`) → its first output arrives, audio or the transcript of its speech
 * (`llmProcessingMs`, the model's TTFB) → its first audio is in Colloquy (`llmToBackendMs`; 0 when
 * the audio came first) → the first frame leaves for the client (`backendToClientMs`, Colloquy's own
 * overhead).
 */
function realtimeSegments(
  marks: LatencyMarks,
  origin: number | undefined,
  s: LatencySegments,
  set: (k: keyof LatencySegments, v: number | undefined) => void,
): LatencySegments {
  const firstOutput =
    marks.llmFirstTokenAt === undefined || marks.ttsFirstByteAt === undefined
      ? (marks.llmFirstTokenAt ?? marks.ttsFirstByteAt)
      : Math.min(marks.llmFirstTokenAt, marks.ttsFirstByteAt);
  set('backendToLLMMs', diff(origin, marks.llmRequestAt));
  set('llmProcessingMs', diff(marks.llmRequestAt, firstOutput));
  set('llmToBackendMs', diff(firstOutput, marks.ttsFirstByteAt));
  set('backendToClientMs', diff(marks.ttsFirstByteAt, marks.firstAudioOutAt));
  set('totalE2EMs', diff(origin, marks.firstAudioOutAt ?? marks.ttsFirstByteAt));
  return s;
}

/**
 * What the tracker does with each bus event: one shared table, so a session subscribes it once with
 * the tracker as context (no closures per session).
 */
const LATENCY_TABLE: EventTable<EventMap, LatencyTracker> = {
  'user.speech.stop': (_p, t) => t.speechStopped(),
  'user.speech.start': (_p, t) => t.speechStarted(),
  'transcription.final': (_p, t) => t.transcribed(),
  'turn.start': (p, t) => t.turnStarted(p.turnId),
  // A spoken turn starts at speech start; its speech-end and transcript marks are those of the
  // speech committed as its user text.
  'user.text': (p, t) => t.userText(p.turnId, p.source),
  'llm.start': (p, t) => t.mark(p.turnId, 'llmRequestAt'),
  'llm.text.delta': (p, t) => t.firstToken(p.turnId),
  'llm.tool-input.start': (p, t) => t.mark(p.turnId, 'llmFirstTokenAt'),
  'speech.chunk.queued': (p, t) => t.mark(p.turnId, 'firstTextToTtsAt'),
  'metrics.ttfb': (p, t) => {
    if (p.processor === 'tts' && p.turnId) t.mark(p.turnId, 'ttsFirstByteAt');
  },
  'bot.speaking.start': (p, t) => t.mark(p.turnId, 'firstAudioOutAt'),
};

export class LatencyTracker {
  private readonly turns = new Map<string, LatencyMarks>();
  /** Turns whose user text was speech (cascade turns). */
  private spoken: Set<string> | undefined;
  private lastSpeechEndAt: number | undefined;
  private lastTranscriptAt: number | undefined;
  /** The turn whose first token is marked (later deltas of it skip the lookup). */
  private firstTokenOf: string | undefined;

  constructor(
    private readonly bus: SessionEventBus,
    private readonly sessionId: string,
    private readonly clock: () => number = now,
  ) {
    bus.subscribeTable(LATENCY_TABLE, this);
  }

  /** `user.speech.stop`: the user's speech ended now. */
  speechStopped(): void {
    this.lastSpeechEndAt = this.clock();
  }

  /** `user.speech.start`: marks of an earlier utterance no longer apply. */
  speechStarted(): void {
    this.lastSpeechEndAt = undefined;
    this.lastTranscriptAt = undefined;
  }

  /** `transcription.final`: the final transcript arrived now. */
  transcribed(): void {
    this.lastTranscriptAt = this.clock();
  }

  /** `turn.start`: a turn began now. */
  turnStarted(turnId: string): void {
    if (turnId === this.firstTokenOf) this.firstTokenOf = undefined;
    this.turns.set(turnId, { turnStartAt: this.clock() });
  }

  /** `user.text`: the turn's user text was committed now (from speech or typed). */
  userText(turnId: string, source: string): void {
    const m = this.turns.get(turnId);
    if (!m) return;
    m.userTextAt = this.clock();
    if (source === 'speech') {
      if (this.spoken === undefined) this.spoken = new Set(); // created at the first spoken turn
      this.spoken.add(turnId);
      if (this.lastSpeechEndAt !== undefined) m.userSpeechEndAt = this.lastSpeechEndAt;
      if (this.lastTranscriptAt !== undefined) m.transcriptFinalAt = this.lastTranscriptAt;
    }
    this.lastSpeechEndAt = undefined;
    this.lastTranscriptAt = undefined;
  }

  /**
   * Marks the turn's input brought: the client's timing of a stamped message (see `ClientClock`), and
   * for a transcribed whole recording the end of the user's speech (its arrival). Call after `user.text`.
   */
  setInput(turnId: string, input: { client?: ClientTiming; speechEndAt?: number }): void {
    const m = this.turns.get(turnId);
    if (!m) return;
    if (input.client) {
      m.clientSentAt = input.client.sentAt;
      m.clientReceivedAt = input.client.receivedAt;
    }
    if (input.speechEndAt !== undefined && m.userSpeechEndAt === undefined)
      m.userSpeechEndAt = input.speechEndAt;
  }

  /** A client connection reported the turn's first response text handed to it, or written out. */
  textOutput(turnId: string, stage: ClientOutputStage): void {
    this.mark(turnId, stage === 'handed' ? 'firstTextHandedAt' : 'firstTextOutAt');
  }

  /** Forget a turn that ended without anything to measure (an abandoned spoken turn). */
  discard(turnId: string): void {
    this.turns.delete(turnId);
    this.spoken?.delete(turnId);
  }

  /**
   * `llm.text.delta`: the turn's first token arrived now (the first time only). A turn streams many
   * deltas: after the first, this is one comparison.
   */
  firstToken(turnId: string): void {
    if (turnId === this.firstTokenOf) return;
    const m = this.turns.get(turnId);
    if (m === undefined) return;
    this.firstTokenOf = turnId;
    if (m.llmFirstTokenAt === undefined) m.llmFirstTokenAt = this.clock();
  }

  /** Records a step of a turn now (the first time only), for steps no bus event marks. */
  mark(turnId: string, key: keyof LatencyMarks): void {
    const m = this.turns.get(turnId);
    if (m && m[key] === undefined) m[key] = this.clock();
  }

  /** Publish `turn.latency` for a turn that ended (the session calls this after `turn.end`). */
  finish(turnId: string, realtime?: 'realtime'): void {
    const marks = this.turns.get(turnId);
    if (!marks) return;
    this.turns.delete(turnId);
    const spoken = this.spoken?.delete(turnId) ?? false;
    const kind = realtime ?? (spoken ? 'cascade' : 'text');
    marks.turnEndAt = this.clock();
    this.bus.publish('turn.latency', {
      sessionId: this.sessionId,
      turnId,
      kind,
      segments: computeSegments(marks, kind),
      marks,
    });
  }

  dispose(): void {
    this.bus.unsubscribeTable(LATENCY_TABLE, this);
    this.turns.clear();
    this.spoken?.clear();
  }
}
