/**
 * Barge-in policy: when may the user's speech cut the bot off?
 *
 *   idle ──speech starts while the bot speaks──▶ pending (output paused if pauseOnSpeech)
 *   pending ──speech lasted minInterruptionMs, or transcript reached minInterruptionWords──▶ interrupted
 *   pending ──speech stopped short, output paused──▶ false_wait
 *   pending ──speech stopped short, not paused──▶ idle
 *   false_wait ──falseInterruptionTimeoutMs──▶ idle (resume, or interrupt if !resumeFalseInterruption)
 *   false_wait ──a transcript with words──▶ interrupted
 *   false_wait ──speech starts again──▶ pending
 *   interrupted ──speech stops──▶ idle
 *
 * Speech duration is measured in stream time (from the VAD), so "interrupt within one frame of
 * the minimum" holds for any audio timeline; only the false-interruption timeout uses the clock.
 */
import type { InterruptReason } from '../../bus/events.ts';
import { type Clock, systemClock, type TimerHandle } from '../clock.ts';

export type InterruptionState = 'idle' | 'pending' | 'false_wait' | 'interrupted';

export interface InterruptionOptions {
  /** User speech lasting this long interrupts the bot (default 300; 0 interrupts at speech start). */
  minInterruptionMs?: number;
  /** Interim transcript words that interrupt the bot (default 0 = off). */
  minInterruptionWords?: number;
  /** Pause the bot's audio as soon as the user starts speaking (default true). */
  pauseOnSpeech?: boolean;
  /** Resume after a false interruption; when false, interrupt anyway (default true). */
  resumeFalseInterruption?: boolean;
  /** Wait after a short, wordless sound before resuming (default 1000). */
  falseInterruptionTimeoutMs?: number;
  clock?: Clock;
}

export interface SpeechControl {
  pause(): void;
  resume(): void;
  interrupt(reason: InterruptReason): void;
}

export function countWords(text: string): number {
  const m = text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu);
  return m === null ? 0 : m.length;
}

export class InterruptionPolicy {
  readonly minInterruptionMs: number;
  readonly minInterruptionWords: number;
  readonly pauseOnSpeech: boolean;
  readonly resumeFalseInterruption: boolean;
  readonly falseInterruptionTimeoutMs: number;
  private readonly clock: Clock;
  private readonly control: SpeechControl;
  private readonly isBotSpeaking: () => boolean;
  private state: InterruptionState = 'idle';
  private speechStartMs = 0;
  private paused = false;
  private timer: TimerHandle | undefined;

  constructor(options: InterruptionOptions, control: SpeechControl, isBotSpeaking: () => boolean) {
    this.minInterruptionMs = options.minInterruptionMs ?? 300;
    this.minInterruptionWords = options.minInterruptionWords ?? 0;
    this.pauseOnSpeech = options.pauseOnSpeech ?? true;
    this.resumeFalseInterruption = options.resumeFalseInterruption ?? true;
    this.falseInterruptionTimeoutMs = options.falseInterruptionTimeoutMs ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.control = control;
    this.isBotSpeaking = isBotSpeaking;
  }

  get currentState(): InterruptionState {
    return this.state;
  }

  /** VAD speech-start; `atMs` is the stream time speech began, `positionMs` where it was confirmed. */
  speechStarted(atMs: number, positionMs: number): void {
    if (this.state === 'false_wait') {
      this.clearTimer();
      this.state = 'pending';
      this.speechStartMs = atMs;
    } else if (this.state === 'idle') {
      if (!this.isBotSpeaking()) return;
      this.state = 'pending';
      this.speechStartMs = atMs;
      if (this.pauseOnSpeech) {
        this.paused = true;
        this.control.pause();
      }
    } else {
      return;
    }
    this.progress(positionMs);
  }

  /** Stream position after each pushed frame while the user speaks. */
  progress(positionMs: number): void {
    if (this.state !== 'pending') return;
    if (positionMs - this.speechStartMs >= this.minInterruptionMs) this.trigger();
  }

  /** An interim or final transcript of the user's current speech. */
  transcript(text: string): void {
    if (this.state === 'pending') {
      if (this.minInterruptionWords > 0 && countWords(text) >= this.minInterruptionWords) this.trigger();
    } else if (this.state === 'false_wait') {
      if (countWords(text) > 0) this.trigger();
    }
  }

  /** VAD speech-stop. */
  speechStopped(): void {
    if (this.state === 'interrupted') {
      this.state = 'idle';
      return;
    }
    if (this.state !== 'pending') return;
    if (!this.paused) {
      this.state = 'idle';
      return;
    }
    this.state = 'false_wait';
    this.timer = this.clock.setTimeout(() => this.onFalseInterruption(), this.falseInterruptionTimeoutMs);
  }

  /** Forget the current episode without touching the output (bot turn ended, session closing). */
  reset(): void {
    this.clearTimer();
    this.state = 'idle';
    this.paused = false;
  }

  private onFalseInterruption(): void {
    this.timer = undefined;
    if (this.state !== 'false_wait') return;
    if (this.resumeFalseInterruption) {
      this.state = 'idle';
      this.paused = false;
      this.control.resume();
    } else {
      this.trigger();
      this.state = 'idle';
    }
  }

  private trigger(): void {
    this.clearTimer();
    this.state = 'interrupted';
    this.paused = false;
    // The bot may have finished on its own meanwhile: nothing left to cut.
    if (this.isBotSpeaking()) this.control.interrupt('user_speaking');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
