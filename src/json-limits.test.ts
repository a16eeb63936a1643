import { describe, expect, it } from 'vitest';
import {
  assertJsonLimits,
  checkJsonLimits,
  JsonLimitError,
  jsonTextDepth,
  parseJsonOrThrow,
  parseJsonWithLimits,
} from './json-limits.ts';

const deepText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** A value `depth` arrays deep, built without recursion. */
function deepValue(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('parseJsonWithLimits', () => {
  it('parses JSON within the limits', () => {
    expect(parseJsonWithLimits('{"a":[1,{"b":"x"}]}')).toEqual({ ok: true, value: { a: [1, { b: 'x' }] } });
    expect(parseJsonWithLimits(deepText(64))).toMatchObject({ ok: true });
  });

  it.each([
    ['too deep (100 000 levels, no stack overflow)', deepText(100_000), {}, 'json_too_deep'],
    ['one level too deep', deepText(9), { maxDepth: 8 }, 'json_too_deep'],
    ['too large', `"${'x'.repeat(2000)}"`, { maxBytes: 1000 }, 'json_too_large'],
    ['too large in UTF-8 bytes', `"${'é'.repeat(600)}"`, { maxBytes: 1000 }, 'json_too_large'],
    ['too many values', `[${'1,'.repeat(200)}1]`, { maxNodes: 100 }, 'json_too_many_nodes'],
    ['malformed', '{"a":', {}, 'json_malformed'],
  ])('refuses %s with a typed error', (_what, text, limits, code) => {
    const r = parseJsonWithLimits(text, limits);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(JsonLimitError);
    expect(r.error.code).toBe(code);
    expect(() => parseJsonOrThrow(text, limits)).toThrow(JsonLimitError);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonTextDepth('["[[[[", "\\"[[[", {"a": "}}}"}]')).toBe(2);
    expect(parseJsonWithLimits(`["${'['.repeat(1000)}"]`, { maxDepth: 2 })).toMatchObject({ ok: true });
  });
});

describe('checkJsonLimits', () => {
  it('measures parsed values iteratively', () => {
    expect(checkJsonLimits(deepValue(63))).toMatchObject({ ok: true });
    const r = checkJsonLimits(deepValue(100_000));
    expect(!r.ok && r.error.code).toBe('json_too_deep');
  });

  it('refuses a cycle (infinitely deep) instead of looping', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => assertJsonLimits(a)).toThrow(/nested deeper than 64/);
  });

  it('bounds the size of strings and keys without serializing', () => {
    expect(checkJsonLimits({ a: 'x'.repeat(2000) }, { maxBytes: 1000 })).toMatchObject({ ok: false });
    expect(checkJsonLimits({ ['k'.repeat(2000)]: 1 }, { maxBytes: 1000 })).toMatchObject({ ok: false });
    expect(checkJsonLimits('x'.repeat(2000), { maxBytes: 1000 })).toMatchObject({ ok: false });
    expect(checkJsonLimits({ a: 'x'.repeat(900) }, { maxBytes: 1000 })).toMatchObject({ ok: true });
  });
});
