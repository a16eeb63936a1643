/**
 * The turn lifecycle of a session: begin a turn (interrupting the running one), run its LLM passes
 * (with transfers) and speech, end it, or cut it short — keeping history to what was heard — and
 * announce background results when no turn runs.
 *
 * Interruption ordering (tested): when a turn is cut short, it publishes, synchronously and in this
 * order: `speech.interrupted` + `bot.speaking.stop` (if speaking), `llm.end {outcome:'abort'}` (if the
 * LLM was streaming), `tool.cancel` then one `tool.result {status:'cancelled'}` per running inline
 * tool, `assistant.text {interrupted:true}`, `turn.latency`, `turn.interrupted`. Nothing carrying that
 * turn's id is published afterwards; the next turn's `turn.start` comes after. Likewise `turn.end` is
 * the last event of a turn that completes.
 *
 * Spoken turns start when the user begins speaking (`speechStarted`): `turn.start` is published
 * then, and the transcript committed later (`begin(text, 'speech')`) continues that turn with the
 * same id. Turns never overlap: speech that starts while a turn runs opens its turn right after that
 * turn ends (barge-in: after its `turn.interrupted`). A spoken turn whose speech yields no transcript
 * ends with `turn.end {abandoned: true}` (no user text, no model call, no latency); one cut by a typed
 * message or by closing the session ends with `turn.interrupted`.
 */
import { type ModelMessage, stepCountIs } from 'ai';
import type { AgentDefinition } from '../agents/agent.ts';
import type { SubagentOutcome } from '../agents/subagent.ts';
import type { SubagentUi } from '../agents/subagent-ui.ts';
import type { TransferRequest } from '../agents/transfer.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { InterruptReason } from '../bus/events.ts';
import { ColloquyError, type ErrorSeverity, isColloquyError } from '../errors.ts';
import { type BackgroundToolResult, cancelRunningTools, type RunningTool } from '../tools/tool-runner.ts';
import type { ClientChannels } from './client-channels.ts';
import { assistantText, truncateToHeard } from './heard.ts';
import type { ConversationHistory } from './history.ts';
import type { LatencyTracker } from './latency.ts';
import type { SessionMemory } from './session-memory.ts';
import type { ActiveTurn, TurnResult, UserInputOptions, VoiceSessionOptions } from './session-options.ts';
import type { SpeechPort } from './speech-port.ts';
import { runLlmPass } from './turn.ts';
import { buildTurnTools } from './turn-tools.ts';

/** What the turn runner needs from its session. */
export interface TurnHost {
  readonly bus: SessionEventBus;
  readonly sessionId: string;
  readonly options: VoiceSessionOptions;
  readonly agents: Map<string, AgentDefinition>;
  readonly conversation: ConversationHistory;
  readonly latency: LatencyTracker;
  readonly memory: SessionMemory | undefined;
  readonly speech: SpeechPort | undefined;
  readonly running: Map<string, RunningTool>;
  readonly sessionSignal: AbortSignal;
  readonly mode: 'agent' | 'stream';
  readonly channels: ClientChannels;
  readonly subagentUi?: SubagentUi;
  currentAgent(): string;
  transfer(toAgent: string, reason?: string): void;
  isClosed(): boolean;
  reportError(component: string, err: unknown, severity: ErrorSeverity): void;
}

let turnCounter = 0;

export class TurnRunner {
  private current: ActiveTurn | undefined;
  private notifications: string[] = [];
  /** A spoken turn that started at speech start and waits for its transcript. */
  private opened: string | undefined;
  /** The user began speaking while a turn ran: their turn opens once that one ends. */
  private speechWaiting = false;

  constructor(private readonly h: TurnHost) {}

  /** The running turn, if any. */
  get active(): ActiveTurn | undefined {
    return this.current;
  }

  /** The user began speaking (VAD): their turn starts now, or once the running turn ends. */
  speechStarted(): void {
    if (this.opened !== undefined || this.h.isClosed()) return;
    if (this.current) this.speechWaiting = true;
    else this.openSpoken();
  }

  /** The user's speech ended without a transcript: the spoken turn ends, abandoned. */
  speechAbandoned(): void {
    this.speechWaiting = false;
    const id = this.opened;
    if (id === undefined) return;
    this.opened = undefined;
    this.h.latency.discard(id);
    this.h.bus.publish('turn.end', { sessionId: this.h.sessionId, turnId: id, abandoned: true });
    this.flushNotifications();
  }

  /** The session closes: the running turn and a spoken turn waiting for its transcript end interrupted. */
  close(): void {
    this.speechWaiting = false;
    this.cut('disconnected');
    this.dropOpened('disconnected');
  }

