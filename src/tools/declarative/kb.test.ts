/**
 * The knowledge base behind `kb` tools: documents are split into passages of about 800 characters at
 * paragraph and sentence boundaries, and a search returns the best passages (id, title, text, score)
 * over titles and texts, on the real Orama index.
 */
import { describe, expect, it } from 'vitest';
import { KnowledgeBase, splitPassages } from './kb.ts';

/** A sentence of exactly 100 characters (with its trailing space), ending with `end`. */
const sentence = (i: number, end = '.') => {
  const head = `Sentence ${i} `;
  return `${head}${'w'.repeat(99 - head.length - end.length)}${end} `;
};

describe('splitPassages', () => {
  it.each([
    // text, passages
    ['', []],
    ['   \n\n  ', []],
    ['One. Two! Three?', ['One. Two! Three?']],
    ['no punctuation at all', ['no punctuation at all']],
    ['...', ['...']],
    // Paragraphs (a blank line, whitespace allowed in it) are kept apart by one line break.
    ['First.\n\nSecond.', ['First.\nSecond.']],
    ['First.\n \t\nSecond.', ['First.\nSecond.']],
    ['First.\n\n\n\nSecond.', ['First.\nSecond.']],
    ['Same paragraph.\nNext line.', ['Same paragraph.\nNext line.']],
  ])('%j → %j', (text, passages) => {
    expect(splitPassages(text)).toEqual(passages);
  });

  it('cuts at sentence boundaries: 800 characters fit in a passage, the next sentence starts another', () => {
    const ends = ['.', '!', '?', '...'];
    const sentences = Array.from({ length: 20 }, (_, i) => sentence(i, ends[i % 4]));
    const passages = splitPassages(sentences.join(''));
    expect(passages).toEqual([
      sentences.slice(0, 8).join('').trim(),
      sentences.slice(8, 16).join('').trim(),
      sentences.slice(16).join('').trim(),
    ]);
  });

  it('keeps a sentence longer than a passage whole, and starts the next passage after it', () => {
    const long = `${'x'.repeat(1000)}. `;
    expect(splitPassages(`${long}${sentence(1)}`)).toEqual([long.trim(), sentence(1).trim()]);
    expect(splitPassages(`${sentence(1)}${long}`)).toEqual([sentence(1).trim(), long.trim()]);
    // Leading blank paragraphs make no empty passage.
    expect(splitPassages(`\n\n${long}`)).toEqual([long.trim()]);
  });

  it('a paragraph break counts toward the passage length', () => {
    // 8 sentences of 100 characters in two paragraphs: 800 characters plus one line break.
    const a = Array.from({ length: 4 }, (_, i) => sentence(i)).join('');
    const b = Array.from({ length: 4 }, (_, i) => sentence(i + 4)).join('');
    const passages = splitPassages(`${a}\n\n${b}`);
    expect(passages).toEqual([`${a}\n${b.slice(0, 300)}`.trim(), b.slice(300).trim()]);
  });
});

describe('KnowledgeBase', () => {
  const kb = KnowledgeBase.fromDocuments([
    { id: 'refunds', title: 'Refunds', text: 'Money back within 14 days of a return.' },
    { title: 'Shipping', text: 'We ship worldwide with tracked couriers.' },
    { text: 'Parcels to islands take two more days.' },
    { id: 'penguin', title: 'Birds', text: 'Our mascot is a small flightless bird.' },
  ]);

  it.each([
    // query, hits (id, title, text)
    ['refunds', [{ id: 'refunds', title: 'Refunds', text: 'Money back within 14 days of a return.' }]],
    ['couriers', [{ id: 'doc-2', title: 'Shipping', text: 'We ship worldwide with tracked couriers.' }]],
    ['islands', [{ id: 'doc-3', text: 'Parcels to islands take two more days.' }]],
    ['flightless', [{ id: 'penguin', title: 'Birds', text: 'Our mascot is a small flightless bird.' }]],
    // ids are not searched
    ['penguin', []],
    ['unrelated', []],
  ])('%s → %j', async (query, hits) => {
    const found = await kb.search(query);
    expect(found.map(({ score: _, ...hit }) => hit)).toEqual(hits);
    for (const { score } of found) {
      // rounded to 3 decimals, a BM25 score
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(100);
      expect(score).toBe(Number(score.toFixed(3)));
    }
  });

  it('returns the 3 best hits by default, topK when given, best first', async () => {
    const many = KnowledgeBase.fromDocuments(
      Array.from({ length: 6 }, (_, i) => ({
        id: `d${i}`,
        text: `${'tea '.repeat(i + 1)}and other drinks.`,
      })),
    );
    const three = await many.search('tea');
    expect(three).toHaveLength(3);
    const scores = three.map((h) => h.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(await many.search('tea', 1)).toEqual([three[0]]);
    expect(await many.search('tea', 5)).toHaveLength(5);
  });

  it('searches passages: a hit is the passage that matches, not the whole document', async () => {
    const filler = Array.from({ length: 8 }, (_, i) => sentence(i)).join('');
    const doc = KnowledgeBase.fromDocuments([
      { id: 'manual', text: `${filler}The boiler resets with the red switch.` },
    ]);
    expect(await doc.search('boiler')).toEqual([
      { id: 'manual', text: 'The boiler resets with the red switch.', score: expect.any(Number) },
    ]);
  });

  it('reads only the first 500 characters of a query', async () => {
    const padding = `${'zz '.repeat(166)}zz`; // 500 characters
    expect(await kb.search(`${padding} couriers`)).toEqual([]);
    expect(await kb.search(`${padding.slice(0, 480)} couriers`)).toHaveLength(1);
  });
});
