/**
 * Any AI SDK `SpeechModel` (OpenAI, ElevenLabs, LMNT, Hume, ...) as a Colloquy `TtsModel`. It asks
 * for WAV (or raw PCM16 at a configured rate), decodes it to mono PCM16 at `sampleRate` (resampling
 * a WAV at another supported rate) and yields it in fixed-size chunks. Batch models cannot stream,
 * so the first chunk comes when the whole utterance is synthesised.
 */
import { experimental_generateSpeech as generateSpeech, type SpeechModel } from 'ai';
import { bytesToInt16, downmixToMono } from '../../audio/pcm.ts';
import { isSupportedSampleRate, resample } from '../../audio/resample.ts';
import { decodeWav, isWav } from '../../audio/wav.ts';
import { AudioFormatError, InvalidInputError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { TtsModel, TtsRequest } from '../types.ts';
import { boundedCall } from './bounded-call.ts';
import { modelIdentity } from './model-identity.ts';

type ProviderOptions = Parameters<typeof generateSpeech>[0]['providerOptions'];

export interface SpeechTtsOptions {
  model: SpeechModel;
  /** Format requested from the provider: 'wav' (default) or 'pcm' (raw PCM16 LE mono at `sampleRate`). */
  outputFormat?: 'wav' | 'pcm';
  /** Output rate; for 'pcm' it must be the rate the provider produces (default 24000). */
  sampleRate?: number;
  voice?: string;
  speed?: number;
  language?: string;
  /** Samples per yielded chunk (default 100 ms). */
  chunkSamples?: number;
  /** Bound on one synthesis request, retries included (default 30 000 ms). */
  timeoutMs?: number;
  /** AI SDK retries per request (default 1). */
  maxRetries?: number;
  /** Longest accepted text in characters (default 4096). */
  maxTextLength?: number;
  providerOptions?: ProviderOptions;
  headers?: Record<string, string>;
}

/**
 * Streaming TTS over an AI SDK `SpeechModel` (any provider's `.speech()` model).
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { SpeechTts, VoiceSession } from 'colloquy';
 *
 * const tts = new SpeechTts({ model: openai.speech('gpt-4o-mini-tts'), voice: 'alloy', outputFormat: 'pcm', sampleRate: 24000 });
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   audio: { tts, output: { write: (frame) => console.log(frame.length) } },
 * });
 * ```
 */
export class SpeechTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider: string;
  readonly modelId: string;
  readonly sampleRate: number;
  private readonly options: SpeechTtsOptions;
  private readonly chunkSamples: number;

  constructor(options: SpeechTtsOptions) {
    this.options = options;
    const { model } = options;
    ({ provider: this.provider, modelId: this.modelId } = modelIdentity(model));
    this.sampleRate = options.sampleRate ?? 24000;
    this.chunkSamples = options.chunkSamples ?? Math.round(this.sampleRate / 10);
    if (!Number.isInteger(this.chunkSamples) || this.chunkSamples < 1) {
      throw new InvalidInputError('tts_bad_option', `chunkSamples must be a positive integer`);
    }
  }

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    const { abortSignal } = request;
    const o = this.options;
    const result = await generateSpeechBytes(o.model, request.text, {
      outputFormat: o.outputFormat ?? 'wav',
      ...((request.voice ?? o.voice) ? { voice: request.voice ?? o.voice } : {}),
      ...(request.instructions ? { instructions: request.instructions } : {}),
      ...(o.speed !== undefined ? { speed: o.speed } : {}),
      ...(o.language ? { language: o.language } : {}),
      ...(o.providerOptions ? { providerOptions: o.providerOptions } : {}),
      ...(o.headers ? { headers: o.headers } : {}),
      maxRetries: o.maxRetries ?? 1,
      maxTextLength: o.maxTextLength ?? 4096,
      timeoutMs: o.timeoutMs ?? 30_000,
      ...(abortSignal ? { abortSignal } : {}),
      ...(request.timeoutMs !== undefined ? { callerTimeoutMs: request.timeoutMs } : {}),
    });
    const pcm = this.decode(result.bytes, result.mediaType);
    for (let offset = 0; offset < pcm.length; offset += this.chunkSamples) {
      abortSignal?.throwIfAborted();
      yield pcm.slice(offset, offset + this.chunkSamples);
    }
  }

  /** WAV (any supported rate, any channel count) or raw PCM16 to mono PCM16 at `sampleRate`. */
  private decode(bytes: Uint8Array, mediaType: string): Int16Array {
    if (isWav(bytes)) {
      const wav = decodeWav(bytes, { allowTruncated: true });
      const mono = downmixToMono(wav.samples, wav.channels);
      if (wav.sampleRate === this.sampleRate) return mono;
      if (!isSupportedSampleRate(wav.sampleRate) || !isSupportedSampleRate(this.sampleRate)) {
        throw new AudioFormatError(
          'tts_unsupported_audio',
          `${this.provider} returned ${wav.sampleRate} Hz audio; cannot convert to ${this.sampleRate} Hz`,
        );
      }
      return resample(mono, wav.sampleRate, this.sampleRate);
    }
    if ((this.options.outputFormat ?? 'wav') === 'pcm') return bytesToInt16(bytes).slice();
    throw new AudioFormatError(
      'tts_unsupported_audio',
      `${this.provider} returned ${mediaType}, not WAV or PCM; request outputFormat 'wav' or 'pcm'`,
      { details: { mediaType } },
    );
  }
}

