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

export class SpeechTts implements TtsModel {
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
    const { text, abortSignal } = request;
    const maxLength = this.options.maxTextLength ?? 4096;
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new InvalidInputError('tts_bad_text', 'TTS text must be a non-empty string');
    }
    if (text.length > maxLength) {
      throw new InvalidInputError('tts_text_too_long', `TTS text exceeds ${maxLength} characters`);
    }
    const format = this.options.outputFormat ?? 'wav';
    const voice = request.voice ?? this.options.voice;
    const result = await boundedCall(
      (signal) =>
        generateSpeech({
          model: this.options.model,
          text,
          outputFormat: format,
          abortSignal: signal,
          maxRetries: this.options.maxRetries ?? 1,
          ...(voice ? { voice } : {}),
          ...(request.instructions ? { instructions: request.instructions } : {}),
          ...(this.options.speed !== undefined ? { speed: this.options.speed } : {}),
          ...(this.options.language ? { language: this.options.language } : {}),
          ...(this.options.providerOptions ? { providerOptions: this.options.providerOptions } : {}),
          ...(this.options.headers ? { headers: this.options.headers } : {}),
        }),
      {
        what: `${this.provider} speech`,
        timeoutMs: this.options.timeoutMs ?? 30_000,
        abortSignal,
        failureCode: 'tts_failed',
      },
    );
    const pcm = this.decode(result.audio.uint8Array, result.audio.mediaType);
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
