/**
 * Runs a session on a realtime speech-to-speech model: the session's side of it. The provider
 * connection and its lifecycle (goAway, resumption or replay, backoff) are `RealtimeLink`'s;
 * conversation events become turns in `RealtimeTurns`. Here: start (`connecting` → provider ready
 * → `active`, `session.start`, `agent.enter`), user audio (resampled, held while connecting),
 * typed turns, `speak`, tools (results back to the provider), transfers (a live session update or
 * a new connection) and background notifications. A fatal provider error closes the session.
 */
import type { ToolSet } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import { StreamingResampler } from '../audio/resample.ts';
import type { InterruptReason } from '../bus/events.ts';
import {
  type ColloquyErrorCode,
  InvalidInputError,
  isColloquyError,
  ProviderError,
  SessionStateError,
} from '../errors.ts';
import type {
  RealtimeConnection,
  RealtimeEvent,
  RealtimeModel,
  RealtimeSessionConfig,
} from '../providers/realtime/types.ts';
import { type BackgroundToolResult, cancelRunningTools } from '../tools/tool-runner.ts';
import { buildSessionConfig, type RealtimeRunnerHost } from './realtime-config.ts';
import { RealtimeLink } from './realtime-link.ts';
import { runRealtimeToolCall } from './realtime-tools.ts';
import { DEFAULT_MAX_AUDIO_AHEAD_MS, RealtimeTurns } from './realtime-turns.ts';
import type { TurnResult, UserInputOptions } from './session-options.ts';
import { buildTurnTools } from './turn-tools.ts';

/** Audio held while the provider connection opens (at most ~2 s of 20 ms frames). */
const MAX_PENDING_FRAMES = 100;

export class RealtimeRunner {
  /** The model of the current agent (an agent may name its own). */
  private model: RealtimeModel;

  /** The adopted provider connection. */
  private get conn(): RealtimeConnection | undefined {
    return this.link.conn;
  }
  private readonly turns: RealtimeTurns;
  private readonly link: RealtimeLink;
  private started: Promise<void> | undefined;
  private closed = false;
  private pendingAudio: Int16Array[] = [];
  /** Local-VAD speech found before the connection existed (`turnDetection: 'local'`): replayed on connect. */
  private heldSpeech: 'speaking' | 'spoken' | undefined;
  private resampler: { rate: number; r: StreamingResampler | undefined } | undefined;
  private notifications: string[] = [];
  /** The `speak` calls queued so far (each waits for the one before). */
  private saying: Promise<unknown> = Promise.resolve();
  private readonly offs: Array<() => void> = [];

  constructor(private readonly h: RealtimeRunnerHost) {
    this.model = h.agents.get(h.currentAgent())?.realtime ?? h.realtime.model;
    this.link = new RealtimeLink({
      session: h,
      model: () => this.model,
      config: (history) => this.sessionConfig(history),
      onEvent: (e) => this.onEvent(e),
      connectionLost: () => this.turns.connectionLost(),
      activeTurn: () => this.turns.active,
      reconnected: () => this.flushPendingAudio(),
      fail: (err, code) => this.fail(err, code),
    });
    this.turns = new RealtimeTurns({
      bus: h.bus,
      sessionId: h.sessionId,
      conversation: h.conversation,
      latency: h.latency,
      modelId: () => this.model.modelId,
      outputSampleRate: () => this.model.outputSampleRate,
      currentAgent: () => h.currentAgent(),
      connection: () => this.conn,
      beginAudio: (turnId, signal) =>
        h.speech?.beginAudioResponse(turnId, signal, this.model.outputSampleRate),
      stopSpeech: (reason) => {
        h.speech?.interrupt(reason);
      },
      runTool: (turnId, callId, name, args, signal) => this.runTool(turnId, callId, name, args, signal),
      cancelTools: (turnId, ids) =>
        cancelRunningTools(
          h.bus,
          h.sessionId,
          h.running,
          (t) => (ids ? ids.includes(t.id) : t.turnId === turnId && t.execution === 'inline'),
          turnId,
        ),
      onIdle: () => this.onIdle(),
      maxAudioAheadMs: h.realtime.maxAudioAheadMs ?? DEFAULT_MAX_AUDIO_AHEAD_MS,
    });
    if (h.realtime.turnDetection === 'local') {
      this.offs.push(
        h.bus.subscribe('user.speech.start', () => {
          // Before the connection is open the speech is held with its audio, and replayed then.
          if (!this.conn) {
            this.heldSpeech = 'speaking';
            return;
          }
          this.turns.begin('user_speaking');
          this.conn.startInput();
        }),
        h.bus.subscribe('user.speech.stop', () => {
          if (!this.conn) {
            if (this.heldSpeech === 'speaking') this.heldSpeech = 'spoken';
            return;
          }
          this.conn.commitInput();
        }),
      );
    }
  }