  begin(
    userText: string | undefined,
    source: 'text' | 'speech',
    input: UserInputOptions = {},
  ): Promise<TurnResult> {
    const { images } = input;
    let id: string;
    if (source === 'speech') {
      this.cut('user_speaking');
      // The turn began when the user started speaking (opened now if the cut turn kept it waiting).
      id = this.opened ?? this.openSpoken();
      this.opened = undefined;
      this.speechWaiting = false;
    } else {
      this.cut('interrupted');
      this.dropOpened('interrupted');
      id = this.publishStart();
    }
    let resolve!: (r: TurnResult) => void;
    const done = new Promise<TurnResult>((r) => {
      resolve = r;
    });
    const turn: ActiveTurn = {
      id,
      controller: new AbortController(),
      agentName: this.h.currentAgent(),
      text: '',
      inflight: '',
      pending: [],
      llmStreaming: false,
      resolve,
    };
    this.current = turn;
    if (userText !== undefined) {
      const hasImage = images !== undefined && images.length > 0;
      this.h.bus.publish('user.text', {
        sessionId: this.h.sessionId,
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
      this.h.conversation.append(stored);
    }
    this.h.latency.setInput(id, input);
    void this.runTurn(turn);
    return done;
  }

  private async runTurn(turn: ActiveTurn): Promise<void> {
    if (this.h.mode === 'stream') return this.endTurn(turn, undefined);
    // The turn's signal is made only for what needs one (a running tool): creating an AbortSignal
    // costs Node tens of microseconds. Speech needs none: `cut` ends it with `speech.interrupt`
    // before anything else. A cut turn is no longer `current` (see `cut`).
    const cut = () => this.current !== turn;
    const speech = this.h.speech?.beginResponse(turn.id);
    turn.speech = speech;
    let error: ColloquyError | undefined;
    let passes = 0;
    try {
      await this.h.memory?.ready;
      while (!cut()) {
        const agent = this.h.agents.get(turn.agentName)!;
        const transfer: { request?: TransferRequest } = {};
        turn.inflight = '';
        turn.llmStreaming = true;
        const controller = new AbortController();
        turn.llm = controller;
        const result = await runLlmPass({
          bus: this.h.bus,
          sessionId: this.h.sessionId,
          turnId: turn.id,
          agentName: agent.name,
          model: agent.model ?? this.h.options.model,
          system: agent.instructions + (this.h.memory?.prompt() ?? ''),
          messages: [...withImages(turn, this.h.conversation.all), ...turn.pending],
          tools: buildTurnTools({
            agent,
            agents: this.h.agents,
            sharedTools: this.h.options.tools,
            model: this.h.options.model,
            bus: this.h.bus,
            sessionId: this.h.sessionId,
            turnId: turn.id,
            get turnSignal() {
              return turn.controller.signal;
            },
            sessionSignal: this.h.sessionSignal,
            running: this.h.running,
            toolTimeoutMs: this.h.options.toolTimeoutMs ?? 10_000,
            transfer,
            onSubagentDone: (o) => this.onSubagentDone(o),
            onBackgroundResult: (r) => this.onBackgroundResult(r),
            channels: this.h.channels,
            ...(this.h.subagentUi ? { subagentUi: this.h.subagentUi } : {}),
          }),
          stopWhen: [
            ...toArray(agent.stopWhen ?? this.h.options.stopWhen ?? stepCountIs(5)),
            () => transfer.request !== undefined,
          ],
          controller,
          cut,
          sink: {
            pushText: (delta) => {
              turn.text += delta;
              turn.inflight += delta;
              speech?.pushText(delta);
            },
          },
          firstTokenTimeoutMs: this.h.options.llmFirstTokenTimeoutMs ?? 30_000,
          stallTimeoutMs: this.h.options.llmStallTimeoutMs ?? 30_000,
          busy: () => {
            for (const t of this.h.running.values()) if (t.turnId === turn.id) return true;
            return false;
          },
        });
        if (result.outcome === 'abort' || cut()) return;
        turn.llm = undefined;
        turn.llmStreaming = false;
        turn.pending.push(...result.stepMessages);
        const stepText = assistantText(result.stepMessages);
        turn.inflight = result.text.length > stepText.length ? result.text.slice(stepText.length) : '';
        if (result.outcome === 'error') {
          error = result.error;
          break;
        }
        if (!transfer.request || ++passes > 3) break;
        this.h.transfer(transfer.request.toAgent, transfer.request.reason);
        turn.agentName = this.h.currentAgent();
      }
      speech?.end();
      if (speech) await speech.done;
    } catch (err) {
      error = isColloquyError(err) ? err : new ColloquyError('turn_failed', String(err), { cause: err });
      this.h.reportError('session', error, 'error');
    }
    if (cut()) return;
    this.endTurn(turn, error);
  }

  private endTurn(turn: ActiveTurn, error: ColloquyError | undefined): void {
    this.commitTurn(turn, turn.text.length);
    this.current = undefined;
    if (this.h.mode === 'stream') {
      this.h.latency.finish(turn.id);
      this.h.bus.publish('turn.end', { sessionId: this.h.sessionId, turnId: turn.id });
      turn.resolve({ turnId: turn.id, agentName: turn.agentName, text: '', interrupted: false });
      this.afterTurn();
      return;
    }
    this.h.bus.publish('assistant.text', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: turn.text,
      interrupted: false,
    });
    this.h.latency.finish(turn.id);
    this.h.bus.publish('turn.end', { sessionId: this.h.sessionId, turnId: turn.id });
    turn.resolve({
      turnId: turn.id,
      agentName: turn.agentName,
      text: turn.text,
      interrupted: false,
      ...(error ? { error } : {}),
    });
    this.afterTurn();
    this.flushNotifications();
  }

  private commitTurn(turn: ActiveTurn, heardLength: number): void {
    const messages = truncateToHeard(turn.pending, turn.inflight, heardLength);
    turn.pending = [];
    turn.inflight = '';
    if (messages.length) this.h.conversation.append(...messages);
  }

  /**
   * Cut the running turn short (barge-in, `interrupt`); a spoken turn waiting for it starts after,
   * else background results that waited for it are announced.
   */
  interrupt(reason: InterruptReason): void {
    this.cut(reason);
    this.afterTurn();
    this.flushNotifications();
  }

  private cut(reason: InterruptReason): void {
    const turn = this.current;
    if (!turn) return;
    this.current = undefined;
    const outcome = turn.speech ? this.h.speech?.interrupt(reason) : undefined;
    const heard = outcome && outcome.turnId === turn.id ? outcome.heardText : turn.text;
    const interrupted = new ColloquyError('turn_interrupted', `Turn interrupted: ${reason}`);
    turn.controller.abort(interrupted);
    turn.llm?.abort(interrupted);
    if (turn.llmStreaming) {
      this.h.bus.publish('llm.end', {
        sessionId: this.h.sessionId,
        turnId: turn.id,
        outcome: 'abort',
        reason,
      });
    }
    cancelRunningTools(
      this.h.bus,
      this.h.sessionId,
      this.h.running,
      (t) => t.turnId === turn.id && t.execution === 'inline',
      turn.id,
    );
    this.commitTurn(turn, heard.length);
    this.h.bus.publish('assistant.text', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: heard,
      interrupted: true,
    });
    this.h.latency.finish(turn.id);
    this.h.bus.publish('turn.interrupted', { sessionId: this.h.sessionId, turnId: turn.id, reason });
    turn.resolve({ turnId: turn.id, agentName: turn.agentName, text: heard, interrupted: true, reason });
  }

