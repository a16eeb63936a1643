/**
 * Silero VAD v5 on onnxruntime-node, using the model file shipped in `@ricky0123/vad-web`.
 *
 * Model I/O (v5): `input` float32 [N, 64 + 512] — each row is the last 64 samples of the stream's
 * previous frame followed by the 512 new samples (16 kHz, floats in [-1, 1)); `state` float32
 * [2, N, 128]; `sr` int64 scalar 16000. Outputs `output` [N, 1] (speech probability) and `stateN`
 * [2, N, 128]. This matches `OnnxWrapper.__call__` in silero-vad and vad-web's `Silero.process`.
 *
 * One InferenceSession per model file per process serves every stream; streams keep only their
 * own recurrent state and context. Frames from many streams are scored in one `run` with batch
 * dimension N (micro-batching): those that arrive in the same event-loop turn (flushed on
 * setImmediate) and, while enough streams are active that others' frames are due within
 * `batchWindowMs`, those that arrive within that window. A run costs about 125 µs of CPU for one
 * frame, 47 µs per frame for 4 and 33 µs for 16 (onnxruntime-node 1.30, one thread): at 100
 * sessions, frames arriving one per loop turn were scored one or two at a time.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AudioFormatError, isColloquyError, ProviderError, TimeoutError } from '../../errors.ts';
import { hasOptional, MissingDependencyError, requireOptional } from '../../optional-dependency.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { VadModel, VadStream } from '../types.ts';

export const SILERO_SAMPLE_RATE = 16000;
export const SILERO_FRAME_SAMPLES = 512;
export const SILERO_CONTEXT_SAMPLES = 64;
const ROW = SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES;
const STATE_UNITS = 128;

export interface SileroVadOptions {
  /** Path to a Silero v5 `.onnx` file (default: the one in `@ricky0123/vad-web`). */
  modelPath?: string;
  /** Most frames scored in one `run` (default 64). */
  maxBatch?: number;
  /**
   * Longest wait (ms) for other streams' frames to join a run, while enough streams are active
   * that at least one more frame is due within it (default 2; 0: flush every event-loop turn). It
   * delays a VAD decision by at most this (plus timer lateness), only under load, and saves
   * about half the inference CPU there.
   */
  batchWindowMs?: number;
  /**
   * Where inference runs (default `'main'`). `'main'`: on the event loop (onnxruntime-node's `run`
   * blocks it for each batch). `'worker'`: in one `worker_threads` worker per model file and
   * options, so the event loop only copies rows in and scores out while the worker scores; at most
   * two runs wait for it at once (later frames queue here, one per stream, and join a larger
   * batch), and it is terminated once its last stream is closed (a new one starts on the next
   * frame).
   */
  inference?: 'main' | 'worker';
  /**
   * With `inference: 'worker'`: longest wait (ms) for the worker's answer to a run once it is the
   * oldest run waiting (default 2000; 1-60 000). A worker that does not answer in time (stuck in
   * native code, starved) is terminated and replaced: its runs fail with `ProviderError`
   * `vad_inference_failed` (retryable, `cause` a `TimeoutError`) instead of holding every
   * stream's frames until their queues overflow. Loading the model is bounded by 30 s.
   */
  runTimeoutMs?: number;
}

/** A frame's duration at 16 kHz (ms): each active stream delivers one frame this often. */
const FRAME_MS = (SILERO_FRAME_SAMPLES * 1000) / SILERO_SAMPLE_RATE;
/** Default `runTimeoutMs`: a run takes milliseconds, so only a stuck worker takes this long. */
const DEFAULT_RUN_TIMEOUT_MS = 2000;
/** Longest wait for a worker to load onnxruntime-node and the model. */
const LOAD_TIMEOUT_MS = 30_000;

/**
 * After this many failures in a row (a load failed, a worker died or got stuck) the next start
 * waits: 1 s after the second, doubling up to 30 s (the first is replaced at once).
 */
