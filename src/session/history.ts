/**
 * The conversation of one session as AI SDK `ModelMessage`s, bounded by `maxMessages` and
 * `maxTotalChars`. Trimming drops the oldest messages, never leaves a tool result without its call,
 * and reports how many were removed and why.
 */
import type { ModelMessage } from 'ai';
import type { ChatMessageSummary } from '../bus/events.ts';

export interface HistoryLimits {
  /** Most messages kept (default 100). */
  maxMessages?: number;
  /** Most characters of message text kept (default 100 000). */
  maxTotalChars?: number;
}

export type TrimReason = 'max_messages' | 'max_chars';

export interface HistoryListener {
  onTrim?(removedCount: number, reason: TrimReason): void;
  onAppend?(message: ChatMessageSummary): void;
}

export function messageText(message: ModelMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content as ReadonlyArray<Record<string, unknown>>) {
    if (part.type === 'text' || part.type === 'reasoning') out += part.text as string;
    else if (part.type === 'tool-call') out += JSON.stringify(part.input ?? null);
    else if (part.type === 'tool-result') out += JSON.stringify(part.output ?? null);
  }
  return out;
}

export function summarize(message: ModelMessage): ChatMessageSummary {
  return { role: message.role, text: messageText(message) };
}

export class ConversationHistory {
  readonly maxMessages: number;
  readonly maxTotalChars: number;
  private messages: ModelMessage[] = [];
  private chars = 0;

  constructor(
    limits: HistoryLimits = {},
    private readonly listener: HistoryListener = {},
  ) {
    this.maxMessages = limits.maxMessages ?? 100;
    this.maxTotalChars = limits.maxTotalChars ?? 100_000;
  }

  /** A copy of the messages, oldest first (what the next LLM call sees). */
  get all(): ModelMessage[] {
    return this.messages.slice();
  }

  get length(): number {
    return this.messages.length;
  }

  get totalChars(): number {
    return this.chars;
  }

  append(...messages: ModelMessage[]): void {
    for (const m of messages) {
      this.messages.push(m);
      const text = messageText(m);
      this.chars += text.length;
      this.listener.onAppend?.({ role: m.role, text });
    }
    this.trim();
  }

  clear(): void {
    this.messages = [];
    this.chars = 0;
  }

  /** Replace everything (e.g. restoring a stored conversation); limits apply. */
  replace(messages: ModelMessage[]): void {
    this.clear();
    this.messages = messages.slice();
    this.chars = this.messages.reduce((n, m) => n + messageText(m).length, 0);
    this.trim();
  }

  /**
   * Replace the oldest messages with `summary`, but only while they are still exactly `prefix` (the
   * same message objects, in order): a history that changed at its start meanwhile (trimmed,
   * cleared, replaced) is left alone. Returns whether the replacement happened.
   */
  compact(prefix: readonly ModelMessage[], summary: ModelMessage): boolean {
    if (prefix.length === 0 || prefix.length > this.messages.length) return false;
    for (let i = 0; i < prefix.length; i++) if (this.messages[i] !== prefix[i]) return false;
    this.messages.splice(0, prefix.length, summary);
    this.chars = this.messages.reduce((n, m) => n + messageText(m).length, 0);
    return true;
  }

  private trim(): void {
    let byCount = 0;
    while (this.messages.length > this.maxMessages) byCount += this.dropOldest();
    if (byCount > 0) this.listener.onTrim?.(byCount, 'max_messages');
    let byChars = 0;
    // Keep at least the newest message even if it alone exceeds the limit.
    while (this.chars > this.maxTotalChars && this.messages.length > 1) byChars += this.dropOldest();
    if (byChars > 0) this.listener.onTrim?.(byChars, 'max_chars');
  }

  /** Drop the oldest message plus any tool results orphaned by it. Returns how many went. */
  private dropOldest(): number {
    let removed = 0;
    const first = this.messages.shift();
    if (!first) return 0;
    this.chars -= messageText(first).length;
    removed++;
    while (this.messages.length > 0 && this.messages[0].role === 'tool') {
      const orphan = this.messages.shift()!;
      this.chars -= messageText(orphan).length;
      removed++;
    }
    return removed;
  }
}
