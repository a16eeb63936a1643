/**
 * A session's long-term memory: load the user's facts at start, extract new ones at close and, when
 * `extractEveryTurns` is set, after every N finished turns. Extractions run one at a time, off the
 * turn's path; a failed one is an error event and changes nothing.
 */
import type { LanguageModel, ModelMessage } from 'ai';
import { extractFactUpdate, type MemoryOptions, memoryPrompt, mergeFactList } from '../agents/memory.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';

export interface SessionMemoryContext {
  bus: SessionEventBus;
  sessionId: string;
  userId: string;
  /** Fallback extraction model (the session's). */
  model: LanguageModel;
  /** The conversation so far (for extraction every N turns). */
  conversation?: () => ModelMessage[];
  onError: (err: unknown) => void;
}

export class SessionMemory {
  private facts: string[] = [];
  /** Resolves once the user's facts are loaded (or failed to load). */
  ready: Promise<void> = Promise.resolve();
  private chain: Promise<void> = Promise.resolve();
  private turns = 0;
  private readonly offTurns: () => void;

  constructor(
    private readonly options: MemoryOptions,
    private readonly ctx: SessionMemoryContext,
  ) {
    const every = options.extractEveryTurns;
    const conversation = ctx.conversation;
    this.offTurns =
      every && every > 0 && conversation
        ? ctx.bus.subscribe('turn.end', () => {
            if (++this.turns % every === 0) void this.extract(conversation());
          })
        : () => {};
  }

  load(): void {
    this.ready = this.options.store.load(this.ctx.userId).then(
      (facts) => {
        this.facts = facts;
      },
      (err) => this.ctx.onError(err),
    );
  }

  /** Text appended to the agents' instructions. */
  prompt(): string {
    return memoryPrompt(this.facts);
  }

  /** Stop extracting every N turns (the session closed). */
  dispose(): void {
    this.offTurns();
  }

  /**
   * Extract facts from the conversation, merge them into the store, publish `memory.extracted`.
   * Queued behind a running extraction. Never throws.
   */
  extract(conversation: ModelMessage[]): Promise<void> {
    const run = this.chain.then(() => this.extractNow(conversation));
    this.chain = run;
    return run;
  }

  private async extractNow(conversation: ModelMessage[]): Promise<void> {
    const started = performance.now();
    try {
      await this.ready;
      const update = await extractFactUpdate(this.options.model ?? this.ctx.model, conversation, this.facts);
      const max = this.options.maxFacts ?? 50;
      const store = this.options.store;
      let merged: { facts: string[]; added: number };
      if (store.merge) merged = await store.merge(this.ctx.userId, update, max);
      else {
        merged = mergeFactList(this.facts, update, max);
        await store.save(this.ctx.userId, merged.facts);
      }
      this.facts = merged.facts;
      this.ctx.bus.publish('memory.extracted', {
        sessionId: this.ctx.sessionId,
        userId: this.ctx.userId,
        factsExtracted: merged.added,
        durationMs: Math.round(performance.now() - started),
      });
    } catch (err) {
      this.ctx.onError(err);
    }
  }
}
