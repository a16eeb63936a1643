/**
 * An AI SDK `SpeechModel` as an `EncodedTtsModel`: each text chunk becomes one `generateSpeech` call
 * in the agent's `outputFormat`, and the bytes go to the client exactly as the provider returned
 * them (mp3, opus, wav, ...). Also the one-shot call behind `generateAndSendSpeechFull`.
 */
import type { SpeechModel } from 'ai';
import type { EncodedTtsModel } from '../../pipeline/speech-output.ts';
import { modelIdentity } from '../../providers/ai-sdk/model-identity.ts';
import { generateSpeechBytes } from '../../providers/ai-sdk/speech-tts.ts';
import type { TtsRequest } from '../../providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';

export interface SpeechModelTtsOptions {
  model: SpeechModel;
  outputFormat: string;
  voice?: string;
  instructions?: string;
  /** Bound on one request, retries included (default 30 000 ms). */
  timeoutMs?: number;
  /** AI SDK retries per request (default 1). */
  maxRetries?: number;
}

/**
 * An AI SDK `SpeechModel` as an encoded TTS: each sentence's audio is passed on as one file
 * (mp3, opus, wav…) instead of paced PCM frames.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { SpeechModelTts, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   audio: { tts: new SpeechModelTts({ model: openai.speech('gpt-4o-mini-tts'), outputFormat: 'mp3', voice: 'alloy' }) },
 * });
 * session.eventBus.subscribe('speech.chunk', (chunk) => console.log(chunk));
 * ```
 */
export class SpeechModelTts implements EncodedTtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.encodedTts;
  readonly provider: string;
  readonly modelId: string;
  readonly format: string;
  private readonly options: SpeechModelTtsOptions;

  constructor(options: SpeechModelTtsOptions) {
    this.options = options;
    const { model } = options;
    ({ provider: this.provider, modelId: this.modelId } = modelIdentity(model));
    this.format = options.outputFormat;
  }

  async synthesizeEncoded(request: TtsRequest): Promise<Uint8Array> {
    const voice = request.voice ?? this.options.voice;
    const instructions = request.instructions ?? this.options.instructions;
    const result = await generateSpeechBytes(this.options.model, request.text, {
      outputFormat: this.format,
      ...(voice ? { voice } : {}),
      ...(instructions ? { instructions } : {}),
      maxRetries: this.options.maxRetries ?? 1,
      maxTextLength: 4096,
      timeoutMs: this.options.timeoutMs ?? 30_000,
      ...(request.abortSignal ? { abortSignal: request.abortSignal } : {}),
      ...(request.timeoutMs !== undefined ? { callerTimeoutMs: request.timeoutMs } : {}),
    });
    return result.bytes;
  }
}
