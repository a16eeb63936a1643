/**
 * OpenAI Realtime (GA) over WebSocket: `session.update` with `type:"realtime"`, 24 kHz PCM in and
 * out, server/semantic VAD or manual commit, input transcription, function tools, `response.cancel`
 * and `conversation.item.truncate` (delete when nothing was heard). GA event names are primary; the
 * beta names of the same events are accepted too.
 */
import { ConfigError, ProviderError } from '../../errors.ts';
import { BaseRealtimeConnection } from './base-connection.ts';
import { base64ToPcm, num, obj, openSocket, pcmToBase64, str } from './realtime-socket.ts';
import {
  REALTIME_SPECIFICATION_VERSION,
  type RealtimeCapabilities,
  type RealtimeConnection,
  type RealtimeConnectOptions,
  type RealtimeErrorSeverity,
  type RealtimeModel,
  type RealtimeSessionConfig,
  type RealtimeUsage,
} from './types.ts';

export const OPENAI_REALTIME_URL = 'wss://api.openai.com/v1/realtime';

export interface OpenAIRealtimeOptions {
  /** e.g. 'gpt-realtime', 'gpt-realtime-mini'. */
  model: string;
  /** Default: `OPENAI_API_KEY`. */
  apiKey?: string;
  /** Default: `COLLOQUY_OPENAI_REALTIME_URL`, else wss://api.openai.com/v1/realtime. */
  url?: string;
  /** Input transcription model (default 'gpt-4o-mini-transcribe'). */
  transcriptionModel?: string;
  /** Default voice when the session config names none (default 'marin'). */
  voice?: string;
}

/** Error codes after which the connection is still fine (a request just did not apply). */
const HARMLESS_CODES = new Set([
  'response_cancel_not_active',
  'conversation_already_has_active_response',
  'input_audio_buffer_commit_empty',
]);
/** Error codes no reconnect can fix. */
const FATAL_CODES = new Set([
  'invalid_api_key',
  'insufficient_quota',
  'model_not_found',
  'beta_api_shape_disabled',
]);

/** Classifies an OpenAI `error` event from its documented type and code. */
export function classifyOpenAIError(
  type: string | undefined,
  code: string | undefined,
): RealtimeErrorSeverity {
  if (code !== undefined && FATAL_CODES.has(code)) return 'fatal';
  if (code !== undefined && HARMLESS_CODES.has(code)) return 'harmless';
  if (type === 'authentication_error' || type === 'permission_error') return 'fatal';
  if (type === 'server_error') return 'retryable';
  // invalid_request_error and the rest: the request failed, the socket stays usable.
  return 'harmless';
}

export class OpenAIRealtimeModel implements RealtimeModel {
  readonly specificationVersion = REALTIME_SPECIFICATION_VERSION;
  readonly provider = 'openai-realtime';
  readonly modelId: string;
  readonly inputSampleRate = 24000;
  readonly outputSampleRate = 24000;
  readonly capabilities: RealtimeCapabilities = {
    resumption: false,
    truncation: true,
    liveUpdate: true,
    speechEvents: true,
    maxConnectionMs: 60 * 60_000,
  };

  constructor(private readonly options: OpenAIRealtimeOptions) {
    if (!options.model) throw new ConfigError('invalid_model_spec', 'openai-realtime needs a model name');
    this.modelId = options.model;
  }

