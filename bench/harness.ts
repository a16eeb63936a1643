/**
 * Benchmark harness: a real `VoiceSession` with audio (VAD → STT → LLM → TTS → paced sink) whose
 * cloud-model stand-ins have fixed, known latencies, instrumented so every turn yields the time of
 * each step. Timestamps are `performance.now()` (monotonic ms), taken in the providers' own
 * wrappers and in bus subscribers, never in the pipeline.
 *
 * A `Mic` pushes 20 ms frames in real time (drift-corrected), like a transport receiving a live
 * microphone: silence by default, speech frames when told to `say` something.
 */
import { silentLogger } from '../src/logger.ts';
import type { VadModel, VadStream } from '../src/providers/types.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { MockStt } from '../src/testing/mock-stt.ts';
import { MockTts } from '../src/testing/mock-tts.ts';
import { TimedStt, TimedTts, timedLanguageModel } from './timed-providers.ts';

export const INPUT_RATE = 16000;
export const OUTPUT_RATE = 24000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (INPUT_RATE * FRAME_MS) / 1000;

/** What the stand-in providers take, by construction. */
export interface ProviderLatencies {
  /** End of the utterance's audio → final transcript. */
  sttMs: number;
  /** LLM request → first text token. */
  llmMs: number;
  /** TTS request → first audio bytes. */
  ttsMs: number;
}

/** Turn-taking policy (waits that are decisions, not overhead). */
export interface TurnPolicy {
  minSpeechMs: number;
  minSilenceMs: number;
  endpointingMs: number;
  minInterruptionMs: number;
  pauseOnSpeech: boolean;
}

/** The stand-in providers' latencies of the bench's rows (`run.ts`, `row.ts`): one set, so rows compare. */
export const BENCH_LATENCIES: ProviderLatencies = { sttMs: 50, llmMs: 100, ttsMs: 80 };

/** Short waits keep the run fast; they are policy and subtracted (see docs/benchmarks.md). */
export const BENCH_POLICY: TurnPolicy = {
  minSpeechMs: 100,
  minSilenceMs: 100,
  endpointingMs: 100,
  minInterruptionMs: 300,
  pauseOnSpeech: true,
};

/** Everything measured about one bot turn (ms, `performance.now()`). */
export interface TurnMarks {
  turnId: string;
  /** Push time of the last speech frame (the user's speech ended then, in capture time). */
  speechEndAt?: number;
  /**
   * Push time of the frame that decided `user.speech.stop` (the input frame that completed the VAD
   * frame scored last when it was published: frames queued behind a slow VAD count from their push).
   */
  stopFramePushAt?: number;
  stopAt?: number;
  sttAudioEndAt?: number;
  sttFinalAt?: number;
  /** `turn.start`: a spoken turn starts when the user begins speaking. */
  turnStartAt?: number;
  /** `user.text`: the user's words are committed to the turn (after endpointing). */
  userTextAt?: number;
  /** `llm.start` published (Colloquy hands the request to the AI SDK's `streamText`). */
  llmStartAt?: number;
  llmCalledAt?: number;
  llmFirstDeltaAt?: number;
  /** First `llm.text.delta` published (the AI SDK handed the token back). */
  llmDeltaEventAt?: number;
  ttsCalledAt?: number;
  ttsFirstChunkAt?: number;
  firstFrameAt?: number;
  lastFrameAt?: number;
  frames: number;
  /** Barge-in: `user.speech.start` while this turn's audio played, and the push of its deciding frame. */
  detectAt?: number;
  detectFramePushAt?: number;
  pausedAt?: number;
  interruptedAt?: number;
  /** Frames written after `detectAt` / after `interruptedAt`. */
  framesAfterDetect: number;
  framesAfterInterrupt: number;
  outcome?: 'end' | 'interrupted';
}

type UserMarks = Pick<
  TurnMarks,
  'speechEndAt' | 'stopFramePushAt' | 'stopAt' | 'sttAudioEndAt' | 'sttFinalAt'
>;

const now = (): number => performance.now();