const RESTART_DELAY_MS = 1000;
const RESTART_MAX_DELAY_MS = 30_000;

/** How long a start waits after `failures` failures in a row since the last scored run. */
function restartDelay(failures: number): number {
  if (failures < 2) return 0;
  return Math.min(RESTART_DELAY_MS * 2 ** (failures - 2), RESTART_MAX_DELAY_MS);
}

/**
 * Test seam (not exported from the package). Faults the next workers' program injects, read
 * when a worker starts: `hangAtRun: n` blocks the worker's thread at its n-th run (as native code
 * that never returns would); `hangAtLoad` blocks it before it loads the model, and
 * `loadTimeoutMs` shortens the load bound. `now` replaces the clock of the restart back-off.
 *
 * @internal
 */
export const sileroTestHooks: {
  hangAtRun?: number;
  hangAtLoad?: boolean;
  loadTimeoutMs?: number;
  now?: () => number;
} = {};

const clock = (): number => (sileroTestHooks.now === undefined ? performance.now() : sileroTestHooks.now());

/** A run of this many frames is not worth waiting to grow (per-frame cost flattens out). */
const FULL_BATCH = 16;

/**
 * Path of `silero_vad_v5.onnx` inside the installed `@ricky0123/vad-web` package (an optional
 * dependency: a missing package throws `MissingDependencyError`).
 *
 * @example
 * ```ts
 * import { defaultSileroModelPath, SileroVad } from 'colloquy';
 *
 * console.log(defaultSileroModelPath()); // …/node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx
 * const vad = new SileroVad({ modelPath: process.env.SILERO_MODEL ?? defaultSileroModelPath() });
 * ```
 */
export function defaultSileroModelPath(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@ricky0123/vad-web/package.json');
  } catch (err) {
    throw new MissingDependencyError('@ricky0123/vad-web', 'Silero VAD (its model file)', err);
  }
  return join(dirname(pkg), 'dist', 'silero_vad_v5.onnx');
}

/** The part of onnxruntime-node's API Silero uses (its types stay out of Colloquy's declarations). */
interface OrtTensor {
  readonly data: unknown;
}
interface InferenceSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor | undefined>>;
}
interface Ort {
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(
      path: string,
      options: { intraOpNumThreads: number; interOpNumThreads: number; graphOptimizationLevel: 'all' },
    ): Promise<InferenceSession>;
  };
}

/** Scores a batch: `input` [n, ROW], `state` [2, n, 128] → probabilities [n] and the new state. */
interface Backend {
  infer(input: Float32Array, state: Float32Array, n: number): Promise<{ probs: unknown; stateN: unknown }>;
  /** Stops the backend (the worker); idempotent. */
  close(): Promise<void>;
}

/** Loads onnxruntime-node and the model in this thread. */
async function mainThreadBackend(modelPath: string): Promise<Backend> {
  const ort = requireOptional<Ort>('onnxruntime-node', 'Silero VAD');
  const session = await ort.InferenceSession.create(modelPath, SESSION_OPTIONS);
  const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(SILERO_SAMPLE_RATE)), []);
  return {
    async infer(input, state, n) {
      const out = await session.run({
        input: new ort.Tensor('float32', input, [n, ROW]),
        state: new ort.Tensor('float32', state, [2, n, STATE_UNITS]),
        sr,
      });
      return { probs: out.output?.data, stateN: out.stateN?.data };
    },
    close: () => Promise.resolve(),
  };
}

const SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
} as const;

