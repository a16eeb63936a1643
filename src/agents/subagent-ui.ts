/**
 * Subagent UI: a background subagent asks the user something through the client and waits for the
 * answer, while the main agent keeps talking.
 *
 * `ask` publishes `subagent.ui.send {payload: {type: 'request', requestId, prompt, options | form}}`;
 * every client projection (RTVI, the native WebSocket protocol, LiveKit data) delivers it. The
 * client's answer comes back through `respond`, which validates it at the edge, publishes
 * `subagent.ui.response` and settles the waiting `ask`. Pending questions are bounded per session,
 * time out, and are withdrawn (`{type: 'cancel'}`) when the subagent stops or the session ends; a
 * client that reconnects (`session.resume`) gets the pending questions again.
 *
 * An answer the session cannot route throws `SubagentUiError` (`ui_request_unknown`,
 * `ui_request_finished`, `ui_invalid_response`, `ui_invalid_answer`); the session goes on.
 */
import { randomUUID } from 'node:crypto';
import type { Tool } from 'ai';
import { tool } from 'ai';
import { z } from 'zod';
import type { EventTable, SessionEventBus } from '../bus/event-bus.ts';
import type { EventMap, SubagentUiField, SubagentUiPayload, SubagentUiResponse } from '../bus/events.ts';
import { ColloquyError } from '../errors.ts';
import { withToolSettings } from '../tools/define-tool.ts';
import { zodIssueText } from '../zod-issues.ts';

export type SubagentUiErrorCode =
  | 'ui_invalid_request'
  | 'ui_too_many_pending'
  | 'ui_invalid_response'
  | 'ui_request_unknown'
  | 'ui_request_finished'
  | 'ui_invalid_answer';

/** A subagent UI question or answer that cannot be taken (see `SubagentUiErrorCode`). */
export class SubagentUiError extends ColloquyError {
  declare readonly code: SubagentUiErrorCode;
  constructor(code: SubagentUiErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details ? { details } : {});
  }
}

/** Bounds on what a question may hold and what an answer may carry. */
export const SUBAGENT_UI_LIMITS = Object.freeze({
  maxPromptChars: 1000,
  maxOptions: 8,
  maxOptionChars: 100,
  maxFields: 8,
  maxLabelChars: 200,
  maxAnswerChars: 1000,
  maxRequestIdChars: 100,
});
const L = SUBAGENT_UI_LIMITS;

const fieldSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_]{1,64}$/),
  label: z.string().trim().min(1).max(L.maxLabelChars),
  type: z.enum(['text', 'number', 'boolean', 'choice']),
  options: z.array(z.string().trim().min(1).max(L.maxOptionChars)).min(2).max(L.maxOptions).optional(),
  required: z.boolean().optional(),
});

/** What a subagent asks: a prompt, with options to pick from, or a small form, or neither (free text). */
export const subagentUiQuestionSchema = z.object({
  prompt: z.string().trim().min(1).max(L.maxPromptChars).describe('The question, as the user will read it'),
  options: z
    .array(z.string().trim().min(1).max(L.maxOptionChars))
    .min(2)
    .max(L.maxOptions)
    .optional()
    .describe('Answers the user can pick from'),
  form: z
    .object({ fields: z.array(fieldSchema).min(1).max(L.maxFields) })
    .optional()
    .describe('A small form to fill in instead of options'),
});
export type SubagentUiQuestion = z.infer<typeof subagentUiQuestionSchema>;

const answerValue = z.union([z.string().max(L.maxAnswerChars), z.number().finite(), z.boolean()]);

/** A client's answer, as it arrives (validated before anything else looks at it). */
export const subagentUiResponseSchema = z.object({
  requestId: z.string().min(1).max(L.maxRequestIdChars),
  value: z.string().max(L.maxAnswerChars).optional(),
  values: z.record(z.string().max(64), answerValue).optional(),
  declined: z.boolean().optional(),
});

/** How a question ended, as the asking subagent (and its LLM) sees it. */
export type SubagentUiOutcome =
  | { status: 'answered'; value?: string; values?: Record<string, string | number | boolean> }
  | { status: 'declined' }
  | { status: 'timeout' }
  | { status: 'cancelled' }
  | { status: 'undeliverable'; reason: string };

export interface SubagentUiOptions {
  /** How long a question waits for its answer (default 120 000 ms). */
  timeoutMs?: number;
  /** Most questions waiting at once per session; more are refused (default 4). */
  maxPending?: number;
}

export interface SubagentUiHost {
  bus: SessionEventBus;
  sessionId: string;
  /** The session's lifetime: aborting it withdraws every pending question. */
  signal: AbortSignal;
  /** Whether a connected client can answer questions now. */
  canDeliver?: () => boolean;
}

type RequestPayload = Extract<SubagentUiPayload, { type: 'request' }>;
type Ending = 'answered' | 'declined' | 'timeout' | 'cancelled';

