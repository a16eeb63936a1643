import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { ChunkReleaser, type ReleaseHost } from './speech-release.ts';
import { type Chunk, newChunk, newResponse, type OutputResponse } from './speech-response.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';

/**
 * A releaser on a host whose queue, pause state and finishing are plain fields: each test sets the
 * chunks' states by hand and reads the events published, with their payloads, in order.
 */
function setup(
  mode: 'pcm' | 'encoded',
  options: { encodedSampleRate?: number; subscribeAll?: boolean } = {},
) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: [string, unknown][] = [];
  if (options.subscribeAll ?? true) bus.subscribeAll((e) => events.push([e.type, e.payload]));
  const queue: OutputResponse[] = [];
  const state = { running: true };
  const host: ReleaseHost = {
    bus,
    sessionId: 's',
    encoded: mode === 'encoded',
    format: mode === 'encoded' ? 'mp3' : 'pcm16',
    outputSampleRate: 24000,
    ...(options.encodedSampleRate !== undefined ? { encodedSampleRate: options.encodedSampleRate } : {}),
    head: () => queue[0],
    running: () => state.running,
    finish: (r) => {
      r.state = 'finished';
      queue.splice(queue.indexOf(r), 1);
      events.push(['(finished)', r.turnId]);
    },
  };
  const releaser = new ChunkReleaser(host);
  let nextId = 0;
  /** A response with one queued chunk per text, queued behind the others; speech.start published. */
  const response = (turnId: string, ...texts: string[]): OutputResponse => {
    const r = newResponse(turnId, 24000, new SpeechSegmenter({}), () => {});
    for (const text of texts) r.chunks.push(newChunk(nextId++, text, r));
    r.startPublished = true;
    queue.push(r);
    return r;
  };
  return { bus, events, queue, state, releaser, response };
}

/** PCM audio arrived in `pieces` and the chunk is complete. */
function pcmDone(c: Chunk, ...pieces: number[][]): void {
  for (const p of pieces) {
    c.pieces.push(Int16Array.from(p));
    c.samples += p.length;
  }
  c.state = 'done';
}

/** Encoded bytes (the text of `bytes`) arrived: the chunk is complete. */
function encodedDone(c: Chunk, bytes: string): void {
  c.encoded = new TextEncoder().encode(bytes);
  c.samples = 1;
  c.state = 'done';
}

const samplesOf = (audio: Uint8Array): number[] =>
  Array.from(new Int16Array(audio.buffer, audio.byteOffset, audio.byteLength / 2));

describe('ChunkReleaser, PCM mode', () => {
  it('publishes each complete chunk in text order, its pieces joined; stops at the first still synthesising', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1', 'One.', 'Two.', 'Three.');
    pcmDone(r.chunks[0]!, [1, 2], [3]);
    pcmDone(r.chunks[2]!, [7]);
    r.chunks[1]!.state = 'synthesizing';
    releaser.release(r);
    expect(events.map(([type]) => type)).toEqual(['speech.chunk']);
    const [, chunk] = events[0] as [string, EventMap['speech.chunk']];
    expect({ ...chunk, audio: samplesOf(chunk.audio) }).toEqual({
      sessionId: 's',
      turnId: 't1',
      chunkId: 0,
      text: 'One.',
      audio: [1, 2, 3],
      format: 'pcm16',
      sampleRate: 24000,
    });
    expect(r.releaseIndex).toBe(1);
    pcmDone(r.chunks[1]!, [4, 5], [6]);
    releaser.release(r);
    expect(
      events.map(([, p]) => [
        (p as EventMap['speech.chunk']).chunkId,
        samplesOf((p as EventMap['speech.chunk']).audio),
      ]),
    ).toEqual([
      [0, [1, 2, 3]],
      [1, [4, 5, 6]],
      [2, [7]],
    ]);
    expect(r.releaseIndex).toBe(3);
  });

  it('a failed chunk is passed over; a cancelled one holds the rest back', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1', 'One.', 'Two.', 'Three.');
    r.chunks[0]!.state = 'failed';
    pcmDone(r.chunks[1]!, [2]);
    r.chunks[2]!.state = 'cancelled';
    releaser.release(r);
    expect(events.map(([type, p]) => [type, (p as { chunkId: number }).chunkId])).toEqual([
      ['speech.chunk', 1],
    ]);
    expect(r.releaseIndex).toBe(2);
  });

  it('speech.complete once the response ended and every chunk is out, once, however often release runs', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1', 'One.', 'Two.');
    pcmDone(r.chunks[0]!, [1]);
    releaser.release(r); // not ended, a chunk still to come
    r.state = 'ended';
    releaser.release(r); // ended, a chunk still to come
    expect(events.map(([type]) => type)).toEqual(['speech.chunk']);
    pcmDone(r.chunks[1]!, [2]);
    releaser.release(r);
    releaser.release(r);
    expect(events.slice(1)).toEqual([
      ['speech.chunk', expect.objectContaining({ chunkId: 1 })],
      ['speech.complete', { sessionId: 's', turnId: 't1', streaming: true }],
    ]);
  });

  it('every chunk out but the text still streaming: no speech.complete yet', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1', 'One.');
    pcmDone(r.chunks[0]!, [1]);
    releaser.release(r);
    expect(events.map(([type]) => type)).toEqual(['speech.chunk']);
  });

  it('a response that never started (no text) gets no speech.complete', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1');
    r.startPublished = false;
    r.state = 'ended';
    releaser.release(r);
    expect(events).toEqual([]);
  });

  it('ready-made audio (an external chunk) is not published as speech.chunk, yet counts as released', () => {
    const { releaser, response, events } = setup('pcm');
    const r = response('t1', '');
    r.chunks[0]!.external = true;
    pcmDone(r.chunks[0]!, [1, 2]);
    r.state = 'ended';
    releaser.release(r);
    expect(events).toEqual([['speech.complete', { sessionId: 's', turnId: 't1', streaming: true }]]);
  });

  it('publishes speech.chunk to a subscriber of that event alone, and joins no audio without one', () => {
    const { releaser, response, bus } = setup('pcm', { subscribeAll: false });
    const r = response('t1', 'One.', 'Two.');
    pcmDone(r.chunks[0]!, [1]);
    releaser.release(r); // nobody listens: released all the same
    expect(r.releaseIndex).toBe(1);
    const got: number[] = [];
    bus.subscribe('speech.chunk', ({ chunkId }) => got.push(chunkId));
    pcmDone(r.chunks[1]!, [2]);
    releaser.release(r);
    expect([got, r.releaseIndex]).toEqual([[1], 2]);
  });
});