/**
 * The worker's program (CommonJS, evaluated: no file to resolve next to the built or the source
 * module). It loads onnxruntime-node from the path the main thread resolved, then answers each
 * `{ id, n, input, state }` with `{ id, probs, stateN }` or `{ id, error }`, in order.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ortPath, modelPath, options, row, units, rate, fault } = workerData;
let ort;
let session;
let sr;
let runs = 0;
const block = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
const ready = (async () => {
  if (fault.hangAtLoad) block();
  ort = require(ortPath);
  session = await ort.InferenceSession.create(modelPath, options);
  sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []);
})();
ready.then(
  () => parentPort.postMessage({ id: -1 }),
  (err) => parentPort.postMessage({ id: -1, error: String((err && err.message) || err) }),
);
parentPort.on('message', async (m) => {
  try {
    await ready;
    if (++runs === fault.hangAtRun) block();
    const out = await session.run({
      input: new ort.Tensor('float32', m.input, [m.n, row]),
      state: new ort.Tensor('float32', m.state, [2, m.n, units]),
      sr,
    });
    parentPort.postMessage({ id: m.id, probs: out.output && out.output.data, stateN: out.stateN && out.stateN.data });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

interface WorkerReply {
  id: number;
  probs?: Float32Array;
  stateN?: Float32Array;
  error?: string;
}

/**
 * Inference in a \`worker_threads\` worker. The worker is referenced only while a run is in flight
 * (an idle one never keeps the process alive). If it dies, or does not answer the oldest run
 * waiting within `runTimeoutMs` (then it is terminated, without waiting for it: a thread stuck in
 * native code may never stop), its runs fail and `onDead` tells the engine, which starts another.
 */
async function workerBackend(
  modelPath: string,
  runTimeoutMs: number,
  onDead: (err: Error) => void,
): Promise<Backend> {
  let ortPath: string;
  try {
    ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  } catch (err) {
    throw new MissingDependencyError('onnxruntime-node', 'Silero VAD', err);
  }
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      ortPath,
      modelPath,
      options: SESSION_OPTIONS,
      row: ROW,
      units: STATE_UNITS,
      rate: SILERO_SAMPLE_RATE,
      fault: { hangAtRun: sileroTestHooks.hangAtRun, hangAtLoad: sileroTestHooks.hangAtLoad },
    },
  });
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (err: unknown) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  let exited: Promise<void> | undefined;
  const failAll = (err: Error) => {
    if (dead === undefined) {
      dead = err;
      onDead(err);
    }
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  /** Fails its runs and terminates a worker that stopped answering (not awaited: it may never stop). */
  const abandon = (err: Error) => {
    failAll(err);
    worker.unref();
    worker.terminate().catch(() => {});
  };
  // One watchdog for all runs: re-armed when a run is sent to an idle worker and at each answer
  // while others wait (the worker scores them in order), it fires once the oldest went unanswered.
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const onWatchdog = () => {
    if (pending.size > 0 && dead === undefined)
      abandon(
        new TimeoutError('A Silero VAD worker run', runTimeoutMs, { details: { timeoutMs: runTimeoutMs } }),
      );
  };
  const watch = () => {
    if (watchdog === undefined) {
      watchdog = setTimeout(onWatchdog, runTimeoutMs);
      watchdog.unref();
    } else {
      watchdog.refresh();
    }
  };
  const loaded = new Promise<void>((resolve, reject) => {
    pending.set(-1, {
      resolve: (r) => (r.error === undefined ? resolve() : reject(new Error(r.error))),
      reject,
    });
  });
  worker.on('message', (r: WorkerReply) => {
    const p = pending.get(r.id);
    if (p === undefined) return;
    pending.delete(r.id);
    if (pending.size === 0) worker.unref();
    else if (r.id !== -1) watch();
    if (r.id !== -1 && r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r);
  });
  worker.on('error', (err) => failAll(err));
  exited = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      failAll(new Error(`Silero VAD worker exited (code ${code})`));
      if (watchdog !== undefined) clearTimeout(watchdog);
      resolve();
    });
  });
  const loadTimeoutMs = sileroTestHooks.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
  const loadTimer = setTimeout(
    () => abandon(new TimeoutError('Loading the Silero VAD model in a worker', loadTimeoutMs)),
    loadTimeoutMs,
  );
  try {
    await loaded;
  } catch (err) {
    if (err instanceof TimeoutError) throw err;
    await worker.terminate();
    await exited;
    throw err;
  } finally {
    clearTimeout(loadTimer);
  }
  worker.unref();
  return {
    infer(input, state, n) {
      if (dead !== undefined) return Promise.reject(dead);
      const id = nextId++;
      return new Promise<{ probs: unknown; stateN: unknown }>((resolve, reject) => {
        if (pending.size === 0) {
          worker.ref();
          watch();
        }
        pending.set(id, { resolve: (r) => resolve({ probs: r.probs, stateN: r.stateN }), reject });
        worker.postMessage({ id, n, input, state });
      });
    },
    async close() {
      failAll(new Error('Silero VAD worker was stopped'));
      if (watchdog !== undefined) clearTimeout(watchdog);
      await worker.terminate();
      await exited;
    },
  };
}