interface Pending {
  payload: RequestPayload;
  settle: (outcome: SubagentUiOutcome, ending: Ending) => void;
}

const FINISHED_KEPT = 256;

/** A client that came back gets the questions still waiting (one shared table, no closure per session). */
const RESUME_TABLE: EventTable<EventMap, SubagentUi> = {
  'session.resume': (_p, ui) => ui.resend(),
};

export class SubagentUi {
  readonly timeoutMs: number;
  readonly maxPending: number;
  private readonly pending = new Map<string, Pending>();
  /** Recently finished request ids (bounded), to tell a late answer from a forged one. */
  private finished: Map<string, Ending> | undefined;
  /** Listens to the session's end only while questions wait (an idle session holds no listener). */
  private onSessionEnd: (() => void) | undefined;

  constructor(
    private readonly host: SubagentUiHost,
    options: SubagentUiOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxPending = options.maxPending ?? 4;
    host.bus.subscribeTable(RESUME_TABLE, this);
  }

  /** The questions waiting for an answer. */
  get requests(): RequestPayload[] {
    return [...this.pending.values()].map((p) => p.payload);
  }

  /**
   * Ask the user; resolves when they answer or decline, the question times out, or `signal` (the
   * subagent's) or the session ends. Throws `SubagentUiError` for a bad question or when
   * `maxPending` questions already wait.
   */
  ask(
    question: SubagentUiQuestion & { subagentName: string },
    signal?: AbortSignal,
  ): Promise<SubagentUiOutcome> {
    const parsed = subagentUiQuestionSchema.safeParse(question);
    if (!parsed.success) {
      throw new SubagentUiError(
        'ui_invalid_request',
        `Invalid question: ${zodIssueText(parsed.error, { first: true })}`,
      );
    }
    const q = parsed.data;
    checkQuestion(q);
    if (this.host.signal.aborted || signal?.aborted) return Promise.resolve({ status: 'cancelled' });
    if (this.host.canDeliver && !this.host.canDeliver()) {
      return Promise.resolve({
        status: 'undeliverable',
        reason: 'No connected client can answer UI requests',
      });
    }
    if (this.pending.size >= this.maxPending) {
      throw new SubagentUiError(
        'ui_too_many_pending',
        `${this.maxPending} questions already wait for the user; wait for their answers first`,
      );
    }
    const payload: RequestPayload = {
      type: 'request',
      requestId: `ui_${randomUUID()}`,
      subagentName: question.subagentName,
      prompt: q.prompt,
      ...(q.options ? { options: q.options } : {}),
      ...(q.form ? { form: { fields: q.form.fields as SubagentUiField[] } } : {}),
      expiresAt: Date.now() + this.timeoutMs,
    };
    const id = payload.requestId;
    return new Promise<SubagentUiOutcome>((resolve) => {
      const onAbort = () => entry.settle({ status: 'cancelled' }, 'cancelled');
      const timer = setTimeout(() => entry.settle({ status: 'timeout' }, 'timeout'), this.timeoutMs);
      timer.unref?.();
      const entry: Pending = {
        payload,
        settle: (outcome, ending) => {
          if (this.pending.get(id) !== entry) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.pending.delete(id);
          if (this.pending.size === 0) this.stopWatchingSession();
          this.remember(id, ending);
          if (ending === 'timeout' || ending === 'cancelled') {
            const reason = ending === 'cancelled' && this.host.signal.aborted ? 'session_closed' : ending;
            this.publish({ type: 'cancel', requestId: id, reason });
          }
          resolve(outcome);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, entry);
      this.watchSession();
      this.publish(payload);
    });
  }

  /**
   * A client's answer (untrusted). Validates it, routes it to the waiting question, publishes
   * `subagent.ui.response`, and returns it. Throws `SubagentUiError`; an answer that does not fit
   * the question (`ui_invalid_answer`) leaves the question waiting.
   */
  respond(raw: unknown): SubagentUiResponse {
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const values = (raw as { values?: unknown }).values;
      if (values !== null && typeof values === 'object' && Object.keys(values).length > L.maxFields) {
        throw new SubagentUiError('ui_invalid_response', `An answer holds at most ${L.maxFields} values`);
      }
    }
    const parsed = subagentUiResponseSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SubagentUiError(
        'ui_invalid_response',
        `Invalid UI response: ${zodIssueText(parsed.error, { first: true })} (expected {requestId, value | values | declined})`,
      );
    }
    const response = parsed.data as SubagentUiResponse;
    const id = response.requestId;
    const entry = this.pending.get(id);
    if (!entry) {
      const ending = this.finished?.get(id);
      if (ending) {
        throw new SubagentUiError(
          'ui_request_finished',
          `UI request "${id}" is no longer waiting (${ending})`,
          {
            requestId: id,
            ending,
          },
        );
      }
      throw new SubagentUiError('ui_request_unknown', `No UI request "${id.slice(0, 100)}" in this session`, {
        requestId: id,
      });
    }
    const outcome = answerOutcome(entry.payload, response);
    this.host.bus.publish('subagent.ui.response', { sessionId: this.host.sessionId, response });
    entry.settle(outcome, outcome.status === 'declined' ? 'declined' : 'answered');
    return response;
  }

  /** Publish the waiting questions again (a client reconnected). */
  resend(): void {
    for (const { payload } of this.pending.values()) this.publish(payload);
  }

  /** Withdraw every waiting question (`cancel`, reason `session_closed` once the session ended). */
  cancelAll(): void {
    for (const entry of [...this.pending.values()]) entry.settle({ status: 'cancelled' }, 'cancelled');
  }

  dispose(): void {
    this.cancelAll();
    this.host.bus.unsubscribeTable(RESUME_TABLE, this);
    this.stopWatchingSession();
  }

  private watchSession(): void {
    if (this.onSessionEnd !== undefined) return;
    this.onSessionEnd = () => this.cancelAll();
    this.host.signal.addEventListener('abort', this.onSessionEnd, { once: true });
  }

  private stopWatchingSession(): void {
    if (this.onSessionEnd === undefined) return;
    this.host.signal.removeEventListener('abort', this.onSessionEnd);
    this.onSessionEnd = undefined;
  }

  private publish(payload: SubagentUiPayload): void {
    this.host.bus.publish('subagent.ui.send', { sessionId: this.host.sessionId, payload });
  }

  private remember(id: string, ending: Ending): void {
    if (this.finished === undefined) this.finished = new Map(); // created at the first question's end
    this.finished.set(id, ending);
    while (this.finished.size > FINISHED_KEPT)
      this.finished.delete(this.finished.keys().next().value as string);
  }
}

