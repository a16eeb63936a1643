/**
 * `grammarPhrases` as a table of JSGF → phrases: comments, what a rule line and a reference are (whole
 * tokens, anchored), private rules reached through references, the depth of references (8), unknown
 * references and empty alternatives dropped, and the phrase limit.
 */
import { describe, expect, it } from 'vitest';
import { grammarPhrases } from './grammar-phrases.ts';

const chain = (n: number) =>
  [
    'public <p> = <r0>;',
    ...Array.from({ length: n }, (_, i) => (i === n - 1 ? `<r${i}> = deep;` : `<r${i}> = <r${i + 1}>;`)),
  ].join('\n');

describe('grammarPhrases', () => {
  it.each([
    ['public <a> = hello   world | bye;', ['hello world', 'bye']],
    ['  public   <a.b-c_1>  =  x  ;', ['x']],
    ['public <a> = one;\npublic <b> = two;', ['one', 'two']],
    ['<hidden> = not listed;', []],
    ['xpublic <a> = no;', []],
    ['public <a> = say a<b> | say <b>c;\n<b> = ref;', ['say a<b>', 'say <b>c']],
    ['public <a> = go <b> now;\n<b> = up | down;', ['go up now', 'go down now']],
    ['public <a> = <b> <b>;\n<b> = x | y;', ['x x', 'x y', 'y x', 'y y']],
    ['public <a> = <nope> x | y;', ['y']],
    ['public <a> = a | | b;', ['a', 'b']],
    ['public <a> = a | a;', ['a']],
    ['// public <a> = line comment;\npublic <b> = kept; // trailing', ['kept']],
    ['/* public <a> = block\npublic <c> = comment; */ public <b> = kept;', ['kept']],
    ['public <a> = caf\u00e9 n\u00famero 9;', ['caf\u00e9 n\u00famero 9']],
    ['public <a> = bad! | fine;', ['fine']],
    [chain(8), ['deep']],
    [chain(9), []],
  ])('%j → %j', (jsgf, phrases) => {
    expect(grammarPhrases(jsgf)).toEqual(phrases);
  });

  it('at most `limit` phrases (40 by default), also within one expansion', () => {
    const wide = (n: number) => `public <w> = ${Array.from({ length: n }, (_, i) => `w${i}`).join(' | ')};`;
    expect(grammarPhrases(wide(41))).toHaveLength(40);
    expect(grammarPhrases(wide(40))).toHaveLength(40);
    expect(grammarPhrases(wide(3), 2)).toEqual(['w0', 'w1']);
    const product = 'public <p> = <d> <d>;\n<d> = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;';
    // a grammar of ten million phrases: each expansion step keeps only the first `limit`
    const huge = `public <p> = ${'<d> '.repeat(7)};\n<d> = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;`;
    expect(grammarPhrases(huge, 3)).toEqual(['0 0 0 0 0 0 0', '0 0 0 0 0 0 1', '0 0 0 0 0 0 2']);
    expect(grammarPhrases(product, 15)).toEqual(
      Array.from({ length: 15 }, (_, i) => `${Math.floor(i / 10)} ${i % 10}`),
    );
  });
});