export interface BenchSessionOptions {
  id: string;
  vad: VadModel;
  latencies: ProviderLatencies;
  policy: TurnPolicy;
  /** The bot's answer to every turn. */
  answer: string;
  /** Bot audio per character of answer (default 40 ms). */
  msPerChar?: number;
}

/** One instrumented voice session. */
export class BenchSession {
  readonly session: VoiceSession;
  readonly turns: TurnMarks[] = [];
  readonly mic: Mic;
  private readonly byId = new Map<string, TurnMarks>();
  private current: TurnMarks | undefined;
  private user: UserMarks = {};
  private waiters: Array<{ event: 'end' | 'speaking'; resolve: (t: TurnMarks) => void }> = [];
  /** VAD frames handed to the model so far (the session's VAD is wrapped to count them). */
  private vadFrames = 0;
  private readonly vadFrameSamples: number;

  constructor(o: BenchSessionOptions) {
    this.vadFrameSamples = o.vad.frameSamples;
    const stt = new TimedStt(
      new MockStt({ fallback: { text: 'hello there' }, delayMs: o.latencies.sttMs }),
      (at) => {
        this.user.sttAudioEndAt ??= at;
      },
      (at) => {
        this.user.sttFinalAt ??= at;
      },
    );
    const tts = new TimedTts(
      new MockTts({
        sampleRate: OUTPUT_RATE,
        msPerChar: o.msPerChar ?? 40,
        firstByteDelayMs: o.latencies.ttsMs,
      }),
      (at) => {
        if (this.current) this.current.ttsCalledAt ??= at;
      },
      (at) => {
        if (this.current) this.current.ttsFirstChunkAt ??= at;
      },
    );
    const model = timedLanguageModel(
      o.answer,
      o.latencies.llmMs,
      (at) => {
        if (this.current) this.current.llmCalledAt ??= at;
      },
      (at) => {
        if (this.current) this.current.llmFirstDeltaAt ??= at;
      },
    );
    this.session = new VoiceSession({
      sessionId: o.id,
      userId: 'bench',
      agents: [{ name: 'main', instructions: 'You are a benchmark.' }],
      model,
      logger: silentLogger,
      audio: {
        vad: this.countFrames(o.vad),
        stt,
        tts,
        inputSampleRate: INPUT_RATE,
        outputSampleRate: OUTPUT_RATE,
        vadOptions: { minSpeechMs: o.policy.minSpeechMs, minSilenceMs: o.policy.minSilenceMs },
        endpointing: { endpointingMs: o.policy.endpointingMs },
        interruption: {
          minInterruptionMs: o.policy.minInterruptionMs,
          pauseOnSpeech: o.policy.pauseOnSpeech,
        },
        output: { write: (_frame, info) => this.onFrame(info.turnId) },
      },
    });
    this.mic = new Mic(this.session);
    const bus = this.session.eventBus;
    bus.subscribe('user.speech.start', () => {
      const at = now();
      this.user = {};
      const t = this.current;
      if (t?.firstFrameAt !== undefined && t.outcome === undefined && t.detectAt === undefined) {
        t.detectAt = at;
        t.detectFramePushAt = this.decidingFramePushAt();
      }
    });
    bus.subscribe('user.speech.stop', () => {
      this.user.stopAt = now();
      this.user.stopFramePushAt = this.decidingFramePushAt();
      this.user.speechEndAt = this.mic.speechEndAt;
    });
    // A spoken turn starts at the user's speech start; its user marks (speech stop, transcript)
    // come later and are the turn's once its words are committed (`user.text`).
    bus.subscribe('turn.start', ({ turnId }) => {
      const t: TurnMarks = {
        turnId,
        turnStartAt: now(),
        frames: 0,
        framesAfterDetect: 0,
        framesAfterInterrupt: 0,
      };
      this.current = t;
      this.byId.set(turnId, t);
    });
    bus.subscribe('user.text', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t === undefined) return;
      Object.assign(t, this.user);
      t.userTextAt = now();
      this.user = {};
    });
    bus.subscribe('llm.start', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t) t.llmStartAt ??= now();
    });
    bus.subscribe('llm.text.delta', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t) t.llmDeltaEventAt ??= now();
    });
    bus.subscribe('speech.paused', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t) t.pausedAt ??= now();
    });
    bus.subscribe('speech.interrupted', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t) t.interruptedAt ??= now();
    });
    bus.subscribe('bot.speaking.start', ({ turnId }) => {
      const t = this.byId.get(turnId);
      if (t) this.settle(t, 'speaking');
    });
    bus.subscribe('turn.end', ({ turnId }) => this.finish(turnId, 'end'));
    bus.subscribe('turn.interrupted', ({ turnId }) => this.finish(turnId, 'interrupted'));
  }

  /** The session's VAD, its streams counting the frames they are given (nothing else changes). */
  private countFrames(vad: VadModel): VadModel {
    const self = this;
    return {
      specificationVersion: vad.specificationVersion,
      provider: vad.provider,
      modelId: vad.modelId,
      sampleRate: vad.sampleRate,
      frameSamples: vad.frameSamples,
      createStream(): VadStream {
        const stream = vad.createStream();
        return {
          process(frame) {
            self.vadFrames++;
            return stream.process(frame);
          },
          reset: () => stream.reset(),
          close: () => stream.close(),
        };
      },
    };
  }

  /**
   * Push time of the input frame that completed the VAD frame scored last: transitions are
   * published right after the score of the frame that caused them, one frame at a time.
   */
  private decidingFramePushAt(): number {
    const endSample = this.vadFrames * this.vadFrameSamples;
    return this.mic.pushTimeOf(Math.max(0, Math.ceil(endSample / FRAME_SAMPLES) - 1));
  }

  /** Resolves at the next `bot.speaking.start`. */
  nextSpeaking(): Promise<TurnMarks> {
    return new Promise((resolve) => this.waiters.push({ event: 'speaking', resolve }));
  }

  /** Resolves when the next turn ends (completed or interrupted). */
  nextTurnEnd(): Promise<TurnMarks> {
    return new Promise((resolve) => this.waiters.push({ event: 'end', resolve }));
  }

  async close(): Promise<void> {
    this.mic.stop();
    await this.session.close();
    this.byId.clear();
  }

  private onFrame(turnId: string): void {
    const at = now();
    const t = this.byId.get(turnId);
    if (t === undefined) return;
    t.firstFrameAt ??= at;
    t.lastFrameAt = at;
    t.frames++;
    if (t.detectAt !== undefined) t.framesAfterDetect++;
    if (t.interruptedAt !== undefined) t.framesAfterInterrupt++;
  }

  private settle(t: TurnMarks, event: 'speaking' | 'end'): void {
    const ready = this.waiters.filter((w) => w.event === event);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(t);
  }

  private finish(turnId: string, outcome: 'end' | 'interrupted'): void {
    const t = this.byId.get(turnId);
    if (t === undefined || t.outcome !== undefined) return;
    t.outcome = outcome; // the record stays in `byId`: frames written after the end still count
    if (this.current === t) this.current = undefined;
    this.turns.push(t);
    this.settle(t, 'end');
  }
}

