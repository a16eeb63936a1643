import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsRequest } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { type EncodedTtsModel, SpeechOutput } from './speech-output.ts';

/** An encoded model returning `<text>` as bytes after `delayFor(text)` ms; honours aborts. */
class FakeEncoded implements EncodedTtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.encodedTts;
  readonly provider = 'test';
  readonly modelId = 'encoded';
  readonly format = 'mp3';
  readonly aborted: string[] = [];
  constructor(private readonly delayFor: (text: string) => number) {}
  synthesizeEncoded(request: TtsRequest): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => resolve(new TextEncoder().encode(`<${request.text}>`)),
        this.delayFor(request.text),
      );
      request.abortSignal?.addEventListener('abort', () => {
        clearTimeout(t);
        this.aborted.push(request.text);
        reject(request.abortSignal?.reason);
      });
    });
  }
}

function setup(delayFor: (text: string) => number) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const tts = new FakeEncoded(delayFor);
  const writes: number[] = [];
  const output = new SpeechOutput({
    bus,
    sessionId: 's',
    tts,
    sink: { write: (f) => writes.push(f.length) },
    minChunkSize: 5,
  });
  return { output, events, tts, writes, bus };
}

const chunks = (events: BusEvent[]) =>
  events.flatMap((e) =>
    e.type === 'speech.chunk'
      ? [[e.payload.chunkId, e.payload.text, Buffer.from(e.payload.audio).toString(), e.payload.format]]
      : [],
  );

