/**
 * Runs a session on a realtime speech-to-speech model: owns the provider connection and its
 * lifecycle, and hands conversation events to `RealtimeTurns`.
 *
 * Connection lifecycle (the session's state machine follows it):
 * - start: `connecting` → provider ready → `active`, `session.start`, `agent.enter`.
 * - goAway (Gemini), or the provider's connection cap approaching (OpenAI, `goAwayLeadMs` ahead):
 *   `session.goaway {timeLeft}`, then a reconnect as soon as no response or tool call is running.
 * - reconnect (after goAway, an unexpected close, or an agent transfer the provider cannot apply
 *   live): `reconnecting`; Gemini resumes with the newest resumable handle (`session.resume
 *   {handle}`), OpenAI (no resumption) replays the conversation as text (`context.compact` when
 *   older items had to be left out). Backoff between attempts; three failures in a row are fatal.
 * - fatal provider errors (bad key, no quota, refused setup) close the session.
 */
import type { ToolSet } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import { StreamingResampler } from '../audio/resample.ts';
import type { InterruptReason } from '../bus/events.ts';
import {
  type ColloquyErrorCode,
  isColloquyError,
  ProviderError,
  SessionStateError,
  toColloquyError,
} from '../errors.ts';
import { RealtimeConnectError } from '../providers/realtime/realtime-socket.ts';
import type {
  RealtimeConnection,
  RealtimeErrorSeverity,
  RealtimeEvent,
  RealtimeModel,
  RealtimeSessionConfig,
} from '../providers/realtime/types.ts';
import { type BackgroundToolResult, cancelRunningTools } from '../tools/tool-runner.ts';
import { buildSessionConfig, type RealtimeRunnerHost } from './realtime-config.ts';
import { runRealtimeToolCall } from './realtime-tools.ts';
import { RealtimeTurns } from './realtime-turns.ts';
import type { TurnResult, UserInputOptions } from './session-options.ts';
import { buildTurnTools } from './turn-tools.ts';

/** Audio held while the provider connection opens (at most ~2 s of 20 ms frames). */
const MAX_PENDING_FRAMES = 100;

export class RealtimeRunner {
  /** The model of the current agent (an agent may name its own). */
  private model: RealtimeModel;
  private readonly turns: RealtimeTurns;
  private conn: RealtimeConnection | undefined;
  private generation = 0;
  /** The generation whose connection is adopted (events of a connection still being set up are its connect()'s). */
  private adopted = 0;
  private handle: string | undefined;
  private failures = 0;
  private goAwayPending = false;
  private goAwayTimer: ReturnType<typeof setTimeout> | undefined;
  private capTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnecting: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private closed = false;
  private pendingAudio: Int16Array[] = [];
  private resampler: { rate: number; r: StreamingResampler | undefined } | undefined;
  private notifications: string[] = [];
  /** The `speak` calls queued so far (each waits for the one before). */
  private saying: Promise<unknown> = Promise.resolve();
  private readonly offs: Array<() => void> = [];