/**
 * A live microphone: one 20 ms frame per tick, on a drift-corrected schedule. Silence unless
 * speech frames are queued with `say`.
 */
export class Mic {
  static readonly silence = new Int16Array(FRAME_SAMPLES);
  /** Push time of the last frame. */
  lastPushAt = 0;
  /** Push time of the last speech frame of the last `say`. */
  speechEndAt: number | undefined;
  private queue: Int16Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dueAt = 0;
  private running = false;
  private onSaid: (() => void) | undefined;
  /** Push time of each frame by its index since the start (a ring: the last 16,384, 5.5 min). */
  private readonly pushTimes = new Float64Array(1 << 14);
  private frameIndex = 0;
  /** Frames pushed and time spent inside `pushAudio` (the synchronous part of the per-frame path). */
  pushes = 0;
  pushMs = 0;

  constructor(private readonly session: VoiceSession) {}

  /** Push time of the `index`-th frame since the start (16 kHz input: frames are VAD input frames). */
  pushTimeOf(index: number): number {
    return this.pushTimes[index & (this.pushTimes.length - 1)]!;
  }

  /** Starts ticking after `phaseMs` (stagger many mics across the 20 ms period). */
  start(phaseMs = 0): void {
    if (this.running) return;
    this.running = true;
    this.dueAt = now() + phaseMs;
    this.timer = setTimeout(this.tick, phaseMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.onSaid?.();
    this.onSaid = undefined;
  }

  /** Queues speech frames; resolves once the last one was pushed. */
  say(frames: ReadonlyArray<Int16Array>): Promise<void> {
    this.queue = [...frames];
    return new Promise((resolve) => {
      this.onSaid = resolve;
    });
  }

  private readonly tick = (): void => {
    if (!this.running) return;
    const speech = this.queue.shift();
    const started = now();
    try {
      this.session.pushAudio(speech ?? Mic.silence, INPUT_RATE);
    } catch {
      this.stop();
      return;
    }
    const pushed = now();
    this.pushTimes[this.frameIndex++ & (this.pushTimes.length - 1)] = pushed;
    this.pushes++;
    this.pushMs += pushed - started;
    this.lastPushAt = pushed;
    if (speech !== undefined && this.queue.length === 0) {
      this.speechEndAt = pushed;
      const said = this.onSaid;
      this.onSaid = undefined;
      said?.();
    }
    this.dueAt += FRAME_MS;
    // whole ms (Node rounds up anyway): a fractional delay makes Node a new timer list per tick
    this.timer = setTimeout(this.tick, Math.max(0, Math.ceil(this.dueAt - now())));
  };
}

/** `ms` of a 440 Hz tone (amplitude 8000) as 20 ms frames: "speech" for an energy VAD. */
export function toneFrames(ms: number): Int16Array[] {
  const frame = new Int16Array(FRAME_SAMPLES);
  for (let i = 0; i < FRAME_SAMPLES; i++) {
    frame[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / INPUT_RATE));
  }
  return Array.from({ length: Math.round(ms / FRAME_MS) }, () => frame);
}

