/**
 * A local server speaking the OpenAI Realtime (GA) WebSocket protocol, for tests and offline
 * development: `Authorization: Bearer` checked at the upgrade, `session.update` answered with
 * `session.updated`, `server_vad` emulated with an energy detector (or manual commit when
 * `turn_detection` is null), input transcription events, audio + transcript deltas, function calls,
 * `response.cancel`, `conversation.item.truncate` / `delete` with the server's validation errors.
 * `usage.input_tokens` counts the conversation (a token per four characters of its items).
 *
 * ```ts
 * const server = await new FakeOpenAIRealtimeServer({ replies: [{ userTranscript: 'hi', text: 'Hello!' }] }).listen();
 * process.env.COLLOQUY_OPENAI_REALTIME_URL = server.url;
 * ```
 */
import type { IncomingMessage } from 'node:http';
import {
  decodePcm,
  encodePcm,
  type FakeConnectionState,
  type FakeRealtimeReply,
  FakeRealtimeServer,
  fakeTokens,
  replyAudioMs,
  splitText,
  toneChunk,
} from './fake-realtime-server.ts';

interface OpenAIConnection extends FakeConnectionState {
  session: Record<string, unknown>;
  manual: boolean;
  response:
    | {
        id: string;
        cancelled: false | 'turn_detected' | 'client_cancelled';
        inputTokens: number;
        outputTokens: number;
      }
    | undefined;
  /** Assistant audio items: id → ms of audio sent. */
  items: Map<string, number>;
  awaitingTool: FakeRealtimeReply | undefined;
  counter: number;
  /** The conversation (item id → tokens), in order: what `usage.input_tokens` counts. */
  conversation: Map<string, number>;
}

const RATE = 24000;

/**
 * A local server speaking OpenAI's Realtime WebSocket protocol: scripted replies (a tone for audio,
 * transcripts, tool calls), truncation and item deletion recorded.
 *
 * @example
 * ```ts
 * import { OpenAIRealtimeModel } from 'colloquy';
 * import { FakeOpenAIRealtimeServer } from 'colloquy/testing';
 *
 * const server = await new FakeOpenAIRealtimeServer({ replies: [{ text: 'Welcome to the hotel.', audioMs: 200 }] }).listen();
 * const model = new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: server.apiKey, url: server.url });
 * // … a VoiceSession with `realtime: { model }` …
 * console.log(server.messages('session.update').length);
 * await server.close();
 * ```
 */
export class FakeOpenAIRealtimeServer extends FakeRealtimeServer {
  /** Models the fake accepts in `?model=` (any when empty). */
  models: string[] = [];
  /** Truncations the server applied: item id, ms kept, and ms of the item's audio sent by then. */
  readonly truncations: Array<{ itemId: string; audioEndMs: number; sentMs: number }> = [];
  readonly deletions: string[] = [];

  get url(): string {
    return `${this.base}/v1/realtime`;
  }

  /** Sends an `error` event to the newest connection. */
  sendError(code: string, message: string, type = 'invalid_request_error'): void {
    const s = this.latest();
    if (s) this.emit(s, { type: 'error', error: { type, code, message, param: null, event_id: null } });
  }

