/**
 * VoiceSession: one conversation. It owns the bus, the state machine, the agents, the history and
 * the current turn. Text turns run here; audio input and speech output plug in through `SpeechPort`
 * and `pushAudio` without changing the turn logic.
 *
 * Interruption ordering (tested): when a turn is cut short, the session publishes, synchronously and
 * in this order: `speech.interrupted` + `bot.speaking.stop` (if speaking), `llm.end {outcome:'abort'}`
 * (if the LLM was streaming), `tool.cancel` then one `tool.result {status:'cancelled'}` per running
 * inline tool, `assistant.text {interrupted:true}`, `turn.latency`, `turn.interrupted`. Nothing carrying
 * that turn's id is published afterwards; the next turn's `turn.start` comes after. Likewise
 * `turn.end` is the last event of a turn that completes.
 */
import { randomUUID } from 'node:crypto';
import { type ModelMessage, stepCountIs } from 'ai';
import { type AgentDefinition, indexAgents } from '../agents/agent.ts';
import type { SubagentOutcome } from '../agents/subagent.ts';
import { assertTransferAllowed, type TransferRequest } from '../agents/transfer.ts';
import { EventBus, type SessionEventBus } from '../bus/event-bus.ts';
import type { EventMap, InterruptReason, SessionState } from '../bus/events.ts';
import { attachHooks } from '../bus/hooks.ts';
import { AgentError, ColloquyError, InvalidInputError, SessionStateError } from '../errors.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import type { AudioSink } from '../pipeline/speech-output.ts';
import { type BackgroundToolResult, cancelRunningTools, type RunningTool } from '../tools/tool-runner.ts';
import { assistantText, truncateToHeard } from './heard.ts';
import { ConversationHistory, messageText } from './history.ts';
import { LatencyTracker } from './latency.ts';
import { SessionMemory } from './session-memory.ts';
import type { ActiveTurn, TurnResult, UserImage, VoiceSessionOptions } from './session-options.ts';
import { SessionStateMachine } from './session-state.ts';
import type { SpeechPort } from './speech-port.ts';
import { runLlmPass } from './turn.ts';
import { buildTurnTools } from './turn-tools.ts';
import { createVoicePipeline, type VoicePipeline } from './voice-pipeline.ts';

export type { ActiveTurn, TurnResult, UserImage, VoiceSessionOptions } from './session-options.ts';

let turnCounter = 0;

export class VoiceSession {
  readonly sessionId: string;
  readonly userId: string;
  readonly eventBus: SessionEventBus;
  private readonly options: VoiceSessionOptions;
  private readonly logger: Logger;
  private readonly agents: Map<string, AgentDefinition>;
  private readonly machine: SessionStateMachine;
  private readonly conversation: ConversationHistory;
  private readonly latency: LatencyTracker;
  private readonly running = new Map<string, RunningTool>();
  private readonly sessionController = new AbortController();
  private readonly detachHooks: () => void;
  private agentName: string;
  private active: ActiveTurn | undefined;
  private notifications: string[] = [];
  private readonly pipeline: VoicePipeline | undefined;
  private readonly speechPort: SpeechPort | undefined;
  private readonly mode: 'agent' | 'stream';
  private sayCounter = 0;
  private readonly memory: SessionMemory | undefined;

