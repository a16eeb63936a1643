/**
 * Long-term memory kept in a `SessionStore`: a user's facts survive the process, are merged
 * atomically (two sessions of one user cannot overwrite each other) and can be listed and deleted
 * through the server's data API.
 */
import type { FactUpdate, MemoryStore } from '../agents/memory.ts';
import type { SessionStore } from './types.ts';

/**
 * Long-term memory kept in a `SessionStore`: facts survive restarts and are merged atomically.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { openSessionStore, SessionStoreMemory, VoiceSession } from 'colloquy';
 *
 * const store = openSessionStore({ kind: 'sqlite', path: './data/colloquy.db' });
 * const session = new VoiceSession({
 *   userId: 'user-7',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'You are a travel assistant.' }],
 *   memory: { store: new SessionStoreMemory(store) },
 * });
 * ```
 */
export class SessionStoreMemory implements MemoryStore {
  constructor(
    private readonly store: SessionStore,
    private readonly now: () => number = Date.now,
  ) {}

  async load(userId: string): Promise<string[]> {
    return (await this.store.loadFacts(userId)).map((f) => f.fact);
  }

  /** Replace the user's facts with `facts` (oldest first). */
  async save(userId: string, facts: string[]): Promise<void> {
    const known = await this.load(userId);
    await this.store.mergeFacts(userId, { add: facts, remove: known, at: this.now() }, facts.length);
  }

  async merge(
    userId: string,
    update: FactUpdate,
    maxFacts: number,
  ): Promise<{ facts: string[]; added: number }> {
    const merged = await this.store.mergeFacts(userId, { ...update, at: this.now() }, maxFacts);
    return { facts: merged.facts.map((f) => f.fact), added: merged.added };
  }
}
