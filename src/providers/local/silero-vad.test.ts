import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../../bus/events.ts';
import { AudioFormatError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { UserAudioInput } from '../../pipeline/turn-taking/user-input.ts';
import { synthesizeAll } from '../../testing/signals.ts';
import { EspeakTts } from './espeak-tts.ts';
import {
  defaultSileroModelPath,
  SILERO_FRAME_SAMPLES,
  SileroVad,
  type SileroVadStream,
  sileroTestHooks,
} from './silero-vad.ts';

const FRAME = SILERO_FRAME_SAMPLES;
let speech: Int16Array; // 16 kHz: 0.5 s silence, a spoken sentence, 0.5 s silence
let speechStart: number;
let speechEnd: number;

const speak = (text: string) => synthesizeAll(new EspeakTts(), text, 16000);

function frames(audio: Int16Array): Int16Array[] {
  const out: Int16Array[] = [];
  for (let i = 0; i + FRAME <= audio.length; i += FRAME) out.push(audio.subarray(i, i + FRAME));
  return out;
}

async function scoreSequentially(stream: SileroVadStream, list: Int16Array[]): Promise<number[]> {
  const out: number[] = [];
  for (const f of list) out.push(await stream.process(f));
  return out;
}

beforeAll(async () => {
  const voice = await speak('What is the weather in Paris today?');
  speechStart = 8000;
  speechEnd = speechStart + voice.length;
  speech = new Int16Array(speechEnd + 8000);
  speech.set(voice, speechStart);
  await new SileroVad().warmup();
});

/** Worker-backed models made by the tests, their workers stopped at the end. */
const workerVads: SileroVad[] = [];
function workerVad(options: ConstructorParameters<typeof SileroVad>[0] = {}): SileroVad {
  const vad = new SileroVad({ ...options, inference: 'worker' });
  workerVads.push(vad);
  return vad;
}
afterAll(async () => {
  await Promise.all(workerVads.map((vad) => vad.close()));
});

describe('SileroVad (v5, onnxruntime-node)', () => {
  it('describes itself as a 16 kHz, 512-sample model', () => {
    const vad = new SileroVad();
    expect([vad.provider, vad.modelId, vad.sampleRate, vad.frameSamples]).toEqual([
      'silero',
      'silero-vad-v5',
      16000,
      512,
    ]);
  });

  it('scores real speech high and silence low', async () => {
    const stream = new SileroVad().createStream();
    const probs = await scoreSequentially(stream, frames(speech));
    const leading = probs.slice(0, Math.floor(speechStart / FRAME) - 1);
    const inside = probs.slice(Math.ceil(speechStart / FRAME) + 3, Math.floor(speechEnd / FRAME) - 3);
    expect(Math.max(...leading)).toBeLessThan(0.1);
    expect(inside.filter((p) => p > 0.5).length / inside.length).toBeGreaterThan(0.7);
    expect(Math.max(...inside)).toBeGreaterThan(0.9);
    const trailing = probs.slice(-4);
    expect(Math.max(...trailing)).toBeLessThan(0.2);
    stream.close();
  });

  it('micro-batches frames of many streams into one run with results equal to single runs', async () => {
    const vad = new SileroVad();
    const list = frames(speech);
    const streamCount = 6;
    // Reference: each stream alone, one frame per run.
    const expected: number[][] = [];
    for (let s = 0; s < streamCount; s++) {
      const offset = s * 5;
      expected.push(await scoreSequentially(vad.createStream(), list.slice(offset, offset + 20)));
    }
    const streams = Array.from({ length: streamCount }, () => vad.createStream());
    const before = vad.stats;
    const got: number[][] = streams.map(() => []);
    for (let k = 0; k < 20; k++) {
      // All streams submit their k-th frame in the same tick.
      const probs = await Promise.all(streams.map((st, s) => st.process(list[s * 5 + k]!)));
      for (let s = 0; s < streamCount; s++) got[s]!.push(probs[s]!);
    }
    const after = vad.stats;
    expect(after.frames - before.frames).toBe(streamCount * 20);
    expect(after.runs - before.runs).toBe(20);
    for (let s = 0; s < streamCount; s++) {
      for (let k = 0; k < 20; k++) expect(got[s]![k]!).toBeCloseTo(expected[s]![k]!, 5);
    }
  });

  it('frames of other streams arriving within batchWindowMs join one run; with 0 each loop turn runs its own', async () => {
    const list = frames(speech).slice(20, 40);
    const expected = await Promise.all(
      list.map((f) => scoreSequentially(new SileroVad().createStream(), [f])),
    );
    const runsFor = async (vad: SileroVad) => {
      const streams = list.map(() => vad.createStream());
      const before = vad.stats.runs;
      const pending: Array<Promise<number>> = [];
      // one frame per event-loop turn, each from another stream (sessions' microphones)
      for (let i = 0; i < list.length; i++) {
        pending.push(streams[i]!.process(list[i]!));
        await new Promise((r) => setImmediate(r));
      }
      const probs = await Promise.all(pending);
      for (let i = 0; i < list.length; i++) expect(probs[i]!).toBeCloseTo(expected[i]![0]!, 5);
      return vad.stats.runs - before;
    };
    expect(await runsFor(new SileroVad({ batchWindowMs: 0 }))).toBe(list.length);
    // a window far longer than 20 loop turns: at most 16 frames a run, so 2 runs
    expect(await runsFor(new SileroVad({ batchWindowMs: 100 }))).toBeLessThan(list.length / 2);
    expect(() => new SileroVad({ batchWindowMs: -1 })).toThrow(
      expect.objectContaining({ code: 'vad_bad_option' }),
    );
  });

  it('scoreBatch scores one frame per stream in one run, matching single runs', async () => {
    const vad = new SileroVad();
    const list = frames(speech);
    const single = await scoreSequentially(vad.createStream(), list.slice(10, 40));
    const streams = Array.from({ length: 4 }, () => vad.createStream());
    const before = vad.stats.runs;
    for (let k = 0; k < 30; k++) {
      const probs = await vad.scoreBatch(streams, [
        list[10 + k]!,
        list[10 + k]!,
        list[10 + k]!,
        list[10 + k]!,
      ]);
      for (const p of probs) expect(p).toBeCloseTo(single[k]!, 5);
    }
    expect(vad.stats.runs - before).toBe(30);
    await expect(vad.scoreBatch([streams[0]!, streams[0]!], [list[0]!, list[1]!])).rejects.toMatchObject({
      code: 'vad_bad_batch',
    });
  });

  it.each([
    ['main', () => new SileroVad()],
    ['worker', () => workerVad({ maxBatch: 63 })],
  ] as const)(
    'a stream scores one frame at a time (%s): an overlapping process() or scoreBatch is refused with vad_stream_busy, one after close() with vad_stream_closed',
    async (_, make) => {
      const vad = make();
      const list = frames(speech).slice(15, 19);
      const expected = await scoreSequentially(vad.createStream(), list);
      const stream = vad.createStream();
      const first = stream.process(list[0]!);
      await expect(stream.process(list[1]!)).rejects.toMatchObject({
        code: 'vad_stream_busy',
        retryable: false,
      });
      await expect(vad.scoreBatch([stream], [list[1]!])).rejects.toMatchObject({ code: 'vad_stream_busy' });
      // the refused frames changed nothing: the stream goes on as if they were never sent
      expect(await first).toBeCloseTo(expected[0]!, 5);
      expect(await stream.process(list[1]!)).toBeCloseTo(expected[1]!, 5);
      const batch = vad.scoreBatch([stream], [list[2]!]);
      await expect(stream.process(list[3]!)).rejects.toMatchObject({ code: 'vad_stream_busy' });
      expect((await batch)[0]!).toBeCloseTo(expected[2]!, 5);
      expect(await stream.process(list[3]!)).toBeCloseTo(expected[3]!, 5);
      stream.close();
      await expect(stream.process(list[0]!)).rejects.toMatchObject({ code: 'vad_stream_closed' });
      await expect(vad.scoreBatch([stream], [list[0]!])).rejects.toMatchObject({ code: 'vad_stream_closed' });
    },
  );

  it('reset forgets state; close rejects further frames; bad frame sizes are typed errors', async () => {
    const vad = new SileroVad();
    const list = frames(speech).slice(15, 25);
    const stream = vad.createStream();
    const first = await scoreSequentially(stream, list);
    stream.reset();
    const again = await scoreSequentially(stream, list);
    for (let i = 0; i < again.length; i++) expect(again[i]!).toBeCloseTo(first[i]!, 6);
    await expect(stream.process(new Int16Array(480))).rejects.toBeInstanceOf(AudioFormatError);
    stream.close();
    await expect(stream.process(list[0]!)).rejects.toMatchObject({ code: 'vad_stream_closed' });
  });

  it('reports a typed error for a missing model file', async () => {
    const vad = new SileroVad({ modelPath: '/nonexistent/silero.onnx' });
    await expect(vad.createStream().process(new Int16Array(FRAME))).rejects.toMatchObject({
      code: 'vad_model_load_failed',
    });
  });

  it("inference: 'worker' scores in a worker thread, micro-batched, exactly as in the main thread", async () => {
    const list = frames(speech);
    const streamCount = 6;
    const main = new SileroVad({ maxBatch: 61 });
    const vad = workerVad({ maxBatch: 61 });
    const score = async (model: SileroVad) => {
      const streams = Array.from({ length: streamCount }, () => model.createStream());
      const got: number[][] = streams.map(() => []);
      for (let k = 0; k < 20; k++) {
        const probs = await Promise.all(streams.map((st, s) => st.process(list[s * 5 + k]!)));
        for (let s = 0; s < streamCount; s++) got[s]!.push(probs[s]!);
      }
      for (const st of streams) st.close();
      return got;
    };
    const expected = await score(main);
    const before = vad.stats;
    const got = await score(vad);
    const after = vad.stats;
    expect(after.frames - before.frames).toBe(streamCount * 20);
    expect(after.runs - before.runs).toBe(20);
    expect(after.workers - before.workers).toBe(1);
    expect(main.stats.workers).toBe(0);
    for (let s = 0; s < streamCount; s++) {
      for (let k = 0; k < 20; k++) expect(got[s]![k]!).toBeCloseTo(expected[s]![k]!, 5);
    }
    expect(() => new SileroVad({ inference: 'gpu' as 'worker' })).toThrow(
      expect.objectContaining({ code: 'vad_bad_option' }),
    );
  });

  it('the worker is stopped when its last stream closes, and the next frame starts another', async () => {
    const list = frames(speech).slice(20, 30);
    const vad = workerVad({ maxBatch: 62 });
    const w0 = vad.stats.workers;
    const a = vad.createStream();
    const b = vad.createStream();
    const first = await scoreSequentially(a, list);
    await scoreSequentially(b, list);
    expect(vad.stats.workers - w0).toBe(1);
    a.close();
    await scoreSequentially(b, list.slice(0, 1)); // b still open: the same worker
    expect(vad.stats.workers - w0).toBe(1);
    b.close(); // the last stream: the worker goes
    const c = vad.createStream();
    const again = await scoreSequentially(c, list);
    expect(vad.stats.workers - w0).toBe(2);
    for (let i = 0; i < list.length; i++) expect(again[i]!).toBeCloseTo(first[i]!, 6);
    c.close();
  });

  it('at most two runs wait for the worker; the frames behind them are all scored, in order', async () => {
    const list = frames(speech).slice(20, 30);
    const reference = await scoreSequentially(new SileroVad().createStream(), list);
    const vad = workerVad({ maxBatch: 1, batchWindowMs: 0 });
    const streams = Array.from({ length: 30 }, () => vad.createStream());
    const runs0 = vad.stats.runs;
    // every stream sends its frames one after the other, all streams at once: 300 frames, one per run
    const got = await Promise.all(streams.map((st) => scoreSequentially(st, list)));
    expect(vad.stats.runs - runs0).toBe(300);
    expect(vad.stats.peakRunsInFlight).toBe(2);
    for (const probs of got)
      for (let i = 0; i < list.length; i++) expect(probs[i]!).toBeCloseTo(reference[i]!, 5);
    for (const st of streams) st.close();
  });

  it('reports a typed error for a missing model file in the worker too', async () => {
    const vad = workerVad({ modelPath: '/nonexistent/silero.onnx' });
    const stream = vad.createStream();
    await expect(stream.process(new Int16Array(FRAME))).rejects.toMatchObject({
      code: 'vad_model_load_failed',
    });
    stream.close();
  });

  it('a worker stuck in a run is terminated after runTimeoutMs: the runs waiting for it fail (vad_inference_failed, retryable) and the next frame starts a new worker; one stuck again is restarted after a delay', async () => {
    const list = frames(speech).slice(20, 24);
    const reference = await scoreSequentially(new SileroVad().createStream(), list);
    const vad = workerVad({ maxBatch: 1, batchWindowMs: 0 }); // runTimeoutMs: the default, 2 s
    const a = vad.createStream();
    const b = vad.createStream();
    const w0 = vad.stats.workers;
    let now = 5_000_000;
    sileroTestHooks.now = () => now;
    try {
      sileroTestHooks.hangAtRun = 2; // the first worker blocks its thread at its second run
      expect(await a.process(list[0]!)).toBeCloseTo(reference[0]!, 5);
      // two runs (maxBatch 1): the one the worker hangs in and the one queued behind it
      const stuck = await Promise.allSettled([a.process(list[1]!), b.process(list[0]!)]);
      for (const r of stuck) {
        expect(r).toMatchObject({
          status: 'rejected',
          reason: { code: 'vad_inference_failed', retryable: true, cause: { code: 'timeout' } },
        });
      }
      expect(String((stuck[0] as PromiseRejectedResult).reason.message)).toMatch(/timed out after 2000 ms/);
      // the next frame starts a new worker at once; this one hangs at its first run too
      sileroTestHooks.hangAtRun = 1;
      await expect(a.process(list[2]!)).rejects.toMatchObject({ code: 'vad_inference_failed' });
      delete sileroTestHooks.hangAtRun;
      expect(vad.stats.workers - w0).toBe(2);
      // two in a row: the next start waits 1 s, frames fail at once meanwhile
      await expect(b.process(list[1]!)).rejects.toMatchObject({
        code: 'vad_inference_failed',
        retryable: true,
        details: { failures: 2, retryInMs: 1000 },
      });
      expect(vad.stats.workers - w0).toBe(2);
      now += 1000;
      // a third worker scores the next frames (the failed frames were lost: start the streams afresh)
      a.reset();
      b.reset();
      const [again, other] = await Promise.all([scoreSequentially(a, list), scoreSequentially(b, list)]);
      expect(vad.stats.workers - w0).toBe(3);
      for (let i = 0; i < list.length; i++) {
        expect(again[i]!).toBeCloseTo(reference[i]!, 5);
        expect(other[i]!).toBeCloseTo(reference[i]!, 5);
      }
    } finally {
      delete sileroTestHooks.hangAtRun;
      delete sileroTestHooks.now;
    }
    a.close();
    b.close();
  });

  it('a worker stuck while loading the model is given up on: vad_model_load_failed with a timeout cause, and the next frame loads a new one', async () => {
    const list = frames(speech).slice(20, 22);
    const reference = await scoreSequentially(new SileroVad().createStream(), list);
    const vad = workerVad({ maxBatch: 59 });
    const stream = vad.createStream();
    const w0 = vad.stats.workers;
    sileroTestHooks.hangAtLoad = true;
    sileroTestHooks.loadTimeoutMs = 300;
    let failed: Promise<number>;
    try {
      failed = stream.process(list[0]!);
      await vad.warmup().catch(() => {}); // the same load: its worker has started with the fault
    } finally {
      delete sileroTestHooks.hangAtLoad;
      delete sileroTestHooks.loadTimeoutMs;
    }
    await expect(failed).rejects.toMatchObject({ code: 'vad_model_load_failed', cause: { code: 'timeout' } });
    stream.reset();
    expect(await scoreSequentially(stream, list)).toEqual(reference.map((p) => expect.closeTo(p, 5)));
    expect(vad.stats.workers - w0).toBe(2);
    stream.close();
  });

  it('a worker that fails at every load is restarted with back-off (once at once, then 1 s doubling to 30 s), meanwhile frames fail at once with the typed error; a fixed model file is picked up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-silero-'));
    const modelPath = join(dir, 'silero.onnx');
    await writeFile(modelPath, 'not an ONNX model');
    let now = 1_000_000;
    sileroTestHooks.now = () => now;
    try {
      const vad = workerVad({ modelPath });
      const stream = vad.createStream();
      const frame = new Int16Array(FRAME);
      const w0 = vad.stats.workers;
      const started = () => vad.stats.workers - w0;
      // the worker's own load error, and the first restart at once
      for (const n of [1, 2]) {
        await expect(stream.process(frame)).rejects.toMatchObject({
          code: 'vad_model_load_failed',
          message: expect.stringContaining(modelPath),
        });
        expect(started()).toBe(n);
      }
      let failures = 2;
      for (const delay of [1000, 2000, 4000, 8000, 16000, 30000, 30000]) {
        // within the delay: no worker starts, the frame (and warmup) fail at once, saying why
        await expect(stream.process(frame)).rejects.toMatchObject({
          code: 'vad_model_load_failed',
          retryable: false,
          message: expect.stringMatching(
            new RegExp(
              `^Silero VAD worker failed ${failures} times in a row \\(last: Could not load .*\\); the next attempt in ${delay} ms$`,
            ),
          ),
          details: { failures, retryInMs: delay },
          cause: { code: 'vad_model_load_failed' },
        });
        now += delay - 1;
        await expect(vad.warmup()).rejects.toMatchObject({ details: { failures, retryInMs: 1 } });
        expect(started()).toBe(failures);
        now += 1;
        await expect(stream.process(frame)).rejects.toMatchObject({ code: 'vad_model_load_failed' });
        failures++;
        expect(started()).toBe(failures);
      }
      // the file is fixed: the next attempt after the delay loads it and scores
      await copyFile(defaultSileroModelPath(), modelPath);
      now += 30_000;
      const reference = await new SileroVad().createStream().process(frame);
      stream.reset();
      expect(await stream.process(frame)).toBeCloseTo(reference, 5);
      expect(started()).toBe(failures + 1);
      // a scored run starts the count afresh: a new failure is again retried at once
      await vad.close();
      await writeFile(modelPath, 'broken again');
      for (const n of [2, 3]) {
        await expect(stream.process(frame)).rejects.toMatchObject({ code: 'vad_model_load_failed' });
        expect(started()).toBe(failures + n);
      }
      await expect(stream.process(frame)).rejects.toMatchObject({
        details: { failures: 2, retryInMs: 1000 },
      });
      stream.close();
    } finally {
      delete sileroTestHooks.now;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a session's VAD gets past a stuck worker: the lost frame is reported (vad_inference_failed), the user's speech is still found, nothing is dropped", async () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const events: BusEvent[] = [];
    bus.subscribeAll((e) => events.push(e));
    const vad = workerVad({ maxBatch: 58 }); // the default run timeout: healthy runs never reach it
    const input = new UserAudioInput({
      bus,
      sessionId: 's1',
      vad,
      inputSampleRate: 16000,
      isBotSpeaking: () => false,
      speech: { pause() {}, resume() {}, interrupt() {} },
      onUserTurn: () => {},
    });
    sileroTestHooks.hangAtRun = 3; // the session's third VAD frame, in the leading silence
    try {
      await vad.warmup(); // the worker starts with the fault
    } finally {
      delete sileroTestHooks.hangAtRun;
    }
    // the whole recording at once (faster than real time), in 20 ms frames
    for (let i = 0; i + 320 <= speech.length; i += 320) input.pushAudio(speech.subarray(i, i + 320), 16000);
    await input.idle(); // without the run timeout this never settles: every later frame waits
    const of = (type: BusEvent['type']) => events.filter((e) => e.type === type).map((e) => e.payload);
    expect(of('error')).toEqual([
      expect.objectContaining({
        component: 'vad',
        error: expect.objectContaining({ code: 'vad_inference_failed', retryable: true }),
      }),
    ]);
    expect(of('user.speech.start')).toHaveLength(1);
    expect(of('user.speech.stop')).toHaveLength(1);
    expect(input.droppedFrames).toBe(0);
    expect(vad.stats.workers).toBe(2);
    input.close();
  });
});
