import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR } from '../config.ts';
import { grammarPhrases } from './grammar-phrases.ts';

describe('grammarPhrases', () => {
  it('lists every phrase of the offline demo grammar, references expanded', () => {
    const phrases = grammarPhrases(readFileSync(join(DEMO_DIR, 'demo.jsgf'), 'utf8'));
    expect(phrases).toContain('what time is breakfast');
    expect(phrases).toContain('hey there');
    expect(phrases).toContain('book a massage');
    expect(phrases).toContain('thanks goodbye');
    expect(phrases).toHaveLength(4 + 5 + 4 + 2);
  });

  it('skips what it does not understand and stays bounded', () => {
    const jsgf = [
      '#JSGF V1.0;',
      'grammar g;',
      'public <a> = hello [there] | (good | bad) day | <b> | plain words;',
      '<b> = y | z;',
    ].join('\n');
    expect(grammarPhrases(jsgf)).toEqual(['y', 'z', 'plain words']);
    const recursive = grammarPhrases('public <r> = <r> again | once;');
    expect(recursive).toContain('once');
    expect(recursive).toContain('once again');
    expect(recursive.length).toBeLessThanOrEqual(40);
    const wide = `public <w> = ${Array.from({ length: 100 }, (_, i) => `w${i}`).join(' | ')};`;
    expect(grammarPhrases(wide, 10)).toHaveLength(10);
  });
});
