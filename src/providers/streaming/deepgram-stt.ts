/**
 * Deepgram live transcription as an `SttModel`, with interim results. It speaks Deepgram's
 * `/v1/listen` WebSocket protocol directly over `ws` (already a core dependency): one connection
 * per utterance, `Authorization: Token KEY`, raw PCM16 in, `Results` out. The official SDK is not
 * used because Colloquy needs only this one socket, and owning it lets every server message be
 * validated, the connection be re-opened with the utterance's audio replayed, and abort/timeout
 * bounds be exact.
 *
 *   new DeepgramStt({ model: 'nova-3' })          // key from DEEPGRAM_API_KEY
 *   COLLOQUY_STT=deepgram:nova-3                  // the server's model spec
 *
 * `url` (or `COLLOQUY_DEEPGRAM_URL`) points it at a proxy, a self-hosted Deepgram, or a local fake
 * (`FakeDeepgramServer` in `colloquy/testing`).
 */
import { ConfigError, InvalidInputError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { SttEvent, SttModel, SttStreamOptions } from '../types.ts';
import { DEEPGRAM_LISTEN_URL, deepgramListenUrl } from './deepgram-protocol.ts';
import { DeepgramStream } from './deepgram-stream.ts';

export interface DeepgramSttOptions {
  /** API key (default `DEEPGRAM_API_KEY`). */
  apiKey?: string;
  /** Model name (default `nova-3`). */
  model?: string;
  /** Endpoint (default `COLLOQUY_DEEPGRAM_URL`, else `wss://api.deepgram.com/v1/listen`). */
  url?: string;
  /** Rate the pipeline sends (default 16000; Deepgram takes it as `sample_rate`). */
  sampleRate?: number;
  /** Language when the caller gives none (e.g. `en`, `multi`). */
  language?: string;
  /** Ask for interim results (default true). */
  interimResults?: boolean;
  /** Punctuation and smart formatting (default true). */
  punctuate?: boolean;
  smartFormat?: boolean;
  /** Extra `/v1/listen` query parameters, sent as they are (e.g. `{ keyterm: 'Colloquy' }`). */
  params?: Record<string, string>;
  /** Bound on the WebSocket handshake (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Bound on the wait for Deepgram's last results after the audio ended (default 5000 ms). */
  closeTimeoutMs?: number;
  /** A `KeepAlive` goes out when no audio was sent for this long (default 3000 ms; 0: never). */
  keepAliveMs?: number;
  /** Re-opens after a retryable failure, replaying the utterance's audio (default 2). */
  maxReconnects?: number;
  /** Largest accepted server message (default 1 MiB). */
  maxMessageBytes?: number;
  /** Longest utterance (default 120 s). */
  maxAudioSeconds?: number;
  /** Environment to read the key and URL from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/**
 * Deepgram streaming STT over its WebSocket API (key from DEEPGRAM_API_KEY), with interim results.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { DeepgramStt, SileroVad, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'Be brief.' }],
 *   audio: { vad: new SileroVad(), stt: new DeepgramStt({ model: 'nova-3', language: 'en' }), inputSampleRate: 16000 },
 * });
 * ```
 */
export class DeepgramStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'deepgram';
  readonly modelId: string;
  readonly sampleRate: number;
  private readonly apiKey: string;
  private readonly url: string;
  private readonly o: DeepgramSttOptions;

  constructor(options: DeepgramSttOptions = {}) {
    const env = options.env ?? process.env;
    const apiKey = options.apiKey ?? env.DEEPGRAM_API_KEY;
    if (!apiKey) {
      throw new ConfigError('missing_api_key', 'Deepgram STT needs an API key: set DEEPGRAM_API_KEY');
    }
    const url = options.url ?? env.COLLOQUY_DEEPGRAM_URL ?? DEEPGRAM_LISTEN_URL;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('invalid_url', `Deepgram URL is not a URL: ${url}`);
    }
    if (parsed.protocol !== 'wss:' && parsed.protocol !== 'ws:') {
      throw new ConfigError('invalid_url', `Deepgram URL must be ws:// or wss://, got ${parsed.protocol}`);
    }
    const model = options.model ?? 'nova-3';
    if (!/^[\w.-]{1,64}$/.test(model)) {
      throw new ConfigError('invalid_model_spec', `Deepgram model name is not valid: "${model}"`);
    }
    this.apiKey = apiKey;
    this.url = url;
    this.modelId = model;
    this.sampleRate = options.sampleRate ?? 16000;
    this.o = options;
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    options.abortSignal?.throwIfAborted();
    const rate = options.sampleRate;
    if (!Number.isInteger(rate) || rate < 8000 || rate > 48000) {
      throw new InvalidInputError('stt_bad_sample_rate', `Unsupported input sample rate ${rate}`);
    }
    const o = this.o;
    const language = options.language ?? o.language;
    const stream = new DeepgramStream(
      {
        url: deepgramListenUrl({
          url: this.url,
          model: this.modelId,
          sampleRate: rate,
          language,
          interimResults: o.interimResults ?? true,
          punctuate: o.punctuate ?? true,
          smartFormat: o.smartFormat ?? true,
          params: o.params,
        }),
        apiKey: this.apiKey,
        language,
        connectTimeoutMs: o.connectTimeoutMs ?? 5000,
        closeTimeoutMs: o.closeTimeoutMs ?? 5000,
        keepAliveMs: o.keepAliveMs ?? 3000,
        maxReconnects: o.maxReconnects ?? 2,
        maxMessageBytes: o.maxMessageBytes ?? 1024 * 1024,
        maxAudioBytes: Math.round((o.maxAudioSeconds ?? 120) * rate * 2),
      },
      options.abortSignal,
    );
    stream.start(audio);
    try {
      for (;;) {
        const event = await stream.next();
        if (event === null) return;
        yield event;
      }
    } finally {
      stream.dispose();
    }
  }
}
