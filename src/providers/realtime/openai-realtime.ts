/**
 * OpenAI Realtime (GA) over WebSocket: `session.update` with `type:"realtime"`, 24 kHz PCM in and
 * out, server/semantic VAD or manual commit, input transcription, function tools, `response.cancel`
 * and `conversation.item.truncate` (delete when nothing was heard). GA event names are primary; the
 * beta names of the same events are accepted too.
 */
import { ConfigError, ProviderError } from '../../errors.ts';
import { BaseRealtimeConnection, sayInstructions } from './base-connection.ts';
import { type ContextBudget, ConversationItems, contextBudget } from './openai-context.ts';
import { classifyOpenAIError, openAISessionBody, openAIUsage } from './openai-protocol.ts';
import { base64ToPcm, obj, openSocket, pcmToBase64, str } from './realtime-socket.ts';
import {
  REALTIME_SPECIFICATION_VERSION,
  type RealtimeCapabilities,
  type RealtimeConnection,
  type RealtimeConnectOptions,
  type RealtimeErrorSeverity,
  type RealtimeModel,
  type RealtimeSessionConfig,
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
  /**
   * Context budget (on by default; `false` turns it off): once a response's input tokens reach
   * `triggerRatio` × `maxTokens`, the oldest conversation items are deleted
   * (`conversation.item.delete`) to bring it near `targetRatio` × `maxTokens`, and `context.compact`
   * reports how many. Defaults: 32 000 tokens (the gpt-realtime context window), 0.8, 0.5.
   */
  context?: OpenAIContextBudget | false;
}

export interface OpenAIContextBudget {
  maxTokens?: number;
  triggerRatio?: number;
  targetRatio?: number;
}

/**
 * OpenAI's Realtime API as a `RealtimeModel` (key from OPENAI_API_KEY).
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { OpenAIRealtimeModel, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: openai('gpt-4.1-mini'),
 *   agents: [{ name: 'main', instructions: 'You are a friendly receptionist.' }],
 *   realtime: { model: new OpenAIRealtimeModel({ model: 'gpt-realtime', voice: 'marin' }), turnDetection: 'provider' },
 *   audio: { output: { write: (frame) => console.log(frame.length) } },
 * });
 * session.pushAudio(new Int16Array(480), 24000); // microphone frames as they arrive
 * ```
 */
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

  private readonly budget: ContextBudget | undefined;

  constructor(private readonly options: OpenAIRealtimeOptions) {
    if (!options.model) throw new ConfigError('invalid_model_spec', 'openai-realtime needs a model name');
    this.modelId = options.model;
    this.budget = contextBudget(options.context);
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
    const conn = new OpenAIRealtimeConnection(ws, o.onEvent, this.options, this.budget);
    await conn.setup(config, timeoutMs);
    return conn;
  }
}

class OpenAIRealtimeConnection extends BaseRealtimeConnection implements RealtimeConnection {
  private activeResponse: string | undefined;
  private readonly pendingCalls = new Set<string>();
  private createAfterResponse = false;
  /** Per-response settings of the response asked for while another was running (`say`). */
  private queuedResponse: { instructions: string } | undefined;
  private spoke = false;
  private voice: string | undefined;
  private readonly context: ConversationItems;

  constructor(
    ws: ConstructorParameters<typeof BaseRealtimeConnection>[0],
    onEvent: ConstructorParameters<typeof BaseRealtimeConnection>[1],
    private readonly options: OpenAIRealtimeOptions,
    budget: ContextBudget | undefined,
  ) {
    super(ws, onEvent);
    this.context = new ConversationItems(budget);
  }

  /** Sends the session config (and replays history); resolves at the first `session.updated`. */
  setup(config: RealtimeSessionConfig, timeoutMs: number): Promise<void> {
    return this.awaitSetup(timeoutMs, 'session.updated', () => {
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
    const voice = config.voice ?? this.options.voice ?? 'marin';
    this.voice = voice;
    return openAISessionBody(config, this.options, includeVoice ? voice : undefined);
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

  say(text: string): void {
    // A response with its own instructions: the model speaks the text; no user item is added.
    this.requestResponse({ instructions: sayInstructions(text) });
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

  private requestResponse(response?: { instructions: string }): void {
    if (this.activeResponse !== undefined) {
      this.createAfterResponse = true;
      if (response) this.queuedResponse = response;
      return;
    }
    this.send({ type: 'response.create', ...(response ? { response } : {}) });
  }

  cancelResponse(): void {
    this.createAfterResponse = false;
    this.queuedResponse = undefined;
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
        this.setupComplete(str(obj(m.session)?.id));
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
      case 'conversation.item.added':
      case 'conversation.item.created': {
        const item = obj(m.item);
        const id = str(item?.id);
        if (id) this.context.add(id, str(item?.type), str(item?.call_id));
        return;
      }
      case 'conversation.item.deleted':
        this.context.remove(str(m.item_id));
        return;
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
    const usage = openAIUsage(obj(response.usage));
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
    const drop = this.context.overBudget(usage?.inputTokens);
    if (drop.length > 0) {
      for (const id of drop) this.send({ type: 'conversation.item.delete', item_id: id });
      this.emit({ type: 'context-compacted', removedItems: drop.length });
    }
    if (this.createAfterResponse && this.pendingCalls.size === 0) {
      this.createAfterResponse = false;
      const response = this.queuedResponse;
      this.queuedResponse = undefined;
      this.send({ type: 'response.create', ...(response ? { response } : {}) });
    }
  }
}
