/**
 * VoiceSession: one conversation. It owns the bus, the state machine, the agents, the history and
 * the current turn. Text turns run here; audio input and speech output plug in through `SpeechPort`
 * and `pushAudio` without changing the turn logic. The turn lifecycle and its interruption
 * ordering rule live in `turn-runner.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { ModelMessage } from 'ai';
import { type AgentDefinition, indexAgents } from '../agents/agent.ts';
import { SubagentUi } from '../agents/subagent-ui.ts';
import { assertTransferAllowed } from '../agents/transfer.ts';
import { EventBus, type EventTable, type SessionEventBus } from '../bus/event-bus.ts';
import type { EventMap, InterruptReason, SessionState } from '../bus/events.ts';
import { attachHooks } from '../bus/hooks.ts';
import { DIAGNOSTICS_TABLE, diagnose } from '../diagnostics.ts';
import {
  AgentError,
  ColloquyError,
  failureCode,
  InvalidInputError,
  isColloquyError,
  SessionStateError,
} from '../errors.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import type { AudioSink } from '../pipeline/speech-output.ts';
import {
  type Delivery,
  publishClientEvent,
  publishGuiNotification,
  publishGuiUpdate,
} from '../tools/tool-context.ts';
import { cancelRunningTools, type RunningTool } from '../tools/tool-runner.ts';
import { ClientChannels } from './client-channels.ts';
import { ContextCompactor } from './context-compaction.ts';
import { ConversationHistory, messageText } from './history.ts';
import { LatencyTracker } from './latency.ts';
import { watchProviderFailures } from './provider-failures.ts';
import { createRealtimeRunner, type RealtimeRunner, realtimeAudio } from './realtime-session.ts';
import { SessionMemory } from './session-memory.ts';
import type { TurnResult, UserInputOptions, VoiceSessionOptions } from './session-options.ts';
import { SessionStateMachine } from './session-state.ts';
import type { SpeechPort } from './speech-port.ts';
import { TurnRunner } from './turn-runner.ts';
import { createVoicePipeline, type VoicePipeline } from './voice-pipeline.ts';

/**
 * A random UUID as one flat string. `randomUUID()` returns a rope of ~20 concatenated pieces that
 * lives as long as the session (~0.6 KB); re-encoding it keeps 36 bytes.
 */
function flatUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

export type {
  ActiveTurn,
  TurnResult,
  UserImage,
  UserInputOptions,
  VoiceSessionOptions,
} from './session-options.ts';

/**
 * One conversation: agents, tools and models driven through turns (text, or audio with `audio`),
 * every step published on `eventBus`, lifecycle `hooks`, interruption, transfers.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai'; // any AI SDK language model works
 * import { VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'user-1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'concierge', instructions: 'You are a hotel concierge. Keep answers short.' }],
 *   hooks: { onError: (e) => console.error(e.component, e.error.message) },
 * });
 * session.eventBus.subscribe('llm.text.delta', ({ text }) => process.stdout.write(text));
 * const turn = await session.sendText('Is breakfast included?');
 * console.log(turn.text);
 * await session.close();
 * ```
 */
