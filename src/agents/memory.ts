/**
 * Long-term user memory: facts about a user are loaded into the agents' instructions when a session
 * starts and extracted from the conversation by an LLM when it ends (`memory.extracted`, the
 * `onMemoryExtraction` hook). The store is pluggable; an in-memory one is included.
 */
import { generateText, type LanguageModel, type ModelMessage } from 'ai';
import { z } from 'zod';
import { ProviderError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import { messageText } from '../session/history.ts';

export interface MemoryStore {
  load(userId: string): Promise<string[]>;
  save(userId: string, facts: string[]): Promise<void>;
}

export class InMemoryMemoryStore implements MemoryStore {
  private readonly facts = new Map<string, string[]>();
  async load(userId: string): Promise<string[]> {
    return [...(this.facts.get(userId) ?? [])];
  }
  async save(userId: string, facts: string[]): Promise<void> {
    this.facts.set(userId, [...facts]);
  }
}

export interface MemoryOptions {
  store: MemoryStore;
  /** Model used for extraction (default: the session's model). */
  model?: LanguageModel;
  /** Most facts kept per user (default 50). */
  maxFacts?: number;
}

const FactList = z.array(z.string().min(1).max(300)).max(100);

export function memoryPrompt(facts: string[]): string {
  if (facts.length === 0) return '';
  return `\n\nWhat you remember about this user from earlier conversations:\n${facts.map((f) => `- ${f}`).join('\n')}`;
}

/** Ask the model for durable facts about the user; merge them with the known ones (deduplicated). */
export async function extractFacts(
  model: LanguageModel,
  conversation: ModelMessage[],
  known: string[],
  maxFacts: number,
  abortSignal?: AbortSignal,
): Promise<{ facts: string[]; added: number }> {
  const transcript = conversation
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => `${m.role}: ${messageText(m)}`)
    .join('\n');
  if (!transcript.trim()) return { facts: known, added: 0 };
  const { text } = await generateText({
    model,
    abortSignal,
    maxRetries: 0,
    system:
      'Extract durable facts about the user (name, preferences, commitments) from the conversation. ' +
      'Answer with a JSON array of short strings and nothing else. Answer [] if there are none.',
    prompt: `Already known:\n${JSON.stringify(known)}\n\nConversation:\n${transcript}`,
  });
  const json = text.slice(text.indexOf('['), text.lastIndexOf(']') + 1);
  // Model output is outside input: bounded (a flat array of short strings is all that is expected).
  const read = parseJsonWithLimits(json, { maxDepth: 4, maxBytes: 256 * 1024 });
  if (!read.ok) {
    throw new ProviderError('memory_bad_output', 'Memory extraction did not return a JSON array', {
      cause: read.error,
    });
  }
  const parsed = read.value;
  const result = FactList.safeParse(parsed);
  if (!result.success) {
    throw new ProviderError(
      'memory_bad_output',
      `Memory extraction returned invalid facts: ${result.error.message}`,
    );
  }
  const seen = new Set(known.map((f) => f.toLowerCase()));
  const fresh = result.data.filter((f) => !seen.has(f.toLowerCase()));
  const facts = [...known, ...fresh].slice(-maxFacts);
  return { facts, added: fresh.length };
}
