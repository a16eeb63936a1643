/**
 * Per-turn latency: records the time of every step of a turn from bus events and, when the turn
 * ends, publishes `turn.latency` with the segment breakdown (the source of `onTurnLatency` and of
 * RTVI metrics). Subscribes only to per-turn events, never to per-frame ones.
 */
import type { SessionEventBus, Unsubscribe } from '../bus/event-bus.ts';
import type { LatencyMarks, LatencySegments } from '../bus/events.ts';
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
 * response (`backendToLLMMs`) → its first audio arrives (`llmProcessingMs`, the model's TTFB) → the
 * first frame leaves for the client (`backendToClientMs`, Colloquy's own overhead).
 */
function realtimeSegments(
  marks: LatencyMarks,
  origin: number | undefined,
  s: LatencySegments,
  set: (k: keyof LatencySegments, v: number | undefined) => void,
): LatencySegments {
  set('backendToLLMMs', diff(origin, marks.llmRequestAt));
  set('llmProcessingMs', diff(marks.llmRequestAt, marks.ttsFirstByteAt));
  set('backendToClientMs', diff(marks.ttsFirstByteAt, marks.firstAudioOutAt));
  set('totalE2EMs', diff(origin, marks.firstAudioOutAt ?? marks.ttsFirstByteAt));
  return s;
}

export class LatencyTracker {
  private readonly turns = new Map<string, LatencyMarks>();
  /** Turns whose user text was speech (cascade turns). */
  private readonly spoken = new Set<string>();
  private lastSpeechEndAt: number | undefined;
  private lastTranscriptAt: number | undefined;
  private readonly off: Unsubscribe[];

  constructor(
    private readonly bus: SessionEventBus,
    private readonly sessionId: string,
    private readonly clock: () => number = now,
  ) {
    const mark = (turnId: string, key: keyof LatencyMarks, onlyFirst = true) => {
      const m = this.turns.get(turnId);
      if (m && (!onlyFirst || m[key] === undefined)) m[key] = this.clock();
    };
    this.off = [
      bus.subscribe('user.speech.stop', () => {
        this.lastSpeechEndAt = this.clock();
      }),
      bus.subscribe('user.speech.start', () => {
        this.lastSpeechEndAt = undefined;
        this.lastTranscriptAt = undefined;
      }),
      bus.subscribe('transcription.final', () => {
        this.lastTranscriptAt = this.clock();
      }),
      bus.subscribe('turn.start', (p) => {
        this.turns.set(p.turnId, { turnStartAt: this.clock() });
      }),
      // A spoken turn starts at speech start; its speech-end and transcript marks are those of the
      // speech committed as its user text.
      bus.subscribe('user.text', (p) => {
        const m = this.turns.get(p.turnId);
        if (!m) return;
        m.userTextAt = this.clock();
        if (p.source === 'speech') {
          this.spoken.add(p.turnId);
          if (this.lastSpeechEndAt !== undefined) m.userSpeechEndAt = this.lastSpeechEndAt;
          if (this.lastTranscriptAt !== undefined) m.transcriptFinalAt = this.lastTranscriptAt;
        }
        this.lastSpeechEndAt = undefined;
        this.lastTranscriptAt = undefined;
      }),
      bus.subscribe('llm.start', (p) => mark(p.turnId, 'llmRequestAt')),
      bus.subscribe('llm.text.delta', (p) => mark(p.turnId, 'llmFirstTokenAt')),
      bus.subscribe('llm.tool-input.start', (p) => mark(p.turnId, 'llmFirstTokenAt')),
      bus.subscribe('speech.chunk.queued', (p) => mark(p.turnId, 'firstTextToTtsAt')),
      bus.subscribe('metrics.ttfb', (p) => {
        if (p.processor === 'tts' && p.turnId) mark(p.turnId, 'ttsFirstByteAt');
      }),
      bus.subscribe('bot.speaking.start', (p) => mark(p.turnId, 'firstAudioOutAt')),
    ];
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
    this.spoken.delete(turnId);
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
    const spoken = this.spoken.delete(turnId);
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
    for (const off of this.off) off();
    this.turns.clear();
    this.spoken.clear();
  }
}
