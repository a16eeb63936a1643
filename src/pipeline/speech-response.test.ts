import { describe, expect, it } from 'vitest';
import {
  type ChunkState,
  heardTextOf,
  isEncodedTts,
  newChunk,
  newResponse,
  type OutputResponse,
} from './speech-response.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';

function response(): OutputResponse {
  return newResponse('t1', 16000, new SpeechSegmenter(), () => {});
}

function chunk(r: OutputResponse, text: string, state: ChunkState, samples: number, played: number) {
  const c = newChunk(r.chunks.length, text, r);
  c.state = state;
  c.samples = samples;
  c.played = played;
  r.chunks.push(c);
}

describe('heardTextOf', () => {
  it('chunks played to the end whole, the playing one in proportion to its samples, rounded down', () => {
    const r = response();
    chunk(r, 'One two three.', 'done', 300, 300);
    chunk(r, 'Four five six seven.', 'done', 400, 299);
    chunk(r, 'Never played.', 'done', 100, 0);
    expect(heardTextOf(r, 0)).toBe('One two three. Four five');
  });

  it('a chunk with under one word played adds nothing', () => {
    const r = response();
    chunk(r, 'Alpha beta.', 'done', 200, 99);
    expect(heardTextOf(r, 0)).toBe('');
    // After a chunk heard whole: nothing added, not even the space between them.
    const after = response();
    chunk(after, 'One two.', 'done', 100, 100);
    chunk(after, 'Alpha beta.', 'done', 200, 99);
    expect(heardTextOf(after, 0)).toBe('One two.');
  });

  it('a chunk still synthesising is measured by the larger of its audio so far and its estimated length', () => {
    const estimated = response();
    // 4 words, 20 characters at 10 samples per character: 200 samples expected, 100 played.
    chunk(estimated, 'aa bb cc dd eeeeeee.', 'synthesizing', 120, 100);
    expect(heardTextOf(estimated, 10)).toBe('aa bb');
    const arrived = response();
    // more audio arrived than the estimate: it is the measure.
    chunk(arrived, 'aa bb cc dd eeeeeee.', 'synthesizing', 400, 200);
    expect(heardTextOf(arrived, 1)).toBe('aa bb');
  });

  it('a chunk cut while synthesising but fully played so far is not counted whole', () => {
    const r = response();
    chunk(r, 'aa bb cc dd.', 'cancelled', 100, 100);
    expect(heardTextOf(r, 20)).toBe('aa');
  });

  it('ignores runs of whitespace between words', () => {
    const r = response();
    chunk(r, '  aa   bb  cc dd ', 'synthesizing', 400, 200);
    expect(heardTextOf(r, 0)).toBe('aa bb');
  });
});

describe('isEncodedTts', () => {
  it('tells an encoded model by its synthesizeEncoded function', () => {
    const base = { provider: 'p', modelId: 'm' };
    expect(
      isEncodedTts({ ...base, format: 'mp3', synthesizeEncoded: async () => new Uint8Array(0) } as never),
    ).toBe(true);
    expect(isEncodedTts({ ...base, synthesizeEncoded: 'no' } as never)).toBe(false);
    expect(isEncodedTts({ ...base, synthesize: async function* () {} } as never)).toBe(false);
  });
});
