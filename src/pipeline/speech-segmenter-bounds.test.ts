import { describe, expect, it } from 'vitest';
import { SpeechSegmenter } from './speech-segmenter.ts';

describe('SpeechSegmenter bounds', () => {
  it('a sentence counts its length without the space before it: 9 characters stay below a minimum of 10', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 100 });
    expect(seg.push('Hi. Abcdefgh. More')).toEqual(['Hi.']);
    expect(seg.flush()).toEqual(['Abcdefgh. More']);
  });

  it('a sentence of exactly maxChunkSize is one chunk; one character more is split at its clause', () => {
    const exact = new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 20 });
    expect(exact.push('Aaaaaa, bbbbbbbbbb.) ')).toEqual(['Aaaaaa, bbbbbbbbbb.)']);
    const over = new SpeechSegmenter({ minChunkSize: 5, maxChunkSize: 20 });
    expect(over.push('Aaaaaa, bbbbbbbbbbb.) ')).toEqual(['Aaaaaa,', 'bbbbbbbbbbb.)']);
  });
});

describe('SpeechSegmenter abbreviations', () => {
  const ABBREVIATIONS = [
    'Mr',
    'Mrs',
    'Ms',
    'Dr',
    'Prof',
    'Sr',
    'Jr',
    'St',
    'Mt',
    'vs',
    'etc',
    'e.g',
    'i.e',
    'eg',
    'ie',
    'cf',
    'approx',
    'No',
    'Nos',
    'Vol',
    'Fig',
    'Inc',
    'Ltd',
    'Co',
    'Corp',
    'Dept',
    'est',
    'a.m',
    'p.m',
    'U.S',
    'U.K',
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Sept',
    'Oct',
    'Nov',
    'Dec',
    'min',
    'max',
    'ca',
  ];
  it.each(ABBREVIATIONS)('"%s." does not end a sentence', (abbr) => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push(`Say ${abbr}. then stop. `), ...seg.flush()]).toEqual([`Say ${abbr}. then stop.`]);
  });
  it('a word that is not one ends its sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push('Say Mx. then stop. '), ...seg.flush()]).toEqual(['Say Mx.', 'then stop.']);
  });
});

describe('SpeechSegmenter closers', () => {
  it('a straight double quote after the terminator stays with its sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push('He said "It works." Next'), ...seg.flush()]).toEqual([
      'He said "It works."',
      'Next',
    ]);
  });
});

describe('SpeechSegmenter sentence ends and the minimum', () => {
  it('a lone ? or … ends its sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push('Why? Because… So. '), ...seg.flush()]).toEqual(['Why?', 'Because…', 'So.']);
  });

  it('a sentence of exactly minChunkSize is a chunk of its own; one character shorter waits for the next', () => {
    const exact = new SpeechSegmenter({ minChunkSize: 10, fastFirstChunk: false });
    expect(exact.push('Abcdefghi. Next')).toEqual(['Abcdefghi.']);
    const short = new SpeechSegmenter({ minChunkSize: 10, fastFirstChunk: false });
    expect(short.push('Abcdefgh. Next')).toEqual([]);
    expect(short.flush()).toEqual(['Abcdefgh. Next']);
  });
});

describe('SpeechSegmenter after flush', () => {
  it('a flush starts the next text afresh: its first sentence is fast again, its scan from the start', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 10, maxChunkSize: 100 });
    expect([...seg.push('Hello there. A text without an end'), ...seg.flush()]).toEqual([
      'Hello there.',
      'A text without an end',
    ]);
    expect([...seg.push('Hi. Then a longer one. '), ...seg.flush()]).toEqual(['Hi.', 'Then a longer one.']);
  });
});

describe('SpeechSegmenter newlines', () => {
  it('a newline bounds the word before an abbreviation like a space does', () => {
    // "Hello there" (11) is below the minimum, so the newline's sentence waits for the next one;
    // "Dr." after the newline is still an abbreviation, so it does not end "Hello there\nDr.".
    const seg = new SpeechSegmenter({ minChunkSize: 12, fastFirstChunk: false });
    expect([...seg.push('Hello there\nDr. Smith is here. '), ...seg.flush()]).toEqual([
      'Hello there\nDr. Smith is here.',
    ]);
  });
});

describe('SpeechSegmenter abbreviations before other marks', () => {
  it('an abbreviation followed by a question mark or a closing quote ends its sentence', () => {
    const seg = new SpeechSegmenter({ minChunkSize: 1 });
    expect([...seg.push('Did you bring pens, paper, etc.? Yes, all of it. '), ...seg.flush()]).toEqual([
      'Did you bring pens, paper, etc.?',
      'Yes, all of it.',
    ]);
    expect([...seg.push('He said "see you in Jan." Then he left. '), ...seg.flush()]).toEqual([
      'He said "see you in Jan."',
      'Then he left.',
    ]);
  });
});
