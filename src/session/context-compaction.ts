/**
 * Context compaction: when the conversation nears its budget (estimated tokens, or characters), the
 * older turns are summarised by an LLM and replaced by the summary, so a long conversation keeps its
 * gist without outgrowing the model's context. It runs after a turn ends (or is cut short), off the turn's path, one
 * at a time. The cut always falls at the start of a user turn, so a tool call and its result are
 * never split. Success publishes `context.compact {removedItems, summary}`; a failed or empty summary
 * leaves the history as it was and publishes an `error` with severity `warn`.
 */
import { generateText, type LanguageModel, type ModelMessage } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { ProviderError } from '../errors.ts';
import { type ConversationHistory, messageText } from './history.ts';

export interface CompactionOptions {
  /** Budget in estimated tokens (characters ÷ 4). Set this or `maxChars`. */
  maxTokens?: number;
  /** Budget in characters of message text. */
  maxChars?: number;
  /** Compact once the history reaches this share of the budget (default 0.8). */
  triggerRatio?: number;
  /** Newest messages always kept as they are (default 6). */
  keepRecent?: number;
  /** Summarising model (default: the session's). */
  model?: LanguageModel;
  /** Summarising instructions (default: `DEFAULT_COMPACTION_PROMPT`). */
  prompt?: string;
  /** Bound on the summary call (default 30 000 ms). */
  timeoutMs?: number;
}

/**
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { DEFAULT_COMPACTION_PROMPT, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'You are a support agent.' }],
 *   compaction: { maxTokens: 8000, prompt: `${DEFAULT_COMPACTION_PROMPT}\nKeep every order number.` },
 * });
 * ```
 */
export const DEFAULT_COMPACTION_PROMPT =
  'Summarise the conversation below so an assistant can continue it without the original. Keep what ' +
  'still matters: who the user is, facts and preferences they gave, decisions made, tool results, ' +
  'promises and open questions. Write plain prose, at most 200 words.';

/** Marks the summary message in history. */
export const SUMMARY_PREFIX = '[Summary of the earlier conversation]';

export interface CompactorContext {
  bus: SessionEventBus;
  sessionId: string;
  history: ConversationHistory;
  /** The session's model (the default summariser). */
  model: LanguageModel;
  /** Aborted when the session closes. */
  signal: AbortSignal;
  reportError: (err: unknown) => void;
}

/** Estimated tokens of some text (≈ 4 characters per token). */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

export class ContextCompactor {
  private readonly budgetChars: number;
  private running: Promise<boolean> | undefined;
  private readonly off: () => void;

  constructor(
    private readonly options: CompactionOptions,
    private readonly ctx: CompactorContext,
  ) {
    const byTokens = options.maxTokens !== undefined ? options.maxTokens * 4 : Number.POSITIVE_INFINITY;
    this.budgetChars = Math.min(byTokens, options.maxChars ?? Number.POSITIVE_INFINITY);
    // After every turn, also one cut short: a conversation of interrupted turns grows too.
    const check = () => {
      if (this.due()) void this.compact();
    };
    const offs = [ctx.bus.subscribe('turn.end', check), ctx.bus.subscribe('turn.interrupted', check)];
    this.off = () => {
      for (const off of offs) off();
    };
  }

  /** The history reached the trigger share of its budget. */
  due(): boolean {
    return this.ctx.history.totalChars >= this.budgetChars * (this.options.triggerRatio ?? 0.8);
  }

  /** Compact now (if there is anything older than the kept turns). Resolves true when it did. */
  compact(): Promise<boolean> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  dispose(): void {
    this.off();
  }

  private async run(): Promise<boolean> {
    const messages = this.ctx.history.all;
    const cut = cutPoint(messages, this.options.keepRecent ?? 6);
    if (cut === 0) return false;
    const prefix = messages.slice(0, cut);
    let summary: string;
    try {
      summary = await this.summarise(prefix);
    } catch (err) {
      if (this.ctx.signal.aborted) return false;
      this.ctx.reportError(
        new ProviderError('compaction_failed', `Context compaction failed; history kept: ${errorText(err)}`, {
          cause: err,
          retryable: true,
        }),
      );
      return false;
    }
    if (this.ctx.signal.aborted) return false;
    const message: ModelMessage = { role: 'user', content: `${SUMMARY_PREFIX}\n${summary}` };
    if (!this.ctx.history.compact(prefix, message)) return false;
    this.ctx.bus.publish('context.compact', {
      sessionId: this.ctx.sessionId,
      removedItems: prefix.length,
      summary,
    });
    return true;
  }

  private async summarise(prefix: ModelMessage[]): Promise<string> {
    const transcript = prefix.map((m) => `${m.role}: ${messageText(m)}`).join('\n');
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const { text } = await generateText({
      model: this.options.model ?? this.ctx.model,
      maxRetries: 0,
      abortSignal: AbortSignal.any([this.ctx.signal, timeout]),
      system: this.options.prompt ?? DEFAULT_COMPACTION_PROMPT,
      prompt: transcript,
    });
    const clean = text.trim();
    if (!clean) throw new ProviderError('compaction_empty', 'The summary was empty');
    return clean;
  }
}

/**
 * Where to cut: everything before the returned index is summarised. The kept part holds at least
 * `keepRecent` messages and starts with a user message (a turn's start), so no tool call is
 * separated from its result. 0 when there is nothing to summarise.
 */
export function cutPoint(messages: readonly ModelMessage[], keepRecent: number): number {
  let cut = messages.length - Math.max(1, keepRecent);
  while (cut > 0 && messages[cut]?.role !== 'user') cut--;
  // A lone earlier summary is not worth summarising again.
  if (cut === 1 && isSummary(messages[0])) return 0;
  return Math.max(0, cut);
}

function isSummary(m: ModelMessage | undefined): boolean {
  return m?.role === 'user' && typeof m.content === 'string' && m.content.startsWith(SUMMARY_PREFIX);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
