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