interface Job {
  stream: SileroVadStream;
  row: Float32Array;
  generation: number;
  resolve: (p: number) => void;
  reject: (err: unknown) => void;
}

/** One shared session plus the micro-batching queue, per model file. */
class SileroEngine {
  private loaded: Promise<Backend> | null = null;
  /** Backend failures in a row since the last scored run (a load failed, a worker died or got stuck). */
  private failures = 0;
  /** The last of them, and when the next start may be tried (back-off). */
  private lastFailure: unknown;
  private retryAt = 0;
  private openStreams = 0;
  private runsInFlight = 0;
  private queue: Job[] = [];
  /** A flush is due on setImmediate. */
  private scheduled = false;
  /** The window timer (one, re-armed with `refresh`) is pending. */
  private waiting = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly inFlight = new Set<SileroVadStream>();
  /** Streams that delivered a frame in the current and in the last frame period. */
  private readonly seen = new Set<SileroVadStream>();
  private seenSince = 0;
  private activeStreams = 0;
  /**
   * Inference calls made and frames scored, workers started, and the most runs in flight at once
   * (for tests and benchmarks).
   */
  readonly stats = { runs: 0, frames: 0, workers: 0, peakRunsInFlight: 0 };
  /** Free input buffers by batch size (see `run`), and the constant sample-rate input. */
  private readonly buffers = new Map<number, RunBuffers[]>();

  constructor(
    readonly modelPath: string,
    private readonly maxBatch: number,
    private readonly windowMs: number,
    private readonly inference: 'main' | 'worker',
    private readonly runTimeoutMs: number,
  ) {}

  /**
   * The backend: the one loaded (or loading), else a new one. After repeated failures a new one
   * starts only once the back-off delay has passed; until then this fails at once with the last
   * failure's code, saying how many failed and when the next attempt is.
   */
  load(): Promise<Backend> {
    if (this.loaded !== null) return this.loaded;
    const now = clock();
    if (now < this.retryAt) return Promise.reject(this.backingOff(now));
    let loaded: Promise<Backend>;
    let ready = false;
    if (this.inference === 'worker') {
      this.stats.workers++;
      // a worker that dies or stops answering is forgotten, so the next frame starts another
      const onDead = (err: Error) => {
        if (this.loaded !== loaded) return; // stopped, or failed to load (counted below)
        this.loaded = null;
        if (ready)
          this.failed(
            new ProviderError('vad_inference_failed', `Silero VAD worker failed: ${err.message}`, {
              cause: err,
              retryable: true,
            }),
          );
      };
      loaded = workerBackend(this.modelPath, this.runTimeoutMs, onDead);
    } else {
      loaded = mainThreadBackend(this.modelPath);
    }
    loaded = loaded.then(
      (backend) => {
        ready = true;
        return backend;
      },
      (err: unknown) => {
        if (this.loaded === loaded) this.loaded = null;
        const typed =
          err instanceof MissingDependencyError
            ? err
            : new ProviderError(
                'vad_model_load_failed',
                `Could not load Silero VAD model ${this.modelPath}: ${err instanceof Error ? err.message : String(err)}`,
                { cause: err },
              );
        this.failed(typed);
        throw typed;
      },
    );
    this.loaded = loaded;
    return loaded;
  }

