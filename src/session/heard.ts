/**
 * After an interruption, history must hold only what the user heard. Given the turn's assistant and
 * tool messages (completed steps), the text of the step still streaming, and the heard text (a prefix
 * of the turn's text), keep tool calls and results and cut assistant text to the heard prefix.
 */
import type { ModelMessage } from 'ai';

export function truncateToHeard(
  stepMessages: ModelMessage[],
  inflightText: string,
  heardLength: number,
): ModelMessage[] {
  let remaining = heardLength;
  const out: ModelMessage[] = [];
  for (const m of stepMessages) {
    if (m.role !== 'assistant') {
      out.push(m);
      continue;
    }
    if (typeof m.content === 'string') {
      const keep = heardPrefix(m.content, remaining);
      remaining -= keep.length;
      if (hasText(keep)) out.push(keep === m.content ? m : { ...m, content: keep });
      continue;
    }
    // A message heard whole, without reasoning or blank text, is kept as it is (no copy).
    let changed = false;
    const parts: typeof m.content = [];
    for (const part of m.content) {
      if (part.type !== 'text') {
        if (part.type !== 'reasoning') parts.push(part);
        else changed = true;
        continue;
      }
      const keep = heardPrefix(part.text, remaining);
      remaining -= keep.length;
      if (hasText(keep)) {
        if (keep === part.text) parts.push(part);
        else {
          parts.push({ ...part, text: keep });
          changed = true;
        }
      } else changed = true;
    }
    if (parts.length > 0) out.push(changed ? { ...m, content: parts } : m);
  }
  const tail = heardPrefix(inflightText, remaining);
  if (hasText(tail)) out.push({ role: 'assistant', content: tail });
  return out;
}

/** The first `length` characters of `text` (all of it, uncopied, when it fits). */
function heardPrefix(text: string, length: number): string {
  return text.length <= length ? text : text.slice(0, Math.max(0, length));
}

/** True when `text` has a non-blank character (what `text.trim()` keeps), without copying it. */
function hasText(text: string): boolean {
  return NON_BLANK.test(text);
}

/** A character `String.prototype.trim` keeps (`\s` is the same whitespace and line terminators). */
const NON_BLANK = /\S/;

/** Concatenated assistant text of messages (in order). */
export function assistantText(messages: ModelMessage[]): string {
  let out = '';
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    if (typeof m.content === 'string') out += m.content;
    else for (const p of m.content) if (p.type === 'text') out += p.text;
  }
  return out;
}
