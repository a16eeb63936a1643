/**
 * A session's idle timeout: `onIdle` runs after `timeoutMs` without user input, unless someone is
 * talking (then it looks again later). Armed while `active()`; user speech and text, and the bot
 * finishing speaking, start the wait over.
 */
import type { SessionEventBus } from '../bus/event-bus.ts';

export class IdleWatch {
  private timer: NodeJS.Timeout | undefined;
  private userSpeaking = false;
  private botSpeaking = false;
  private readonly offs: Array<() => void>;

  constructor(
    bus: SessionEventBus,
    private readonly timeoutMs: number,
    private readonly active: () => boolean,
    private readonly onIdle: () => void,
  ) {
    this.offs = [
      bus.subscribe('user.speech.start', () => {
        this.userSpeaking = true;
        this.arm();
      }),
      bus.subscribe('user.speech.stop', () => {
        this.userSpeaking = false;
        this.arm();
      }),
      bus.subscribe('user.text', () => this.arm()),
      bus.subscribe('bot.speaking.start', () => {
        this.botSpeaking = true;
      }),
      bus.subscribe('bot.speaking.stop', () => {
        this.botSpeaking = false;
        this.arm();
      }),
    ];
  }

  /** Start the wait (over). */
  arm(): void {
    this.pause();
    if (!this.active() || !(this.timeoutMs > 0)) return;
    this.timer = setTimeout(() => {
      // Someone is talking: not idle. Look again later.
      if (this.userSpeaking || this.botSpeaking) return this.arm();
      this.onIdle();
    }, this.timeoutMs);
    this.timer.unref?.();
  }

  /** Stop waiting (until the next `arm`). */
  pause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.pause();
    for (const off of this.offs.splice(0)) off();
  }
}