  /** Counts a failure of the backend and sets when the next may start. */
  private failed(err: unknown): void {
    this.failures++;
    this.lastFailure = err;
    this.retryAt = clock() + restartDelay(this.failures);
  }

  private backingOff(now: number): ProviderError {
    const last = this.lastFailure;
    const retryInMs = Math.ceil(this.retryAt - now);
    const what = this.inference === 'worker' ? 'Silero VAD worker' : 'Silero VAD model';
    return new ProviderError(
      isColloquyError(last) ? last.code : 'vad_inference_failed',
      `${what} failed ${this.failures} times in a row (last: ${last instanceof Error ? last.message : String(last)}); the next attempt in ${retryInMs} ms`,
      {
        cause: last,
        retryable: isColloquyError(last) ? last.retryable : true,
        details: { failures: this.failures, retryInMs },
      },
    );
  }

  /** A stream was created (the worker lives while any is open). */
  opened(): void {
    this.openStreams++;
  }

  /** A stream was closed: the last one stops the worker once no run is in flight. */
  closed(stream: SileroVadStream): void {
    this.openStreams--;
    this.drop(stream);
    this.maybeStop();
  }

  /** Stops the worker (if any); the next frame starts a new one. */
  async stop(): Promise<void> {
    const loaded = this.loaded;
    if (loaded === null || this.inference !== 'worker') return;
    this.loaded = null;
    try {
      await (await loaded).close();
    } catch {
      // it never loaded: nothing runs
    }
  }

  private maybeStop(): void {
    if (this.openStreams <= 0 && this.runsInFlight === 0 && this.queue.length === 0) void this.stop();
  }

  enqueue(job: Job): void {
    this.queue.push(job);
    if (this.windowMs > 0) {
      const now = performance.now();
      if (now - this.seenSince >= FRAME_MS) {
        // streams seen over the last whole period (or this one, if more have shown up already)
        this.activeStreams = now - this.seenSince < 2 * FRAME_MS ? this.seen.size : 0;
        this.seen.clear();
        this.seenSince = now;
      }
      this.seen.add(job.stream);
    }
    this.schedule();
  }

  drop(stream: SileroVadStream): void {
    this.seen.delete(stream);
    const kept: Job[] = [];
    for (const job of this.queue) {
      if (job.stream === stream) {
        stream.busy = false;
        job.reject(new ProviderError('vad_stream_closed', 'VAD stream was closed'));
      } else {
        kept.push(job);
      }
    }
    this.queue = kept;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    const active = Math.max(this.activeStreams, this.seen.size);
    if (this.queue.length < Math.min(FULL_BATCH, this.maxBatch) && (active * this.windowMs) / FRAME_MS >= 1) {
      // Other streams' frames are due within the window: let them join this run.
      if (this.waiting) return;
      this.waiting = true;
      if (this.timer === undefined) this.timer = setTimeout(this.onWindow, this.windowMs);
      else this.timer.refresh();
      return;
    }
    this.scheduled = true;
    setImmediate(this.onImmediate);
  }

  private readonly onImmediate = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private readonly onWindow = (): void => {
    this.waiting = false;
    if (this.scheduled) return; // a full batch is already due
    this.flush();
  };

