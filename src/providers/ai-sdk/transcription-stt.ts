/**
 * Any AI SDK `TranscriptionModel` (OpenAI Whisper, Groq, Deepgram, ElevenLabs, ...) as a Colloquy
 * `SttModel`: the utterance's audio is buffered, WAV-encoded and sent once when the user's turn
 * ends; one `final` event comes back with the detected language.
 */
import {
  NoTranscriptGeneratedError,
  type TranscriptionModel,
  experimental_transcribe as transcribe,
} from 'ai';
import { encodeWav } from '../../audio/wav.ts';
import { InvalidInputError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import { untilAborted } from '../abortable-iterate.ts';
import type { SttEvent, SttModel, SttStreamOptions } from '../types.ts';
import { boundedCall } from './bounded-call.ts';
import { modelIdentity } from './model-identity.ts';

type ProviderOptions = Parameters<typeof transcribe>[0]['providerOptions'];

export interface TranscriptionSttOptions {
  model: TranscriptionModel;
  /** Rate the pipeline should deliver (default 16000; the WAV carries whatever rate arrives). */
  sampleRate?: number;
  /** Bound on one transcription request, retries included (default 30 000 ms). */
  timeoutMs?: number;
  /** AI SDK retries per request (default 1). */
  maxRetries?: number;
  /** Longest utterance sent, in seconds (default 300). */
  maxAudioSeconds?: number;
  providerOptions?: ProviderOptions;
  headers?: Record<string, string>;
}

/**
 * STT over an AI SDK `TranscriptionModel`: each utterance is sent as one WAV when it ends.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { SileroVad, TranscriptionStt, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   audio: { vad: new SileroVad(), stt: new TranscriptionStt({ model: openai.transcription('whisper-1') }), inputSampleRate: 16000 },
 * });
 * session.pushAudio(new Int16Array(320), 16000); // microphone frames as they arrive
 * ```
 */
export class TranscriptionStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider: string;
  readonly modelId: string;
  readonly sampleRate: number;
  private readonly options: TranscriptionSttOptions;

  constructor(options: TranscriptionSttOptions) {
    this.options = options;
    const { model } = options;
    ({ provider: this.provider, modelId: this.modelId } = modelIdentity(model));
    this.sampleRate = options.sampleRate ?? 16000;
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    const signal = options.abortSignal;
    signal?.throwIfAborted();
    const maxSeconds = this.options.maxAudioSeconds ?? 300;
    const maxSamples = Math.round(maxSeconds * options.sampleRate);
    const chunks: Int16Array[] = [];
    let total = 0;
    for await (const chunk of untilAborted(audio, signal)) {
      total += chunk.length;
      if (total > maxSamples) {
        throw new InvalidInputError('stt_audio_too_long', `Utterance exceeds ${maxSeconds} s`);
      }
      chunks.push(chunk.slice());
    }
    signal?.throwIfAborted();
    if (total === 0) {
      yield { type: 'final', text: '', ...(options.language ? { language: options.language } : {}) };
      return;
    }
    const pcm = new Int16Array(total);
    let offset = 0;
    for (const c of chunks) {
      pcm.set(c, offset);
      offset += c.length;
    }
    const wav = encodeWav(pcm, { sampleRate: options.sampleRate, channels: 1 });
    const result = await transcribeAudioBytes(this.options.model, wav, {
      abortSignal: signal,
      timeoutMs: this.options.timeoutMs ?? 30_000,
      maxRetries: this.options.maxRetries ?? 1,
      ...(this.options.providerOptions ? { providerOptions: this.options.providerOptions } : {}),
      ...(this.options.headers ? { headers: this.options.headers } : {}),
    });
    const language = result.language ?? options.language;
    yield { type: 'final', text: result.text.trim(), ...(language ? { language } : {}) };
  }
}

export interface TranscribeBytesOptions {
  abortSignal?: AbortSignal;
  /** Bound on the request, retries included. */
  timeoutMs: number;
  maxRetries?: number;
  providerOptions?: ProviderOptions;
  headers?: Record<string, string>;
}

/**
 * One bounded AI SDK transcription of encoded audio (WAV, mp3, webm…). A recording without words
 * gives '' rather than the AI SDK's error: in a voice turn it is just silence.
 */
export async function transcribeAudioBytes(
  model: TranscriptionModel,
  audio: Uint8Array,
  o: TranscribeBytesOptions,
): Promise<{ text: string; language: string | undefined }> {
  const result = await boundedCall(
    async (abortSignal) => {
      try {
        return await transcribe({
          model,
          audio,
          abortSignal,
          maxRetries: o.maxRetries ?? 1,
          ...(o.providerOptions ? { providerOptions: o.providerOptions } : {}),
          ...(o.headers ? { headers: o.headers } : {}),
        });
      } catch (err) {
        if (NoTranscriptGeneratedError.isInstance(err)) return { text: '', language: undefined };
        throw err;
      }
    },
    {
      what: `${modelIdentity(model).provider} transcription`,
      timeoutMs: o.timeoutMs,
      ...(o.abortSignal ? { abortSignal: o.abortSignal } : {}),
      failureCode: 'stt_failed',
    },
  );
  return { text: result.text.trim(), language: result.language };
}
