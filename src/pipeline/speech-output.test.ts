import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { TtsModel, TtsRequest } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { Clock } from './clock.ts';
import { type AudioSink, SpeechOutput, type SpeechOutputOptions } from './speech-output.ts';

/** How the scripted TTS treats one text: delays, failure, stall, and the sample value it emits. */
interface Plan {
  firstByteMs?: number;
  pieceDelayMs?: number;
  pieces?: number;
  fail?: boolean;
  /** Stop producing after this many pieces and never finish (ignores abort, like a hung socket). */
  stallAfter?: number;
  value?: number;
}

/** A TtsModel yielding `samplesPerChar` samples per character of text, per a scripted plan. */
class ScriptedTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'test';
  readonly modelId = 'scripted-tts';
  readonly requests: TtsRequest[] = [];
  active = 0;
  maxActive = 0;
  constructor(
    readonly sampleRate: number,
    private readonly samplesPerChar: number,
    private readonly plan: (text: string) => Plan = () => ({}),
  ) {}

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push(request);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const p = this.plan(request.text);
      await sleep(p.firstByteMs ?? 10, request.abortSignal);
      if (p.fail) throw new Error('synthesis exploded');
      const total = request.text.length * this.samplesPerChar;
      const pieces = p.pieces ?? 2;
      const per = Math.ceil(total / pieces);
      for (let i = 0, sent = 0; sent < total; i++) {
        if (p.stallAfter !== undefined && i >= p.stallAfter) await new Promise(() => {});
        if (i > 0) await sleep(p.pieceDelayMs ?? 5, request.abortSignal);
        const n = Math.min(per, total - sent);
        yield new Int16Array(n).fill(p.value ?? 1000);
        sent += n;
      }
    } finally {
      this.active--;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

class RecordingSink implements AudioSink {
  readonly frames: Int16Array[] = [];
  readonly turnIds: string[] = [];
  clears = 0;
  write(frame: Int16Array, info: { turnId: string; sampleRate: number }): void {
    this.frames.push(frame.slice());
    this.turnIds.push(info.turnId);
  }
  clear(): void {
    this.clears++;
  }
  /** Distinct non-zero sample values in playout order (run-length collapsed). */
  values(): number[] {
    const out: number[] = [];
    for (const f of this.frames) for (const v of f) if (v !== 0 && out[out.length - 1] !== v) out.push(v);
    return out;
  }
}

const fakeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

// 24 kHz, 20 ms frames = 480 samples; 480 samples per character = one frame per character.
const SPC = 480;

function setup(plan?: (text: string) => Plan, options: Partial<SpeechOutputOptions> = {}, ttsRate = 24000) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const tts = new ScriptedTts(ttsRate, (SPC * ttsRate) / 24000, plan);
  const sink = new RecordingSink();
  const output = new SpeechOutput({
    bus,
    sessionId: 's1',
    tts,
    sink,
    outputSampleRate: 24000,
    minChunkSize: 1,
    clock: fakeClock,
    ...options,
  });
  const types = () => events.map((e) => e.type);
  const of = <K extends BusEvent['type']>(type: K) =>
    events.filter((e) => e.type === type).map((e) => e.payload as EventMap[K]);
  return { bus, events, tts, sink, output, types, of };
}

