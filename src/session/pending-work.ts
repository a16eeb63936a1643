/**
 * Work a session has under way, as its bus tells it: background tools still running, subagents
 * still working (and the questions they wait on), and background results not yet announced. A resume
 * snapshot keeps it, so a session restored after a server restart can say what became of it.
 *
 * A tool or subagent runs inside the server process: it cannot outlive it. So a restored session
 * does not pretend: once it starts, each interrupted tool gets `tool.result {status: 'error'}`, each
 * interrupted subagent `subagent.notification {event: 'failed'}` and its open questions a `cancel
 * {reason: 'server_restarted'}` to the client, and the agent is told, in one note it announces to the
 * user, what did not finish (and what to offer). Results that had arrived but were not yet announced
 * are announced.
 */
import type { SessionEventBus } from '../bus/event-bus.ts';
import { ToolError } from '../errors.ts';
import type { PendingWork } from '../store/types.ts';
import type { VoiceSession } from './voice-session.ts';

/** What the restored session's agent is told of a background tool that died with the server. */
export const interruptedToolNote = (name: string, toolCallId: string): string =>
  `[Background tool "${name}" (${toolCallId}) did not finish: the server restarted while it ran, and its result is lost. Tell the user, and offer to run it again.]`;

/** What the restored session's agent is told of a subagent that died with the server. */
export const interruptedSubagentNote = (name: string, prompts: readonly string[]): string =>
  `[Subagent "${name}" did not finish: the server restarted while it worked${
    prompts.length ? `, waiting for the user's answer to ${prompts.map((p) => `"${p}"`).join(' and ')}` : ''
  }. Its work is lost. Tell the user, and offer to start it again.]`;

const EMPTY = (): PendingWork => ({ tools: [], subagents: [], notifications: [] });

/** Follows a session's bus and knows what is under way. */
export class PendingWorkTracker {
  private readonly tools = new Map<string, PendingWork['tools'][number]>();
  private readonly subagents = new Map<string, PendingWork['subagents'][number]>();
  private readonly offs: Array<() => void>;

  constructor(
    bus: SessionEventBus,
    private readonly notifications: () => string[],
  ) {
    this.offs = [
      bus.subscribe('tool.call', (p) => {
        if (p.execution === 'background') {
          this.tools.set(p.id, { toolCallId: p.id, name: p.name, agentName: p.agentName });
        }
      }),
      bus.subscribe('tool.result', (p) => {
        this.tools.delete(p.toolCallId);
      }),
      bus.subscribe('tool.cancel', (p) => {
        for (const id of p.toolCallIds) this.tools.delete(id);
      }),
      bus.subscribe('agent.handoff', (p) => {
        this.subagents.set(p.toolCallId, {
          toolCallId: p.toolCallId,
          subagentName: p.subagentName,
          questions: [],
        });
      }),
      bus.subscribe('subagent.notification', (p) => {
        const id = (p.result as { toolCallId?: unknown } | null)?.toolCallId;
        if (typeof id === 'string') this.subagents.delete(id);
      }),
      bus.subscribe('subagent.ui.send', ({ payload }) => {
        if (payload.type === 'request') {
          // The newest working subagent of that name asked (a subagent asks from its own run).
          const asker = [...this.subagents.values()].findLast((s) => s.subagentName === payload.subagentName);
          if (asker && !asker.questions.some((q) => q.requestId === payload.requestId)) {
            asker.questions.push({ requestId: payload.requestId, prompt: payload.prompt });
          }
          return;
        }
        this.dropQuestion(payload.requestId);
      }),
      bus.subscribe('subagent.ui.response', ({ response }) => this.dropQuestion(response.requestId)),
    ];
  }

  /** What is under way now (copies). */
  get current(): PendingWork {
    const work = EMPTY();
    work.tools = [...this.tools.values()].map((t) => ({ ...t }));
    work.subagents = [...this.subagents.values()].map((s) => ({
      ...s,
      questions: s.questions.map((q) => ({ ...q })),
    }));
    work.notifications = this.notifications();
    return work;
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private dropQuestion(requestId: string): void {
    for (const s of this.subagents.values()) {
      const i = s.questions.findIndex((q) => q.requestId === requestId);
      if (i >= 0) s.questions.splice(i, 1);
    }
  }
}

/** True when a snapshot's pending work holds anything to report. */
export function hasPendingWork(work: PendingWork | undefined): work is PendingWork {
  return !!work && (work.tools.length > 0 || work.subagents.length > 0 || work.notifications.length > 0);
}

/**
 * A restored session reports the work that died with the previous server (see the file comment).
 * Runs once the session started (`session.start`), so the client hears the agent's account.
 */
export function reportInterruptedWork(session: VoiceSession, work: PendingWork): void {
  const bus = session.eventBus;
  const sessionId = session.sessionId;
  const notes: string[] = [];
  for (const t of work.tools) {
    const error = new ToolError('tool_interrupted', `Tool "${t.name}" was interrupted: the server restarted`);
    bus.publish('tool.result', {
      sessionId,
      toolCallId: t.toolCallId,
      status: 'error',
      result: { error: error.message },
      name: t.name,
      error,
    });
    notes.push(interruptedToolNote(t.name, t.toolCallId));
  }
  for (const s of work.subagents) {
    for (const q of s.questions) {
      bus.publish('subagent.ui.send', {
        sessionId,
        payload: { type: 'cancel', requestId: q.requestId, reason: 'server_restarted' },
      });
    }
    bus.publish('subagent.notification', {
      sessionId,
      result: {
        subagentName: s.subagentName,
        toolCallId: s.toolCallId,
        text: 'Interrupted: the server restarted',
      },
      event: 'failed',
    });
    notes.push(
      interruptedSubagentNote(
        s.subagentName,
        s.questions.map((q) => q.prompt),
      ),
    );
  }
  // One note, one announcement: the unannounced results first (they are older), then the losses.
  const text = [...work.notifications, ...notes].join('\n');
  if (text) session.notify(text);
}

/** Report `work` once `session` has started (at once when it already has). */
export function reportWhenStarted(session: VoiceSession, work: PendingWork | undefined): void {
  if (!hasPendingWork(work)) return;
  if (session.state !== 'created' && session.state !== 'connecting') {
    reportInterruptedWork(session, work);
    return;
  }
  const off = session.eventBus.subscribe('session.start', () => {
    off();
    reportInterruptedWork(session, work);
  });
}
