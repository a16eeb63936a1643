/**
 * Infers Gemini's sliding-window compression, which the protocol does not announce. The prompt of
 * a turn (`usageMetadata.promptTokenCount`) holds the whole context, so from one turn to the next it
 * only grows, by the previous answer and the new input, until the server drops the oldest turns.
 * A prompt smaller than the one before is such a drop: at least the previous prompt plus its answer
 * minus the new prompt left (`removedTokens`, a lower bound). Which turns left is not said; their
 * number is estimated from how much each exchange added (two items, the user's and the model's).
 */
export class CompressionWatch {
  private lastContext: number | undefined;
  private lastPrompt: number | undefined;
  /** Tokens each exchange added, oldest first. */
  private exchanges: number[] = [];

  observe(
    promptTokens: number | undefined,
    responseTokens: number | undefined,
  ): { removedItems: number; removedTokens: number } | undefined {
    if (promptTokens === undefined) return undefined;
    const before = this.lastContext;
    const lastPrompt = this.lastPrompt;
    this.lastPrompt = promptTokens;
    this.lastContext = promptTokens + (responseTokens ?? 0);
    if (before === undefined || lastPrompt === undefined) return undefined;
    // Only a removal makes a prompt smaller than the one before it.
    if (promptTokens >= lastPrompt) {
      this.exchanges.push(promptTokens - lastPrompt);
      if (this.exchanges.length > 4096) this.exchanges.shift();
      return undefined;
    }
    const removedTokens = before - promptTokens;
    let n = 0;
    let sum = 0;
    while (n < this.exchanges.length && sum < removedTokens) sum += this.exchanges[n++]!;
    this.exchanges = this.exchanges.slice(n);
    return { removedItems: Math.max(1, n * 2), removedTokens };
  }
}