export class VoiceSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly eventBus: SessionEventBus;
  /** Connected client channels (projections register while their client is connected). */
  readonly clientChannels: ClientChannels;
  private readonly options: VoiceSessionOptions;
  private readonly logger: Logger;
  private readonly agents: Map<string, AgentDefinition>;
  private readonly machine: SessionStateMachine;
  private readonly conversation: ConversationHistory;
  private readonly latency: LatencyTracker;
  private readonly running = new Map<string, RunningTool>();
  private readonly sessionController = new AbortController();
  private readonly detachHooks: (() => void) | undefined;
  private readonly offFailures: () => void;
  private agentName: string;
  private readonly turns: TurnRunner;
  private readonly pipeline: VoicePipeline | undefined;
  private readonly speechPort: SpeechPort | undefined;
  private readonly mode: 'agent' | 'stream';
  private sayCounter = 0;
  /** `speak()` utterances in flight (the greeting, stream-mode replies). */
  private saying: Map<string, AbortController> | undefined;
  /** Interrupted utterances whose heard part already entered history (at the interruption). */
  private savedEarly: Set<string> | undefined;
  private readonly memory: SessionMemory | undefined;
  private readonly realtime: RealtimeRunner | undefined;
  private readonly compactor: ContextCompactor | undefined;
  /** Background subagents' questions to the user; client surfaces route the answers to `respond`. */
  readonly subagentUi: SubagentUi;

  /** What a session itself does with bus events (one shared table: no closure per session). */
  private static readonly TABLE: EventTable<EventMap, VoiceSession> = {
    error: (p, session) => session.onError(p),
  };

  constructor(options: VoiceSessionOptions) {
    if (!options || typeof options.userId !== 'string' || !options.userId) {
      throw new InvalidInputError('invalid_options', 'VoiceSession needs a non-empty userId');
    }
    if (!options.model) throw new InvalidInputError('invalid_options', 'VoiceSession needs a model');
    this.options = options;
    this.sessionId = options.sessionId ?? flatUuid();
    this.userId = options.userId;
    this.logger = options.logger ?? consoleLogger;
    this.agents = indexAgents(options.agents);
    const first = options.initialAgent ?? options.agents[0].name;
    if (!this.agents.has(first)) throw new AgentError('unknown_agent', `No agent named "${first}"`);
    this.agentName = first;
    this.eventBus = options.eventBus ?? new EventBus<EventMap>({ logger: this.logger });
    this.eventBus.subscribeTable(DIAGNOSTICS_TABLE, undefined);
    diagnose('sessionCreated', () => ({ sessionId: this.sessionId, userId: this.userId }));
    this.eventBus.setHandlerErrorListener((error, type) => {
      this.eventBus.publish('error', {
        sessionId: this.sessionId,
        component: 'event-bus',
        error: new ColloquyError('handler_failed', `A "${type}" handler threw`, { cause: error }),
        severity: 'warn',
      });
    });
    this.clientChannels = options.clientChannels ?? new ClientChannels();
    this.detachHooks = options.hooks ? attachHooks(this.eventBus, options.hooks, this.logger) : undefined;
    this.machine = new SessionStateMachine((fromState, toState) =>
      this.eventBus.publish('session.stateChange', { sessionId: this.sessionId, fromState, toState }),
    );
    this.conversation = new ConversationHistory(options.history, {
      onTrim: (removedCount, reason) =>
        this.eventBus.publish('history.trimmed', { sessionId: this.sessionId, removedCount, reason }),
      onAppend: (message) => this.eventBus.publish('history.append', { sessionId: this.sessionId, message }),
    });
    this.latency = new LatencyTracker(this.eventBus, this.sessionId);
    this.clientChannels.onOutput((turnId, stage) => this.latency.textOutput(turnId, stage));
    this.compactor = options.compaction
      ? new ContextCompactor(options.compaction, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          history: this.conversation,
          model: options.model,
          signal: this.sessionController.signal,
          reportError: (err) => this.reportError('compaction', err, 'warn'),
        })
      : undefined;
    this.offFailures = watchProviderFailures(this.eventBus, this.sessionId);
    this.eventBus.subscribeTable(VoiceSession.TABLE, this);
    this.mode = options.mode ?? 'agent';
    this.subagentUi = new SubagentUi(
      {
        bus: this.eventBus,
        sessionId: this.sessionId,
        signal: this.sessionController.signal,
        canDeliver: () => this.clientChannels.canDeliver('ui.request'),
      },
      options.subagentUi,
    );
    this.memory = options.memory
      ? new SessionMemory(options.memory, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          userId: this.userId,
          model: options.model,
          conversation: () => this.conversation.all,
          onError: (err) => this.reportError('memory', err, 'error'),
        })
      : undefined;
    const audio = options.realtime ? realtimeAudio(options) : options.audio;
    this.pipeline = audio
      ? createVoicePipeline(audio, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          interrupt: (reason) => this.interrupt(reason),
          onUserTurn: (text) => {
            if (this.machine.is('closed')) return;
            let turn: Promise<TurnResult>;
            try {
              turn = this.commitUserSpeech(text);
            } catch (err) {
              // A transcript refused at once (longer than `maxTextLength`): the spoken turn ends unanswered.
              this.reportError('session', err, 'warn');
              this.turns.speechAbandoned();
              return;
            }
            turn.catch((err) => this.reportError('session', err, 'warn'));
          },
          onSpeechStart: () => {
            if (!this.machine.is('closed')) this.turns.speechStarted();
          },
          onEmptyTurn: () => this.turns.speechAbandoned(),
          history: () =>
            this.conversation.all
              .filter((m) => m.role === 'user' || m.role === 'assistant')
              .slice(-10)
              .map((m) => ({ role: m.role as 'user' | 'assistant', text: messageText(m) })),
        })
      : undefined;
    this.speechPort = options.speech ?? this.pipeline?.speech;
    this.turns = new TurnRunner({
      bus: this.eventBus,
      sessionId: this.sessionId,
      options,
      agents: this.agents,
      conversation: this.conversation,
      latency: this.latency,
      memory: this.memory,
      speech: this.speechPort,
      running: this.running,
      sessionSignal: this.sessionController.signal,
      mode: this.mode,
      channels: this.clientChannels,
      subagentUi: this.subagentUi,
      currentAgent: () => this.agentName,
      transfer: (toAgent, reason) => this.performTransfer(toAgent, reason),
      isClosed: () => this.machine.is('closed'),
      reportError: (component, err, severity) => this.reportError(component, err, severity),
    });
    this.realtime = options.realtime
      ? createRealtimeRunner(options.realtime, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          userId: this.userId,
          options,
          agents: this.agents,
          conversation: this.conversation,
          latency: this.latency,
          running: this.running,
          sessionSignal: this.sessionController.signal,
          speech: this.pipeline?.speech,
          channels: this.clientChannels,
          subagentUi: this.subagentUi,
          currentAgent: () => this.agentName,
          setAgent: (name) => {
            this.agentName = name;
          },
          transition: (to) => this.machine.transition(to),
          state: () => this.machine.state,
          reportError: (component, err, severity) => this.reportError(component, err, severity),
          close: (reason) => void this.close(reason),
          memoryPrompt: () => this.memory?.prompt() ?? '',
        })
      : undefined;
  }

  get state(): SessionState {
    return this.machine.state;
  }
  get currentAgent(): string {
    return this.agentName;
  }
  get history(): ModelMessage[] {
    return this.conversation.all;
  }
  get currentTurnId(): string | undefined {
    return this.turns.active?.id ?? this.realtime?.activeTurnId;
  }
  get speech(): SpeechPort | undefined {
    return this.speechPort;
  }

  /**
   * Feed user audio (PCM16 mono at `sampleRate`, any frame size up to 1 s). Needs `audio.vad`.
   * Throws `AudioFormatError` for a bad frame (wrong rate, empty, oversized); the session goes on.
   */
  pushAudio(frame: Int16Array, sampleRate: number): void {
    this.assertOpen();
    if (this.realtime) {
      if (this.machine.is('created')) this.startSync();
      this.realtime.pushAudio(frame, sampleRate);
      this.pipeline?.input?.pushAudio(frame, sampleRate);
      return;
    }
    if (!this.pipeline?.input) {
      throw new SessionStateError('no_audio_input', 'This session has no audio input (configure audio.vad)');
    }
    if (this.machine.is('created')) this.startSync();
    this.pipeline.input.pushAudio(frame, sampleRate);
  }

  /** Attach (or swap, or detach with undefined) where bot audio frames go. */
  setAudioOutput(sink: AudioSink | undefined): void {
    if (!this.pipeline)
      throw new SessionStateError('no_audio_output', 'This session has no audio (configure audio)');
    this.pipeline.sink.set(sink);
  }

  /** Mute / unmute the user's microphone input. */
  setMuted(muted: boolean): void {
    this.pipeline?.mute?.setManual(muted);
  }

  /** End the user's spoken turn now instead of waiting for silence (push-to-talk release). */
  async commitAudioTurn(): Promise<void> {
    this.realtime?.commit();
    await this.pipeline?.input?.commitTurn();
  }

  /** Resolves when all audio pushed so far has been processed (VAD, STT). */
  async audioIdle(): Promise<void> {
    await this.pipeline?.input?.idle();
  }

  /**
   * Say `text` as the bot, queued FIFO behind anything already speaking (never interrupting). The
   * utterance enters history and publishes the normal speech events. Used by stream mode and for the
   * greeting. On a realtime model the model says it, in its own voice, as its own turn.
   */
  async speak(text: string): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    if (this.realtime) return this.realtime.speak(clean); // the model says it, in its own voice
    const turnId = `say_${++this.sayCounter}`;
    const speech = this.speechPort;
    if (this.saying === undefined) this.saying = new Map(); // created at the first utterance
    // Its own signal, aborted by close(): queued utterances (a client may queue many) would each
    // add a listener to the session's signal (Node warns past 10 on one signal).
    const controller = new AbortController();
    this.saying.set(turnId, controller);
    let outcome: { heardText: string; interrupted: boolean; reason?: InterruptReason | undefined };
    try {
      outcome = speech
        ? await speech.speak(turnId, clean, controller.signal)
        : { heardText: clean, interrupted: false, reason: undefined };
    } finally {
      this.saying.delete(turnId);
    }
    const heard = outcome.heardText;
    if (!this.savedEarly?.delete(turnId) && heard.trim()) {
      this.conversation.append({ role: 'assistant', content: heard });
    }
    this.eventBus.publish('assistant.text', {
      sessionId: this.sessionId,
      turnId,
      agentName: this.agentName,
      text: heard,
      interrupted: outcome.interrupted,
    });
    return {
      turnId,
      agentName: this.agentName,
      text: heard,
      interrupted: outcome.interrupted,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    };
  }

  /** created → connecting → active; publishes `session.start` and `agent.enter`. Idempotent. */
  async start(): Promise<void> {
    this.startSync();
    await this.realtime?.start();
    await this.memory?.ready;
  }

  private startSync(): void {
    if (this.machine.is('connecting', 'active', 'transferring', 'reconnecting')) return; // a realtime session connects for a while
    if (this.machine.is('closed')) throw new SessionStateError('session_closed', 'The session is closed');
    this.machine.transition('connecting');
    this.memory?.load();
    if (this.realtime) {
      void this.realtime.start(); // active once the provider is ready
      return;
    }
    this.machine.transition('active');
    this.eventBus.publish('session.start', {
      sessionId: this.sessionId,
      userId: this.userId,
      agentName: this.agentName,
    });
    this.eventBus.publish('agent.enter', { sessionId: this.sessionId, agentName: this.agentName });
  }

  /**
   * A user text turn. Interrupts the running turn (if any) first. Resolves when the turn ends or is
   * interrupted. Throws `InvalidInputError` for empty, non-string or oversized text. `images` go to
   * the model with this turn's user message only (history keeps the text).
   */
  sendText(text: string, options: UserInputOptions = {}): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    if (this.realtime) return this.realtime.sendText(clean, options);
    // Typed input cuts the bot off like speech does, also while it says a `speak()` utterance (the greeting).
    if (!this.turns.active && (this.saying?.size ?? 0) > 0) this.interruptSpeech('interrupted');
    return this.turns.begin(clean, 'text', options);
  }

  /**
   * Begin a turn from a final transcript (used by the audio pipeline, and for transcribed
   * recordings; on a realtime model the transcript goes to the model as the user's turn).
   */
  commitUserSpeech(text: string, options: UserInputOptions = {}): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    if (this.realtime) return this.realtime.sendText(clean, options, 'speech');
    return this.turns.begin(clean, 'speech', options);
  }

  /** Stop the current turn (and its speech). No-op when idle. */
  interrupt(reason: InterruptReason = 'interrupted'): void {
    if (this.realtime) {
      this.realtime.interrupt(reason);
      return;
    }
    if (this.turns.active) this.turns.interrupt(reason);
    else this.interruptSpeech(reason);
  }

  /**
   * Stops a `speak()` utterance. What the user heard of it enters history now, so it comes before
   * the input that cut it off (its `speak()` call resolves later).
   */
  private interruptSpeech(reason: InterruptReason): void {
    const outcome = this.speechPort?.interrupt(reason);
    if (!outcome || !this.saying?.has(outcome.turnId) || this.savedEarly?.has(outcome.turnId)) return;
    if (this.savedEarly === undefined) this.savedEarly = new Set();
    this.savedEarly.add(outcome.turnId);
    if (outcome.heardText.trim()) this.conversation.append({ role: 'assistant', content: outcome.heardText });
  }

  /**
   * Publish `gui.update {data}` to the session's clients (RTVI `server-message`, native `gui_update`,
   * VoiceAgent `gui_update`). Returns whether a connected client can receive it.
   */
  publishGuiUpdate(data: unknown): Delivery {
    this.assertOpen();
    return publishGuiUpdate(this.outputPort(), data);
  }

  /** Publish `gui.notification {message}` to the session's clients (non-empty, at most 2000 characters). */
  publishGuiNotification(message: string): Delivery {
    this.assertOpen();
    return publishGuiNotification(this.outputPort(), message);
  }

  /** Publish a `client.event` on `topic` (what `client_event` tools do) from application code. */
  publishClientEvent(topic: string, payload: unknown): Delivery {
    this.assertOpen();
    if (typeof topic !== 'string' || !topic) {
      throw new InvalidInputError('invalid_topic', 'A client event needs a non-empty topic');
    }
    return publishClientEvent(this.outputPort(), topic, payload);
  }

  private outputPort() {
    return { bus: this.eventBus, sessionId: this.sessionId, channels: this.clientChannels };
  }

  /** Move the conversation to another agent now (outside the LLM's transfer tool). */
  transferTo(agentName: string, reason?: string): void {
    this.assertOpen();
    assertTransferAllowed(this.agentName, agentName, this.agents);
    this.performTransfer(agentName, reason);
  }

  clearHistory(): void {
    this.conversation.clear();
    this.eventBus.publish('history.cleared', { sessionId: this.sessionId });
  }

  /**
   * A note for the agent, as a background result is one: it enters history once no turn runs, and
   * the agent tells the user (unless `announceBackgroundResults` is false).
   */
  notify(text: string): void {
    if (this.machine.is('closed')) return;
    if (this.realtime) this.realtime.notify(text);
    else this.turns.notify(text);
  }

  /** Background results that arrived while a turn ran and wait to be announced. */
  get pendingNotifications(): string[] {
    return this.realtime ? this.realtime.queuedNotifications : this.turns.queuedNotifications;
  }

  /** Replace the history (e.g. restored from storage). */
  setHistory(messages: ModelMessage[]): void {
    this.conversation.replace(messages);
  }

  /** Close the session: interrupts the turn, cancels background work, publishes `session.close`. */
  async close(reason = 'closed'): Promise<void> {
    if (this.machine.is('closed')) return;
    this.realtime?.close();
    this.turns.close();
    this.speechPort?.interrupt('disconnected');
    this.pipeline?.mute?.close();
    this.pipeline?.input?.close();
    this.pipeline?.speech?.close();
    cancelRunningTools(this.eventBus, this.sessionId, this.running, () => true);
    const closed = new SessionStateError('session_closed', `Session closed: ${reason}`);
    for (const controller of this.saying?.values() ?? []) controller.abort(closed);
    this.sessionController.abort(closed);
    this.machine.transition('closed');
    this.eventBus.publish('session.close', { sessionId: this.sessionId, reason });
    this.latency.dispose();
    this.memory?.dispose();
    this.compactor?.dispose();
    this.subagentUi.dispose();
    this.offFailures();
    this.eventBus.unsubscribeTable(VoiceSession.TABLE, this);
    await this.memory?.extract(this.conversation.all);
    this.detachHooks?.();
  }

  /**
   * A fatal error ends the session, once the error event reached every subscriber and the turn that
   * failed has ended.
   */
  private onError(p: EventMap['error']): void {
    if (p.severity !== 'fatal' || this.machine.is('closed')) return;
    const reason = `fatal:${p.error.code}`;
    setImmediate(() => {
      this.close(reason).catch((err) => this.logger.warn('session close failed', err));
    });
  }

  private reportError(component: string, err: unknown, severity: 'warn' | 'error' | 'fatal'): void {
    const error = isColloquyError(err)
      ? err
      : new ColloquyError(failureCode(component), String((err as Error)?.message ?? err), { cause: err });
    this.eventBus.publish('error', { sessionId: this.sessionId, component, error, severity });
  }

  // ── internals ───────────────────────────────────────────────────────────────────

  private validateText(text: unknown): string {
    if (typeof text !== 'string') throw new InvalidInputError('invalid_text', 'Text must be a string');
    const clean = text.trim();
    if (!clean) throw new InvalidInputError('empty_text', 'Text is empty');
    const max = this.options.maxTextLength ?? 8000;
    if (clean.length > max) {
      throw new InvalidInputError(
        'text_too_long',
        `Text has ${clean.length} characters; the limit is ${max}`,
      );
    }
    return clean;
  }

  private assertOpen(): void {
    if (this.machine.is('closed')) throw new SessionStateError('session_closed', 'The session is closed');
  }

  private performTransfer(toAgent: string, reason?: string): void {
    if (this.realtime) {
      this.realtime.transfer(toAgent, reason);
      return;
    }
    const fromAgent = this.agentName;
    this.machine.transition('transferring');
    this.eventBus.publish('agent.exit', { sessionId: this.sessionId, agentName: fromAgent });
    this.eventBus.publish('agent.transfer', {
      sessionId: this.sessionId,
      fromAgent,
      toAgent,
      ...(reason ? { reason } : {}),
    });
    this.agentName = toAgent;
    this.machine.transition('active');
    this.eventBus.publish('agent.enter', { sessionId: this.sessionId, agentName: toAgent });
  }
}
