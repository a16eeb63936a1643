/** redactText's bound: a text of exactly the limit is kept whole, one character more is cut with an ellipsis. */
import { describe, expect, it } from 'vitest';
import { redactText } from './client-safe.ts';

describe('redactText: the length bound', () => {
  it.each<[string, string, number | undefined, string]>([
    ['exactly 300 (the default): whole', 'a'.repeat(300), undefined, 'a'.repeat(300)],
    ['301: cut to 300 and an ellipsis', 'a'.repeat(301), undefined, `${'a'.repeat(300)}…`],
    ['exactly maxChars: whole', 'abcde', 5, 'abcde'],
    ['maxChars + 1: cut', 'abcdef', 5, 'abcde…'],
    ['shorter: whole', 'ab', 5, 'ab'],
  ])('%s', (_name, text, maxChars, expected) => {
    expect(redactText(text, maxChars)).toBe(expected);
  });
});