const sampleValueOf = (text: string): number =>
  text.startsWith('A') ? 1 : text.startsWith('B') ? 2 : text.startsWith('C') ? 3 : 9;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SpeechOutput', () => {
  it('releases audio strictly in text order when later chunks synthesise first', async () => {
    const delays: Record<number, number> = { 1: 300, 2: 50, 3: 10 };
    const { output, sink, of } = setup((t) => ({
      firstByteMs: delays[sampleValueOf(t)],
      value: sampleValueOf(t),
    }));
    const done = output.speak('t1', 'Alpha one. Bravo two. Charlie three.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(5000);
    const outcome = await done;
    expect(sink.values()).toEqual([1, 2, 3]);
    expect(of('speech.chunk.queued').map((p) => p.text)).toEqual([
      'Alpha one.',
      'Bravo two.',
      'Charlie three.',
    ]);
    expect(of('speech.chunk').map((p) => p.chunkId)).toEqual([0, 1, 2]);
    expect(of('bot.tts.text').map((p) => p.chunkId)).toEqual([0, 1, 2]);
    const chunk = of('speech.chunk')[1]!;
    expect(chunk).toMatchObject({ turnId: 't1', text: 'Bravo two.', format: 'pcm16', sampleRate: 24000 });
    expect(chunk.audio.byteLength).toBe('Bravo two.'.length * SPC * 2);
    expect(outcome).toEqual({
      turnId: 't1',
      heardText: 'Alpha one. Bravo two. Charlie three.',
      fullText: 'Alpha one. Bravo two. Charlie three.',
      interrupted: false,
    });
    // Every frame is exactly 20 ms; audio starts only when chunk 1 arrives at 300 ms.
    for (const f of sink.frames) expect(f.length).toBe(480);
    expect(of('metrics.ttfb')).toEqual([
      { sessionId: 's1', turnId: 't1', processor: 'tts', model: 'scripted-tts', valueMs: 300 },
    ]);
  });

  it('publishes the lifecycle in order', async () => {
    const { output, types } = setup();
    const done = output.speak('t1', 'Hello world.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(2000);
    await done;
    expect(types()).toEqual([
      'speech.chunk.queued',
      'speech.start',
      'metrics.ttfb',
      'bot.speaking.start',
      'bot.tts.text',
      'speech.chunk',
      'speech.complete',
      'bot.speaking.stop',
    ]);
  });

  it('respects maxParallelRequests', async () => {
    const { output, tts, sink } = setup(() => ({ firstByteMs: 100 }), { maxParallelRequests: 2 });
    const done = output.speak('t1', 'A a. B b. C c. D d. E e. F f.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(1);
    expect(tts.active).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    await done;
    expect(tts.maxActive).toBe(2);
    expect(tts.requests).toHaveLength(6);
    expect(sink.frames.length).toBe(6 * 4);
  });

  it('paces frames in real time, at most one frame ahead, and pads the last frame', async () => {
    // 'Hi there' = 8 chars = 8 frames... plus a half-frame tail from a 240-sample extra piece.
    const { output, sink, of } = setup(() => ({ firstByteMs: 50, pieces: 1 }));
    output.speak('t1', 'x'.repeat(49) + '.', new AbortController().signal); // 50 chars = 1 s
    await vi.advanceTimersByTimeAsync(50); // first byte arrives: frame 0 written at once
    expect(sink.frames).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(sink.frames).toHaveLength(26); // one per 20 ms, never ahead of the clock by more than one
    await vi.advanceTimersByTimeAsync(19);
    expect(sink.frames).toHaveLength(26);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.frames).toHaveLength(27);
    await vi.advanceTimersByTimeAsync(2000);
    expect(sink.frames).toHaveLength(50);
    expect(of('bot.speaking.stop')).toEqual([{ sessionId: 's1', turnId: 't1', interrupted: false }]);
  });

  it('a timer that fires late does not slow the playout: frames keep their schedule, 20 ms apart on average', async () => {
    // Every timer of this clock fires 5 ms after it was due (a slow event loop).
    const lateClock: Clock = { ...fakeClock, setTimeout: (fn, ms) => setTimeout(fn, ms + 5) };
    const { output, sink } = setup(() => ({ firstByteMs: 50, pieces: 1 }), { clock: lateClock });
    const writtenAt: number[] = [];
    const write = sink.write.bind(sink);
    sink.write = (frame, info) => {
      writtenAt.push(Date.now());
      write(frame, info);
    };
    const start = Date.now();
    output.speak('t1', 'x'.repeat(49) + '.', new AbortController().signal); // 50 frames = 1 s
    await vi.advanceTimersByTimeAsync(2000);
    expect(writtenAt).toHaveLength(50);
    // Frame 0 when the first byte comes, then frame k 5 ms after its due time 20 k ms later: each
    // timer is set for the schedule, not 20 ms after the late one.
    expect(writtenAt.map((t) => t - start)).toEqual([
      50,
      ...Array.from({ length: 49 }, (_, k) => 75 + 20 * k),
    ]);
  });

  it('a timer exactly one frame late keeps the schedule (the frame owed is written at once); more than one restarts it', async () => {
    const run = async (lateMs: number) => {
      const lateClock: Clock = { ...fakeClock, setTimeout: (fn, ms) => setTimeout(fn, ms + lateMs) };
      const { output, sink } = setup(() => ({ firstByteMs: 50, pieces: 1 }), { clock: lateClock });
      const writtenAt: number[] = [];
      const write = sink.write.bind(sink);
      sink.write = (frame, info) => {
        writtenAt.push(Date.now());
        write(frame, info);
      };
      const start = Date.now();
      output.speak('t1', 'x'.repeat(5) + '.', new AbortController().signal); // 6 frames
      await vi.advanceTimersByTimeAsync(2000);
      return writtenAt.map((t) => t - start);
    };
    // 20 ms late: frame 1, due at 70, comes at 90 with frame 2 (due at 90), and so on, two at a time.
    expect(await run(20)).toEqual([50, 90, 90, 130, 130, 170]);
    // 21 ms late: more than a frame, so each late frame starts the schedule again (no burst).
    expect(await run(21)).toEqual([50, 91, 132, 173, 214, 255]);
  });

  it('resamples TTS audio to the output rate and pads the final frame', async () => {
    const { output, sink, of } = setup(() => ({ pieces: 3 }), {}, 16000);
    await Promise.all([
      output.speak('t1', 'Hey.', new AbortController().signal),
      vi.advanceTimersByTimeAsync(2000),
    ]);
    // 4 chars × 320 samples at 16 kHz = 80 ms = 1920 samples at 24 kHz (± resampler edge).
    const bytes = of('speech.chunk')[0]!.audio.byteLength / 2;
    expect(Math.abs(bytes - 1920)).toBeLessThanOrEqual(2);
    expect(sink.frames.length).toBe(Math.ceil(bytes / 480));
    for (const f of sink.frames) expect(f.length).toBe(480);
  });

  it('publishes one start/complete pair even when TTS drains while the LLM still streams', async () => {
    const { output, of, types } = setup();
    const response = output.beginResponse('t1', new AbortController().signal);
    response.pushText('First sentence here. ');
    await vi.advanceTimersByTimeAsync(3000); // synthesised and played out: TTS idle, LLM still going
    expect(of('speech.complete')).toHaveLength(0);
    response.pushText('Second one. And more');
    response.end();
    await vi.advanceTimersByTimeAsync(3000);
    const outcome = await response.done;
    expect(of('speech.start')).toHaveLength(1);
    expect(of('speech.complete')).toHaveLength(1);
    expect(of('bot.speaking.start')).toHaveLength(1);
    expect(of('bot.speaking.stop')).toHaveLength(1);
    expect(of('speech.chunk').map((c) => c.text)).toEqual([
      'First sentence here.',
      'Second one.',
      'And more',
    ]);
    const t = types();
    expect(t.indexOf('speech.complete')).toBeGreaterThan(t.lastIndexOf('speech.chunk'));
    expect(outcome.heardText).toBe('First sentence here. Second one. And more');
  });

  it('interrupt stops frames in the same tick, aborts pending requests and reports heardText', async () => {
    const { output, sink, tts, of } = setup((t) =>
      t.startsWith('Charlie') ? { firstByteMs: 60_000 } : { firstByteMs: 10, pieces: 1 },
    );
    const done = output.speak('t1', 'Alpha beta gamma delta. Charlie slow.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(10 + 230); // 12 frames of the 23 written
    expect(sink.frames).toHaveLength(12);
    output.interrupt('user_speaking');
    expect(sink.frames).toHaveLength(12);
    expect(sink.clears).toBe(1);
    const charlie = tts.requests.find((r) => r.text.startsWith('Charlie'))!;
    expect(charlie.abortSignal?.aborted).toBe(true);
    expect(of('speech.interrupted')).toEqual([
      { sessionId: 's1', turnId: 't1', reason: 'user_speaking', heardText: 'Alpha beta' },
    ]);
    expect(of('bot.speaking.stop')).toEqual([{ sessionId: 's1', turnId: 't1', interrupted: true }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sink.frames).toHaveLength(12);
    expect(of('speech.complete')).toHaveLength(0);
    expect(await done).toEqual({
      turnId: 't1',
      heardText: 'Alpha beta',
      fullText: 'Alpha beta gamma delta. Charlie slow.',
      interrupted: true,
      reason: 'user_speaking',
    });
  });

  it('counts fully played chunks in heardText and cuts through the one playing', async () => {
    const { output } = setup(() => ({ firstByteMs: 10, pieces: 1 }));
    const done = output.speak('t1', 'One two. Three four five six.', new AbortController().signal);
    // chunk 1 = 8 frames, chunk 2 = 21 frames; stop after 8 + 11 frames.
    await vi.advanceTimersByTimeAsync(10 + 18 * 20);
    output.interrupt('client_request');
    expect((await done).heardText).toBe('One two. Three four');
  });

  it("interrupts via the response's AbortSignal, with its reason or 'interrupted'", async () => {
    const { output, of } = setup();
    const a = new AbortController();
    const first = output.speak('t1', 'Hello there friend.', a.signal);
    await vi.advanceTimersByTimeAsync(100);
    a.abort('user_speaking');
    expect((await first).reason).toBe('user_speaking');
    const b = new AbortController();
    const second = output.speak('t2', 'Hello again.', b.signal);
    await vi.advanceTimersByTimeAsync(100);
    b.abort(new Error('cancelled'));
    expect((await second).reason).toBe('interrupted');
    expect(of('speech.interrupted').map((p) => p.reason)).toEqual(['user_speaking', 'interrupted']);
  });

  it('a response begun without a signal plays to the end, and interrupt() still cuts it', async () => {
    const { output, of } = setup(() => ({ firstByteMs: 10, pieces: 1 }));
    const whole = output.beginResponse('t1');
    whole.pushText('One two.');
    whole.end();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await whole.done).toMatchObject({ heardText: 'One two.', interrupted: false });
    const cut = output.beginResponse('t2');
    cut.pushText('Three four five six seven.');
    cut.end();
    await vi.advanceTimersByTimeAsync(10 + 5 * 20);
    output.interrupt('user_speaking');
    expect(await cut.done).toMatchObject({ interrupted: true, reason: 'user_speaking' });
    expect(of('speech.interrupted').map((p) => p.turnId)).toEqual(['t2']);
  });

  it('plays responses FIFO and interrupt cancels the queued ones too', async () => {
    const { output, sink, of } = setup((t) => ({ value: sampleValueOf(t) }));
    const a = output.speak('a', 'Alpha.', new AbortController().signal);
    const b = output.speak('b', 'Bravo.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all([a, b]);
    expect(sink.values()).toEqual([1, 2]);
    expect(sink.turnIds).toEqual([...Array(6).fill('a'), ...Array(6).fill('b')]);
    expect(of('bot.speaking.start').map((p) => p.turnId)).toEqual(['a', 'b']);
    expect(of('bot.speaking.stop').map((p) => p.turnId)).toEqual(['a', 'b']);

    const c = output.speak('c', 'Charlie.', new AbortController().signal);
    const d = output.speak('d', 'Delta.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(60);
    // The interrupt comes when c's next frame is due (its timer late, as in a busy event loop):
    // cancelling c must not let d, whose audio is ready, start playing before it is cancelled too.
    vi.setSystemTime(Date.now() + 100);
    output.interrupt('interrupted');
    expect(sink.turnIds.filter((t) => t === 'd')).toEqual([]);
    expect(of('bot.tts.text').map((p) => p.turnId)).not.toContain('d');
    expect(await c).toMatchObject({ interrupted: true });
    expect(await d).toMatchObject({ interrupted: true, heardText: '' });
    expect(of('speech.interrupted').map((p) => p.turnId)).toEqual(['c', 'd']);
    // d never played, so it gets no bot.speaking.stop.
    expect(of('bot.speaking.stop').map((p) => p.turnId)).toEqual(['a', 'b', 'c']);
  });

  it('a queue of speech is synthesised as it plays, never more than maxAheadMs ahead of playout', async () => {
    // Eight queued responses of 1 s each (50 characters = 50 frames), 2 s of look-ahead.
    const { output, tts, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 2000 });
    const texts = Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(65 + i)}${'x'.repeat(48)}.`);
    const done = texts.map((t, i) => output.speak(`t${i}`, t, new AbortController().signal));
    await vi.advanceTimersByTimeAsync(100);
    // The first requests run in parallel (nothing is known of their length yet); the rest wait.
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B', 'C']);
    await vi.advanceTimersByTimeAsync(1000);
    // One second played: the look-ahead has room for D again (A's second is played), not yet for E;
    // one more second, E. Not later either: what was played no longer counts as ahead.
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B', 'C', 'D']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B', 'C', 'D', 'E']);
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(done);
    // Everything was still said, in order, without a gap.
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
    expect(sink.frames).toHaveLength(8 * 50);
  });

  it('a TTS whose rate cannot be resampled to the output rate is refused when the output is made, not at its first chunk', () => {
    expect(() => setup(undefined, {}, 7000)).toThrow(/Unsupported input sample rate 7000/);
    expect(() => setup(undefined, {}, 16000)).not.toThrow();
  });

  it('audio ahead exactly at maxAheadMs holds the next response back; one frame less lets it start', async () => {
    // Playout paused: the first response's audio all waits, played 0. One frame per character.
    for (const [frames, started] of [
      [50, ['A']],
      [49, ['A', 'B']],
    ] as const) {
      const { output, tts } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 1000 });
      const a = output.speak('t1', `${'A'.repeat(frames - 1)}.`, new AbortController().signal);
      output.pause();
      await vi.advanceTimersByTimeAsync(100); // all of A synthesised: `frames` x 20 ms ahead
      const b = output.speak('t2', 'B.', new AbortController().signal);
      await vi.advanceTimersByTimeAsync(100);
      expect(tts.requests.map((r) => r.text[0])).toEqual(started);
      output.resume();
      await vi.advanceTimersByTimeAsync(3000);
      expect(await Promise.all([a, b])).toMatchObject([{ interrupted: false }, { interrupted: false }]);
    }
  });

  it("the playing response's own chunks are never held back by the look-ahead bound", async () => {
    const { output, tts, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 100 });
    const done = output.speak(
      't1',
      `${'A'.repeat(49)}. ${'B'.repeat(49)}. ${'C'.repeat(49)}.`,
      new AbortController().signal,
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(tts.requests).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(5000);
    await done;
    expect(sink.frames.length).toBe(150);
  });

  it('skips a failed chunk and goes on', async () => {
    const { output, sink, of } = setup((t) => ({ fail: t.startsWith('Bravo'), value: sampleValueOf(t) }));
    const done = output.speak('t1', 'Alpha. Bravo. Charlie.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(3000);
    const outcome = await done;
    expect(sink.values()).toEqual([1, 3]);
    const errors = of('speech.chunk.error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ chunkId: 1, text: 'Bravo.' });
    expect(errors[0]!.error.name).toBe('ProviderError');
    expect(of('speech.chunk').map((c) => c.chunkId)).toEqual([0, 2]);
    expect(of('speech.complete')).toHaveLength(1);
    expect(outcome).toMatchObject({ interrupted: false, heardText: 'Alpha. Charlie.' });
  });

  it('times out a stalled chunk and goes on', async () => {
    const { output, sink, tts, of } = setup(
      (t) => (t.startsWith('Bravo') ? { stallAfter: 1, value: 2 } : { value: sampleValueOf(t) }),
      { ttsTimeoutMs: 1000 },
    );
    const done = output.speak('t1', 'Alpha. Bravo stalls. Charlie.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(999);
    expect(of('speech.chunk.error')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2000);
    const outcome = await done;
    const errors = of('speech.chunk.error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error.code).toBe('timeout');
    expect(tts.requests[1]!.abortSignal?.aborted).toBe(true);
    expect(sink.values()).toEqual([1, 2, 3]); // the half that arrived was played
    expect(outcome.interrupted).toBe(false);
    expect(of('speech.complete')).toHaveLength(1);
  });

  it('the stall bound restarts with each piece: a stream longer than ttsTimeoutMs whose pieces keep coming is not cut', async () => {
    // 6 pieces 400 ms apart: 2 s in all, never 1 s without audio.
    const { output, of } = setup(() => ({ firstByteMs: 400, pieces: 6, pieceDelayMs: 400 }), {
      ttsTimeoutMs: 1000,
    });
    const done = output.speak('t1', 'A long sentence.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(5000);
    expect(of('speech.chunk.error')).toEqual([]);
    expect((await done).interrupted).toBe(false);
  });

  it('after an interrupt, a cancelled head still makes room: the response queued behind it plays', async () => {
    const { output, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }));
    output.interrupt('user_speaking'); // nothing to cut; afterwards the output works as before
    const first = new AbortController();
    const a = output.speak('t1', 'x'.repeat(49) + '.', first.signal); // 50 frames
    const b = output.speak('t2', 'y'.repeat(9) + '.', new AbortController().signal); // 10 frames
    await vi.advanceTimersByTimeAsync(200); // both synthesised, the first playing
    const before = sink.frames.length;
    first.abort('client_request');
    expect((await a).interrupted).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await b).toMatchObject({ turnId: 't2', interrupted: false });
    expect(sink.frames.length - before).toBe(10);
    expect(sink.turnIds.slice(before)).toEqual(Array(10).fill('t2'));
  });

  it('cancelling a queued response leaves the playing one alone: still paused, then all of it heard', async () => {
    const { output, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }));
    const a = output.speak('t1', 'x'.repeat(19) + '.', new AbortController().signal); // 20 frames
    const second = new AbortController();
    const b = output.speak('t2', 'y'.repeat(9) + '.', second.signal);
    await vi.advanceTimersByTimeAsync(100);
    output.pause();
    const before = sink.frames.length;
    second.abort('client_request');
    expect((await b).interrupted).toBe(true);
    expect(output.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(sink.frames.length).toBe(before);
    output.resume();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await a).toMatchObject({ interrupted: false });
    expect(sink.turnIds).toEqual(Array(20).fill('t1'));
  });

  it('a response cut by a listener while interrupt() cuts the others is announced once', async () => {
    const { output, bus, of } = setup(() => ({ firstByteMs: 10, pieces: 1 }));
    const second = new AbortController();
    const a = output.speak('t1', 'x'.repeat(19) + '.', new AbortController().signal);
    const b = output.speak('t2', 'y'.repeat(9) + '.', second.signal);
    await vi.advanceTimersByTimeAsync(100);
    // The application ends the second turn as soon as it learns the first was cut.
    bus.subscribe('speech.interrupted', (p) => {
      if (p.turnId === 't1') second.abort('client_request');
    });
    output.interrupt('user_speaking');
    await vi.advanceTimersByTimeAsync(0);
    expect(of('speech.interrupted').map((p) => p.turnId)).toEqual(['t1', 't2']);
    expect(await a).toMatchObject({ interrupted: true, reason: 'user_speaking' });
    expect((await b).interrupted).toBe(true);
  });

  it('pause with nothing queued does nothing; a second pause publishes nothing more', async () => {
    const { output, types } = setup(() => ({ pieces: 1 }));
    output.pause();
    expect(output.paused).toBe(false);
    expect(types()).toEqual([]);
    const done = output.speak('t1', 'x'.repeat(9) + '.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(50);
    output.pause();
    output.pause();
    expect(types().filter((t) => t === 'speech.paused')).toEqual(['speech.paused']);
    output.resume();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
  });

  it('audio that arrives while playout is paused waits for resume', async () => {
    const { output, sink, of } = setup(() => ({ firstByteMs: 50, pieces: 2 }));
    const done = output.speak('t1', 'x'.repeat(9) + '.', new AbortController().signal); // 10 frames
    output.pause();
    await vi.advanceTimersByTimeAsync(1000); // both pieces of audio came meanwhile
    expect(sink.frames).toHaveLength(0);
    expect(of('bot.speaking.start')).toEqual([]);
    output.resume();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(sink.frames).toHaveLength(10);
  });

  it('pause holds playout and resume continues where it stopped', async () => {
    const { output, sink, types } = setup(() => ({ pieces: 1 }));
    const done = output.speak('t1', 'x'.repeat(29) + '.', new AbortController().signal); // 30 frames
    await vi.advanceTimersByTimeAsync(10 + 100);
    const before = sink.frames.length;
    output.pause();
    expect(output.paused).toBe(true);
    expect(output.speaking).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sink.frames.length).toBe(before);
    output.resume();
    expect(sink.frames.length).toBe(before + 1);
    await vi.advanceTimersByTimeAsync(2000);
    await done;
    expect(sink.frames).toHaveLength(30);
    const t = types();
    expect(t.filter((x) => x === 'speech.paused' || x === 'speech.resumed')).toEqual([
      'speech.paused',
      'speech.resumed',
    ]);
  });
});

describe('SpeechOutput: responses begun cut, and the look-ahead bound', () => {
  it('a response begun after close() or with an aborted signal ends at once, never synthesised', async () => {
    const table: [string, boolean, unknown, string][] = [
      // case, closed first, abort reason (undefined: no signal), reason reported
      ['closed, no signal', true, undefined, 'disconnected'],
      ['closed, signal aborted', true, 'user_speaking', 'disconnected'],
      ['signal aborted with a reason', false, 'client_request', 'client_request'],
      ['signal aborted with an error', false, new Error('gone'), 'interrupted'],
    ];
    for (const [name, closed, abortReason, reason] of table) {
      const { output, tts, sink, events } = setup();
      if (closed) output.close();
      const signal = abortReason === undefined ? undefined : AbortSignal.abort(abortReason);
      const r = output.beginResponse('t1', signal);
      r.pushText('Hello there.');
      r.end();
      await vi.advanceTimersByTimeAsync(1000);
      expect([name, await r.done]).toEqual([
        name,
        { turnId: 't1', heardText: '', fullText: '', interrupted: true, reason },
      ]);
      expect([name, events.map((e) => [e.type, e.payload])]).toEqual([
        name,
        [['speech.interrupted', { sessionId: 's1', turnId: 't1', reason, heardText: '' }]],
      ]);
      expect([tts.requests.length, sink.frames.length, output.currentTurnId]).toEqual([0, 0, undefined]);
    }
  });

  it('an audio response begun after close() or with an aborted signal ends at once, its audio refused', async () => {
    const table: [string, boolean, unknown, string][] = [
      ['closed', true, 'user_speaking', 'disconnected'],
      ['signal aborted with a reason', false, 'client_request', 'client_request'],
      ['signal aborted with an error', false, new Error('gone'), 'interrupted'],
    ];
    for (const [name, closed, abortReason, reason] of table) {
      const { output, sink, events } = setup();
      if (closed) output.close();
      const a = output.beginAudioResponse('t1', AbortSignal.abort(abortReason), 24000);
      a.pushAudio(new Int16Array(960).fill(4));
      a.pushText('Hi');
      a.end();
      await vi.advanceTimersByTimeAsync(1000);
      expect([name, await a.done]).toEqual([
        name,
        { turnId: 't1', heardText: '', fullText: '', interrupted: true, reason },
      ]);
      expect([name, events.map((e) => e.type), sink.frames.length, a.receivedMs, a.finished]).toEqual([
        name,
        ['speech.interrupted'],
        0,
        0,
        true,
      ]);
    }
  });

  it('a TTS at the output rate needs no resampler, even at a rate the resampler does not support', async () => {
    const { output, sink, of } = setup(() => ({ pieces: 1 }), { outputSampleRate: 7000 }, 7000);
    // 7 kHz, 20 ms frames of 140 samples; the scripted TTS gives 140 samples a character.
    const done = output.speak('t1', 'Hi.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(1000);
    expect((await done).interrupted).toBe(false);
    expect([sink.frames.length, sink.frames[0]!.length, of('speech.chunk')[0]!.sampleRate]).toEqual([
      3, 140, 7000,
    ]);
  });

  it('an audio response at the output rate needs no resampler, even at a rate the resampler does not support', async () => {
    const { output, sink } = setup(undefined, { outputSampleRate: 7000 }, 7000);
    const a = output.beginAudioResponse('t1', new AbortController().signal, 7000);
    a.pushAudio(new Int16Array(280).fill(5));
    a.end();
    await vi.advanceTimersByTimeAsync(1000);
    expect([(await a.done).interrupted, sink.frames.length, a.receivedMs]).toEqual([false, 2, 40]);
  });

  it('a request held back for room is checked again every 25 frames played, not at every frame', async () => {
    // 1 s of look-ahead = 50 frames; A has 50 frames synthesised while paused: B is held.
    const { output, tts, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 1000 });
    const a = output.speak('t1', `${'A'.repeat(49)}.`, new AbortController().signal);
    output.pause();
    await vi.advanceTimersByTimeAsync(100);
    const b = output.speak('t2', 'B.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    const requestsAtFrame: number[] = [];
    const write = sink.write.bind(sink);
    sink.write = (frame, info) => {
      requestsAtFrame.push(tts.requests.length);
      write(frame, info);
    };
    output.resume();
    await vi.advanceTimersByTimeAsync(3000);
    expect(await Promise.all([a, b])).toMatchObject([{ interrupted: false }, { interrupted: false }]);
    // Room from the first frame played, but B's request starts at the check after frame 25.
    expect(requestsAtFrame).toEqual([...Array(25).fill(1), ...Array(27).fill(2)]);
  });
});

describe('SpeechOutput: a request held back for room when the response ahead of it ends', () => {
  it('starts when a queued response ahead of it is cut, while playout is paused', async () => {
    // 500 ms of look-ahead = 25 frames. A (playing, 2 frames) and B (30 frames) synthesised while
    // paused; C is held. Cutting B leaves 2 frames ahead: C starts at once, though no frame plays.
    const { output, tts } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 500 });
    const a = output.speak('t1', 'A.', new AbortController().signal);
    output.pause();
    const second = new AbortController();
    const b = output.speak('t2', `${'B'.repeat(29)}.`, second.signal);
    await vi.advanceTimersByTimeAsync(100);
    const c = output.speak('t3', 'C.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B']);
    second.abort('client_request');
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B', 'C']);
    output.resume();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await Promise.all([a, b, c])).toMatchObject([
      { interrupted: false },
      { interrupted: true },
      { interrupted: false },
    ]);
  });

  it('a response begun by a listener while interrupt() cuts the queue is not left held: it plays', async () => {
    // 100 ms of look-ahead = 5 frames. A (10 frames) synthesised while paused; B (30 characters) held.
    const { output, tts, bus, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 100 });
    const a = output.speak('t1', `${'A'.repeat(9)}.`, new AbortController().signal);
    output.pause();
    await vi.advanceTimersByTimeAsync(100);
    const b = output.speak('t2', `${'B'.repeat(29)}.`, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    // The application answers the cut at once: its response queues behind B, not yet cut, whose
    // request starts (A is gone) with 30 frames expected: C is held, then B is cut too.
    let c: Promise<unknown> | undefined;
    bus.subscribe('speech.interrupted', ({ turnId }) => {
      if (turnId === 't1') c = output.speak('t3', 'C.', new AbortController().signal);
    });
    output.interrupt('user_speaking');
    expect(tts.requests.map((r) => [r.text[0], r.abortSignal?.aborted])).toEqual([
      ['A', false],
      ['B', true],
      ['C', false],
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await Promise.all([a, b, c])).toMatchObject([
      { interrupted: true },
      { interrupted: true },
      { turnId: 't3', interrupted: false, heardText: 'C.' },
    ]);
    expect(sink.turnIds).toEqual(['t3', 't3']);
  });

  it('starts when the playing response finishes before the next room check', async () => {
    // 100 ms of look-ahead = 5 frames; A has 10 frames: B is held, and A ends 10 frames later,
    // before the check 25 frames on.
    const { output, tts, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 100 });
    const a = output.speak('t1', `${'A'.repeat(9)}.`, new AbortController().signal);
    output.pause();
    await vi.advanceTimersByTimeAsync(100);
    const b = output.speak('t2', 'B.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    output.resume();
    await vi.advanceTimersByTimeAsync(3000);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B']);
    expect(await Promise.all([a, b])).toMatchObject([{ interrupted: false }, { interrupted: false }]);
    expect(sink.turnIds).toEqual([...Array(10).fill('t1'), ...Array(2).fill('t2')]);
  });

  it('starts when the playing response is cut', async () => {
    const { output, tts, sink } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 100 });
    const first = new AbortController();
    const a = output.speak('t1', `${'A'.repeat(29)}.`, first.signal);
    output.pause();
    await vi.advanceTimersByTimeAsync(100);
    const b = output.speak('t2', 'B.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    first.abort('client_request');
    await vi.advanceTimersByTimeAsync(3000);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A', 'B']);
    expect(await Promise.all([a, b])).toMatchObject([{ interrupted: true }, { interrupted: false }]);
    expect(sink.turnIds).toEqual(Array(2).fill('t2'));
  });
});

describe('SpeechOutput: the expected length of a chunk still synthesising', () => {
  it('counts at the synthesis rate observed so far (samples per character) toward the look-ahead bound', async () => {
    // Paused: A's first chunk (3 characters, 1,440 samples) is done, 480 samples a character; its
    // second (10 characters) has no audio yet and is expected at 4,800: 6,240 samples ahead = 260 ms.
    for (const [maxAheadMs, started] of [
      [260, false],
      [261, true],
    ] as const) {
      const { output, tts } = setup((t) => ({ firstByteMs: t.startsWith('A') ? 10 : 60_000, pieces: 1 }), {
        maxAheadMs,
      });
      const a = output.beginResponse('t1');
      output.pause();
      a.pushText('Ax. Qqqqqqqqq. ');
      await vi.advanceTimersByTimeAsync(100);
      output.speak('t2', 'C.', new AbortController().signal);
      expect([maxAheadMs, tts.requests.map((r) => r.text)]).toEqual([
        maxAheadMs,
        ['Ax.', 'Qqqqqqqqq.', ...(started ? ['C.'] : [])],
      ]);
      output.close();
    }
  });
});

describe('SpeechOutput: the synthesis rate observed counts done chunks only', () => {
  it('a failed chunk adds nothing to it: the chunk still synthesising is expected at the rate of the done ones', async () => {
    // As above, with a failed chunk between: A's 3 characters made 1,440 samples (480 a character); the
    // failed 'Fxxx.' counts neither its characters nor samples, so 'Qqqqqqqqq.' is still expected at 4,800
    // and 6,240 samples (260 ms) are ahead: C waits. Counting the failed chunk would expect 1,800.
    const { output, tts } = setup(
      (t) => ({ firstByteMs: t.startsWith('Q') ? 60_000 : 10, pieces: 1, fail: t.startsWith('F') }),
      { maxAheadMs: 260 },
    );
    const a = output.beginResponse('t1');
    output.pause();
    a.pushText('Ax. Fxxx. Qqqqqqqqq. ');
    await vi.advanceTimersByTimeAsync(100);
    output.speak('t2', 'C.', new AbortController().signal);
    expect(tts.requests.map((r) => r.text)).toEqual(['Ax.', 'Fxxx.', 'Qqqqqqqqq.']);
    output.close();
  });
});

describe('SpeechOutput on the shared playout ticker: a queued response cut between ticks', () => {
  it('writes no frame of the playing response before its tick', async () => {
    const { output, sink } = setup(undefined, { clock: undefined });
    const a = output.beginAudioResponse('t1', new AbortController().signal, 24000);
    const second = new AbortController();
    const b = output.beginAudioResponse('t2', second.signal, 24000);
    a.pushAudio(new Int16Array(480 * 5).fill(1));
    expect(sink.frames).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(15); // frame 1 is due at 20, within half a frame
    second.abort('client_request');
    expect((await b.done).interrupted).toBe(true);
    expect(sink.frames).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(sink.frames).toHaveLength(2);
    a.end();
    await vi.advanceTimersByTimeAsync(100);
    expect(await a.done).toMatchObject({ interrupted: false });
    output.close();
  });
});

describe('SpeechOutput: every event of a response, with its payload', () => {
  it('queued, start, first-audio latency, speaking, text, chunk, chunk error, paused/resumed, complete, stop', async () => {
    const { output, events } = setup((t) => ({ firstByteMs: 10, pieces: 1, fail: t.startsWith('Bravo') }));
    const done = output.speak('t1', 'Alpha. Bravo.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(30);
    output.pause();
    output.resume();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await done).toEqual({
      turnId: 't1',
      heardText: 'Alpha.',
      fullText: 'Alpha. Bravo.',
      interrupted: false,
    });
    const shown = events.map((e) => {
      const p = e.payload as Record<string, unknown>;
      if (e.type === 'speech.chunk') return [e.type, { ...p, audio: (p.audio as Uint8Array).byteLength }];
      if (e.type === 'speech.chunk.error') return [e.type, { ...p, error: (p.error as Error).message }];
      return [e.type, p];
    });
    const s = { sessionId: 's1', turnId: 't1' };
    expect(shown).toEqual([
      ['speech.chunk.queued', { ...s, chunkId: 0, text: 'Alpha.' }],
      ['speech.start', { ...s, streaming: true }],
      ['speech.chunk.queued', { ...s, chunkId: 1, text: 'Bravo.' }],
      ['metrics.ttfb', { ...s, processor: 'tts', model: 'scripted-tts', valueMs: 10 }],
      ['bot.speaking.start', s],
      ['bot.tts.text', { ...s, chunkId: 0, text: 'Alpha.' }],
      [
        'speech.chunk',
        { ...s, chunkId: 0, text: 'Alpha.', audio: 6 * 480 * 2, format: 'pcm16', sampleRate: 24000 },
      ],
      [
        'speech.chunk.error',
        { ...s, chunkId: 1, text: 'Bravo.', error: 'TTS failed for chunk 1: synthesis exploded' },
      ],
      ['speech.complete', { ...s, streaming: true }],
      ['speech.paused', s],
      ['speech.resumed', s],
      ['bot.speaking.stop', { ...s, interrupted: false }],
    ]);
  });
});

describe('SpeechOutput: chunk ids across audio responses', () => {
  it('an audio response takes a chunk id of its own: the speech after it gets the next one, never an earlier id', async () => {
    const { output, of } = setup();
    const first = output.speak('t1', 'Alpha.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(2000);
    await first;
    const audio = output.beginAudioResponse('t2', new AbortController().signal, 24000);
    audio.pushAudio(new Int16Array(480));
    audio.end();
    await vi.advanceTimersByTimeAsync(200);
    await audio.done;
    const last = output.speak('t3', 'Bravo.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(2000);
    await last;
    // Chunk 1 was the audio response's (it publishes no speech.chunk).
    expect(of('speech.chunk').map((p) => [p.turnId, p.chunkId])).toEqual([
      ['t1', 0],
      ['t3', 2],
    ]);
    expect(of('bot.tts.text').map((p) => p.chunkId)).toEqual([0, 2]);
  });
});

describe('SpeechOutput: interrupt and the look-ahead bound', () => {
  it('interrupt() with a response held back for room starts no request for it', async () => {
    const { output, tts } = setup(() => ({ firstByteMs: 10, pieces: 1 }), { maxAheadMs: 100 });
    const a = output.speak('t1', `${'A'.repeat(9)}.`, new AbortController().signal);
    output.pause();
    await vi.advanceTimersByTimeAsync(100);
    const b = output.speak('t2', 'B.', new AbortController().signal);
    await vi.advanceTimersByTimeAsync(100);
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    output.interrupt('user_speaking');
    expect(tts.requests.map((r) => r.text[0])).toEqual(['A']);
    await Promise.all([a, b]);
  });
});