  async connect(config: RealtimeSessionConfig, o: RealtimeConnectOptions): Promise<RealtimeConnection> {
    const apiKey = this.options.apiKey ?? process.env.OPENAI_API_KEY;
    if (!apiKey) throw new ConfigError('missing_api_key', 'openai-realtime needs OPENAI_API_KEY');
    const base = this.options.url ?? process.env.COLLOQUY_OPENAI_REALTIME_URL ?? OPENAI_REALTIME_URL;
    const url = new URL(base);
    url.searchParams.set('model', this.modelId);
    const timeoutMs = o.timeoutMs ?? 15_000;
    const ws = await openSocket({
      url: url.toString(),
      headers: { Authorization: `Bearer ${apiKey}` },
      timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const conn = new OpenAIRealtimeConnection(ws, o.onEvent, this.options);
    await conn.setup(config, timeoutMs);
    return conn;
  }
}

class OpenAIRealtimeConnection extends BaseRealtimeConnection implements RealtimeConnection {
  private activeResponse: string | undefined;
  private readonly pendingCalls = new Set<string>();
  private createAfterResponse = false;
  private spoke = false;
  private voice: string | undefined;
  private ready: (() => void) | undefined;
  private failSetup: ((err: Error) => void) | undefined;

  constructor(
    ws: ConstructorParameters<typeof BaseRealtimeConnection>[0],
    onEvent: ConstructorParameters<typeof BaseRealtimeConnection>[1],
    private readonly options: OpenAIRealtimeOptions,
  ) {
    super(ws, onEvent);
  }

  /** Sends the session config (and replays history); resolves at the first `session.updated`. */
  setup(config: RealtimeSessionConfig, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(
          new ProviderError('realtime_setup_timeout', `No session.updated within ${timeoutMs} ms`, {
            retryable: true,
          }),
        );
      }, timeoutMs);
      this.ready = () => {
        clearTimeout(timer);
        resolve();
      };
      this.failSetup = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.ws.once('close', (code) =>
        this.failSetup?.(
          new ProviderError('realtime_closed', `Closed during setup (${code})`, { retryable: true }),
        ),
      );
      this.send({ type: 'session.update', session: this.sessionBody(config) });
      for (const item of config.history ?? []) {
        this.send({
          type: 'conversation.item.create',
          item: {
            type: 'message',
            role: item.role,
            content: [{ type: item.role === 'user' ? 'input_text' : 'output_text', text: item.text }],
          },
        });
      }
    });
  }

  private sessionBody(config: RealtimeSessionConfig, includeVoice = true): Record<string, unknown> {
    const td = config.turnDetection;
    const turnDetection =
      td.type === 'manual'
        ? null
        : td.mode === 'semantic_vad'
          ? {
              type: 'semantic_vad',
              eagerness: td.eagerness ?? 'auto',
              create_response: true,
              interrupt_response: true,
            }
          : {
              type: 'server_vad',
              create_response: true,
              interrupt_response: true,
              ...(td.silenceMs !== undefined ? { silence_duration_ms: td.silenceMs } : {}),
            };
    const voice = config.voice ?? this.options.voice ?? 'marin';
    this.voice = voice;
    return {
      type: 'realtime',
      instructions: config.instructions,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          turn_detection: turnDetection,
          ...(config.inputTranscription === false
            ? {}
            : { transcription: { model: this.options.transcriptionModel ?? 'gpt-4o-mini-transcribe' } }),
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, ...(includeVoice ? { voice } : {}) },
      },
      tools: config.tools.map((t) => ({
        type: 'function',
        name: t.name,
        description: t.description ?? '',
        parameters: t.parameters,
      })),
      tool_choice: 'auto',
    };
  }

  protected closeSeverity(code: number, reason: string): RealtimeErrorSeverity {
    if (code === 4000 || code === 1008 || /api key|quota|beta_api_shape/i.test(reason)) return 'fatal';
    return 'retryable'; // 1001 session cap, 1006 network, 1011 server error: a new connection helps
  }

  sendAudio(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.send({ type: 'input_audio_buffer.append', audio: pcmToBase64(pcm) });
  }

  startInput(): void {
    // Manual mode: the buffer collects audio until `commitInput`; nothing to announce.
  }

  commitInput(): void {
    this.send({ type: 'input_audio_buffer.commit' });
    this.requestResponse();
  }

  sendText(text: string): void {
    this.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
    });
    this.requestResponse();
  }

  sendToolResult(callId: string, _name: string, result: { output: unknown } | { error: string }): void {
    const output = JSON.stringify('error' in result ? { error: result.error } : (result.output ?? null));
    this.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output },
    });
    this.pendingCalls.delete(callId);
    // The model answers tool results only when asked; ask once every call of the response is back.
    if (this.pendingCalls.size === 0) this.requestResponse();
  }

  private requestResponse(): void {
    if (this.activeResponse !== undefined) {
      this.createAfterResponse = true;
      return;
    }
    this.send({ type: 'response.create' });
  }

  cancelResponse(): void {
    this.createAfterResponse = false;
    if (this.activeResponse === undefined) return;
    this.send({ type: 'response.cancel' });
  }

  truncate(itemId: string, audioEndMs: number): void {
    const ms = Math.floor(audioEndMs);
    if (ms <= 0) this.send({ type: 'conversation.item.delete', item_id: itemId });
    else
      this.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: ms });
  }

  updateSession(config: RealtimeSessionConfig): boolean {
    const voice = config.voice ?? this.options.voice ?? 'marin';
    // The voice is fixed once the model has spoken: a new voice needs a new connection.
    if (this.spoke && voice !== this.voice) return false;
    this.send({ type: 'session.update', session: this.sessionBody(config, !this.spoke) });
    return true;
  }

  protected handle(m: Record<string, unknown>): void {
    const type = str(m.type);
    switch (type) {
      case 'session.updated':
        if (this.ready) {
          const ready = this.ready;
          this.ready = undefined;
          this.failSetup = undefined;
          this.emit({
            type: 'ready',
            ...(str(obj(m.session)?.id) ? { providerSessionId: str(obj(m.session)?.id)! } : {}),
          });
          ready();
        }
        return;
      case 'input_audio_buffer.speech_started':
        this.emit({ type: 'speech-started' });
        return;
      case 'input_audio_buffer.speech_stopped':
        this.emit({ type: 'speech-stopped' });
        return;
      case 'conversation.item.input_audio_transcription.delta': {
        const delta = str(m.delta);
        if (delta)
          this.emit({ type: 'input-transcript', itemId: str(m.item_id) ?? '', text: delta, final: false });
        return;
      }
      case 'conversation.item.input_audio_transcription.completed':
        this.emit({
          type: 'input-transcript',
          itemId: str(m.item_id) ?? '',
          text: str(m.transcript) ?? '',
          final: true,
        });
        return;
      case 'conversation.item.input_audio_transcription.failed':
        this.emit({
          type: 'error',
          error: new ProviderError(
            'realtime_transcription_failed',
            str(obj(m.error)?.message) ?? 'Input transcription failed',
          ),
          severity: 'harmless',
        });
        return;
      case 'response.created': {
        const id = str(obj(m.response)?.id) ?? 'response';
        this.activeResponse = id;
        this.emit({ type: 'response-started', responseId: id });
        return;
      }
      case 'response.output_audio.delta':
      case 'response.audio.delta': {
        const delta = str(m.delta);
        if (!delta) return;
        this.spoke = true;
        this.emit({ type: 'audio', itemId: str(m.item_id) ?? '', pcm: base64ToPcm(delta) });
        return;
      }
      case 'response.output_audio_transcript.delta':
      case 'response.audio_transcript.delta': {
        const delta = str(m.delta);
        if (delta)
          this.emit({ type: 'output-transcript', itemId: str(m.item_id) ?? '', text: delta, final: false });
        return;
      }
      case 'response.output_audio_transcript.done':
      case 'response.audio_transcript.done':
        this.emit({
          type: 'output-transcript',
          itemId: str(m.item_id) ?? '',
          text: str(m.transcript) ?? '',
          final: true,
        });
        return;
      case 'response.output_item.done': {
        const item = obj(m.item);
        if (str(item?.type) !== 'function_call') return;
        const callId = str(item?.call_id);
        const name = str(item?.name);
        if (!callId || !name) {
          this.emit({
            type: 'error',
            error: new ProviderError('realtime_bad_message', 'function_call item without call_id or name'),
            severity: 'harmless',
          });
          return;
        }
        this.pendingCalls.add(callId);
        this.emit({ type: 'tool-call', callId, name, argumentsJson: str(item?.arguments) ?? '{}' });
        return;
      }
      case 'response.done':
        this.onResponseDone(obj(m.response) ?? {});
        return;
      case 'error': {
        const e = obj(m.error) ?? {};
        const code = str(e.code);
        const errType = str(e.type);
        this.emit({
          type: 'error',
          // The provider's own code (`invalid_api_key`, `rate_limit_exceeded`…) is in `details.providerCode`.
          error: new ProviderError('realtime_provider_error', str(e.message) ?? 'OpenAI Realtime error', {
            details: { type: errType, providerCode: code, param: str(e.param), eventId: str(e.event_id) },
          }),
          severity: classifyOpenAIError(errType, code),
        });
        return;
      }
      default:
        // session.created, rate_limits.updated, conversation.item.*, response.output_item.added,
        // response.content_part.*, output_audio_buffer.*, function_call_arguments deltas, text deltas
        // (audio modality): nothing to do. Unknown types are ignored too (forward compatibility).
        return;
    }
  }

  private onResponseDone(response: Record<string, unknown>): void {
    const id = str(response.id) ?? this.activeResponse ?? 'response';
    const status = str(response.status);
    const reason = str(obj(response.status_details)?.reason);
    this.activeResponse = undefined;
    const usage = toUsage(obj(response.usage));
    if (usage) this.emit({ type: 'usage', usage });
    this.emit({
      type: 'response-done',
      responseId: id,
      status:
        status === 'cancelled'
          ? reason === 'turn_detected'
            ? 'interrupted'
            : 'cancelled'
          : status === 'failed'
            ? 'failed'
            : status === 'incomplete'
              ? 'incomplete'
              : 'completed',
    });
    if (status === 'cancelled') this.pendingCalls.clear();
    if (this.createAfterResponse && this.pendingCalls.size === 0) {
      this.createAfterResponse = false;
      this.send({ type: 'response.create' });
    }
  }
}

function toUsage(u: Record<string, unknown> | undefined): RealtimeUsage | undefined {
  if (!u) return undefined;
  const out: RealtimeUsage = {};
  const set = (k: keyof RealtimeUsage, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('inputTokens', num(u.input_tokens));
  set('outputTokens', num(u.output_tokens));
  set('totalTokens', num(u.total_tokens));
  set('inputAudioTokens', num(obj(u.input_token_details)?.audio_tokens));
  set('cachedTokens', num(obj(u.input_token_details)?.cached_tokens));
  set('outputAudioTokens', num(obj(u.output_token_details)?.audio_tokens));
  return out;
}
