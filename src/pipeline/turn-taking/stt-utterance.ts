/**
 * One utterance's streaming transcription: audio goes in while the user speaks, interim and one
 * final transcript come out. The wait for the final after the audio ends is bounded; an STT
 * failure or timeout is reported once and the utterance settles with no text.
 *
 *   streaming ──endAudio──▶ finishing ──final | error | timeout──▶ settled
 *   streaming | finishing ──abort──▶ settled
 */
import {
  assertNever,
  type ColloquyError,
  ProviderError,
  TimeoutError,
  toColloquyError,
} from '../../errors.ts';
import type { SttModel } from '../../providers/types.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import { AudioQueue } from './audio-queue.ts';

export type UtteranceState = 'streaming' | 'finishing' | 'settled';

export interface SttUtteranceOptions {
  stt: SttModel;
  language?: string;
  clock: Clock;
  finalTimeoutMs: number;
  /** Index (STT-rate samples, stream-relative) of the first sample to send. */
  firstSample: number;
  onInterim: (text: string) => void;
  onFinal: (text: string, language: string | undefined) => void;
  onError: (error: ColloquyError) => void;
  /** Called once when the utterance settles on its own (final, error or timeout); `abort()` does not call it. */
  onSettled: () => void;
}

export class SttUtterance {
  /** Stream index up to which audio was sent. */
  sentUpTo: number;
  interimText = '';
  finalText: string | undefined;
  finalAt: number | undefined;
  private state: UtteranceState = 'streaming';
  private readonly audio = new AudioQueue();
  private readonly controller = new AbortController();
  private timer: TimerHandle | undefined;
  private readonly o: SttUtteranceOptions;

  constructor(options: SttUtteranceOptions) {
    this.o = options;
    this.sentUpTo = options.firstSample;
  }

  get settled(): boolean {
    return this.state === 'settled';
  }

  start(): void {
    void this.run();
  }

  /** Sends audio; `upTo` is the stream index just past it. */
  pushAudio(pcm: Int16Array, upTo: number): void {
    if (this.state !== 'streaming') return;
    this.audio.push(pcm);
    this.sentUpTo = upTo;
  }

  /** The user stopped speaking: the audio ends; the final is awaited for at most `finalTimeoutMs`. */
  endAudio(): void {
    if (this.state !== 'streaming') return;
    this.state = 'finishing';
    this.audio.end();
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'settled') return;
      const error = new TimeoutError('Final transcript', this.o.finalTimeoutMs);
      this.controller.abort(error);
      this.settle(error);
    }, this.o.finalTimeoutMs);
  }

  /** Stops without reporting (session closing). */
  abort(): void {
    if (this.state === 'settled') return;
    this.audio.end();
    this.controller.abort();
    this.state = 'settled';
    this.clearTimer();
  }

  private async run(): Promise<void> {
    try {
      const events = this.o.stt.transcribe(this.audio, {
        sampleRate: this.o.stt.sampleRate,
        language: this.o.language,
        abortSignal: this.controller.signal,
      });
      for await (const event of events) {
        if (this.state === 'settled') return;
        switch (event.type) {
          case 'interim':
            this.interimText = event.text;
            this.o.onInterim(event.text);
            break;
          case 'final':
            this.finalText = event.text;
            this.finalAt = this.o.clock.now();
            if (event.text.trim().length > 0) this.o.onFinal(event.text, event.language);
            break;
          default:
            assertNever(event, 'STT event');
        }
      }
      this.settle(undefined);
    } catch (err) {
      if (this.state === 'settled') return;
      const error =
        err instanceof ProviderError
          ? err
          : new ProviderError('stt_failed', 'Transcription failed', {
              cause: toColloquyError(err),
              retryable: true,
            });
      this.settle(error);
    }
  }

  private settle(error: ColloquyError | undefined): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    this.audio.end();
    this.clearTimer();
    if (error !== undefined) this.o.onError(error);
    this.o.onSettled();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.o.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