  constructor(options: VoiceSessionOptions) {
    if (!options || typeof options.userId !== 'string' || !options.userId) {
      throw new InvalidInputError('invalid_options', 'VoiceSession needs a non-empty userId');
    }
    if (!options.model) throw new InvalidInputError('invalid_options', 'VoiceSession needs a model');
    this.options = options;
    this.sessionId = options.sessionId ?? randomUUID();
    this.userId = options.userId;
    this.logger = options.logger ?? consoleLogger;
    this.agents = indexAgents(options.agents);
    const first = options.initialAgent ?? options.agents[0].name;
    if (!this.agents.has(first)) throw new AgentError('unknown_agent', `No agent named "${first}"`);
    this.agentName = first;
    this.eventBus = options.eventBus ?? new EventBus<EventMap>({ logger: this.logger });
    this.eventBus.setHandlerErrorListener((error, type) => {
      this.eventBus.publish('error', {
        sessionId: this.sessionId,
        component: 'event-bus',
        error: new ColloquyError('handler_failed', `A "${type}" handler threw`, { cause: error }),
        severity: 'warn',
      });
    });
    this.detachHooks = options.hooks ? attachHooks(this.eventBus, options.hooks, this.logger) : () => {};
    this.machine = new SessionStateMachine((fromState, toState) =>
      this.eventBus.publish('session.stateChange', { sessionId: this.sessionId, fromState, toState }),
    );
    this.conversation = new ConversationHistory(options.history, {
      onTrim: (removedCount, reason) =>
        this.eventBus.publish('history.trimmed', { sessionId: this.sessionId, removedCount, reason }),
      onAppend: (message) => this.eventBus.publish('history.append', { sessionId: this.sessionId, message }),
    });
    this.latency = new LatencyTracker(this.eventBus, this.sessionId);
    this.mode = options.mode ?? 'agent';
    this.memory = options.memory
      ? new SessionMemory(options.memory, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          userId: this.userId,
          model: options.model,
          onError: (err) => this.reportError('memory', err, 'error'),
        })
      : undefined;
    this.pipeline = options.audio
      ? createVoicePipeline(options.audio, {
          bus: this.eventBus,
          sessionId: this.sessionId,
          interrupt: (reason) => this.interrupt(reason),
          onUserTurn: (text) => {
            if (this.machine.is('closed')) return;
            this.commitUserSpeech(text).catch((err) => this.reportError('session', err, 'warn'));
          },
          history: () =>
            this.conversation.all
              .filter((m) => m.role === 'user' || m.role === 'assistant')
              .slice(-10)
              .map((m) => ({ role: m.role as 'user' | 'assistant', text: messageText(m) })),
        })
      : undefined;
    this.speechPort = options.speech ?? this.pipeline?.speech;
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
    return this.active?.id;
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
    if (muted) this.pipeline?.input?.mute();
    else this.pipeline?.input?.unmute();
  }

  /** End the user's spoken turn now instead of waiting for silence (push-to-talk release). */
  async commitAudioTurn(): Promise<void> {
    await this.pipeline?.input?.commitTurn();
  }

  /** Resolves when all audio pushed so far has been processed (VAD, STT). */
  async audioIdle(): Promise<void> {
    await this.pipeline?.input?.idle();
  }

  /**
   * Say `text` as the bot, queued FIFO behind anything already speaking (never interrupting). The
   * utterance enters history and publishes the normal speech events. Used by stream mode.
   */
  async speak(text: string): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    const turnId = `say_${++this.sayCounter}`;
    const speech = this.speechPort;
    const outcome = speech
      ? await speech.speak(turnId, clean, this.sessionController.signal)
      : { heardText: clean, interrupted: false, reason: undefined };
    const heard = outcome.heardText;
    if (heard.trim()) this.conversation.append({ role: 'assistant', content: heard });
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
    await this.memory?.ready;
  }

  private startSync(): void {
    if (this.machine.is('active', 'transferring', 'reconnecting')) return;
    if (this.machine.is('closed')) throw new SessionStateError('session_closed', 'The session is closed');
    this.machine.transition('connecting');
    this.memory?.load();
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
  sendText(text: string, options: { images?: UserImage[] } = {}): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    return this.beginTurn(clean, 'text', options.images);
  }

  /** Begin a turn from a final transcript (used by the audio pipeline). */
  commitUserSpeech(text: string, options: { images?: UserImage[] } = {}): Promise<TurnResult> {
    const clean = this.validateText(text);
    this.assertOpen();
    if (this.machine.is('created')) this.startSync();
    return this.beginTurn(clean, 'speech', options.images);
  }

  /** Stop the current turn (and its speech). No-op when idle. */
  interrupt(reason: InterruptReason = 'interrupted'): void {
    if (this.active) this.interruptActive(reason);
    else this.speechPort?.interrupt(reason);
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

  /** Replace the history (e.g. restored from storage). */
  setHistory(messages: ModelMessage[]): void {
    this.conversation.replace(messages);
  }

  /** Close the session: interrupts the turn, cancels background work, publishes `session.close`. */
  async close(reason = 'closed'): Promise<void> {
    if (this.machine.is('closed')) return;
    this.interruptActive('disconnected');
    this.speechPort?.interrupt('disconnected');
    this.pipeline?.input?.close();
    this.pipeline?.speech?.close();
    cancelRunningTools(this.eventBus, this.sessionId, this.running, () => true);
    this.sessionController.abort(new SessionStateError('session_closed', `Session closed: ${reason}`));
    this.machine.transition('closed');
    this.eventBus.publish('session.close', { sessionId: this.sessionId, reason });
    this.latency.dispose();
    await this.memory?.extract(this.conversation.all);
    this.detachHooks();
  }

  private reportError(component: string, err: unknown, severity: 'warn' | 'error' | 'fatal'): void {
    const error =
      err instanceof ColloquyError
        ? err
        : new ColloquyError(`${component}_failed`, String((err as Error)?.message ?? err), { cause: err });
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

  private beginTurn(
    userText: string | undefined,
    source: 'text' | 'speech',
    images?: UserImage[],
  ): Promise<TurnResult> {
    this.interruptActive(source === 'speech' ? 'user_speaking' : 'interrupted');
    const id = `turn_${++turnCounter}`;
    let resolve!: (r: TurnResult) => void;
    const done = new Promise<TurnResult>((r) => {
      resolve = r;
    });
    const turn: ActiveTurn = {
      id,
      controller: new AbortController(),
      agentName: this.agentName,
      text: '',
      inflight: '',
      pending: [],
      llmStreaming: false,
      resolve,
    };
    this.active = turn;
    this.eventBus.publish('turn.start', { sessionId: this.sessionId, turnId: id });
    if (userText !== undefined) {
      const hasImage = images !== undefined && images.length > 0;
      this.eventBus.publish('user.text', {
        sessionId: this.sessionId,
        turnId: id,
        text: userText,
        source,
        ...(hasImage ? { hasImage } : {}),
      });
      const stored: ModelMessage = { role: 'user', content: userText };
      if (hasImage) {
        const parts = images.map((i) => ({ type: 'image' as const, image: i.data, mediaType: i.mediaType }));
        turn.visual = {
          stored,
          sent: { role: 'user', content: [{ type: 'text', text: userText }, ...parts] },
        };
      }
      this.conversation.append(stored);
    }
    void this.runTurn(turn);
    return done;
  }

  private async runTurn(turn: ActiveTurn): Promise<void> {
    const { signal } = turn.controller;
    if (this.mode === 'stream') return this.endTurn(turn, undefined);
    const speech = this.speechPort?.beginResponse(turn.id, signal);
    turn.speech = speech;
    let error: ColloquyError | undefined;
    let passes = 0;
    try {
      await this.memory?.ready;
      while (!signal.aborted) {
        const agent = this.agents.get(turn.agentName)!;
        const transfer: { request?: TransferRequest } = {};
        turn.inflight = '';
        turn.llmStreaming = true;
        const result = await runLlmPass({
          bus: this.eventBus,
          sessionId: this.sessionId,
          turnId: turn.id,
          agentName: agent.name,
          model: agent.model ?? this.options.model,
          system: agent.instructions + (this.memory?.prompt() ?? ''),
          messages: [...withImages(turn, this.conversation.all), ...turn.pending],
          tools: buildTurnTools({
            agent,
            agents: this.agents,
            sharedTools: this.options.tools,
            model: this.options.model,
            bus: this.eventBus,
            sessionId: this.sessionId,
            turnId: turn.id,
            turnSignal: signal,
            sessionSignal: this.sessionController.signal,
            running: this.running,
            toolTimeoutMs: this.options.toolTimeoutMs ?? 10_000,
            transfer,
            onSubagentDone: (o) => this.onSubagentDone(o),
            onBackgroundResult: (r) => this.onBackgroundResult(r),
          }),
          stopWhen: [
            ...toArray(agent.stopWhen ?? this.options.stopWhen ?? stepCountIs(5)),
            () => transfer.request !== undefined,
          ],
          signal,
          sink: {
            pushText: (delta) => {
              turn.text += delta;
              turn.inflight += delta;
              speech?.pushText(delta);
            },
          },
          announcedToolCalls: new Set(),
          firstTokenTimeoutMs: this.options.llmFirstTokenTimeoutMs ?? 30_000,
        });
        if (result.outcome === 'abort' || signal.aborted) return;
        turn.llmStreaming = false;
        turn.pending.push(...result.stepMessages);
        const stepText = assistantText(result.stepMessages);
        turn.inflight = result.text.length > stepText.length ? result.text.slice(stepText.length) : '';
        if (result.outcome === 'error') {
          error = result.error;
          break;
        }
        if (!transfer.request || ++passes > 3) break;
        this.performTransfer(transfer.request.toAgent, transfer.request.reason);
        turn.agentName = this.agentName;
      }
      speech?.end();
      if (speech) await speech.done;
    } catch (err) {
      error =
        err instanceof ColloquyError ? err : new ColloquyError('turn_failed', String(err), { cause: err });
      this.reportError('session', error, 'error');
    }
    if (signal.aborted || this.active !== turn) return;
    this.endTurn(turn, error);
  }

  private endTurn(turn: ActiveTurn, error: ColloquyError | undefined): void {
    this.commitTurn(turn, turn.text.length);
    this.active = undefined;
    if (this.mode === 'stream') {
      this.latency.finish(turn.id);
      this.eventBus.publish('turn.end', { sessionId: this.sessionId, turnId: turn.id });
      turn.resolve({ turnId: turn.id, agentName: turn.agentName, text: '', interrupted: false });
      return;
    }
    this.eventBus.publish('assistant.text', {
      sessionId: this.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: turn.text,
      interrupted: false,
    });
    this.latency.finish(turn.id);
    this.eventBus.publish('turn.end', { sessionId: this.sessionId, turnId: turn.id });
    turn.resolve({
      turnId: turn.id,
      agentName: turn.agentName,
      text: turn.text,
      interrupted: false,
      ...(error ? { error } : {}),
    });
    this.flushNotifications();
  }

  private commitTurn(turn: ActiveTurn, heardLength: number): void {
    const messages = truncateToHeard(turn.pending, turn.inflight, heardLength);
    turn.pending = [];
    turn.inflight = '';
    if (messages.length) this.conversation.append(...messages);
  }

  private interruptActive(reason: InterruptReason): void {
    const turn = this.active;
    if (!turn) return;
    this.active = undefined;
    const outcome = turn.speech ? this.speechPort?.interrupt(reason) : undefined;
    const heard = outcome && outcome.turnId === turn.id ? outcome.heardText : turn.text;
    turn.controller.abort(new ColloquyError('turn_interrupted', `Turn interrupted: ${reason}`));
    if (turn.llmStreaming) {
      this.eventBus.publish('llm.end', { sessionId: this.sessionId, turnId: turn.id, outcome: 'abort' });
    }
    cancelRunningTools(
      this.eventBus,
      this.sessionId,
      this.running,
      (t) => t.turnId === turn.id && t.execution === 'inline',
      turn.id,
    );
    this.commitTurn(turn, heard.length);
    this.eventBus.publish('assistant.text', {
      sessionId: this.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: heard,
      interrupted: true,
    });
    this.latency.finish(turn.id);
    this.eventBus.publish('turn.interrupted', { sessionId: this.sessionId, turnId: turn.id, reason });
    turn.resolve({ turnId: turn.id, agentName: turn.agentName, text: heard, interrupted: true, reason });
  }

  private performTransfer(toAgent: string, reason?: string): void {
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

  private onBackgroundResult(r: BackgroundToolResult): void {
    const body = typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
    this.notify(`[Background tool "${r.toolName}" (${r.toolCallId}) finished with ${r.status}: ${body}]`);
  }

  private onSubagentDone(o: SubagentOutcome): void {
    if (o.event === 'cancelled') return;
    this.notify(
      `[Subagent "${o.subagentName}" ${o.event === 'completed' ? 'finished' : 'failed'}: ${o.text}]`,
    );
  }

  /** Background results enter history; the agent announces them once no turn is running. */
  private notify(text: string): void {
    if (this.machine.is('closed')) return;
    this.notifications.push(text);
    if (!this.active) this.flushNotifications();
  }

  private flushNotifications(): void {
    if (this.notifications.length === 0 || this.active || this.machine.is('closed')) return;
    const text = this.notifications.join('\n');
    this.notifications = [];
    this.conversation.append({ role: 'user', content: text });
    if (this.options.announceBackgroundResults ?? true) void this.beginTurn(undefined, 'text');
  }
}

/** The turn's own user message with its images, in place of the text-only one history keeps. */
function withImages(turn: ActiveTurn, messages: ModelMessage[]): ModelMessage[] {
  const visual = turn.visual;
  return visual ? messages.map((m) => (m === visual.stored ? visual.sent : m)) : messages;
}

function toArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}