/** Checks the parts of a question a schema cannot: options xor form, choice fields, unique names. */
function checkQuestion(q: SubagentUiQuestion): void {
  const bad = (message: string) => {
    throw new SubagentUiError('ui_invalid_request', `Invalid question: ${message}`);
  };
  if (q.options && q.form) bad('give options or a form, not both');
  const names = new Set<string>();
  for (const f of q.form?.fields ?? []) {
    if (names.has(f.name)) bad(`two fields are named "${f.name}"`);
    names.add(f.name);
    if (f.type === 'choice' && !f.options) bad(`choice field "${f.name}" needs options`);
  }
}

/** The outcome an answer gives its question; throws `ui_invalid_answer` when it does not fit. */
function answerOutcome(request: RequestPayload, r: SubagentUiResponse): SubagentUiOutcome {
  const bad = (message: string): never => {
    throw new SubagentUiError('ui_invalid_answer', `Answer to "${request.requestId}" ${message}`, {
      requestId: request.requestId,
    });
  };
  if (r.declined === true) {
    if (r.value !== undefined || r.values !== undefined) bad('declines and answers at once');
    return { status: 'declined' };
  }
  if (request.form) {
    if (!r.values) return bad('needs "values" (the form fields by name)');
    const known = new Map(request.form.fields.map((f) => [f.name, f]));
    for (const key of Object.keys(r.values))
      if (!known.has(key)) bad(`has an unknown field "${key.slice(0, 64)}"`);
    for (const field of request.form.fields) checkField(field, r.values[field.name], bad);
    return { status: 'answered', values: r.values };
  }
  if (typeof r.value !== 'string' || !r.value.trim()) return bad('needs a non-empty "value"');
  if (request.options && !request.options.includes(r.value)) bad('is not one of the options');
  return { status: 'answered', value: r.value };
}

function checkField(field: SubagentUiField, v: unknown, bad: (message: string) => never): void {
  if (v === undefined || v === '') {
    if (field.required !== false) bad(`misses the required field "${field.name}"`);
    return;
  }
  const ok =
    field.type === 'number'
      ? typeof v === 'number'
      : field.type === 'boolean'
        ? typeof v === 'boolean'
        : typeof v === 'string' && (field.type === 'text' || (field.options ?? []).includes(v));
  if (!ok)
    bad(`has a bad "${field.name}" (${field.type}${field.type === 'choice' ? ' of the options' : ''})`);
}

/** Name of the tool every subagent gets to ask the user something. */
export const ASK_USER_TOOL_NAME = 'ask_user';

/** The `ask_user` tool of a subagent: asks through `ui`, waits, and hands the outcome to its LLM. */
export function createAskUserTool(ui: SubagentUi, subagentName: string): Tool {
  const t = tool({
    description:
      "Ask the user a question on their screen and wait for the answer. Give `options` to pick from, or a small `form`, or neither for a free-text answer. Returns {status: 'answered', value | values}, or 'declined', 'timeout', 'cancelled', 'undeliverable'.",
    inputSchema: subagentUiQuestionSchema,
    execute: (question, { abortSignal }) => ui.ask({ ...question, subagentName }, abortSignal),
  });
  // The tool waits as long as the question does (plus a margin), not the session's tool timeout.
  return withToolSettings(t, { timeoutMs: ui.timeoutMs + 5_000 });
}