  constructor(private readonly h: RealtimeRunnerHost) {
    this.model = h.agents.get(h.currentAgent())?.realtime ?? h.realtime.model;
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
    });
    if (h.realtime.turnDetection === 'local') {
      this.offs.push(
        h.bus.subscribe('user.speech.start', () => {
          if (!this.conn) return;
          this.turns.begin('user_speaking');
          this.conn.startInput();
        }),
        h.bus.subscribe('user.speech.stop', () => this.conn?.commitInput()),
      );
    }
  }

  /** Connects; the session becomes active when the provider is ready. */
  start(): Promise<void> {
    this.started ??= this.connect(false).then(
      () => {
        this.h.transition('active');
        this.h.bus.publish('session.start', {
          sessionId: this.h.sessionId,
          userId: this.h.userId,
          agentName: this.h.currentAgent(),
        });
        this.h.bus.publish('agent.enter', { sessionId: this.h.sessionId, agentName: this.h.currentAgent() });
        for (const frame of this.pendingAudio) this.conn?.sendAudio(frame);
        this.pendingAudio = [];
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
    if (this.conn?.open && !this.reconnecting) this.conn.sendAudio(pcm);
    else if (this.pendingAudio.length < MAX_PENDING_FRAMES) this.pendingAudio.push(pcm.slice());
  }

  /** A typed user turn; resolves when the turn ends or is interrupted. */
  async sendText(text: string, input: UserInputOptions = {}): Promise<TurnResult> {
    await this.start();
    if (this.reconnecting) await this.reconnecting;
    const turnId = this.turns.text(text);
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
    while (!this.closed && (this.turns.active || this.reconnecting)) {
      if (this.reconnecting) {
        await this.reconnecting;
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
    this.clearTimers();
    for (const off of this.offs) off();
    this.generation++;
    this.conn?.close();
    this.conn = undefined;
  }

  // ── connection ──────────────────────────────────────────────────────────────────

  private sessionConfig(withHistory: boolean): Promise<RealtimeSessionConfig> {
    const agent = this.h.agents.get(this.h.currentAgent())!;
    const tools = this.toolsFor(agent, '', new AbortController().signal, { request: undefined });
    const resume = withHistory && this.model.capabilities.resumption ? this.handle : undefined;
    return buildSessionConfig(
      this.h,
      agent,
      tools,
      resume ? { resumeHandle: resume } : { replay: withHistory },
    );
  }

  private async connect(withHistory: boolean): Promise<void> {
    const config = await this.sessionConfig(withHistory);
    const gen = ++this.generation;
    const conn = await this.model.connect(config, {
      onEvent: (e) => this.onEvent(gen, e),
      signal: this.h.sessionSignal,
      timeoutMs: this.h.realtime.connectTimeoutMs ?? 15_000,
    });
    if (this.closed || gen !== this.generation) {
      conn.close();
      return;
    }
    const old = this.conn;
    this.conn = conn;
    this.adopted = gen;
    old?.close();
    this.failures = 0;
    this.goAwayPending = false;
    this.armCap();
    if (config.resumeHandle)
      this.h.bus.publish('session.resume', { sessionId: this.h.sessionId, handle: config.resumeHandle });
  }

  private onEvent(gen: number, e: RealtimeEvent): void {
    if (gen !== this.generation || gen !== this.adopted || this.closed) return;
    switch (e.type) {
      case 'error':
        this.onProviderError(e.error, e.severity);
        return;
      case 'closed':
        if (e.expected) return;
        this.turns.connectionLost();
        void this.reconnect();
        return;
      case 'goaway':
        this.onGoAway(e.timeLeftMs);
        return;
      case 'resumption':
        this.handle = e.handle;
        return;
      case 'context-compacted':
        this.h.bus.publish('context.compact', {
          sessionId: this.h.sessionId,
          removedItems: e.removedItems,
          ...(e.removedTokens !== undefined ? { removedTokens: e.removedTokens } : {}),
        });
        return;
      default:
        this.turns.handle(e);
    }
  }

  private onProviderError(error: ProviderError, severity: RealtimeErrorSeverity): void {
    if (severity === 'fatal') {
      this.fail(error, error.code);
      return;
    }
    // A close is reported as an error, then `closed` reconnects: say it once, as a warning.
    this.h.reportError(
      'realtime',
      error,
      severity === 'harmless' || error.code === 'realtime_closed' ? 'warn' : 'error',
    );
  }

  private onGoAway(timeLeftMs: number): void {
    this.h.bus.publish('session.goaway', { sessionId: this.h.sessionId, timeLeft: timeLeftMs });
    this.goAwayPending = true;
    // Reconnect at the next quiet moment; past the deadline, at once unless a tool call is open.
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    this.goAwayTimer = setTimeout(() => this.reconnectAfterGoAway(true), Math.max(0, timeLeftMs - 2000));
    this.goAwayTimer.unref?.();
    this.reconnectAfterGoAway(false);
  }

  private reconnectAfterGoAway(deadline: boolean): void {
    if (!this.goAwayPending || this.reconnecting || this.closed) return;
    const turn = this.turns.active;
    if (turn && turn.toolsPending > 0) return; // never mid tool call: its result goes to this connection
    if (turn?.responding && !deadline) return;
    void this.reconnect();
  }

  private armCap(): void {
    if (this.capTimer) clearTimeout(this.capTimer);
    const cap = this.h.realtime.maxConnectionMs ?? this.model.capabilities.maxConnectionMs;
    if (cap === undefined) return;
    const lead = Math.min(this.h.realtime.goAwayLeadMs ?? 60_000, cap);
    this.capTimer = setTimeout(() => this.onGoAway(lead), cap - lead);
    this.capTimer.unref?.();
  }

  /** Reconnects with backoff; three failed attempts in a row are fatal. */
  private reconnect(): Promise<void> {
    this.reconnecting ??= this.reconnectLoop().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async reconnectLoop(): Promise<void> {
    if (this.h.state() === 'active') this.h.transition('reconnecting');
    const r = this.h.realtime.reconnect ?? {};
    const maxFailures = r.maxFailures ?? 3;
    while (!this.closed) {
      try {
        await this.connect(true);
        if (this.h.state() === 'reconnecting') this.h.transition('active');
        for (const frame of this.pendingAudio) this.conn?.sendAudio(frame);
        this.pendingAudio = [];
        return;
      } catch (err) {
        const error = toColloquyError(err, 'realtime_reconnect_failed');
        if (this.handle && !(err instanceof RealtimeConnectError)) {
          // The provider refused the resumption (an expired or unknown handle): start afresh with the history.
          this.h.reportError(
            'realtime',
            new ProviderError('realtime_resume_rejected', `Resumption refused: ${error.message}`, {
              cause: err,
            }),
            'warn',
          );
          this.handle = undefined;
        }
        const fatal = err instanceof RealtimeConnectError && err.severity === 'fatal';
        if (fatal || ++this.failures >= maxFailures) {
          this.fail(
            new ProviderError(
              'realtime_reconnect_failed',
              `Could not reconnect to ${this.model.provider} (${this.failures} attempts): ${error.message}`,
              { cause: err },
            ),
            'realtime_reconnect_failed',
          );
          return;
        }
        this.h.reportError('realtime', error, 'warn');
        const delay = Math.min(r.maxDelayMs ?? 4000, (r.initialDelayMs ?? 250) * 2 ** (this.failures - 1));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
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

  private clearTimers(): void {
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    if (this.capTimer) clearTimeout(this.capTimer);
  }

  private onIdle(): void {
    if (this.goAwayPending) this.reconnectAfterGoAway(false);
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
    const config = await this.sessionConfig(false);
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
      this.handle = undefined;
      this.resampler = undefined;
    }
    // The provider needs a new connection for the new agent: resume (or replay), then let it speak.
    this.turns.interrupt('interrupted');
    await this.reconnect();
    this.conn?.sendText(
      `[The conversation was transferred from ${fromAgent} to you (${toAgent}). Continue helping the user.]`,
    );
  }

  private onBackgroundResult(r: BackgroundToolResult): void {
    const body = typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
    this.notify(`[Background tool "${r.toolName}" (${r.toolCallId}) finished with ${r.status}: ${body}]`);
  }

  private notify(text: string): void {
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