  onBackgroundResult(r: BackgroundToolResult): void {
    const body = typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
    this.notify(`[Background tool "${r.toolName}" (${r.toolCallId}) finished with ${r.status}: ${body}]`);
  }

  onSubagentDone(o: SubagentOutcome): void {
    if (o.event === 'cancelled') return;
    this.notify(
      `[Subagent "${o.subagentName}" ${o.event === 'completed' ? 'finished' : 'failed'}: ${o.text}]`,
    );
  }

  /** Background results that arrived and wait for the running turn to end. */
  get queuedNotifications(): string[] {
    return [...this.notifications];
  }

  /** Background results enter history; the agent announces them once no turn is running. */
  notify(text: string): void {
    if (this.h.isClosed()) return;
    this.notifications.push(text);
    if (!this.current && !this.opened) this.flushNotifications();
  }

  private publishStart(): string {
    const id = `turn_${++turnCounter}`;
    this.h.bus.publish('turn.start', { sessionId: this.h.sessionId, turnId: id });
    return id;
  }

  private openSpoken(): string {
    this.speechWaiting = false;
    this.opened = this.publishStart();
    return this.opened;
  }

  /** After a turn ended: the user's speech that began meanwhile now gets its turn. */
  private afterTurn(): void {
    if (this.speechWaiting && !this.current && this.opened === undefined && !this.h.isClosed()) {
      this.openSpoken();
    }
  }

  /** A spoken turn still waiting for its transcript is cut (typed input, close). */
  private dropOpened(reason: InterruptReason): void {
    const id = this.opened;
    if (id === undefined) return;
    this.opened = undefined;
    this.h.latency.discard(id);
    this.h.bus.publish('turn.interrupted', { sessionId: this.h.sessionId, turnId: id, reason });
  }

  private flushNotifications(): void {
    if (this.notifications.length === 0 || this.current || this.opened || this.h.isClosed()) return;
    const text = this.notifications.join('\n');
    this.notifications = [];
    this.h.conversation.append({ role: 'user', content: text });
    if (this.h.options.announceBackgroundResults ?? true) void this.begin(undefined, 'text');
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
