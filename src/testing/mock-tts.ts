/**
 * A deterministic `TtsModel` for tests: each character of text becomes `msPerChar` of a known
 * waveform (a 440 Hz tone, or a ramp whose sample values are their indices), yielded in chunks of
 * `chunkMs` after an optional first-byte delay. Texts matching `failOn` / `stallOn` fail or hang
 * (optionally after some chunks). Aborts are respected at every await. Requests are recorded.
 */
import { InvalidInputError, ProviderError } from '../errors.ts';
import type { TtsModel, TtsRequest } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { sleep, waitForAbort } from './abortable.ts';

/** Texts whose waveform `MockTts` keeps (a few sentences of a repeated answer). */
const CACHED_TEXTS = 8;

export type MockTtsMatcher = string | RegExp | ((text: string) => boolean);

export interface MockTtsOptions {
  sampleRate?: number;
  /** Audio length per character of text (default 50 ms). */
  msPerChar?: number;
  /** 'tone' (440 Hz, amplitude 8000; default) or 'ramp' (sample i = i mod 32768). */
  waveform?: 'tone' | 'ramp';
  /** Chunk length (default 100 ms). */
  chunkMs?: number;
  /** Delay before the first chunk (ms, default 0). */
  firstByteDelayMs?: number;
  /** Delay between later chunks (ms, default 0). */
  chunkDelayMs?: number;
  /** Texts that fail (substring, pattern or predicate). */
  failOn?: MockTtsMatcher;
  /** Chunks yielded before a failing text throws (default 0). */
  failAfterChunks?: number;
  /** Texts that stall until aborted. */
  stallOn?: MockTtsMatcher;
  /** Chunks yielded before a stalling text hangs (default 0). */
  stallAfterChunks?: number;
  /** Error thrown for failing texts (default a retryable ProviderError 'tts_failed'). */
  error?: Error;
}

/**
 * A deterministic TTS: a tone whose length follows the text, with delays, failures and stalls.
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { MockTts, mockLanguageModel } from 'colloquy/testing';
 *
 * const tts = new MockTts({ sampleRate: 16000, msPerChar: 20, failOn: /error/ });
 * const frames: Int16Array[] = [];
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: mockLanguageModel(['Hello there.']),
 *   agents: [{ name: 'main', instructions: 'Greet.' }],
 *   audio: { tts, outputSampleRate: 16000, output: { write: (frame) => frames.push(frame.slice()) } },
 * });
 * await session.sendText('Hi');
 * console.log(tts.requests.map((r) => r.text), tts.durationMsFor('Hello there.'));
 * ```
 */
export class MockTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'mock';
  readonly modelId = 'mock-tts';
  readonly sampleRate: number;
  readonly requests: TtsRequest[] = [];
  /** Requests whose generation ran to completion. */
  completed = 0;
  private readonly options: MockTtsOptions;
  /**
   * The waveforms of the last few texts synthesised: an answer of several sentences asks for each
   * in turn, and a model replying the same answer then computes each sentence once.
   */
  private readonly cache = new Map<string, Int16Array>();

  constructor(options: MockTtsOptions = {}) {
    this.options = options;
    this.sampleRate = options.sampleRate ?? 24000;
  }

  /** Samples `text` synthesises to. */
  samplesFor(text: string): number {
    return Math.round((text.length * (this.options.msPerChar ?? 50) * this.sampleRate) / 1000);
  }

  /** Duration of `text`'s audio in ms. */
  durationMsFor(text: string): number {
    return (this.samplesFor(text) * 1000) / this.sampleRate;
  }

  /** The full audio `text` synthesises to (what `synthesize` yields, concatenated). */
  audioFor(text: string): Int16Array {
    const n = this.samplesFor(text);
    const out = new Int16Array(n);
    const ramp = this.options.waveform === 'ramp';
    for (let i = 0; i < n; i++) {
      out[i] = ramp ? i % 32768 : Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / this.sampleRate));
    }
    return out;
  }

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    this.requests.push(request);
    const { text, abortSignal: signal } = request;
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new InvalidInputError('tts_bad_text', 'TTS text must be a non-empty string');
    }
    signal?.throwIfAborted();
    const o = this.options;
    // Chunks are copies (`slice`), so the cached waveform is never handed out.
    let audio = this.cache.get(text);
    if (audio === undefined) {
      audio = this.audioFor(text);
      if (this.cache.size >= CACHED_TEXTS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(text, audio);
    }
    const chunk = Math.max(1, Math.round(((o.chunkMs ?? 100) * this.sampleRate) / 1000));
    const fails = matches(o.failOn, text);
    const stalls = matches(o.stallOn, text);
    await sleep(o.firstByteDelayMs ?? 0, signal);
    let sent = 0;
    for (let offset = 0; offset < audio.length || (sent === 0 && (fails || stalls)); offset += chunk) {
      if (fails && sent >= (o.failAfterChunks ?? 0)) {
        throw o.error ?? new ProviderError('tts_failed', 'Mock TTS failure', { retryable: true });
      }
      if (stalls && sent >= (o.stallAfterChunks ?? 0)) await waitForAbort(signal);
      if (sent > 0) await sleep(o.chunkDelayMs ?? 0, signal);
      signal?.throwIfAborted();
      yield audio.slice(offset, offset + chunk);
      sent++;
    }
    if (fails) throw o.error ?? new ProviderError('tts_failed', 'Mock TTS failure', { retryable: true });
    if (stalls) await waitForAbort(signal);
    this.completed++;
  }
}

function matches(matcher: MockTtsMatcher | undefined, text: string): boolean {
  if (matcher === undefined) return false;
  if (typeof matcher === 'string') return text.includes(matcher);
  if (matcher instanceof RegExp) return matcher.test(text);
  return matcher(text);
}
