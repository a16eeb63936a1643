import { describe, expect, it } from 'vitest';
import { SpeechSegmenter } from './speech-segmenter.ts';

function streamAll(seg: SpeechSegmenter, text: string, step = 3): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += step) out.push(...seg.push(text.slice(i, i + step)));
  out.push(...seg.flush());
  return out;
}

describe('SpeechSegmenter', () => {
  it('emits the first sentence at once, then merges short sentences up to minChunkSize', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 30, maxChunkSize: 120 });
    expect(seg.push('Hello there.')).toEqual([]); // terminator not yet confirmed by whitespace
    expect(seg.push(' How')).toEqual(['Hello there.']);
    expect(seg.push(' are you? Fine.')).toEqual([]);
    expect(seg.push(' I am glad to hear that. Bye')).toEqual(['How are you? Fine. I am glad to hear that.']);
    expect(seg.flush()).toEqual(['Bye']);
  });

  it('waits for the minimum on the first chunk when fastFirstChunk is false', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 20, fastFirstChunk: false });
    expect(seg.push('Hi. Yes. ')).toEqual([]);
    expect(seg.push('This is a longer sentence. ')).toEqual(['Hi. Yes. This is a longer sentence.']);
  });

  it('does not split decimals, numbers, abbreviations or initials', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1, maxChunkSize: 500 });
    const chunks = streamAll(
      seg,
      'Pi is 3.14 and the total is 1.000.000 dollars. Dr. Smith met J. K. Rowling, e.g. at noon. Visit example.com today! Done',
    );
    expect(chunks).toEqual([
      'Pi is 3.14 and the total is 1.000.000 dollars.',
      'Dr. Smith met J. K. Rowling, e.g. at noon.',
      'Visit example.com today!',
      'Done',
    ]);
  });

  it('a dot after a space or after only an opening quote ends its sentence (no word before it to abbreviate)', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'It costs ten . Then more. He wrote ". Next one.')).toEqual([
      'It costs ten .',
      'Then more.',
      'He wrote ".',
      'Next one.',
    ]);
  });

  it('splits at ellipses, runs of terminators, closing quotes and newlines', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'Well… I see. Really?! "Yes." Line one\nLine two', 2)).toEqual([
      'Well…',
      'I see.',
      'Really?!',
      '"Yes."',
      'Line one',
      'Line two',
    ]);
  });

  it('forces a split before maxChunkSize at the last clause boundary', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 40 });
    const chunks = streamAll(seg, 'one two three four, five six seven eight nine ten eleven twelve thirteen');
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(40);
    expect(chunks[0]).toBe('one two three four,');
    expect(chunks.join(' ')).toBe('one two three four, five six seven eight nine ten eleven twelve thirteen');
  });

  it('forces a split at a word boundary when there is no clause boundary, never inside a word', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 30 });
    const text = 'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike';
    const chunks = streamAll(seg, text, 1);
    const words = new Set(text.split(' '));
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(30);
      expect(c.length).toBeGreaterThanOrEqual(10);
      for (const w of c.split(' ')) expect(words.has(w)).toBe(true);
    }
    expect(chunks.join(' ')).toBe(text);
  });

  it('never emits a chunk shorter than the minimum except the first and the flushed tail', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 25, maxChunkSize: 80 });
    const chunks = streamAll(
      seg,
      'Ok. A. B. C. D. E. F. G. H. I am a much longer sentence here. J. K. End.',
      4,
    );
    expect(chunks[0]).toBe('Ok.');
    for (const c of chunks.slice(1, -1)) expect(c.length).toBeGreaterThanOrEqual(25);
  });

  it('drops punctuation-only text and resets after flush', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 5 });
    expect(streamAll(seg, '... ')).toEqual([]);
    expect(streamAll(seg, 'Hi. Again.')).toEqual(['Hi.', 'Again.']);
  });

  it('defaults to chunks of 50 to 200 characters, and keeps the bounds usable', () => {
    const seg = new SpeechSegmenter();
    expect([seg.minChunkSize, seg.maxChunkSize, seg.fastFirstChunk]).toEqual([50, 200, true]);
    expect(new SpeechSegmenter({ minChunkSize: 0 }).minChunkSize).toBe(1);
    const tight = new SpeechSegmenter({ minChunkSize: 60, maxChunkSize: 10 });
    expect([tight.minChunkSize, tight.maxChunkSize]).toEqual([60, 61]);
  });

  it('an empty delta completes nothing', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(seg.push('Done.')).toEqual([]);
    expect(seg.push('')).toEqual([]);
    expect(seg.push(' ')).toEqual(['Done.']);
  });

  it('a sentence longer than maxChunkSize is split before its end at a clause boundary', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 40 });
    const text = 'We could meet on Monday; or perhaps on Tuesday after the long meeting ends. Thanks';
    const chunks = streamAll(seg, text, 5);
    expect(chunks).toEqual([
      'We could meet on Monday;',
      'or perhaps on Tuesday after the long',
      'meeting ends.',
      'Thanks',
    ]);
  });

  it('a sentence longer than maxChunkSize that arrives in one delta is split the same way', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 40 });
    const text = 'We could meet on Monday; or perhaps on Tuesday after the long meeting ends. Thanks';
    expect(seg.push(text)).toEqual([
      'We could meet on Monday;',
      'or perhaps on Tuesday after the long',
      'meeting ends.',
    ]);
    expect(seg.flush()).toEqual(['Thanks']);
  });

  it('each clause mark is a split point: , ; : and the dashes', () => {
    for (const mark of [',', ';', ':', '\u2014', '\u2013', '-']) {
      const seg = new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 30 });
      const chunks = streamAll(seg, `first part here${mark} then some more words follow on`, 4);
      expect(chunks[0], mark).toBe(`first part here${mark}`);
    }
  });

  it('an abbreviation inside a forced split is a split point too', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 30 });
    expect(streamAll(seg, 'we meet the visiting Dr. Jones and her whole team at noon')[0]).toBe(
      'we meet the visiting Dr.',
    );
  });

  it('a forced split may make a chunk of exactly minChunkSize, never one shorter', () => {
    // The only word boundary before maxChunkSize (10) leaves 5 characters: exactly the minimum.
    expect(
      streamAll(new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 10 }), 'abcde fghijklm', 1),
    ).toEqual(['abcde', 'fghijklm']);
    // One character short of it: no boundary in reach, so the run is cut at maxChunkSize.
    expect(streamAll(new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 10 }), 'abcd fghijklm', 1)).toEqual(
      ['abcd fghij', 'klm'],
    );
    // A second space counts no character of the chunk: cutting there would send 'abcd' (4).
    expect(
      streamAll(new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 10 }), 'abcd  fghijklm', 1),
    ).toEqual(['abcd  fghi', 'jklm']);
    // Leading whitespace is not part of the chunk either.
    expect(
      streamAll(new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 10 }), '  abcde fghijklm', 1),
    ).toEqual(['abcde', 'fghijklm']);
  });

  it('a run with no space at all is cut at maxChunkSize', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 20 });
    const url = 'https://example.com/a/very/long/path/that/never/ends';
    const chunks = streamAll(seg, url, 7);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(20);
    expect(chunks.join('')).toBe(url);
  });

  it('tabs, carriage returns and no-break spaces confirm a sentence end', () => {
    for (const space of ['\t', '\r', '\u00a0']) {
      const seg = new SpeechSegmenter({ minChunkSize: 1 });
      expect(seg.push(`Yes.${space}`), JSON.stringify(space)).toEqual(['Yes.']);
    }
  });

  it('closing brackets and quotes stay with their sentence', () => {
    for (const closer of [')', ']', '}', '\u201d', '\u2019', '\u00bb', "'"]) {
      const seg = new SpeechSegmenter({ minChunkSize: 1 });
      expect(streamAll(seg, `(It works.${closer} Next`), closer).toEqual([`(It works.${closer}`, 'Next']);
    }
  });

  it('an abbreviation after an opening bracket or quote is still one', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'Ask ("Dr. Who") today. And "e.g. this" too.')).toEqual([
      'Ask ("Dr. Who") today.',
      'And "e.g. this" too.',
    ]);
  });

  it('a lone lower-case letter or an unknown word before a dot ends the sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'Plan a. Then plan b. Call Bob. Fine')).toEqual([
      'Plan a.',
      'Then plan b.',
      'Call Bob.',
      'Fine',
    ]);
  });

  it('only a dot can end an abbreviation: "Dr!" ends its sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'Thank you, Dr! See you.')).toEqual(['Thank you, Dr!', 'See you.']);
  });

  it('a sentence of punctuation alone is dropped, not sent to TTS', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect(streamAll(seg, 'Wait. ... Go on.')).toEqual(['Wait.', 'Go on.']);
  });
});

describe('SpeechSegmenter at the start of the text', () => {
  it('an abbreviation that opens the text is still one', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push('Dr. Smith is here. Next'), ...seg.flush()]).toEqual(['Dr. Smith is here.', 'Next']);
  });

  it('a forced split counts its bounds from the first word, after leading whitespace', () => {
    // Lead of 3: the word boundary at 12 is within maxChunkSize (10) of the first word, not of the text start.
    expect(
      streamAll(new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 10 }), '   abcdefghi jklmnop', 1),
    ).toEqual(['abcdefghi', 'jklmnop']);
  });
});