  /** Connects; the session becomes active when the provider is ready. */
  start(): Promise<void> {
    this.started ??= this.link.connect(false).then(
      () => {
        this.h.transition('active');
        this.h.bus.publish('session.start', {
          sessionId: this.h.sessionId,
          userId: this.h.userId,
          agentName: this.h.currentAgent(),
        });
        this.h.bus.publish('agent.enter', { sessionId: this.h.sessionId, agentName: this.h.currentAgent() });
        this.flushPendingAudio();
      },
      (err) => this.fail(err, 'realtime_connect_failed'),
    );
    return this.started;
  }

  /** User audio at any supported rate; resampled to the model's input rate. */
  pushAudio(frame: Int16Array, sampleRate: number): void {
    if (this.closed) return;
    if (this.resampler?.rate !== sampleRate) {
      const target = this.model.inputSampleRate;
      this.resampler = {
        rate: sampleRate,
        r: sampleRate === target ? undefined : new StreamingResampler(sampleRate, target),
      };
    }
    const pcm = this.resampler.r ? this.resampler.r.process(frame) : frame;
    if (pcm.length === 0) return;
    if (this.conn?.open && !this.link.reconnecting) this.conn.sendAudio(pcm);
    else if (this.pendingAudio.length < MAX_PENDING_FRAMES) this.pendingAudio.push(pcm.slice());
  }

  /** The turn running now, if any. */
  get activeTurnId(): string | undefined {
    return this.turns.active?.id;
  }

  /**
   * A user turn given as text (`speech`: the transcript of a recorded utterance); resolves when the
   * turn ends or is interrupted.
   */
  async sendText(
    text: string,
    input: UserInputOptions = {},
    source: 'text' | 'speech' = 'text',
  ): Promise<TurnResult> {
    if (input.images?.length) {
      throw new InvalidInputError('invalid_argument', 'A realtime session takes no images with a turn');
    }
    await this.start();
    if (this.link.reconnecting) await this.link.reconnecting;
    const turnId = this.turns.text(text, source);
    this.h.latency.setInput(turnId, input);
    return this.waitTurn(turnId);
  }