/** Cuts 16 kHz audio into 20 ms frames (the last one zero-padded). */
export function framesOf(audio: Int16Array): Int16Array[] {
  const out: Int16Array[] = [];
  for (let i = 0; i < audio.length; i += FRAME_SAMPLES) {
    const frame = new Int16Array(FRAME_SAMPLES);
    frame.set(audio.subarray(i, Math.min(audio.length, i + FRAME_SAMPLES)));
    out.push(frame);
  }
  return out;
}

/** Time the framework itself spent on a turn's critical path (see docs/benchmarks.md). */
export function frameworkMs(t: TurnMarks, policy: TurnPolicy): number | undefined {
  const {
    stopFramePushAt,
    stopAt,
    sttAudioEndAt,
    sttFinalAt,
    userTextAt,
    llmCalledAt,
    llmFirstDeltaAt,
    ttsCalledAt,
    ttsFirstChunkAt,
    firstFrameAt,
  } = t;
  if (
    stopFramePushAt === undefined ||
    stopAt === undefined ||
    sttAudioEndAt === undefined ||
    sttFinalAt === undefined ||
    userTextAt === undefined ||
    llmCalledAt === undefined ||
    llmFirstDeltaAt === undefined ||
    ttsCalledAt === undefined ||
    ttsFirstChunkAt === undefined ||
    firstFrameAt === undefined
  ) {
    return undefined;
  }
  const vad = stopAt - stopFramePushAt; // deciding frame pushed → speech-stop published
  const toStt = sttAudioEndAt - stopAt; // speech-stop → STT sees the end of the audio
  // the words are committed once both the endpointing silence (policy) and the final transcript are in
  const commit = userTextAt - Math.max(stopAt + policy.endpointingMs, sttFinalAt);
  const toLlm = llmCalledAt - userTextAt;
  const toTts = ttsCalledAt - llmFirstDeltaAt; // AI SDK stream + segmenter + TTS scheduling
  const toSink = firstFrameAt - ttsFirstChunkAt;
  return vad + toStt + commit + toLlm + toTts + toSink;
}
