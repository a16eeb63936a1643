import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zodIssueText } from './zod-issues.ts';

const Schema = z.strictObject({ name: z.string(), agent: z.object({ voice: z.number() }) });

function errorOf(value: unknown): z.ZodError {
  const r = Schema.safeParse(value);
  if (r.success) throw new Error('expected a failed parse');
  return r.error;
}

describe('zodIssueText', () => {
  it('names each issue by its path, joined by "; "', () => {
    expect(zodIssueText(errorOf({ name: 1, agent: { voice: 'x' } }))).toBe(
      'name: Invalid input: expected string, received number; agent.voice: Invalid input: expected number, received string',
    );
  });

  it('first: only the first issue; pathPrefix: where the value sits', () => {
    expect(
      zodIssueText(errorOf({ name: 1, agent: { voice: 'x' } }), { first: true, pathPrefix: 'data.' }),
    ).toBe('data.name: Invalid input: expected string, received number');
  });

  it('an issue at the root has no path', () => {
    expect(zodIssueText(errorOf([1, 2]))).toBe('Invalid input: expected object, received array');
  });
});
