/** Merging a user's long-term memory facts: no duplicates, newer facts win, a cap. */
import type { FactChange, MemoryFact } from './types.ts';

/** Longest fact kept, in characters (longer ones are cut). */
export const MAX_FACT_CHARS = 300;

/** Case and spacing aside, two facts with the same key are the same fact. */
export function factKey(fact: string): string {
  return fact.trim().replace(/\s+/g, ' ').toLowerCase();
}

function cleanFact(fact: string): string {
  return fact.trim().replace(/\s+/g, ' ').slice(0, MAX_FACT_CHARS);
}

/**
 * Apply `change` to `existing` (oldest first): removed facts go; an added fact that is already known
 * is renewed (moves to the newest end, keeps its newest wording); then only the newest `maxFacts`
 * stay. Returns the facts, oldest first, and how many were new.
 */
export function mergeFacts(
  existing: readonly MemoryFact[],
  change: FactChange,
  maxFacts: number,
): { facts: MemoryFact[]; added: number } {
  const byKey = new Map<string, MemoryFact>();
  for (const f of existing) byKey.set(factKey(f.fact), f);
  for (const r of change.remove ?? []) byKey.delete(factKey(r));
  let added = 0;
  for (const raw of change.add) {
    const fact = cleanFact(raw);
    if (!fact) continue;
    const key = factKey(fact);
    if (!byKey.has(key)) added++;
    byKey.delete(key); // re-insert at the newest end
    byKey.set(key, { fact, updatedAt: change.at });
  }
  const all = [...byKey.values()].sort((a, b) => a.updatedAt - b.updatedAt);
  const cap = Math.max(0, Math.floor(maxFacts));
  return { facts: all.slice(Math.max(0, all.length - cap)), added };
}
