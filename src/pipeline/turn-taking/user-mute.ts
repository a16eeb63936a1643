/**
 * User mute strategies: when the server stops listening to the user. While muted, user audio is
 * dropped (no VAD, no transcription, no barge-in); `user.mute.start` / `user.mute.stop` are
 * published (RTVI `user-mute-started` / `user-mute-stopped`).
 *
 * Strategies (any number; the user is muted while at least one says so, or the app muted them):
 * - `first-speech`: during the bot's first utterance (a greeting cannot be interrupted).
 * - `until-first-bot-complete`: from the start until the bot's first utterance ends (for bots that
 *   speak first: the user cannot talk over or before the greeting).
 * - `function-call`: while inline tool calls run (background tools do not mute).
 * - `bot-speaking`: whenever the bot speaks (no barge-in at all).
 * - `{ type: 'callback', shouldMute }`: your function of the `UserMuteState`, asked after each
 *   bot-speech and tool event; an exception counts as "not muted" and is published as an error.
 *
 * The controller listens to bus facts only (`bot.speaking.*`, `tool.*`), so it works the same for
 * every transport.
 */
import type { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { assertNever, ConfigError, toColloquyError } from '../../errors.ts';

export type UserMuteStrategyName =
  | 'first-speech'
  | 'until-first-bot-complete'
  | 'function-call'
  | 'bot-speaking';

export const USER_MUTE_STRATEGY_NAMES: readonly UserMuteStrategyName[] = [
  'first-speech',
  'until-first-bot-complete',
  'function-call',
  'bot-speaking',
];

/** What a callback strategy sees. */
export interface UserMuteState {
  /** The bot is speaking now. */
  botSpeaking: boolean;
  /** Bot utterances that started so far (1 during the first). */
  botUtterancesStarted: number;
  /** Bot utterances that ended so far. */
  botUtterancesEnded: number;
  /** Inline tool calls running now. */
  toolCallsRunning: number;
}

export type UserMuteStrategy =
  | UserMuteStrategyName
  | { type: 'callback'; shouldMute: (state: Readonly<UserMuteState>) => boolean };

/** The input side the controller drives (the session's `UserAudioInput`). */
export interface MutableInput {
  mute(): void;
  unmute(): void;
}

export interface UserMuteOptions {
  bus: EventBus<EventMap>;
  sessionId: string;
  input: MutableInput;
  strategies: readonly UserMuteStrategy[];
}

/** Checks strategies given from outside (config files); throws `ConfigError invalid_user_mute`. */
export function validateUserMuteStrategies(strategies: readonly unknown[]): UserMuteStrategy[] {
  return strategies.map((s) => {
    if (typeof s === 'string' && (USER_MUTE_STRATEGY_NAMES as readonly string[]).includes(s)) {
      return s as UserMuteStrategyName;
    }
    if (
      typeof s === 'object' &&
      s !== null &&
      (s as { type?: unknown }).type === 'callback' &&
      typeof (s as { shouldMute?: unknown }).shouldMute === 'function'
    ) {
      return s as UserMuteStrategy;
    }
    throw new ConfigError(
      'invalid_user_mute',
      `Unknown user mute strategy ${JSON.stringify(s)} (use ${USER_MUTE_STRATEGY_NAMES.join(', ')} or {type: 'callback', shouldMute})`,
    );
  });
}

export class UserMuteController {
  private readonly o: UserMuteOptions;
  private readonly state: UserMuteState = {
    botSpeaking: false,
    botUtterancesStarted: 0,
    botUtterancesEnded: 0,
    toolCallsRunning: 0,
  };
  private readonly running = new Set<string>();
  private manual = false;
  private muted = false;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(options: UserMuteOptions) {
    this.o = { ...options, strategies: validateUserMuteStrategies(options.strategies) };
    const bus = options.bus;
    if (this.o.strategies.length > 0) {
      this.unsubscribe.push(
        // The first decision is made when the session starts, so clients attached by then see it.
        bus.subscribe('session.start', () => this.update()),
        bus.subscribe('bot.speaking.start', () => {
          this.state.botSpeaking = true;
          this.state.botUtterancesStarted++;
          this.update();
        }),
        bus.subscribe('bot.speaking.stop', () => {
          if (!this.state.botSpeaking) return;
          this.state.botSpeaking = false;
          this.state.botUtterancesEnded++;
          this.update();
        }),
        bus.subscribe('tool.call', (p) => {
          if (p.execution === 'background') return;
          this.running.add(p.id);
          this.toolsChanged();
        }),
        bus.subscribe('tool.result', (p) => {
          if (this.running.delete(p.toolCallId)) this.toolsChanged();
        }),
        bus.subscribe('tool.cancel', (p) => {
          let changed = false;
          for (const id of p.toolCallIds) changed = this.running.delete(id) || changed;
          if (changed) this.toolsChanged();
        }),
      );
    }
  }

  /** True while the user's input is muted (by a strategy or by the app). */
  get isMuted(): boolean {
    return this.muted;
  }

  /** The app's own mute (`VoiceSession.setMuted`), combined with the strategies. */
  setManual(muted: boolean): void {
    this.manual = muted;
    this.update();
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private toolsChanged(): void {
    this.state.toolCallsRunning = this.running.size;
    this.update();
  }

  private update(): void {
    const muted = this.manual || this.o.strategies.some((s) => this.says(s));
    if (muted === this.muted) return;
    this.muted = muted;
    if (muted) this.o.input.mute();
    else this.o.input.unmute();
  }

  private says(strategy: UserMuteStrategy): boolean {
    const s = this.state;
    if (typeof strategy === 'object') {
      try {
        return strategy.shouldMute({ ...s }) === true;
      } catch (err) {
        this.o.bus.publish('error', {
          sessionId: this.o.sessionId,
          component: 'user_mute',
          error: toColloquyError(err, 'user_mute_callback_failed'),
          severity: 'warn',
        });
        return false;
      }
    }
    switch (strategy) {
      case 'first-speech':
        return s.botSpeaking && s.botUtterancesStarted === 1;
      case 'until-first-bot-complete':
        return s.botUtterancesEnded === 0;
      case 'function-call':
        return s.toolCallsRunning > 0;
      case 'bot-speaking':
        return s.botSpeaking;
      default:
        return assertNever(strategy, 'user mute strategy');
    }
  }
}
