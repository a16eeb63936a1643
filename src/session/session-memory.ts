/** A session's long-term memory: load the user's facts at start, extract new ones at close. */
import type { LanguageModel, ModelMessage } from 'ai';
import { extractFacts, type MemoryOptions, memoryPrompt } from '../agents/memory.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';

export interface SessionMemoryContext {
  bus: SessionEventBus;
  sessionId: string;
  userId: string;
  /** Fallback extraction model (the session's). */
  model: LanguageModel;
  onError: (err: unknown) => void;
}

export class SessionMemory {
  private facts: string[] = [];
  /** Resolves once the user's facts are loaded (or failed to load). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: MemoryOptions,
    private readonly ctx: SessionMemoryContext,
  ) {}

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

  /** Extract facts from the conversation, save them, publish `memory.extracted`. Never throws. */
  async extract(conversation: ModelMessage[]): Promise<void> {
    const started = performance.now();
    try {
      await this.ready;
      const { facts, added } = await extractFacts(
        this.options.model ?? this.ctx.model,
        conversation,
        this.facts,
        this.options.maxFacts ?? 50,
      );
      await this.options.store.save(this.ctx.userId, facts);
      this.facts = facts;
      this.ctx.bus.publish('memory.extracted', {
        sessionId: this.ctx.sessionId,
        userId: this.ctx.userId,
        factsExtracted: added,
        durationMs: Math.round(performance.now() - started),
      });
    } catch (err) {
      this.ctx.onError(err);
    }
  }
}
