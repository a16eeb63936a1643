import { describe, expect, it } from 'vitest';
import {
  type ChunkState,
  heardTextOf,
  interruptReasonOf,
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

describe('heardTextOf, edges', () => {
  it('a chunk done without audio (nothing played) is not heard', () => {
    const r = response();
    chunk(r, 'Silent.', 'done', 0, 0);
    chunk(r, 'Spoken words.', 'done', 100, 100);
    expect(heardTextOf(r, 5)).toBe('Spoken words.');
  });

  it('a chunk played to its last sample is its text as it stands, spacing included', () => {
    const r = response();
    chunk(r, 'One,  two -  three.', 'done', 300, 300);
    expect(heardTextOf(r, 0)).toBe('One,  two -  three.');
  });

  it('the estimate of a chunk still synthesising is its characters times samplesPerChar, rounded', () => {
    // 10 words, 20 characters: at 2.5 samples per character 50 samples, of which 25 played: 5 words.
    const r = response();
    chunk(r, 'a b c d e f g h i j.', 'synthesizing', 10, 25);
    expect(heardTextOf(r, 2.5)).toBe('a b c d e');
    // 20 characters at 2.49 samples each: 49.8, rounded to 50 (not down to 49: 49 played would be all 10 words).
    const down = response();
    chunk(down, 'a b c d e f g h i j.', 'synthesizing', 10, 49);
    expect(heardTextOf(down, 2.49)).toBe('a b c d e f g h i');
    // At 2.51: 50.2, rounded to 50 (not up to 51: 50 played would be 9 words, not 10).
    const up = response();
    chunk(up, 'a b c d e f g h i j.', 'synthesizing', 10, 50);
    expect(heardTextOf(up, 2.51)).toBe('a b c d e f g h i j.');
  });
});

describe('interruptReasonOf', () => {
  it('keeps an interrupt reason and reads anything else as interrupted', () => {
    const table: [unknown, string][] = [
      ['user_speaking', 'user_speaking'],
      ['client_request', 'client_request'],
      ['disconnected', 'disconnected'],
      ['interrupted', 'interrupted'],
      ['timeout', 'interrupted'],
      [undefined, 'interrupted'],
      [new Error('user_speaking'), 'interrupted'],
    ];
    for (const [reason, expected] of table) expect(interruptReasonOf(reason)).toBe(expected);
  });
});

describe('newResponse and newChunk', () => {
  it('a new response is open with nothing queued, played, released or published', () => {
    const segmenter = new SpeechSegmenter();
    const resolve = () => {};
    const r = newResponse('turn-7', 24000, segmenter, resolve);
    expect(r).toStrictEqual({
      turnId: 'turn-7',
      state: 'open',
      chunks: [],
      fullText: '',
      segmenter,
      info: { turnId: 'turn-7', sampleRate: 24000 },
      playIndex: 0,
      releaseIndex: 0,
      startPublished: false,
      completePublished: false,
      speaking: false,
      resolve,
      detach: undefined,
    });
  });

  it('a new chunk is queued with no audio, no cursor, no request', () => {
    const r = response();
    const c = newChunk(4, 'Some words.', r);
    expect(c).toStrictEqual({
      id: 4,
      text: 'Some words.',
      response: r,
      state: 'queued',
      pieces: [],
      encoded: undefined,
      samples: 0,
      readPiece: 0,
      readOffset: 0,
      played: 0,
      controller: undefined,
      wake: undefined,
      timer: undefined,
    });
  });
});
