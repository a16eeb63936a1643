/**
 * One readable line for a failed zod parse, for the typed errors and HTTP answers that report it:
 * `path: message` per issue (just `message` at the root), joined by `; `.
 */
import type { z } from 'zod';

export interface ZodIssueTextOptions {
  /** Report only the first issue (answers to clients stay short). Default: all issues. */
  first?: boolean;
  /** Put before each path, e.g. `data.` when the parsed value sits under `data`. */
  pathPrefix?: string;
}

export function zodIssueText(error: z.ZodError, options: ZodIssueTextOptions = {}): string {
  const issues = options.first ? error.issues.slice(0, 1) : error.issues;
  const text = issues
    .map((i) =>
      i.path.length > 0 ? `${options.pathPrefix ?? ''}${i.path.join('.')}: ${i.message}` : i.message,
    )
    .join('; ');
  return text || 'invalid';
}