  protected authorize(req: IncomingMessage): number {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.endsWith('/realtime')) return 404;
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return 401;
    const model = url.searchParams.get('model');
    if (!model || (this.models.length > 0 && !this.models.includes(model))) return 400;
    return 200;
  }

  protected kindOf(m: Record<string, unknown>): string {
    return typeof m.type === 'string' ? m.type : '';
  }

  protected onOpen(base: FakeConnectionState): void {
    const s = base as OpenAIConnection;
    s.session = { type: 'realtime', id: `sess_${s.id}` };
    s.manual = false;
    s.response = undefined;
    s.items = new Map();
    s.awaitingTool = undefined;
    s.counter = 0;
    s.conversation = new Map();
    this.emit(s, { type: 'session.created', session: s.session });
  }

  protected onClose(): void {}

  private emit(s: FakeConnectionState, event: Record<string, unknown>): void {
    if (s.ws.readyState === 1)
      s.ws.send(JSON.stringify({ event_id: `event_${Math.random().toString(36).slice(2)}`, ...event }));
  }

  private error(s: OpenAIConnection, code: string, message: string): void {
    this.emit(s, {
      type: 'error',
      error: { type: 'invalid_request_error', code, message, param: null, event_id: null },
    });
  }

  protected onMessage(base: FakeConnectionState, m: Record<string, unknown>): void {
    const s = base as OpenAIConnection;
    switch (m.type) {
      case 'session.update': {
        const session = (m.session ?? {}) as Record<string, unknown>;
        if (session.type !== 'realtime') {
          this.error(s, 'invalid_value', "Missing required parameter: 'session.type'.");
          return;
        }
        const input = ((session.audio as Record<string, unknown> | undefined)?.input ?? {}) as Record<
          string,
          unknown
        >;
        if ('turn_detection' in input) s.manual = input.turn_detection === null;
        s.session = { ...s.session, ...session };
        this.emit(s, { type: 'session.updated', session: s.session });
        return;
      }
      case 'input_audio_buffer.append': {
        if (typeof m.audio !== 'string') {
          this.error(s, 'invalid_value', 'audio must be base64');
          return;
        }
        if (s.manual) return;
        const edge = this.detect(s, decodePcm(m.audio), RATE);
        if (edge === 'start') {
          this.emit(s, {
            type: 'input_audio_buffer.speech_started',
            audio_start_ms: 0,
            item_id: `item_user_${s.counter + 1}`,
          });
          if (s.response) s.response.cancelled = 'turn_detected'; // interrupt_response
        } else if (edge === 'stop') {
          this.emit(s, {
            type: 'input_audio_buffer.speech_stopped',
            audio_end_ms: 0,
            item_id: `item_user_${s.counter + 1}`,
          });
          this.userTurn(s);
        }
        return;
      }
      case 'input_audio_buffer.commit':
        this.userTurn(s, false);
        return;
      case 'input_audio_buffer.clear':
        this.emit(s, { type: 'input_audio_buffer.cleared' });
        return;
      case 'conversation.item.create': {
        const item = (m.item ?? {}) as Record<string, unknown>;
        const id = `item_${++s.counter}`;
        s.conversation.set(id, fakeTokens(JSON.stringify(item.content ?? item.output ?? '')));
        this.emit(s, { type: 'conversation.item.added', item: { ...item, id } });
        this.emit(s, { type: 'conversation.item.done', item: { ...item, id } });
        return;
      }
      case 'response.create':
        if (s.response) {
          this.error(
            s,
            'conversation_already_has_active_response',
            'Conversation already has an active response',
          );
          return;
        }
        {
          const afterTool = s.awaitingTool;
          s.awaitingTool = undefined;
          void this.respond(s, afterTool ?? this.nextReply(), afterTool !== undefined);
          return;
        }
      case 'response.cancel':
        if (!s.response) {
          this.error(s, 'response_cancel_not_active', 'Cancellation failed: no active response found');
          return;
        }
        s.response.cancelled = 'client_cancelled';
        return;
      case 'conversation.item.truncate': {
        const itemId = String(m.item_id);
        const ms = s.items.get(itemId);
        const end = Number(m.audio_end_ms);
        if (ms === undefined) {
          this.error(s, 'item_not_found', `Item ${itemId} not found`);
          return;
        }
        if (!Number.isInteger(end) || end <= 0) {
          this.error(s, 'invalid_value', 'Only model output audio messages can be truncated');
          return;
        }
        if (end > ms) {
          this.error(s, 'invalid_value', `Audio content of ${ms}ms is already shorter than ${end}ms`);
          return;
        }
        s.items.set(itemId, end);
        this.truncations.push({ itemId, audioEndMs: end, sentMs: ms });
        this.emit(s, {
          type: 'conversation.item.truncated',
          item_id: itemId,
          content_index: 0,
          audio_end_ms: end,
        });
        return;
      }
      case 'conversation.item.delete': {
        const itemId = String(m.item_id);
        s.items.delete(itemId);
        if (!s.conversation.delete(itemId)) {
          this.error(s, 'item_not_found', `Item ${itemId} not found`);
          return;
        }
        this.deletions.push(itemId);
        this.emit(s, { type: 'conversation.item.deleted', item_id: itemId });
        return;
      }
      default:
        this.error(s, 'invalid_event', `Unknown event type ${String(m.type)}`);
    }
  }

  private userTurn(s: OpenAIConnection, viaVad = true): void {
    const userItem = `item_user_${++s.counter}`;
    this.emit(s, { type: 'input_audio_buffer.committed', item_id: userItem, previous_item_id: null });
    const reply = this.nextReply();
    s.conversation.set(userItem, fakeTokens(reply.userTranscript ?? ''));
    this.emit(s, {
      type: 'conversation.item.added',
      item: { id: userItem, type: 'message', role: 'user', status: 'completed', content: [] },
    });
    if (reply.userTranscript) {
      for (const delta of splitText(reply.userTranscript, 2)) {
        this.emit(s, {
          type: 'conversation.item.input_audio_transcription.delta',
          item_id: userItem,
          content_index: 0,
          delta,
        });
      }
      this.emit(s, {
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: userItem,
        content_index: 0,
        transcript: reply.userTranscript,
      });
    }
    // With server VAD the server answers by itself; in manual mode the client sends response.create.
    if (viaVad) void this.respond(s, reply, false);
    else this.replies.unshift({ ...reply, userTranscript: undefined });
  }

  private async respond(s: OpenAIConnection, reply: FakeRealtimeReply, afterTool: boolean): Promise<void> {
    const id = `resp_${++s.counter}`;
    const response: NonNullable<OpenAIConnection['response']> = {
      id,
      cancelled: false,
      inputTokens: this.contextTokens(s),
      outputTokens: 0,
    };
    s.response = response;
    this.emit(s, { type: 'response.created', response: { id, status: 'in_progress', output: [] } });
    if (reply.toolCall && !afterTool) {
      // A spoken preamble is the response's first output item, the call its second.
      const preambleMs = reply.preamble ? replyAudioMs(reply.preamble) : 0;
      if (preambleMs > 0 && !(await this.speak(s, response, reply.preamble?.text ?? '', preambleMs, 0))) {
        this.finishResponse(s, response, 'cancelled', response.cancelled || undefined);
        return;
      }
      const outputIndex = preambleMs > 0 ? 1 : 0;
      const callId = `call_${s.counter}`;
      const item = {
        id: `item_${++s.counter}`,
        type: 'function_call',
        status: 'completed',
        call_id: callId,
        name: reply.toolCall.name,
        arguments: JSON.stringify(reply.toolCall.args),
      };
      this.emit(s, {
        type: 'response.output_item.added',
        response_id: id,
        output_index: outputIndex,
        item: { ...item, status: 'in_progress' },
      });
      const argumentTokens = fakeTokens(item.arguments);
      response.outputTokens += argumentTokens;
      s.conversation.set(item.id, argumentTokens);
      this.emit(s, { type: 'conversation.item.added', item: { ...item, status: 'in_progress' } });
      this.emit(s, {
        type: 'response.function_call_arguments.done',
        response_id: id,
        item_id: item.id,
        output_index: outputIndex,
        call_id: callId,
        name: item.name,
        arguments: item.arguments,
      });
      this.emit(s, { type: 'response.output_item.done', response_id: id, output_index: outputIndex, item });
      s.awaitingTool = reply;
      this.finishResponse(s, response, 'completed');
      return;
    }
    const totalMs = replyAudioMs(reply);
    if (totalMs === 0 || (await this.speak(s, response, reply.text ?? '', totalMs, 0))) {
      this.finishResponse(s, response, 'completed');
      return;
    }
    this.finishResponse(s, response, 'cancelled', response.cancelled || undefined);
  }

  /**
   * One assistant audio message item of a response: audio deltas of a tone with the transcript beside
   * them, paced at `speed` times real time. False when the response was cancelled on the way.
   */
  private async speak(
    s: OpenAIConnection,
    response: NonNullable<OpenAIConnection['response']>,
    text: string,
    totalMs: number,
    outputIndex: number,
  ): Promise<boolean> {
    const id = response.id;
    const itemId = `item_${++s.counter}`;
    s.items.set(itemId, 0);
    const tokens = fakeTokens(text);
    response.outputTokens += tokens;
    s.conversation.set(itemId, tokens);
    this.emit(s, {
      type: 'conversation.item.added',
      item: { id: itemId, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
    });
    this.emit(s, {
      type: 'response.output_item.added',
      response_id: id,
      output_index: outputIndex,
      item: { id: itemId, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
    });
    const chunks = Math.ceil(totalMs / this.opts.chunkMs);
    const words = splitText(text, chunks);
    let sent = 0;
    for (let i = 0; i < chunks; i++) {
      if (response.cancelled || s.ws.readyState !== 1) break;
      const ms = Math.min(this.opts.chunkMs, totalMs - i * this.opts.chunkMs);
      const samples = (ms * RATE) / 1000;
      this.emit(s, {
        type: 'response.output_audio.delta',
        response_id: id,
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        delta: encodePcm(toneChunk(samples, RATE, sent)),
      });
      sent += samples;
      s.items.set(itemId, Math.round((sent * 1000) / RATE));
      const w = words[i];
      if (w)
        this.emit(s, {
          type: 'response.output_audio_transcript.delta',
          response_id: id,
          item_id: itemId,
          output_index: outputIndex,
          content_index: 0,
          delta: w,
        });
      await new Promise((r) => setTimeout(r, ms / this.opts.speed));
    }
    if (response.cancelled) return false;
    this.emit(s, {
      type: 'response.output_audio.done',
      response_id: id,
      item_id: itemId,
      output_index: outputIndex,
      content_index: 0,
    });
    this.emit(s, {
      type: 'response.output_audio_transcript.done',
      response_id: id,
      item_id: itemId,
      output_index: outputIndex,
      content_index: 0,
      transcript: text,
    });
    this.emit(s, {
      type: 'response.output_item.done',
      response_id: id,
      output_index: outputIndex,
      item: { id: itemId, type: 'message', role: 'assistant', status: 'completed' },
    });
    return true;
  }

  /** Tokens of the instructions and every conversation item. */
  private contextTokens(s: OpenAIConnection): number {
    let n = typeof s.session.instructions === 'string' ? fakeTokens(s.session.instructions) : 0;
    for (const t of s.conversation.values()) n += t;
    return n;
  }

  private finishResponse(
    s: OpenAIConnection,
    response: { id: string; inputTokens: number; outputTokens: number },
    status: 'completed' | 'cancelled',
    reason?: 'turn_detected' | 'client_cancelled',
  ): void {
    if (s.response === response) s.response = undefined;
    this.emit(s, {
      type: 'response.done',
      response: {
        id: response.id,
        status,
        status_details: status === 'cancelled' ? { type: 'cancelled', reason } : null,
        usage: {
          total_tokens: response.inputTokens + response.outputTokens,
          input_tokens: response.inputTokens,
          output_tokens: response.outputTokens,
          input_token_details: { audio_tokens: 0, text_tokens: response.inputTokens, cached_tokens: 0 },
          output_token_details: { audio_tokens: 0, text_tokens: response.outputTokens },
        },
      },
    });
  }
}