export interface GenerateSpeechBytesOptions {
  outputFormat: string;
  voice?: string;
  instructions?: string;
  speed?: number;
  language?: string;
  providerOptions?: ProviderOptions;
  headers?: Record<string, string>;
  maxRetries?: number;
  /** Longest accepted text in characters. */
  maxTextLength: number;
  /** Bound on the request, retries included. */
  timeoutMs: number;
  abortSignal?: AbortSignal;
  /** The caller's own bound on the request (see `TtsRequest.timeoutMs`). */
  callerTimeoutMs?: number;
}

/** One bounded AI SDK speech request for a validated, non-empty text: the provider's bytes. */
export async function generateSpeechBytes(
  model: SpeechModel,
  text: unknown,
  o: GenerateSpeechBytesOptions,
): Promise<{ bytes: Uint8Array; mediaType: string }> {
  if (typeof text !== 'string' || text.trim().length === 0) {
    throw new InvalidInputError('tts_bad_text', 'TTS text must be a non-empty string');
  }
  if (text.length > o.maxTextLength) {
    throw new InvalidInputError('tts_text_too_long', `TTS text exceeds ${o.maxTextLength} characters`);
  }
  const result = await boundedCall(
    (abortSignal) =>
      generateSpeech({
        model,
        text,
        outputFormat: o.outputFormat,
        abortSignal,
        maxRetries: o.maxRetries ?? 1,
        ...(o.voice ? { voice: o.voice } : {}),
        ...(o.instructions ? { instructions: o.instructions } : {}),
        ...(o.speed !== undefined ? { speed: o.speed } : {}),
        ...(o.language ? { language: o.language } : {}),
        ...(o.providerOptions ? { providerOptions: o.providerOptions } : {}),
        ...(o.headers ? { headers: o.headers } : {}),
      }),
    {
      what: `${modelIdentity(model).provider} speech`,
      timeoutMs: o.timeoutMs,
      ...(o.abortSignal ? { abortSignal: o.abortSignal } : {}),
      ...(o.callerTimeoutMs !== undefined ? { callerTimeoutMs: o.callerTimeoutMs } : {}),
      failureCode: 'tts_failed',
    },
  );
  return { bytes: result.audio.uint8Array, mediaType: result.audio.mediaType };
}
