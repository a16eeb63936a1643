/**
 * The OpenAI Realtime conversation as the client sees it (item ids in order, from
 * `conversation.item.added` / `.deleted`) and the context budget: once a response's input tokens
 * reach the trigger, which oldest items to delete to bring the context near the target. A function
 * call and its output leave together; the newest exchange always stays.
 */
import { ConfigError } from '../../errors.ts';

/** Items tracked at most (older ones are forgotten: the provider's own truncation has them). */
const MAX_TRACKED_ITEMS = 4096;
/** Newest items never deleted (the exchange the model is answering). */
const KEEP_NEWEST = 2;

export interface ContextBudget {
  maxTokens: number;
  triggerRatio: number;
  targetRatio: number;
}

/** Validated budget with defaults; undefined when turned off. */
export function contextBudget(
  o: { maxTokens?: number; triggerRatio?: number; targetRatio?: number } | false | undefined,
): ContextBudget | undefined {
  if (o === false) return undefined;
  const budget = {
    maxTokens: o?.maxTokens ?? 32_000,
    triggerRatio: o?.triggerRatio ?? 0.8,
    targetRatio: o?.targetRatio ?? 0.5,
  };
  const { maxTokens, triggerRatio, targetRatio } = budget;
  if (
    !Number.isInteger(maxTokens) ||
    maxTokens <= 0 ||
    !(triggerRatio > 0 && triggerRatio <= 1) ||
    !(targetRatio > 0 && targetRatio < triggerRatio)
  ) {
    throw new ConfigError(
      'invalid_options',
      'openai-realtime context: maxTokens a positive integer, 0 < targetRatio < triggerRatio <= 1',
    );
  }
  return budget;
}

interface Item {
  id: string;
  type: string | undefined;
  callId: string | undefined;
}

export class ConversationItems {
  private items: Item[] = [];

  constructor(private readonly budget: ContextBudget | undefined) {}

  get size(): number {
    return this.items.length;
  }

  add(id: string, type: string | undefined, callId: string | undefined): void {
    if (this.items.some((i) => i.id === id)) return;
    this.items.push({ id, type, callId });
    if (this.items.length > MAX_TRACKED_ITEMS) this.items.shift();
  }

  remove(id: string | undefined): void {
    if (id !== undefined) this.items = this.items.filter((i) => i.id !== id);
  }

  /**
   * The oldest items to delete when `inputTokens` reached the trigger (removed from tracking at
   * once, so the next response does not count them again); none otherwise. Items are assumed to
   * weigh alike: the share removed is the share of tokens over the target.
   */
  overBudget(inputTokens: number | undefined): string[] {
    const b = this.budget;
    if (!b || inputTokens === undefined || inputTokens < b.triggerRatio * b.maxTokens) return [];
    const removable = this.items.length - KEEP_NEWEST;
    if (removable <= 0) return [];
    const share = 1 - (b.targetRatio * b.maxTokens) / inputTokens;
    let n = Math.min(removable, Math.max(1, Math.ceil(this.items.length * share)));
    // A call's output leaves with its call.
    const calls = new Set(
      this.items.slice(0, n).flatMap((i) => (i.type === 'function_call' && i.callId ? [i.callId] : [])),
    );
    while (
      n < removable &&
      this.items[n]!.type === 'function_call_output' &&
      calls.has(this.items[n]!.callId!)
    )
      n++;
    const drop = this.items.slice(0, n).map((i) => i.id);
    this.items = this.items.slice(n);
    return drop;
  }
}
