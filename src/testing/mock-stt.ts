/**
 * A scripted `SttModel` for tests. Each `transcribe` call takes the next entry of the script (a
 * transcript or a detailed step) and consumes the audio like a real streaming model: scripted
 * interim transcripts are yielded as audio arrives, the final after the audio ends and an optional
 * delay. Steps can fail (before or after the audio) or stall until aborted. Calls are recorded.
 */
import { ProviderError } from '../errors.ts';
import { untilAborted } from '../providers/abortable-iterate.ts';
import type { SttEvent, SttModel, SttStreamOptions } from '../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import { sleep, waitForAbort } from './abortable.ts';

export interface MockSttStep {
  /** Final transcript. */
  text?: string;
  /** Interim transcripts, yielded one per received audio chunk (leftovers when the audio ends). */
  interims?: string[];
  language?: string;
  confidence?: number;
  /** Delay between the end of audio and the final (ms). */
  delayMs?: number;
  /** 'fail': throw after the audio; 'fail-start': throw before reading audio; 'stall': never finish. */
  mode?: 'ok' | 'fail' | 'fail-start' | 'stall';
  /** Error thrown in fail modes (default a retryable ProviderError 'stt_failed'). */
  error?: Error;
}

export interface MockSttOptions {
  /** One entry per utterance; a string is shorthand for `{ text }`. */
  script?: Array<string | MockSttStep>;
  /** Step used once the script runs out (default: empty transcript). */
  fallback?: MockSttStep;
  /** Default delay before each final (ms). */
  delayMs?: number;
  sampleRate?: number;
}

export interface MockSttCall {
  sampleRate: number;
  language: string | undefined;
  chunks: number;
  samples: number;
  /** True once the audio iterable ended. */
  audioEnded: boolean;
}

/**
 * A scripted STT: one transcript per utterance, with interims, delays and failure modes.
 *
 * @example
 * ```ts
 * import { EnergyVad, VoiceSession } from 'colloquy';
 * import { MockStt, MockTts, mockLanguageModel } from 'colloquy/testing';
 *
 * const stt = new MockStt({ script: ['what time is it', { text: 'thanks', delayMs: 50 }] });
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: mockLanguageModel(['It is noon.', 'You are welcome.']),
 *   agents: [{ name: 'main', instructions: 'Tell the time.' }],
 *   audio: { vad: new EnergyVad(), stt, tts: new MockTts(), inputSampleRate: 16000, output: { write: () => {} } },
 * });
 * // … push audio; then `stt.calls` says what each utterance sent
 * ```
 */
export class MockStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'mock';
  readonly modelId = 'mock-stt';
  readonly sampleRate: number;
  readonly calls: MockSttCall[] = [];
  private readonly script: MockSttStep[];
  private readonly options: MockSttOptions;

  constructor(options: MockSttOptions = {}) {
    this.options = options;
    this.sampleRate = options.sampleRate ?? 16000;
    this.script = (options.script ?? []).map((s) => (typeof s === 'string' ? { text: s } : s));
  }

  /** Appends utterances to the script. */
  enqueue(...steps: Array<string | MockSttStep>): void {
    for (const s of steps) this.script.push(typeof s === 'string' ? { text: s } : s);
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    const step = this.script.shift() ?? this.options.fallback ?? { text: '' };
    const signal = options.abortSignal;
    const call: MockSttCall = {
      sampleRate: options.sampleRate,
      language: options.language,
      chunks: 0,
      samples: 0,
      audioEnded: false,
    };
    this.calls.push(call);
    signal?.throwIfAborted();
    const failure = () =>
      step.error ?? new ProviderError('stt_failed', 'Mock STT failure', { retryable: true });
    if (step.mode === 'fail-start') throw failure();
    const interims = [...(step.interims ?? [])];
    for await (const chunk of untilAborted(audio, signal)) {
      call.chunks++;
      call.samples += chunk.length;
      const interim = interims.shift();
      if (interim !== undefined) yield { type: 'interim', text: interim };
    }
    call.audioEnded = true;
    for (const interim of interims) yield { type: 'interim', text: interim };
    if (step.mode === 'stall') {
      await waitForAbort(signal);
    }
    await sleep(step.delayMs ?? this.options.delayMs ?? 0, signal);
    if (step.mode === 'fail') throw failure();
    const language = step.language ?? options.language;
    yield {
      type: 'final',
      text: step.text ?? '',
      ...(language ? { language } : {}),
      ...(step.confidence !== undefined ? { confidence: step.confidence } : {}),
    };
  }
}