describe('ChunkReleaser, encoded mode', () => {
  it("hands out the head's ready chunks whole, in order, with their text; completes and finishes it", () => {
    const { releaser, response, events, queue } = setup('encoded');
    const r = response('t1', 'One.', 'Two.');
    encodedDone(r.chunks[0]!, '<one>');
    encodedDone(r.chunks[1]!, '<two>');
    r.state = 'ended';
    releaser.release(r);
    const readable = events.map(([type, p]) => {
      const audio = (p as { audio?: Uint8Array }).audio;
      return [type, audio === undefined ? p : { ...(p as object), audio: new TextDecoder().decode(audio) }];
    });
    expect(readable).toEqual([
      ['bot.speaking.start', { sessionId: 's', turnId: 't1' }],
      [
        'speech.chunk',
        { sessionId: 's', turnId: 't1', chunkId: 0, text: 'One.', audio: '<one>', format: 'mp3' },
      ],
      ['bot.tts.text', { sessionId: 's', turnId: 't1', chunkId: 0, text: 'One.' }],
      [
        'speech.chunk',
        { sessionId: 's', turnId: 't1', chunkId: 1, text: 'Two.', audio: '<two>', format: 'mp3' },
      ],
      ['bot.tts.text', { sessionId: 's', turnId: 't1', chunkId: 1, text: 'Two.' }],
      ['speech.complete', { sessionId: 's', turnId: 't1', streaming: true }],
      ['(finished)', 't1'],
    ]);
    // A released chunk counts as heard, and its bytes are not kept.
    expect(r.chunks.map((c) => [c.played, c.encoded])).toEqual([
      [1, undefined],
      [1, undefined],
    ]);
    expect([queue, r.speaking]).toEqual([[], true]);
  });

  it('a chunk done without bytes goes out empty; a failed one is passed over; the next response follows in the same pass', () => {
    const { releaser, response, events } = setup('encoded', { encodedSampleRate: 16000 });
    const a = response('t1', 'One.', 'Two.');
    a.chunks[0]!.state = 'done';
    a.chunks[1]!.state = 'failed';
    a.state = 'ended';
    const b = response('t2', 'Three.');
    encodedDone(b.chunks[0]!, '<three>');
    releaser.releaseEncoded();
    expect(
      events.flatMap(([type, p]) => {
        if (type !== 'speech.chunk') return [[type]];
        const { chunkId, audio, sampleRate } = p as EventMap['speech.chunk'];
        return [[type, chunkId, audio.byteLength, sampleRate]];
      }),
    ).toEqual([
      ['bot.speaking.start'],
      ['speech.chunk', 0, 0, 16000],
      ['bot.tts.text'],
      ['speech.complete'],
      ['(finished)'],
      ['bot.speaking.start'],
      ['speech.chunk', 2, 7, 16000],
      ['bot.tts.text'],
    ]);
    expect(events[0]![1]).toEqual({ sessionId: 's', turnId: 't1' });
    // b's text still streams: it is neither complete nor finished, and stays at the head.
    expect([b.releaseIndex, b.state]).toEqual([1, 'open']);
  });

  it('a chunk still synthesising holds its response; a response behind the head waits its turn', () => {
    const { releaser, response, events } = setup('encoded');
    const a = response('t1', 'One.', 'Two.');
    a.chunks[0]!.state = 'synthesizing';
    encodedDone(a.chunks[1]!, '<two>');
    a.state = 'ended';
    const b = response('t2', 'Three.');
    encodedDone(b.chunks[0]!, '<three>');
    b.state = 'ended';
    releaser.release(b);
    expect(events).toEqual([]);
    encodedDone(a.chunks[0]!, '<one>');
    releaser.release(b);
    expect(
      events
        .filter(([type]) => type === 'speech.chunk' || type === '(finished)')
        .map(([type, p]) => [type, (p as { chunkId?: number }).chunkId ?? p]),
    ).toEqual([
      ['speech.chunk', 0],
      ['speech.chunk', 1],
      ['(finished)', 't1'],
      ['speech.chunk', 2],
      ['(finished)', 't2'],
    ]);
  });

  it('nothing goes out while paused, nor with an empty queue', () => {
    const { releaser, response, events, state } = setup('encoded');
    releaser.releaseEncoded();
    const r = response('t1', 'One.');
    encodedDone(r.chunks[0]!, '<one>');
    state.running = false;
    releaser.releaseEncoded();
    expect(events).toEqual([]);
    state.running = true;
    releaser.releaseEncoded();
    expect(events.map(([type]) => type)).toEqual(['bot.speaking.start', 'speech.chunk', 'bot.tts.text']);
  });

  it('a listener that pauses on a released chunk holds the next one, ready as it is', () => {
    const { releaser, response, events, state, bus } = setup('encoded');
    const r = response('t1', 'One.', 'Two.');
    encodedDone(r.chunks[0]!, '<one>');
    encodedDone(r.chunks[1]!, '<two>');
    r.state = 'ended';
    bus.subscribe('bot.tts.text', ({ chunkId }) => {
      if (chunkId === 0) state.running = false;
    });
    releaser.releaseEncoded();
    expect(events.filter(([type]) => type === 'speech.chunk')).toHaveLength(1);
    expect(r.releaseIndex).toBe(1);
  });

  it('a listener that cuts the head on its first chunk: its second, ready too, never goes out; the next response does', () => {
    const { releaser, response, events, queue, bus } = setup('encoded');
    const a = response('t1', 'One.', 'Two.');
    encodedDone(a.chunks[0]!, '<one>');
    encodedDone(a.chunks[1]!, '<two>');
    a.state = 'ended';
    const b = response('t2', 'Three.');
    encodedDone(b.chunks[0]!, '<three>');
    bus.subscribe('speech.chunk', ({ chunkId }) => {
      if (chunkId !== 0) return;
      a.state = 'cancelled';
      queue.shift();
    });
    releaser.releaseEncoded();
    expect(
      events.map(([type, p]) => [
        type,
        (p as { turnId?: string }).turnId,
        (p as { chunkId?: number }).chunkId,
      ]),
    ).toEqual([
      ['bot.speaking.start', 't1', undefined],
      ['speech.chunk', 't1', 0],
      ['bot.tts.text', 't1', 0],
      ['bot.speaking.start', 't2', undefined],
      ['speech.chunk', 't2', 2],
      ['bot.tts.text', 't2', 2],
    ]);
  });

  it('a release asked for by a listener during a release adds nothing of its own: the events keep their order', () => {
    const { releaser, response, events, bus } = setup('encoded');
    const a = response('t1', 'One.');
    encodedDone(a.chunks[0]!, '<one>');
    a.state = 'ended';
    const b = response('t2', 'Two.');
    encodedDone(b.chunks[0]!, '<two>');
    b.state = 'ended';
    bus.subscribe('speech.chunk', () => releaser.releaseEncoded());
    releaser.releaseEncoded();
    expect(events.map(([type, p]) => `${type} ${(p as { turnId?: string }).turnId ?? p}`)).toEqual([
      'bot.speaking.start t1',
      'speech.chunk t1',
      'bot.tts.text t1',
      'speech.complete t1',
      '(finished) t1',
      'bot.speaking.start t2',
      'speech.chunk t2',
      'bot.tts.text t2',
      'speech.complete t2',
      '(finished) t2',
    ]);
    // Released again later, everything is out: nothing more.
    releaser.releaseEncoded();
    expect(events).toHaveLength(10);
  });

  it('a response cut by a listener of its speech.complete is not finished by the releaser', () => {
    const { releaser, response, events, queue, bus } = setup('encoded');
    const a = response('t1', 'One.');
    encodedDone(a.chunks[0]!, '<one>');
    a.state = 'ended';
    bus.subscribe('speech.complete', () => {
      a.state = 'cancelled';
      queue.shift();
    });
    releaser.releaseEncoded();
    expect(events.map(([type]) => type)).toEqual([
      'bot.speaking.start',
      'speech.chunk',
      'bot.tts.text',
      'speech.complete',
    ]);
  });

  it('an encoded response that never started (no text) finishes without speech.complete', () => {
    const { releaser, response, events } = setup('encoded');
    const r = response('t1');
    r.startPublished = false;
    r.state = 'ended';
    releaser.release(r);
    expect(events).toEqual([['(finished)', 't1']]);
  });
});
