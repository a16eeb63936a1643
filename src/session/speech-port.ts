/**
 * What a session needs from speech output (implemented by `SpeechOutput` in src/pipeline). Text-only
 * sessions have none; audio sessions plug one in without changing the turn logic.
 */
import type { InterruptReason } from '../bus/events.ts';

export interface SpeechOutcome {
  turnId: string;
  /** What the user actually heard (the whole text unless interrupted). */
  heardText: string;
  fullText: string;
  interrupted: boolean;
  reason?: InterruptReason;
}

export interface SpeechResponse {
  pushText(delta: string): void;
  end(): void;
  readonly done: Promise<SpeechOutcome>;
}

export interface SpeechPort {
  /** Speak a whole text, queued FIFO behind anything already speaking. */
  speak(turnId: string, text: string, signal: AbortSignal): Promise<SpeechOutcome>;
  /**
   * Start speaking a response; responses play FIFO. `signal`, when given, cancels the response when
   * it aborts. The session passes none: it ends a cut turn's speech with `interrupt()`, and an
   * `AbortSignal` per turn costs Node tens of microseconds.
   */
  beginResponse(turnId: string, signal?: AbortSignal): SpeechResponse;
  /**
   * Stop at once: abort pending synthesis, drop queued audio, publish `speech.interrupted`.
   * Returns the outcome of the response that was playing (or queued first), if any.
   */
  interrupt(reason: InterruptReason): SpeechOutcome | undefined;
  /** True while audio of some response is being played out. */
  readonly speaking: boolean;
}
