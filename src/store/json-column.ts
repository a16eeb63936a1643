/**
 * Tool arguments and results go into the store as JSON text, bounded: a value that cannot be
 * serialised (a cycle, a BigInt) or is larger than the bound is stored as a marker saying so, never
 * silently dropped.
 */
export const MAX_JSON_COLUMN_CHARS = 256 * 1024;

export interface OmittedValue {
  omitted: true;
  reason: 'too_large' | 'not_serialisable';
  chars?: number;
  preview?: string;
}

export function toJsonColumn(value: unknown, maxChars = MAX_JSON_COLUMN_CHARS): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch {
    return JSON.stringify({ omitted: true, reason: 'not_serialisable' } satisfies OmittedValue);
  }
  if (text === undefined) return 'null';
  if (text.length <= maxChars) return text;
  return JSON.stringify({
    omitted: true,
    reason: 'too_large',
    chars: text.length,
    preview: text.slice(0, 1024),
  } satisfies OmittedValue);
}

/** Bounded copy of a value (what `toJsonColumn` would store), for stores that keep objects. */
export function boundedValue(value: unknown, maxChars = MAX_JSON_COLUMN_CHARS): unknown {
  return JSON.parse(toJsonColumn(value, maxChars));
}