  /** Takes at most one job per stream (a stream's next frame needs the previous frame's state). */
  private flush(): void {
    // the worker's queue is bounded: later frames wait here (one per stream) and join a larger run
    if (this.inference === 'worker' && this.runsInFlight >= MAX_WORKER_RUNS) return;
    const batch: Job[] = [];
    const taken = new Set<SileroVadStream>();
    const rest: Job[] = [];
    for (const job of this.queue) {
      if (batch.length < this.maxBatch && !taken.has(job.stream) && !this.inFlight.has(job.stream)) {
        batch.push(job);
        taken.add(job.stream);
      } else {
        rest.push(job);
      }
    }
    this.queue = rest;
    if (batch.length === 0) return;
    for (const job of batch) this.inFlight.add(job.stream);
    this.runsInFlight++;
    if (this.runsInFlight > this.stats.peakRunsInFlight) this.stats.peakRunsInFlight = this.runsInFlight;
    const n = batch.length;
    const rows = new Array<Float32Array>(n);
    const streams = new Array<SileroVadStream>(n);
    const generations = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const job = batch[i]!;
      rows[i] = job.row;
      streams[i] = job.stream;
      generations[i] = job.generation;
    }
    this.run(rows, streams, generations)
      .then(
        (probs) => {
          for (let i = 0; i < n; i++) {
            const job = batch[i]!;
            job.stream.busy = false;
            job.resolve(probs[i]!);
          }
        },
        (err: unknown) => {
          for (const job of batch) {
            job.stream.busy = false;
            job.reject(err);
          }
        },
      )
      .finally(() => {
        this.runsInFlight--;
        for (const job of batch) this.inFlight.delete(job.stream);
        this.schedule();
        this.maybeStop();
      });
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * Scores N rows (context + frame) in one run and writes each stream's new state. Each row goes
   * back to its stream for its next frame once copied; the run's input buffers are reused by later
   * runs of the same size.
   */
  async run(rows: Float32Array[], streams: SileroVadStream[], generations: number[]): Promise<Float32Array> {
    const backend = await this.load();
    const n = rows.length;
    const buffers = this.takeBuffers(n);
    const { input, state } = buffers;
    for (let b = 0; b < n; b++) {
      input.set(rows[b]!, b * ROW);
      streams[b]!.recycle(rows[b]!);
      const s = streams[b]!.state;
      // element loops, not `set(subarray(…))`: a view per copy was about 400 bytes per frame
      const lo = b * STATE_UNITS;
      const hi = (n + b) * STATE_UNITS;
      for (let i = 0; i < STATE_UNITS; i++) {
        state[lo + i] = s[i]!;
        state[hi + i] = s[STATE_UNITS + i]!;
      }
    }
    let out: { probs: unknown; stateN: unknown };
    try {
      out = await backend.infer(input, state, n);
    } catch (err) {
      throw new ProviderError(
        'vad_inference_failed',
        `Silero VAD inference failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, retryable: true },
      );
    } finally {
      this.releaseBuffers(n, buffers);
    }
    this.stats.runs++;
    this.stats.frames += n;
    this.failures = 0;
    const probs = out.probs as Float32Array | undefined;
    const stateN = out.stateN as Float32Array | undefined;
    if (!probs || !stateN || probs.length !== n || stateN.length !== 2 * n * STATE_UNITS) {
      throw new ProviderError('vad_bad_output', 'Silero VAD returned outputs of an unexpected shape');
    }
    for (let b = 0; b < n; b++) {
      const stream = streams[b]!;
      if (stream.generation !== generations[b]) continue; // reset while in flight: keep the fresh state
      const s = stream.state;
      const lo = b * STATE_UNITS;
      const hi = (n + b) * STATE_UNITS;
      for (let i = 0; i < STATE_UNITS; i++) {
        s[i] = stateN[lo + i]!;
        s[STATE_UNITS + i] = stateN[hi + i]!;
      }
    }
    return probs;
  }

  /** Input buffers for a run of `n` frames: a free pair of that size, or a new one. */
  private takeBuffers(n: number): RunBuffers {
    const free = this.buffers.get(n);
    const reused = free?.pop();
    if (reused !== undefined) return reused;
    return { input: new Float32Array(n * ROW), state: new Float32Array(2 * n * STATE_UNITS) };
  }

  private releaseBuffers(n: number, buffers: RunBuffers): void {
    let free = this.buffers.get(n);
    if (free === undefined) {
      free = [];
      this.buffers.set(n, free);
    }
    // runs of one size in flight at once are few: keep at most two pairs per size
    if (free.length < 2) free.push(buffers);
  }
}

interface RunBuffers {
  input: Float32Array;
  state: Float32Array;
}

const engines = new Map<string, SileroEngine>();

/** Runs waiting for the worker at once (one scoring, one queued behind it). */
const MAX_WORKER_RUNS = 2;

function engineFor(
  modelPath: string,
  maxBatch: number,
  windowMs: number,
  inference: 'main' | 'worker',
  runTimeoutMs: number,
): SileroEngine {
  const key = `${modelPath}#${maxBatch}#${windowMs}#${inference}#${runTimeoutMs}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = new SileroEngine(modelPath, maxBatch, windowMs, inference, runTimeoutMs);
    engines.set(key, engine);
  }
  return engine;
}

/** Per-stream detector: recurrent state, 64-sample context, sequential frames. */
export class SileroVadStream implements VadStream {
  /** Recurrent state, layout [2][128] (the stream's slice of the model's [2, N, 128]). */
  readonly state = new Float32Array(2 * STATE_UNITS);
  generation = 0;
  /** A frame of this stream is queued or being scored (`process` and `scoreBatch` refuse another). */
  busy = false;
  private readonly context = new Float32Array(SILERO_CONTEXT_SAMPLES);
  /** A row already copied into a run, reused for the next frame (one frame in flight: no allocation). */
  private spare: Float32Array | undefined;
  private closed = false;

  constructor(private readonly engine: SileroEngine) {
    engine.opened();
  }

  /** Builds the model row for a frame (context + samples) and advances the context. */
  prepare(frame: Int16Array): Float32Array {
    if (this.closed) throw new ProviderError('vad_stream_closed', 'VAD stream was closed');
    if (frame.length !== SILERO_FRAME_SAMPLES) {
      throw new AudioFormatError(
        'vad_bad_frame_size',
        `Silero VAD scores frames of ${SILERO_FRAME_SAMPLES} samples at 16 kHz, got ${frame.length}`,
        { details: { expected: SILERO_FRAME_SAMPLES, actual: frame.length } },
      );
    }
    const row = this.spare ?? new Float32Array(ROW);
    this.spare = undefined;
    row.set(this.context, 0);
    for (let i = 0; i < SILERO_FRAME_SAMPLES; i++) row[SILERO_CONTEXT_SAMPLES + i] = frame[i]! / 32768;
    for (let i = 0; i < SILERO_CONTEXT_SAMPLES; i++) this.context[i] = row[ROW - SILERO_CONTEXT_SAMPLES + i]!;
    return row;
  }

  /** Throws `vad_stream_closed` after `close()`, `vad_stream_busy` while a frame is in flight. */
  checkIdle(): void {
    if (this.closed) throw new ProviderError('vad_stream_closed', 'VAD stream was closed');
    if (this.busy) {
      throw new ProviderError(
        'vad_stream_busy',
        'A frame of this VAD stream is still being scored: await its score before sending the next',
      );
    }
  }

  /** The engine has copied `row` into a run: the next frame may fill it. */
  recycle(row: Float32Array): void {
    this.spare = row;
  }

  /**
   * Scores one frame. One at a time: a call before the previous frame's score settled is refused
   * with `ProviderError` `vad_stream_busy` (the caller lends the frame until then, and the stream's
   * state needs the previous frame's); a call after `close()` with `vad_stream_closed`.
   */
  process(frame: Int16Array): Promise<number> {
    let row: Float32Array;
    try {
      this.checkIdle();
      row = this.prepare(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    this.busy = true;
    return new Promise<number>((resolve, reject) => {
      this.engine.enqueue({ stream: this, row, generation: this.generation, resolve, reject });
    });
  }

  reset(): void {
    this.generation++;
    this.state.fill(0);
    this.context.fill(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.closed(this);
  }
}

/**
 * Silero VAD v5 (`VadModel`): 512-sample frames at 16 kHz, one shared ONNX session.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { PocketsphinxStt, SileroVad, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   audio: { vad: new SileroVad(), stt: new PocketsphinxStt(), inputSampleRate: 16000 },
 * });
 * ```
 */
export class SileroVad implements VadModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.vad;
  readonly provider = 'silero';
  readonly modelId = 'silero-vad-v5';
  readonly sampleRate = SILERO_SAMPLE_RATE;
  readonly frameSamples = SILERO_FRAME_SAMPLES;
  private readonly engine: SileroEngine;

  constructor(options: SileroVadOptions = {}) {
    const maxBatch = options.maxBatch ?? 64;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new ProviderError('vad_bad_option', `maxBatch must be a positive integer, got ${maxBatch}`);
    }
    const windowMs = options.batchWindowMs ?? 2;
    if (!Number.isFinite(windowMs) || windowMs < 0 || windowMs > 100) {
      throw new ProviderError('vad_bad_option', `batchWindowMs must be 0-100 ms, got ${windowMs}`);
    }
    const inference = options.inference ?? 'main';
    if (inference !== 'main' && inference !== 'worker') {
      throw new ProviderError(
        'vad_bad_option',
        `inference must be 'main' or 'worker', got ${String(inference)}`,
      );
    }
    const runTimeoutMs = options.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    if (!Number.isInteger(runTimeoutMs) || runTimeoutMs < 1 || runTimeoutMs > 60_000) {
      throw new ProviderError(
        'vad_bad_option',
        `runTimeoutMs must be a whole number of ms from 1 to 60000, got ${runTimeoutMs}`,
      );
    }
    if (!hasOptional('onnxruntime-node')) throw new MissingDependencyError('onnxruntime-node', 'Silero VAD');
    this.engine = engineFor(
      options.modelPath ?? defaultSileroModelPath(),
      maxBatch,
      windowMs,
      inference,
      inference === 'worker' ? runTimeoutMs : 0,
    );
  }

  /**
   * Stops the inference worker behind this model (`inference: 'worker'`), for a clean shutdown
   * without waiting for the last stream's close; a later frame starts a new one. Nothing to do for
   * in-thread inference.
   */
  close(): Promise<void> {
    return this.engine.stop();
  }

  /**
   * Of the shared engine behind this model: inference calls, frames scored, workers started
   * (`inference: 'worker'`) and the most runs in flight at once.
   */
  get stats(): {
    readonly runs: number;
    readonly frames: number;
    readonly workers: number;
    readonly peakRunsInFlight: number;
  } {
    return { ...this.engine.stats };
  }

  /** Loads the shared session now instead of on the first frame. */
  async warmup(): Promise<void> {
    await this.engine.load();
  }

  createStream(): SileroVadStream {
    return new SileroVadStream(this.engine);
  }

  /**
   * Scores one frame per stream in a single `run` (batch dimension N = frames.length), bypassing
   * the micro-batching queue. Each stream must appear once and have no frame in flight (else
   * `vad_bad_batch`, `vad_stream_busy`).
   */
  async scoreBatch(
    streams: ReadonlyArray<SileroVadStream>,
    frames: ReadonlyArray<Int16Array>,
  ): Promise<number[]> {
    if (streams.length !== frames.length || new Set(streams).size !== streams.length) {
      throw new ProviderError('vad_bad_batch', 'scoreBatch needs one frame per distinct stream');
    }
    if (streams.length === 0) return [];
    for (const stream of streams) stream.checkIdle();
    const rows = frames.map((f, i) => streams[i]!.prepare(f));
    for (const stream of streams) stream.busy = true;
    try {
      const probs = await this.engine.run(
        rows,
        [...streams],
        streams.map((s) => s.generation),
      );
      return Array.from(probs);
    } finally {
      for (const stream of streams) stream.busy = false;
    }
  }
}
