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
      const keep = m.content.slice(0, Math.max(0, remaining));
      remaining -= keep.length;
      if (keep.trim()) out.push({ ...m, content: keep });
      continue;
    }
    const parts: typeof m.content = [];
    for (const part of m.content) {
      if (part.type !== 'text') {
        if (part.type !== 'reasoning') parts.push(part);
        continue;
      }
      const keep = part.text.slice(0, Math.max(0, remaining));
      remaining -= keep.length;
      if (keep.trim()) parts.push({ ...part, text: keep });
    }
    if (parts.length > 0) out.push({ ...m, content: parts });
  }
  const tail = inflightText.slice(0, Math.max(0, remaining));
  if (tail.trim()) out.push({ role: 'assistant', content: tail });
  return out;
}

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