describe('SpeechOutput, encoded pass-through mode', () => {
  it('releases each chunk’s bytes in text order (a slow first chunk holds the rest), then completes once', async () => {
    const { output, events, writes } = setup((text) => (text.startsWith('Slow') ? 60 : 1));
    const response = output.beginResponse('t1', new AbortController().signal);
    response.pushText('Slow first sentence. Fast second one. ');
    response.pushText('Fast third one.');
    response.end();
    const outcome = await response.done;
    expect(chunks(events)).toEqual([
      [0, 'Slow first sentence.', '<Slow first sentence.>', 'mp3'],
      [1, 'Fast second one.', '<Fast second one.>', 'mp3'],
      [2, 'Fast third one.', '<Fast third one.>', 'mp3'],
    ]);
    const types = events
      .map((e) => e.type)
      .filter((t) => t.startsWith('speech.') || t.startsWith('bot.speaking'));
    expect(types.filter((t) => t === 'speech.start' || t === 'speech.complete')).toEqual([
      'speech.start',
      'speech.complete',
    ]);
    expect(types.indexOf('speech.complete')).toBeGreaterThan(types.lastIndexOf('speech.chunk'));
    // The bot starts speaking once, with its first chunk, and stops once.
    expect(types.filter((t) => t.startsWith('bot.speaking'))).toEqual([
      'bot.speaking.start',
      'bot.speaking.stop',
    ]);
    expect(types.indexOf('bot.speaking.start')).toBeLessThan(types.indexOf('speech.chunk'));
    expect(outcome).toMatchObject({
      interrupted: false,
      heardText: 'Slow first sentence. Fast second one. Fast third one.',
    });
    expect(writes).toEqual([]); // nothing paced into the sink
  });

  it('interrupt aborts pending requests, drops unsent chunks; heard text = chunks already sent', async () => {
    const { output, events, tts } = setup((text) => (text.startsWith('Second') ? 5000 : 1));
    const controller = new AbortController();
    const response = output.beginResponse('t1', controller.signal);
    response.pushText('First part here. Second part is slow. Third part is fast.');
    response.end();
    await new Promise((r) => setTimeout(r, 30));
    const outcome = output.interrupt('user_speaking');
    expect(outcome).toMatchObject({
      interrupted: true,
      heardText: 'First part here.',
      reason: 'user_speaking',
    });
    expect(chunks(events).map((c) => c[1])).toEqual(['First part here.']);
    expect(tts.aborted).toEqual(['Second part is slow.']);
    expect(events.map((e) => e.type)).not.toContain('speech.complete');
    expect((await response.done).heardText).toBe('First part here.');
  });

  it('pausing holds the ready chunks until resume, even when paused by a listener of a released chunk', async () => {
    const { output, events, bus } = setup((text) => (text.startsWith('Slow') ? 20 : 1));
    const response = output.beginResponse('t1', new AbortController().signal);
    const firstOut = new Promise<void>((resolve) => {
      bus.subscribe('speech.chunk', ({ chunkId }) => {
        if (chunkId !== 0) return;
        output.pause();
        resolve();
      });
    });
    response.pushText('Slow first sentence. Fast second one. Fast third one.');
    response.end();
    await firstOut;
    expect(output.paused).toBe(true);
    expect(chunks(events).map((c) => c[1])).toEqual(['Slow first sentence.']);
    output.resume();
    expect((await response.done).interrupted).toBe(false);
    expect(chunks(events).map((c) => c[1])).toEqual([
      'Slow first sentence.',
      'Fast second one.',
      'Fast third one.',
    ]);
  });

  it('a response cut by a listener of its released chunk: the next response’s ready chunks go out in the same pass', async () => {
    const { output, events, bus } = setup((text) => (text.startsWith('Slow') ? 5000 : 1));
    const first = new AbortController();
    const a = output.beginResponse('t1', first.signal);
    output.pause(); // (pausing needs a response under way)
    a.pushText('First sentence here. Slow second one.');
    a.end();
    const b = output.beginResponse('t2', new AbortController().signal);
    b.pushText('Fast answer.');
    b.end();
    // Both first chunks synthesised while paused.
    const ttfb = () => events.filter((e) => e.type === 'metrics.ttfb').length;
    while (ttfb() < 2) await new Promise((r) => setTimeout(r, 2));
    bus.subscribe('speech.chunk', ({ turnId }) => {
      if (turnId === 't1') first.abort('user_speaking');
    });
    output.resume(); // releases t1's first chunk, whose listener cuts t1
    expect(chunks(events).map((c) => c[1])).toEqual(['First sentence here.', 'Fast answer.']);
    expect((await a.done).interrupted).toBe(true);
    expect((await b.done).interrupted).toBe(false);
  });

  it('a response cut by a listener of its own speech.complete: the response behind it still goes out, whole', async () => {
    const { output, events, bus } = setup(() => 1);
    const first = new AbortController();
    const a = output.beginResponse('t1', first.signal);
    output.pause(); // (pausing needs a response under way)
    a.pushText('First sentence here.');
    a.end();
    const b = output.beginResponse('t2', new AbortController().signal);
    b.pushText('Second answer here.');
    b.end();
    const ttfb = () => events.filter((e) => e.type === 'metrics.ttfb').length;
    while (ttfb() < 2) await new Promise((r) => setTimeout(r, 2));
    bus.subscribe('speech.complete', ({ turnId }) => {
      if (turnId === 't1') first.abort('client_request');
    });
    output.resume(); // t1 released whole; its speech.complete listener cuts it before it is finished
    expect(chunks(events).map((c) => c[1])).toEqual(['First sentence here.', 'Second answer here.']);
    expect((await a.done).interrupted).toBe(true);
    expect((await b.done).interrupted).toBe(false);
  });

  it('a response without text completes with no speech.start and no speech.complete', async () => {
    const { output, events } = setup(() => 1);
    const response = output.beginResponse('t1', new AbortController().signal);
    response.end();
    expect(await response.done).toMatchObject({ interrupted: false, fullText: '' });
    expect(events.map((e) => e.type).filter((t) => t.startsWith('speech.'))).toEqual([]);
  });
});

describe('SpeechOutput, encoded pass-through mode: the sample rate of the encoded audio', () => {
  it('each speech.chunk carries the TTS’s declared sampleRate; none declared, no sampleRate key', async () => {
    for (const declared of [22050, undefined]) {
      const bus = new EventBus<EventMap>({ logger: silentLogger });
      const events: BusEvent[] = [];
      bus.subscribeAll((e) => events.push(e));
      const tts = Object.assign(
        new FakeEncoded(() => 1),
        declared === undefined ? {} : { sampleRate: declared },
      );
      const output = new SpeechOutput({
        bus,
        sessionId: 's',
        tts,
        sink: { write: () => {} },
        minChunkSize: 5,
      });
      await output.speak('t1', 'One sentence here.', new AbortController().signal);
      const sent = events.flatMap((e) => (e.type === 'speech.chunk' ? [e.payload] : []));
      expect(sent).toHaveLength(1);
      if (declared === undefined) expect('sampleRate' in sent[0]!).toBe(false);
      else expect(sent[0]!.sampleRate).toBe(declared);
    }
  });
});