  /**
   * The model says `text` as its own turn (the greeting, an announcement): queued behind the turn
   * running now and earlier `speak` calls, never interrupting; resolves when the turn ends.
   */
  speak(text: string): Promise<TurnResult> {
    const run = this.saying.then(async () => {
      await this.start();
      await this.idle();
      if (this.closed) throw new SessionStateError('session_closed', 'The session is closed');
      return this.waitTurn(this.turns.say(text));
    });
    this.saying = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no turn runs and no reconnect is under way (or the runner closed). */
  private async idle(): Promise<void> {
    while (!this.closed && (this.turns.active || this.link.reconnecting)) {
      const reconnecting = this.link.reconnecting;
      if (reconnecting) {
        await reconnecting;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          for (const off of offs) off();
          resolve();
        };
        const offs = [this.h.bus.subscribe('turn.end', done), this.h.bus.subscribe('turn.interrupted', done)];
      });
    }
  }

  /** Manual turn end (push-to-talk release) in local mode. */
  commit(): void {
    this.conn?.commitInput();
  }

  interrupt(reason: InterruptReason): void {
    if (this.turns.active) this.turns.interrupt(reason);
    else this.h.speech?.interrupt(reason);
  }

  /** Moves the conversation to another agent: a live session update, or a reconnect. */
  transfer(toAgent: string, reason?: string): void {
    const fromAgent = this.h.currentAgent();
    this.h.transition('transferring');
    this.h.bus.publish('agent.exit', { sessionId: this.h.sessionId, agentName: fromAgent });
    this.h.bus.publish('agent.transfer', {
      sessionId: this.h.sessionId,
      fromAgent,
      toAgent,
      ...(reason ? { reason } : {}),
    });
    this.h.setAgent(toAgent);
    void this.applyAgent(toAgent, fromAgent).then(() => {
      if (this.closed) return;
      if (this.h.state() === 'transferring') this.h.transition('active');
      this.h.bus.publish('agent.enter', { sessionId: this.h.sessionId, agentName: toAgent });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.turns.interrupt('disconnected');
    for (const off of this.offs) off();
    this.link.close();
  }

  // ── connection ──────────────────────────────────────────────────────────────────

  /** The provider config of the current agent with its tools. */
  private sessionConfig(
    history: { resumeHandle: string } | { replay: boolean },
  ): Promise<RealtimeSessionConfig> {
    const agent = this.h.agents.get(this.h.currentAgent())!;
    const tools = this.toolsFor(agent, '', new AbortController().signal, { request: undefined });
    return buildSessionConfig(this.h, agent, tools, history);
  }

  private onEvent(e: Exclude<RealtimeEvent, { type: 'error' | 'closed' | 'goaway' | 'resumption' }>): void {
    if (e.type === 'context-compacted') {
      this.h.bus.publish('context.compact', {
        sessionId: this.h.sessionId,
        removedItems: e.removedItems,
        ...(e.removedTokens !== undefined ? { removedTokens: e.removedTokens } : {}),
      });
      return;
    }
    this.turns.handle(e);
  }

  private flushPendingAudio(): void {
    const held = this.heldSpeech;
    this.heldSpeech = undefined;
    if (held !== undefined && this.conn) {
      this.turns.begin('user_speaking');
      this.conn.startInput();
    }
    for (const frame of this.pendingAudio) this.conn?.sendAudio(frame);
    this.pendingAudio = [];
    if (held === 'spoken') this.conn?.commitInput();
  }

  private fail(err: unknown, code: ColloquyErrorCode): void {
    if (this.closed) return;
    const error = isColloquyError(err)
      ? err
      : new ProviderError(code, String((err as Error)?.message ?? err), { cause: err });
    this.h.reportError('realtime', error, 'fatal');
    this.close();
    this.h.close('realtime_failed');
  }

  private onIdle(): void {
    this.link.onIdle();
    this.flushNotifications();
  }

  // ── tools and transfer ──────────────────────────────────────────────────────────

  private toolsFor(
    agent: AgentDefinition,
    turnId: string,
    signal: AbortSignal,
    transfer: { request?: { toAgent: string; reason?: string } | undefined },
  ): ToolSet {
    return buildTurnTools({
      agent,
      agents: this.h.agents,
      sharedTools: this.h.options.tools,
      model: this.h.options.model,
      bus: this.h.bus,
      sessionId: this.h.sessionId,
      turnId,
      turnSignal: signal,
      sessionSignal: this.h.sessionSignal,
      running: this.h.running,
      channels: this.h.channels,
      ...(this.h.subagentUi ? { subagentUi: this.h.subagentUi } : {}),
      toolTimeoutMs: this.h.options.toolTimeoutMs ?? 10_000,
      transfer: transfer as { request?: { toAgent: string; reason?: string } },
      onSubagentDone: (o) => {
        if (o.event !== 'cancelled')
          this.notify(
            `[Subagent "${o.subagentName}" ${o.event === 'completed' ? 'finished' : 'failed'}: ${o.text}]`,
          );
      },
      onBackgroundResult: (res) => this.onBackgroundResult(res),
    });
  }

  /** Runs a call; true when its result went to the model (which will answer it). */
  private async runTool(
    turnId: string,
    callId: string,
    name: string,
    argumentsJson: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    const agent = this.h.agents.get(this.h.currentAgent())!;
    const transfer: { request?: { toAgent: string; reason?: string } } = {};
    const tools = this.toolsFor(agent, turnId, signal, transfer);
    const conn = this.conn;
    const result = await runRealtimeToolCall(
      tools,
      { callId, name, argumentsJson },
      { bus: this.h.bus, sessionId: this.h.sessionId, agentName: agent.name, turnId },
      signal,
    );
    if (result === 'cancelled' || this.closed) return false;
    const request = transfer.request;
    if (request) {
      this.transfer(request.toAgent, request.reason);
      if (!this.model.capabilities.liveUpdate) return false; // the new connection starts the new agent's turn
    }
    // A result for a call made on a connection that has since been replaced cannot be delivered.
    if (conn !== this.conn || !this.conn) return false;
    this.conn.sendToolResult(callId, name, result);
    return true;
  }

  private async applyAgent(toAgent: string, fromAgent: string): Promise<void> {
    const model = this.h.agents.get(toAgent)?.realtime ?? this.h.realtime.model;
    const config = await this.sessionConfig({ replay: false });
    if (
      model === this.model &&
      this.conn &&
      this.model.capabilities.liveUpdate &&
      this.conn.updateSession(config)
    )
      return;
    if (model !== this.model) {
      // Another provider or model: a fresh connection that replays the conversation.
      this.model = model;
      this.link.forgetHandle();
      this.resampler = undefined;
    }
    // The provider needs a new connection for the new agent: resume (or replay), then let it speak.
    this.turns.interrupt('interrupted');
    await this.link.reconnect();
    this.conn?.sendText(
      `[The conversation was transferred from ${fromAgent} to you (${toAgent}). Continue helping the user.]`,
    );
  }

  private onBackgroundResult(r: BackgroundToolResult): void {
    const body = typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
    this.notify(`[Background tool "${r.toolName}" (${r.toolCallId}) finished with ${r.status}: ${body}]`);
  }

  /** Background results that arrived and wait to be announced. */
  get queuedNotifications(): string[] {
    return [...this.notifications];
  }

  notify(text: string): void {
    if (this.closed) return;
    this.notifications.push(text);
    if (!this.turns.active) this.flushNotifications();
  }

  private flushNotifications(): void {
    if (this.notifications.length === 0 || this.turns.active || !this.conn || this.closed) return;
    const text = this.notifications.join('\n');
    this.notifications = [];
    this.h.conversation.append({ role: 'user', content: text });
    if (this.h.options.announceBackgroundResults ?? true) this.conn.sendText(text);
  }

  private waitTurn(turnId: string): Promise<TurnResult> {
    return new Promise((resolve) => {
      const offs = [
        this.h.bus.subscribe('assistant.text', (p) => {
          if (p.turnId !== turnId) return;
          for (const off of offs) off();
          resolve({ turnId, agentName: p.agentName, text: p.text, interrupted: p.interrupted });
        }),
      ];
    });
  }
}
