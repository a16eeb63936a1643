/**
 * Long-term user memory: facts about a user are loaded into the agents' instructions when a session
 * starts and extracted from the conversation by an LLM when it ends, and every N turns when asked
 * (`memory.extracted`, the `onMemoryExtraction` hook). The store is pluggable: an in-memory one is
 * included, and `SessionStoreMemory` keeps facts durable in a `SessionStore`.
 */
import { generateText, type LanguageModel, type ModelMessage } from 'ai';
import { z } from 'zod';
import { ProviderError } from '../errors.ts';
import { parseJsonWithLimits } from '../json-limits.ts';
import { messageText } from '../session/history.ts';
import { mergeFacts } from '../store/facts.ts';

export interface MemoryStore {
  load(userId: string): Promise<string[]>;
  save(userId: string, facts: string[]): Promise<void>;
  /**
   * Merge a change atomically (stores shared by several sessions of one user implement this so two
   * sessions cannot overwrite each other's facts): no duplicates, `remove`d facts go, newest kept
   * up to `maxFacts`. Without it, the session saves its whole merged list.
   */
  merge?(userId: string, change: FactUpdate, maxFacts: number): Promise<{ facts: string[]; added: number }>;
}

/** New facts, and known facts they replace (a user who moved, a changed preference). */
export interface FactUpdate {
  add: string[];
  remove: string[];
}

/**
 * Long-term memory kept in process memory (lost on exit): facts the session extracts about a user
 * are given to the agents in that user's later sessions.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { InMemoryMemoryStore, VoiceSession } from 'colloquy';
 *
 * const memory = new InMemoryMemoryStore(); // share one store across sessions
 * const session = new VoiceSession({
 *   userId: 'user-7',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'You are a travel assistant.' }],
 *   memory: { store: memory, maxFacts: 20 },
 * });
 * await session.sendText('I am vegetarian and I live in Lisbon.');
 * await session.close(); // facts are extracted when the session closes
 * console.log(await memory.load('user-7'));
 * ```
 */
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
  /** Also extract after every N finished turns (default: only when the session closes). */
  extractEveryTurns?: number;
}

const FactList = z
  .array(
    z.union([
      z.string().min(1).max(300),
      z.object({ fact: z.string().min(1).max(300), replaces: z.string().max(300).optional() }),
    ]),
  )
  .max(100);

export function memoryPrompt(facts: string[]): string {
  if (facts.length === 0) return '';
  return `\n\nWhat you remember about this user from earlier conversations:\n${facts.map((f) => `- ${f}`).join('\n')}`;
}

/**
 * Ask the model for durable facts about the user. A new fact that updates a known one names it in
 * `replaces`, so the newer fact wins. Throws `ProviderError` (`memory_bad_output`) for output that is
 * not a JSON array of facts.
 */
export async function extractFactUpdate(
  model: LanguageModel,
  conversation: ModelMessage[],
  known: string[],
  abortSignal?: AbortSignal,
): Promise<FactUpdate> {
  const transcript = conversation
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => `${m.role}: ${messageText(m)}`)
    .join('\n');
  if (!transcript.trim()) return { add: [], remove: [] };
  const { text } = await generateText({
    model,
    abortSignal,
    maxRetries: 0,
    system:
      'Extract durable facts about the user (name, preferences, commitments) from the conversation. ' +
      'Answer with a JSON array and nothing else: each item a short string, or {"fact": "...", "replaces": "<known fact>"} ' +
      'when it updates a known fact. Answer [] if there are none.',
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
  const add: string[] = [];
  const remove: string[] = [];
  for (const item of result.data) {
    if (typeof item === 'string') add.push(item);
    else {
      add.push(item.fact);
      if (item.replaces) remove.push(item.replaces);
    }
  }
  return { add, remove };
}

/** Ask the model for durable facts about the user; merge them with the known ones (deduplicated). */
export async function extractFacts(
  model: LanguageModel,
  conversation: ModelMessage[],
  known: string[],
  maxFacts: number,
  abortSignal?: AbortSignal,
): Promise<{ facts: string[]; added: number }> {
  const update = await extractFactUpdate(model, conversation, known, abortSignal);
  return mergeFactList(known, update, maxFacts);
}

/**
 * `known` (oldest first) with `update` applied: removed facts go; a re-stated fact is renewed (it
 * moves to the newest end); no duplicates (case and spacing aside); the newest `maxFacts` are kept.
 */
export function mergeFactList(
  known: string[],
  update: FactUpdate,
  maxFacts: number,
): { facts: string[]; added: number } {
  const merged = mergeFacts(
    known.map((fact, i) => ({ fact, updatedAt: i })),
    { add: update.add, remove: update.remove, at: known.length },
    maxFacts,
  );
  return { facts: merged.facts.map((f) => f.fact), added: merged.added };
}
