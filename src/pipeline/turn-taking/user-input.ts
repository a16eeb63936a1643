/**
 * User audio in: validation → resampling → VAD (speech start/stop) → per-utterance streaming STT
 * (with pre-roll) → endpointing → `onUserTurn`, plus barge-in decisions against the bot's speech.
 *
 * Frames are processed one at a time in arrival order (a frame is copied when queued, so callers
 * may reuse their buffers). Utterances that follow each other before endpointing ends the turn are
 * joined into one user turn.
 *
 * Nothing is allocated per frame while the user is silent and the input comes at the STT's rate:
 * the copies are reused once processed (and once they left the pre-roll history), and the queue is
 * drained without a promise per frame. (Input at another rate, e.g. 48 kHz WebRTC, still allocates
 * its resampled pieces; those are not put among the spare copies, being of another size, so the
 * copies are still reused.) That relies on the VAD model not keeping a frame it was given (see
 * `VadStream.process`).
 * STT is handed copies of its own, never reused here: the history keeps its pieces for the
 * pre-roll (about a second), and a piece it lent to STT would live that long, through two
 * scavenges into the old generation, where a copy dies as soon as the provider has sent it.
 */
import { audioLevel } from '../../audio/pcm.ts';
import { isSupportedSampleRate, StreamingResampler, SUPPORTED_SAMPLE_RATES } from '../../audio/resample.ts';
import type { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { AudioFormatError, ConfigError, failureCode, ProviderError, toColloquyError } from '../../errors.ts';
import type { EndOfTurnDetector, SttModel, VadModel } from '../../providers/types.ts';
import { checkSpecificationVersion } from '../../specification-version.ts';
import { type Clock, systemClock } from '../clock.ts';
import { Endpointing, type EndpointingOptions } from './endpointing.ts';
import { Fifo } from './fifo.ts';
import { type InterruptionOptions, InterruptionPolicy, type SpeechControl } from './interruption.ts';
import { SttUtterance } from './stt-utterance.ts';
import { VadDetector, type VadDetectorOptions, type VadTransition } from './vad-detector.ts';

export interface UserTurnInfo {
  /** When the user's speech ended (ms since the epoch). */
  speechEndAt: number;
  /** When the last final transcript of the turn arrived (ms since the epoch). */
  transcriptAt: number;
}

export interface UserAudioInputOptions {
  bus: EventBus<EventMap>;
  sessionId: string;
  vad: VadModel;
  stt?: SttModel;
  endOfTurn?: EndOfTurnDetector;
  /** Expected input rate; `pushAudio` may still pass another supported rate per frame. */
  inputSampleRate: number;
  vadOptions?: Omit<VadDetectorOptions, 'vad'>;
  endpointing?: Omit<EndpointingOptions, 'endOfTurn' | 'clock'>;
  interruption?: Omit<InterruptionOptions, 'clock'>;
  /** Language hint for STT. */
  language?: string;
  /** Bound on the wait for the final transcript after speech stops (default 5000). */
  sttFinalTimeoutMs?: number;
  /** Largest accepted frame (default 1000). */
  maxFrameMs?: number;
  /**
   * Most audio waiting to be scored, in ms (default 60000). Frames pushed while the queue holds
   * more are dropped and counted (`droppedFrames`), with one `audio_input_behind` warning per
   * backlog: audio that arrives faster than the VAD scores it cannot grow memory without end. To
   * push a longer recording at once, `await idle()` between chunks or raise this.
   */
  maxQueuedMs?: number;
  /** Interval of `audio.level` samples while someone listens (default 100). */
  levelIntervalMs?: number;
  isBotSpeaking: () => boolean;
  speech: SpeechControl;
  onUserTurn: (text: string, info: UserTurnInfo) => void;
  /** The user began speaking (after `user.speech.start` was published). */
  onSpeechStart?: () => void;
  /** A turn ended whose speech gave no transcript (nothing for `onUserTurn`). */
  onEmptyTurn?: () => void;
  /** Recent conversation for the end-of-turn detector. */
  history?: () => ReadonlyArray<{ role: 'user' | 'assistant'; text: string }>;
  clock?: Clock;
}

type InputState = 'listening' | 'muted' | 'closed';

/** Frame copies kept for reuse (a queue longer than this allocates). */
const MAX_SPARE_FRAMES = 8;
const DEFAULT_MAX_QUEUED_MS = 60_000;
const NONE: ReadonlyArray<VadTransition> = Object.freeze([]);
const RESOLVED = Promise.resolve();

/**
 * Microphone audio in, user turns out: VAD, streaming STT and endpointing, with barge-in against the
 * bot's speech. `VoiceSession` builds one from its `audio` options.
 *
 * @example
 * ```ts
 * import { EnergyVad, EspeakTts, EventBus, type EventMap, PocketsphinxStt, SpeechOutput, UserAudioInput } from 'colloquy';
 *
 * const bus = new EventBus<EventMap>();
 * const speech = new SpeechOutput({ bus, sessionId: 'demo', tts: new EspeakTts(), sink: { write: () => {} } });
 * const input = new UserAudioInput({
 *   bus,
 *   sessionId: 'demo',
 *   vad: new EnergyVad(),
 *   stt: new PocketsphinxStt(),
 *   inputSampleRate: 16000,
 *   isBotSpeaking: () => false,
 *   speech,
 *   onUserTurn: (text) => console.log('user said:', text),
 * });
 * input.pushAudio(new Int16Array(320), 16000); // 20 ms frames as they arrive
 * ```
 */
export class UserAudioInput {
  private readonly o: UserAudioInputOptions;
  private readonly bus: EventBus<EventMap>;
  private readonly sessionId: string;
  private readonly clock: Clock;
  private readonly detector: VadDetector;
  private readonly endpointing: Endpointing;
  private readonly interruption: InterruptionPolicy;
  private readonly maxFrameMs: number;
  private readonly maxQueuedMs: number;
  private readonly levelIntervalMs: number;
  private state: InputState = 'listening';
  // Processing queue (frames and their rates), drained one frame at a time.
  private readonly frames = new Fifo<Int16Array>();
  private readonly rates = new Fifo<number>();
  /**
   * When each queued frame arrived, in ms after `epoch` (whole ms from the default clock: small
   * integers, so nothing is allocated per frame), and that of the frame being scored.
   */
  private readonly arrivals = new Fifo<number>();
  private readonly epoch: number;
  private arrivedAt = 0;
  /** Audio in `frames`, in ms; while over `maxQueuedMs`, new frames are dropped. */
  private queuedMs = 0;
  private dropped = 0;
  /** A backlog is being dropped (warned once, until the queue empties). */
  private behind = false;
  private draining = false;
  private idleWaiters: Array<() => void> | undefined;
  /** The frame being scored, and whether the pre-roll history took it (then it is not reused here). */
  private current: Int16Array | undefined;
  private currentKept = false;
  /** Copies free for the next frames (see `copyOf`), at most `MAX_SPARE_FRAMES`. */
  private readonly spare = new Fifo<Int16Array>();
  /** The length of the last frame copy: only buffers of that length are kept as spares. */
  private copyLength = 0;
  private toVad: StreamingResampler | undefined;
  private toStt: StreamingResampler | undefined;
  private lastLevelAt = Number.NEGATIVE_INFINITY;
  // STT-rate audio history for the pre-roll: pieces with their first sample index. STT is given
  // copies of them, so every piece is reused once it leaves the history.
  private readonly ring = new Fifo<Int16Array>();
  private readonly ringStart = new Fifo<number>();
  private sttSamples = 0;
  private utterance: SttUtterance | undefined;
  /** Utterances of the turn being collected, and of a turn that ended but awaits finals. */
  private turn: SttUtterance[] = [];
  private ending: SttUtterance[] | undefined;
  private speechEndAt = 0;

  constructor(options: UserAudioInputOptions) {
    checkSpecificationVersion('vad', options.vad);
    if (options.stt) checkSpecificationVersion('stt', options.stt);
    this.o = options;
    this.bus = options.bus;
    this.sessionId = options.sessionId;
    this.clock = options.clock ?? systemClock;
    this.epoch = this.clock.now();
    this.maxFrameMs = options.maxFrameMs ?? 1000;
    this.maxQueuedMs = options.maxQueuedMs ?? DEFAULT_MAX_QUEUED_MS;
    if (!(this.maxQueuedMs > 0) || this.maxQueuedMs === Number.POSITIVE_INFINITY) {
      throw new ConfigError(
        'invalid_options',
        `maxQueuedMs must be a positive number of ms, got ${this.maxQueuedMs}`,
      );
    }
    this.levelIntervalMs = options.levelIntervalMs ?? 100;
    this.assertRate(options.inputSampleRate);
    this.detector = new VadDetector({ ...options.vadOptions, vad: options.vad });
    this.endpointing = new Endpointing(
      { ...options.endpointing, endOfTurn: options.endOfTurn, clock: this.clock },
      {
        transcript: () => this.turnText(this.turn, true),
        history: options.history,
        onEndOfTurn: () => this.onEndOfTurn(),
        onDetectorError: (error) => this.publishError('end_of_turn', error),
      },
    );
    this.interruption = new InterruptionPolicy(
      { ...options.interruption, clock: this.clock },
      options.speech,
      options.isBotSpeaking,
    );
  }

  /** True between `user.speech.start` and `user.speech.stop`. */
  get userSpeaking(): boolean {
    return this.detector.speaking;
  }

  get muted(): boolean {
    return this.state === 'muted';
  }

  /** Frames dropped because more than `maxQueuedMs` of audio was waiting to be scored. */
  get droppedFrames(): number {
    return this.dropped;
  }

  /** Queues one frame of mono PCM16. Throws `AudioFormatError` for a bad rate, empty or oversized frame. */
  pushAudio(frame: Int16Array, sampleRate: number): void {
    if (!(frame instanceof Int16Array)) {
      throw new AudioFormatError('invalid_audio_frame', 'Audio frame must be an Int16Array of PCM16 samples');
    }
    this.assertRate(sampleRate);
    if (frame.length === 0) throw new AudioFormatError('empty_audio_frame', 'Audio frame is empty');
    if ((frame.length * 1000) / sampleRate > this.maxFrameMs) {
      throw new AudioFormatError(
        'audio_frame_too_large',
        `Audio frame of ${frame.length} samples at ${sampleRate} Hz exceeds ${this.maxFrameMs} ms`,
        { details: { samples: frame.length, sampleRate, maxFrameMs: this.maxFrameMs } },
      );
    }
    if (this.state !== 'listening') return;
    const ms = (frame.length * 1000) / sampleRate;
    if (this.queuedMs + ms > this.maxQueuedMs && this.frames.length > 0) {
      this.dropFrame();
      return;
    }
    if (this.bus.hasSubscribers('audio.level')) {
      const now = this.clock.now();
      if (now - this.lastLevelAt >= this.levelIntervalMs) {
        this.lastLevelAt = now;
        this.bus.publish('audio.level', {
          sessionId: this.sessionId,
          source: 'user',
          level: audioLevel(frame),
        });
      }
    }
    this.frames.push(this.copyOf(frame));
    this.rates.push(sampleRate);
    this.arrivals.push(this.clock.now() - this.epoch);
    this.queuedMs += ms;
    if (!this.draining) {
      this.draining = true;
      this.drain();
    }
  }

  /** Resolves when every queued frame has been processed. */
  async idle(): Promise<void> {
    while (this.draining) {
      await new Promise<void>((resolve) => {
        if (this.idleWaiters === undefined) this.idleWaiters = [];
        this.idleWaiters.push(resolve);
      });
    }
  }

  /**
   * Ends the user's turn now (push-to-talk release, `audio_commit`): queued audio is processed, an
   * utterance in progress stops, and the turn completes as soon as its transcript is final — without
   * waiting for the silence timeout.
   */
  async commitTurn(): Promise<void> {
    await this.idle();
    if (this.state !== 'listening') return;
    const stop = this.detector.reset();
    if (stop !== undefined) this.onTransition(stop);
    this.endpointing.cancel();
    if (this.turn.length > 0) this.onEndOfTurn();
  }

  /** Drops audio until `unmute()`; an utterance in progress ends here. */
  mute(): void {
    if (this.state !== 'listening') return;
    this.state = 'muted';
    this.clearQueue();
    this.bus.publish('user.mute.start', { sessionId: this.sessionId });
    const stop = this.detector.reset();
    if (stop !== undefined) this.onTransition(stop);
  }

  unmute(): void {
    if (this.state !== 'muted') return;
    this.state = 'listening';
    this.bus.publish('user.mute.stop', { sessionId: this.sessionId });
  }

  /** Stops everything: no further events or turns. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearQueue();
    this.endpointing.cancel();
    this.interruption.reset();
    this.utterance?.abort();
    for (const u of this.turn) u.abort();
    for (const u of this.ending ?? []) u.abort();
    this.utterance = undefined;
    this.turn = [];
    this.ending = undefined;
    this.detector.close();
  }

  // ── Frame processing ─────────────────────────────────────────────────────────────

  /**
   * Scores queued frames in order, one at a time. The first is scored inside `pushAudio`; what its
   * score causes runs one microtask later (transitions reach the bus after `pushAudio` returned), or
   * once an asynchronous VAD's score arrives, and the next frame follows from there.
   */
  private drain(): void {
    while (this.frames.length > 0 && this.state === 'listening') {
      const frame = this.frames.shift()!;
      const rate = this.rates.shift()!;
      this.arrivedAt = this.arrivals.shift()!;
      this.queuedMs = this.frames.length === 0 ? 0 : this.queuedMs - (frame.length * 1000) / rate;
      this.current = frame;
      this.currentKept = false;
      let scored: ReturnType<VadDetector['push']>;
      try {
        scored = this.score(frame, rate);
      } catch (error) {
        this.releaseCurrent();
        this.vadFailed(error);
        continue;
      }
      if (Array.isArray(scored)) {
        this.vadFailing = false;
        const transitions = scored as ReadonlyArray<VadTransition>;
        if (
          transitions.length === 0 &&
          this.utterance === undefined &&
          this.detector.currentState !== 'speech'
        ) {
          this.releaseCurrent(); // nothing follows from this frame (`afterScore` would do nothing)
          continue;
        }
        this.scored = transitions;
        // (`queueMicrotask` allocates more per call in Node: it wraps the callback for async hooks)
        RESOLVED.then(this.afterSyncScore);
      } else {
        (scored as Promise<ReadonlyArray<VadTransition>>).then(this.afterAsyncScore, this.afterScoreError);
      }
      return;
    }
    this.draining = false;
    this.behind = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }

  /** The VAD failed on the last frame it was given (its failures are reported once per run). */
  private vadFailing = false;
  /** Transitions of the frame scored synchronously, waiting for `afterSyncScore`. */
  private scored: ReadonlyArray<VadTransition> = NONE;
  private readonly afterSyncScore = (): void => {
    const transitions = this.scored;
    this.scored = NONE;
    this.afterAsyncScore(transitions);
  };
  private readonly afterAsyncScore = (transitions: ReadonlyArray<VadTransition>): void => {
    this.releaseCurrent();
    this.vadFailing = false;
    try {
      this.afterScore(transitions);
    } catch (error) {
      this.publishError('vad', error);
    }
    this.drain();
  };
  private readonly afterScoreError = (error: unknown): void => {
    this.releaseCurrent();
    this.vadFailed(error);
    this.drain();
  };

  /**
   * The VAD failed on a frame: reported for the first frame of a run of failures only (a model that
   * is down, e.g. a Silero worker backing off, fails every frame: 50 a second); the next frame it
   * scores ends the run.
   */
  private vadFailed(error: unknown): void {
    if (this.vadFailing) return;
    this.vadFailing = true;
    this.publishError('vad', error);
  }

  /** Hands the frame to STT's ring and scores it (synchronously with a synchronous VAD). */
  private score(frame: Int16Array, rate: number): ReturnType<VadDetector['push']> {
    const stt = this.o.stt;
    if (stt !== undefined) {
      this.toStt = this.resamplerFor(this.toStt, rate, stt.sampleRate);
      if (this.toStt === undefined) this.currentKept = true;
      this.appendRing(this.toStt ? this.toStt.process(frame) : frame);
    }
    this.toVad = this.resamplerFor(this.toVad, rate, this.detector.sampleRate);
    return this.detector.push(this.toVad ? this.toVad.process(frame) : frame);
  }

  private clearQueue(): void {
    this.frames.clear();
    this.rates.clear();
    this.arrivals.clear();
    this.queuedMs = 0;
  }

  /** Drops a frame pushed while the queue is full: counted, and warned once per backlog. */
  private dropFrame(): void {
    this.dropped++;
    if (this.behind) return;
    this.behind = true;
    this.bus.publish('error', {
      sessionId: this.sessionId,
      component: 'vad',
      error: new ProviderError(
        'audio_input_behind',
        `More than ${this.maxQueuedMs} ms of audio waits to be scored: new frames are dropped until it catches up`,
        { retryable: true, details: { maxQueuedMs: this.maxQueuedMs, droppedFrames: this.dropped } },
      ),
      severity: 'warn',
    });
  }

  /** A copy of the caller's frame, in a buffer freed by an earlier frame when one fits. */
  private copyOf(frame: Int16Array): Int16Array {
    if (frame.length !== this.copyLength) {
      // Frames of another size from now on (a new rate or frame duration): the spares do not fit.
      this.copyLength = frame.length;
      this.spare.clear();
    }
    const copy = this.spare.shift() ?? new Int16Array(frame.length);
    copy.set(frame);
    return copy;
  }

  private recycle(buffer: Int16Array): void {
    // A resampled history piece is of another size than the copies: it would only push out a spare.
    if (buffer.length === this.copyLength && this.spare.length < MAX_SPARE_FRAMES) this.spare.push(buffer);
  }

  /** The frame just scored is no longer read (the VAD keeps no frame): reuse it unless the ring took it. */
  private releaseCurrent(): void {
    const frame = this.current;
    this.current = undefined;
    if (frame !== undefined && !this.currentKept) this.recycle(frame);
  }

  private afterScore(transitions: ReadonlyArray<VadTransition>): void {
    if (this.state !== 'listening') return;
    // How long ago the frame behind these transitions arrived (waiting in the queue, being scored).
    // Only while nothing is queued behind it: audio that arrived after it is not scored yet, and the
    // user may be speaking again in it, so the silence then counts from now, when that audio will be.
    // Read only when the frame changed something (most scored frames do not: no clock read for them).
    if (transitions.length > 0) {
      const sinceMs = this.frames.length === 0 ? this.clock.now() - this.epoch - this.arrivedAt : 0;
      for (let i = 0; i < transitions.length; i++) this.onTransition(transitions[i]!, sinceMs);
    }
    if (this.utterance !== undefined) this.sendRing(this.utterance, this.sttSamples);
    // Only sound counts towards an interruption, not the silence hang before speech-stop.
    if (this.detector.currentState === 'speech') this.interruption.progress(this.detector.positionMs);
  }

  /** `sinceMs`: how long ago the audio that caused `t` arrived (0 for a reset, commit or mute). */
  private onTransition(t: VadTransition, sinceMs = 0): void {
    // Event times: now, moved back by how far the stream has gone past the transition.
    const at = this.clock.now() - (this.detector.positionMs - t.atMs);
    if (t.type === 'speech-start') {
      this.endpointing.speechStarted();
      this.bus.publish('user.speech.start', { sessionId: this.sessionId, at });
      this.o.onSpeechStart?.();
      this.startUtterance(t.paddedAtMs);
      this.interruption.speechStarted(t.atMs, t.confirmedAtMs);
      return;
    }
    this.speechEndAt = at;
    this.bus.publish('user.speech.stop', { sessionId: this.sessionId, at, durationMs: t.durationMs });
    const u = this.utterance;
    if (u !== undefined) {
      this.sendRing(u, this.msToStt(t.confirmedAtMs));
      this.utterance = undefined;
      u.endAudio();
    }
    this.interruption.speechStopped();
    this.endpointing.speechStopped(sinceMs);
  }

  // ── STT ──────────────────────────────────────────────────────────────────────────

  private startUtterance(fromMs: number): void {
    const stt = this.o.stt;
    if (stt === undefined) return;
    const u = new SttUtterance({
      stt,
      language: this.o.language,
      clock: this.clock,
      finalTimeoutMs: this.o.sttFinalTimeoutMs ?? 5000,
      firstSample: Math.max(this.msToStt(fromMs), this.ring.length > 0 ? this.ringStart.at(0) : 0),
      onInterim: (text) => {
        this.bus.publish('transcription.interim', { sessionId: this.sessionId, text, at: this.clock.now() });
        this.interruption.transcript(text);
      },
      onFinal: (text, language) => {
        const payload = { sessionId: this.sessionId, text, at: this.clock.now() };
        this.bus.publish('transcription.final', language === undefined ? payload : { ...payload, language });
        this.interruption.transcript(text);
      },
      onError: (error) => this.bus.publish('transcription.error', { sessionId: this.sessionId, error }),
      onSettled: () => this.maybeCompleteTurn(),
    });
    this.utterance = u;
    this.turn.push(u);
    u.start();
  }

  private appendRing(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    // Keep enough history for the longest pre-roll the detector can ask for, plus margin.
    const d = this.detector;
    const keepMs = d.prefixPaddingMs + d.minSpeechMs + (d.frameSamples * 1000) / d.sampleRate + 500;
    const keep = this.msToStt(keepMs);
    while (this.ring.length > 0 && this.ringStart.at(0) + this.ring.at(0).length < this.sttSamples - keep) {
      const piece = this.ring.shift()!;
      this.ringStart.shift();
      // STT got copies, so nothing else holds it: reuse it for a later frame's copy.
      this.recycle(piece);
    }
    this.ring.push(pcm);
    this.ringStart.push(this.sttSamples);
    this.sttSamples += pcm.length;
  }

  /** Sends ring audio from the utterance's position up to sample `to`. */
  private sendRing(u: SttUtterance, to: number): void {
    for (let i = 0; i < this.ring.length && u.sentUpTo < to; i++) {
      const start = this.ringStart.at(i);
      const piece = this.ring.at(i);
      const end = start + piece.length;
      if (end <= u.sentUpTo) continue;
      const from = Math.max(u.sentUpTo, start);
      const until = Math.min(end, to);
      if (until > from) {
        // A copy STT may keep: the piece stays in the history and is reused after it.
        u.pushAudio(piece.slice(from - start, until - start), until);
      }
    }
  }

  // ── Turns ────────────────────────────────────────────────────────────────────────

  private onEndOfTurn(): void {
    // A turn still waiting for finals is closed with what it has.
    if (this.ending !== undefined) this.completeTurn(this.ending);
    this.ending = this.turn;
    this.turn = [];
    this.maybeCompleteTurn();
  }

  private maybeCompleteTurn(): void {
    const ending = this.ending;
    if (ending === undefined || this.state === 'closed') return;
    if (ending.every((u) => u.settled)) this.completeTurn(ending);
  }

  private completeTurn(utterances: SttUtterance[]): void {
    if (this.ending === utterances) this.ending = undefined;
    const text = this.turnText(utterances, false);
    if (text.length === 0) {
      this.o.onEmptyTurn?.();
      return;
    }
    let transcriptAt = 0;
    for (const u of utterances) transcriptAt = Math.max(transcriptAt, u.finalAt ?? 0);
    this.o.onUserTurn(text, { speechEndAt: this.speechEndAt, transcriptAt });
  }

  private turnText(utterances: SttUtterance[], withInterim: boolean): string {
    const parts: string[] = [];
    for (const u of utterances) {
      const t = (u.finalText ?? (withInterim ? u.interimText : '')).trim();
      if (t.length > 0) parts.push(t);
    }
    return parts.join(' ');
  }

  // ── Helpers ──────────────────────────────────────────────────────────────────────

  private resamplerFor(current: StreamingResampler | undefined, from: number, to: number) {
    if (from === to) return undefined;
    if (current !== undefined && current.fromRate === from) return current;
    return new StreamingResampler(from, to);
  }

  private msToStt(ms: number): number {
    return Math.round((ms * (this.o.stt?.sampleRate ?? 16000)) / 1000);
  }

  private assertRate(rate: number): void {
    if (!isSupportedSampleRate(rate)) {
      throw new AudioFormatError(
        'unsupported_sample_rate',
        `Unsupported input sample rate ${rate}; supported: ${SUPPORTED_SAMPLE_RATES.join(', ')}`,
        { details: { sampleRate: rate } },
      );
    }
  }

  private publishError(component: string, error: unknown): void {
    this.bus.publish('error', {
      sessionId: this.sessionId,
      component,
      error: toColloquyError(error, failureCode(component)),
      severity: 'error',
    });
  }
}
