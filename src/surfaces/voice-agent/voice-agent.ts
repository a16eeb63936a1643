/**
 * `VoiceAgent` (seed 001): a Node EventEmitter over one `VoiceSession`. It is a thin surface: every
 * event it emits and every WebSocket message it sends is a projection of the session bus
 * (`agent-events.ts`, `native-projection.ts`); it only adds the edge: validating input, the serial
 * input queue, whole-recording transcription and the socket lifecycle (`agent-link.ts`).
 */
import { EventEmitter } from 'node:events';
import type { ModelMessage, ToolSet, TranscriptionModel } from 'ai';
import type { EventTable, SessionEventBus } from '../../bus/event-bus.ts';
import {
  type EventMap,
  type InterruptReason,
  isInterruptReason,
  type SubagentUiResponse,
} from '../../bus/events.ts';
import { type ColloquyError, InvalidInputError, SessionStateError, toColloquyError } from '../../errors.ts';
import { consoleLogger, type Logger } from '../../logger.ts';
import type { ClientTiming } from '../../session/client-clock.ts';
import { now } from '../../session/latency.ts';
import type { UserImage, UserInputOptions } from '../../session/session-options.ts';
import type { VoiceSession } from '../../session/voice-session.ts';
import {
  DEFAULT_PROTOCOL_LIMITS,
  type ProtocolLimits,
  protocolError,
  type VideoFrameMessage,
} from '../native-protocol/client-messages.ts';
import type { ResponseCompleteFields } from '../native-protocol/server-messages.ts';
import { projectAgentEvents } from './agent-events.ts';
import { AgentLink } from './agent-link.ts';
import { createAgentSession } from './agent-session.ts';
import type { SpeechModelTts } from './encoded-speech.ts';
import { AgentDestroyedError, isWarning, messageTypeOf } from './errors.ts';
import { InputQueue } from './input-queue.ts';
import {
  type AgentEventMap,
  DEFAULT_ENDPOINT,
  DEFAULT_MAX_QUEUED_INPUTS,
  type VoiceAgentOptions,
} from './options.ts';
import { decodeAudioInput, transcribeRecording } from './transcribe.ts';

type AgentState = 'active' | 'destroyed';

/** Counts chunks queued for speech whose audio was not released yet (`pendingSpeechChunks`). */
const PENDING_CHUNKS: EventTable<EventMap, { pendingChunks: number }> = {
  'speech.chunk.queued': (_p, a) => {
    a.pendingChunks++;
  },
  'speech.chunk': (_p, a) => {
    a.pendingChunks = Math.max(0, a.pendingChunks - 1);
  },
  'speech.chunk.error': (_p, a) => {
    a.pendingChunks = Math.max(0, a.pendingChunks - 1);
  },
  'speech.interrupted': (_p, a) => {
    a.pendingChunks = 0;
  },
};

/**
 * An EventEmitter voice agent: text, recorded or streamed audio in; text, speech and events out.
 * `handleSocket` speaks the WebSocket protocol (docs/websocket-protocol.md) on a socket.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai'; // any AI SDK models work
 * import { VoiceAgent } from 'colloquy';
 * import { WebSocketServer } from 'ws';
 *
 * new WebSocketServer({ port: 8080 }).on('connection', (socket) => {
 *   const agent = new VoiceAgent({
 *     model: openai('gpt-4o'),
 *     transcriptionModel: openai.transcription('whisper-1'),
 *     speechModel: openai.speech('gpt-4o-mini-tts'),
 *     instructions: 'You are a helpful voice assistant.',
 *   });
 *   agent.handleSocket(socket);
 *   agent.on('text', ({ role, text }) => console.log(role, text));
 *   agent.on('disconnected', () => agent.destroy());
 * });
 * ```
 */
export class VoiceAgent extends EventEmitter<AgentEventMap> {
  /** The session underneath (its `eventBus` carries every internal event). */
  readonly session: VoiceSession;
  protected readonly options: VoiceAgentOptions;
  protected readonly logger: Logger;
  protected readonly limits: ProtocolLimits;
  protected readonly link: AgentLink;
  private readonly queue: InputQueue;
  private readonly speechTts: SpeechModelTts | undefined;
  private readonly tools: ToolSet;
  /** @internal counted by `PENDING_CHUNKS` */
  pendingChunks = 0;
  private readonly offProjection: () => void;
  private state: AgentState = 'active';
  private reasonOverride: string | undefined;
  private fullSpeechCount = 0;
  /** Aborted by `destroy()`; created when a call first needs it (an idle agent holds none). */
  private lifetimeController: AbortController | undefined;
  /**
   * What a recording's transcription runs on: aborted by `destroy()` or when the socket it came
   * through closes. One per socket, made at its first recording: `AbortSignal.any` per recording
   * cost tens of microseconds each and left a dependent signal on the long-lived ones every time.
   */
  private inputSignal: { link: AbortSignal; signal: AbortSignal } | undefined;

  constructor(
    options: VoiceAgentOptions,
    defaults: { instructions?: string; sessionId?: string; maxFrameBytes?: number } = {},
  ) {
    super();
    if (!options?.model) throw new InvalidInputError('invalid_options', 'VoiceAgent needs a model');
    this.options = options;
    this.logger = options.logger ?? consoleLogger;
    const maxAudio = options.maxAudioInputSize ?? DEFAULT_PROTOCOL_LIMITS.maxAudioBytes;
    this.limits = {
      ...DEFAULT_PROTOCOL_LIMITS,
      maxAudioBytes: maxAudio,
      maxFrameBytes: defaults.maxFrameBytes ?? DEFAULT_PROTOCOL_LIMITS.maxFrameBytes,
      maxTextChars: options.maxTextLength ?? DEFAULT_PROTOCOL_LIMITS.maxTextChars,
      maxMessageBytes: Math.max(
        DEFAULT_PROTOCOL_LIMITS.maxMessageBytes,
        Math.ceil((maxAudio * 4) / 3) + 4096,
      ),
    };
    const built = createAgentSession(options, {
      ...defaults,
      ...(options.sessionId !== undefined ? { sessionId: options.sessionId } : {}),
      maxTextLength: this.limits.maxTextChars,
      logger: this.logger,
    });
    this.session = built.session;
    this.speechTts = built.speechTts;
    this.tools = built.tools;
    this.queue = new InputQueue(options.maxQueuedInputs ?? DEFAULT_MAX_QUEUED_INPUTS, () =>
      this.sessionIdle(),
    );
    this.offProjection = projectAgentEvents(
      this.bus,
      (name, ...args) => this.emitSafe(name, ...args),
      (r) => this.reasonFor(r),
      (name) => this.listenerCount(name) > 0,
    );
    // `pendingSpeechChunks`: chunks queued for speech whose audio has not been released yet.
    this.bus.subscribeTable(PENDING_CHUNKS, this);
    this.link = new AgentLink(this, this.limits, maxAudio);
  }

  // ── State ────────────────────────────────────────────────────────────────────────

  private get lifetime(): AbortController {
    if (this.lifetimeController === undefined) {
      this.lifetimeController = new AbortController();
      if (this.state === 'destroyed')
        this.lifetimeController.abort(new AgentDestroyedError('an in-flight call'));
    }
    return this.lifetimeController;
  }

  get bus(): SessionEventBus {
    return this.session.eventBus;
  }
  get connected(): boolean {
    return this.link.connected;
  }
  /** True while an input is being processed or waits in the queue. */
  get processing(): boolean {
    return this.queue.busy || this.session.currentTurnId !== undefined;
  }
  get speaking(): boolean {
    return this.session.speech?.speaking ?? false;
  }
  get destroyed(): boolean {
    return this.state === 'destroyed';
  }
  /** The conversation as the model sees it (a copy). */
  getHistory() {
    return this.session.history;
  }
  get hasTranscription(): boolean {
    return this.options.transcriptionModel !== undefined || this.options.sttModel !== undefined;
  }
  /** Runs on a realtime speech-to-speech model (`realtime` option). */
  get onRealtimeModel(): boolean {
    return this.options.realtime !== undefined;
  }
  /** Streamed microphone audio is taken: transcribed, or heard by the realtime model. */
  get takesStreamedAudio(): boolean {
    return this.hasTranscription || this.onRealtimeModel;
  }

  // ── Input ────────────────────────────────────────────────────────────────────────

  /** Queues a user text turn; resolves with the assistant's answer once it was spoken. */
  async sendText(text: string): Promise<string> {
    this.assertAlive('sendText');
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new InvalidInputError('empty_text', 'Text input cannot be empty');
    }
    return this.queue.push(() => this.runTurn(text, 'text'));
  }

  /**
   * Queues a whole recorded utterance (base64, optionally a data: URL, or bytes): it is transcribed
   * with the transcription model (`transcription`), then answered. Resolves with the answer ('' when
   * the recording held no words).
   */
  async sendAudio(audio: string | Uint8Array): Promise<string> {
    this.assertAlive('sendAudio');
    const bytes = this.decodeAudio(audio, 'sendAudio');
    this.bus.publish('audio.received', { sessionId: this.session.sessionId, size: bytes.byteLength });
    const arrivedAt = now();
    return this.queue.push(() => this.runRecording(bytes, { speechEndAt: arrivedAt }));
  }

  /** Transcribes a recording now (not queued, no turn): emits `transcription`, returns the text. */
  async transcribeAudio(audio: string | Uint8Array): Promise<string> {
    this.assertAlive('transcribeAudio');
    const bytes = this.decodeAudio(audio, 'transcribeAudio');
    const result = await this.transcribe(bytes);
    return result;
  }

  /** Synthesises `text` in one request and emits it as one `audio` event (and socket message). */
  async generateAndSendSpeechFull(text: string): Promise<void> {
    this.assertAlive('generateAndSendSpeechFull');
    const tts = this.speechTts;
    if (!tts) throw new SessionStateError('no_speech_model', 'This agent has no speechModel');
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new InvalidInputError('empty_text', 'Speech text cannot be empty');
    }
    const sessionId = this.session.sessionId;
    const turnId = `speech_full_${++this.fullSpeechCount}`;
    this.bus.publish('speech.start', { sessionId, turnId, streaming: false });
    const audio = await tts.synthesizeEncoded({ text, abortSignal: this.lifetime.signal });
    this.bus.publish('speech.full', { sessionId, text, audio, format: tts.format });
    this.bus.publish('speech.complete', { sessionId, turnId, streaming: false });
  }

  /** Stops the running response: its LLM stream, tools and speech (history keeps what was heard). */
  interruptSpeech(reason: InterruptReason | (string & {}) = 'interrupted'): void {
    this.assertAlive('interruptSpeech');
    this.interruptWith(reason);
  }

  clearHistory(): void {
    this.assertAlive('clearHistory');
    this.session.clearHistory();
  }

  // ── Reference methods (for code migrating from it; thin over the ones above) ─────────

  /** Adds tools (replacing same-named ones) for the following turns. */
  registerTools(tools: ToolSet): void {
    this.assertAlive('registerTools');
    Object.assign(this.tools, tools);
  }

  /** `sendAudio` with bytes. */
  sendAudioBuffer(audio: Uint8Array): Promise<string> {
    return this.sendAudio(audio);
  }

  /** Replaces the conversation history (e.g. restored from storage). */
  setHistory(messages: ModelMessage[]): void {
    this.assertAlive('setHistory');
    this.session.setHistory(messages);
  }

  /** Stops the running response: LLM stream, tools and speech (what `interruptSpeech` does). */
  interruptCurrentResponse(reason: InterruptReason | (string & {}) = 'interrupted'): void {
    this.interruptSpeech(reason);
  }

  /** Synthesises `text` with the speech model and returns the encoded audio (nothing is sent or emitted). */
  async generateSpeechFromText(text: string, abortSignal?: AbortSignal): Promise<Uint8Array> {
    this.assertAlive('generateSpeechFromText');
    const tts = this.speechTts;
    if (!tts) throw new SessionStateError('no_speech_model', 'This agent has no speechModel');
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new InvalidInputError('empty_text', 'Speech text cannot be empty');
    }
    const signal = abortSignal ? AbortSignal.any([abortSignal, this.lifetime.signal]) : this.lifetime.signal;
    return tts.synthesizeEncoded({ text, abortSignal: signal });
  }

  /** Takes streamed microphone audio again (after `stopListening`); emits `listening`. */
  startListening(): void {
    this.assertAlive('startListening');
    this.session.setMuted(false);
    this.emitSafe('listening');
  }

  /** Ignores streamed microphone audio until `startListening`; emits `stopped`. */
  stopListening(): void {
    this.assertAlive('stopListening');
    this.session.setMuted(true);
    this.emitSafe('stopped');
  }

  /** Speech chunks queued whose audio was not released yet. */
  get pendingSpeechChunks(): number {
    return this.pendingChunks;
  }

  /**
   * Answers a subagent's question (`subagent_ui_request`): `{requestId, value | values | declined}`.
   * Throws `SubagentUiError` (`ui_request_unknown`, `ui_request_finished`, `ui_invalid_answer`, ...).
   */
  answerSubagent(response: SubagentUiResponse): void {
    this.assertAlive('answerSubagent');
    this.session.subagentUi.respond(response);
  }

  // ── Connection ───────────────────────────────────────────────────────────────────

  /** Client mode: dial a WebSocket server and serve the protocol on that socket. */
  async connect(url?: string): Promise<void> {
    this.assertAlive('connect');
    await this.link.connect(url ?? this.options.endpoint ?? DEFAULT_ENDPOINT);
  }

  /** Serve the protocol on an accepted socket (replaces any current one). Emits `connected`. */
  handleSocket(socket: import('ws').WebSocket): void {
    this.assertAlive('handleSocket');
    this.link.attach(socket);
  }

  /** Closes the socket: cancels the running response, drops queued inputs, emits `disconnected`. */
  disconnect(): void {
    if (this.destroyed) return;
    this.link.close();
  }

  /** Ends the agent for good; every later call throws `AgentDestroyedError`. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.state = 'destroyed';
    this.link.close();
    this.queue.rejectAll(new AgentDestroyedError('a queued input'));
    this.lifetimeController?.abort(new AgentDestroyedError('an in-flight call'));
    void this.session.close('destroyed').catch((err) => this.logger.error('session close failed', err));
    this.offProjection();
    this.bus.unsubscribeTable(PENDING_CHUNKS, this);
    this.removeAllListeners();
  }

  // ── Used by the socket link ──────────────────────────────────────────────────────

  /** A client `transcript`: barge-in, then queue the text. */
  clientTranscript(text: string, client?: ClientTiming): void {
    this.interruptWith('user_speaking');
    this.onClientInput();
    this.enqueueFromClient('transcript', () => this.runTurn(text, 'text', client ? { client } : {}));
  }

  /** A client recording (`audio` message, or push-to-talk audio at `audio_commit`). */
  clientRecording(bytes: Uint8Array, messageType: string, client?: ClientTiming): void {
    if (!this.hasTranscription) {
      this.rejectInput(
        protocolError('no_transcription_model', 'This agent has no transcriptionModel', messageType),
      );
      return;
    }
    this.interruptWith('user_speaking');
    this.onClientInput();
    this.bus.publish('audio.received', { sessionId: this.session.sessionId, size: bytes.byteLength });
    const input = { speechEndAt: client?.receivedAt ?? now(), ...(client ? { client } : {}) };
    this.enqueueFromClient(messageType, () => this.runRecording(bytes, input));
  }

  clientInterrupt(reason: string | undefined): void {
    this.interruptWith(reason ?? 'client_request');
  }

  clientReady(capabilities: unknown): void {
    this.bus.publish('client.ready', {
      sessionId: this.session.sessionId,
      capabilities: capabilities ?? null,
    });
  }

  /** A client's `subagent_ui_response`: a refused answer is an `error` message, the socket goes on. */
  clientSubagentAnswer(response: SubagentUiResponse): void {
    try {
      this.session.subagentUi.respond(response);
    } catch (error) {
      this.rejectInput(toColloquyError(error, 'ui_invalid_response'), 'subagent_ui_response');
    }
  }

  /** A `video_frame`: only `VideoAgent` takes frames. */
  clientFrame(_message: VideoFrameMessage): void {
    this.rejectInput(
      protocolError('unsupported_message', 'This agent takes no video; use a VideoAgent', 'video_frame'),
    );
  }

  /** Reports rejected client input: a `warning` or `error` event, and an `error` message on the socket. */
  rejectInput(error: ColloquyError, messageType?: string): void {
    const sessionId = this.session.sessionId;
    if (isWarning(error, messageType)) {
      this.bus.publish('warning', {
        sessionId,
        component: 'input',
        code: error.code,
        message: error.message,
      });
    } else {
      this.bus.publish('error', { sessionId, component: 'input', error, severity: 'warn' });
    }
    this.link.send({
      type: 'error',
      error: error.message,
      code: error.code,
      retryable: error.retryable,
      ...messageTypeOf(error, messageType),
    });
  }

  /** The socket closed: cancel the response, drop queued inputs, then `disconnected`. */
  connectionClosed(error: ColloquyError): void {
    this.queue.rejectAll(error);
    this.interruptWith('disconnected');
    this.bus.publish('transport.disconnected', { sessionId: this.session.sessionId, transport: 'websocket' });
  }

  /** `session_init` fields (VideoAgent overrides the session id). */
  sessionInit(): { sessionId: string; video: boolean } {
    return { sessionId: this.session.sessionId, video: false };
  }

  /** Extra `response_complete` fields (VideoAgent). */
  responseExtras(): Partial<ResponseCompleteFields> {
    return {};
  }

  /** Called when a socket attached (VideoAgent announces its session). */
  onAttached(): void {}

  reasonFor(reason: InterruptReason): string {
    return this.reasonOverride ?? reason;
  }

  // ── Hooks for VideoAgent ─────────────────────────────────────────────────────────

  /** A client input arrived (VideoAgent asks for a fresh frame). */
  protected onClientInput(): void {}

  /** Images for the next user turn (VideoAgent: its frame buffer). */
  protected imagesForTurn(): UserImage[] {
    return [];
  }

  protected assertAlive(method: string): void {
    if (this.destroyed) throw new AgentDestroyedError(method);
  }

  // ── Internals ────────────────────────────────────────────────────────────────────

  private async runTurn(
    text: string,
    source: 'text' | 'speech',
    input: UserInputOptions = {},
  ): Promise<string> {
    const images = this.imagesForTurn();
    const options = { ...input, ...(images.length > 0 ? { images } : {}) };
    const result =
      source === 'text'
        ? await this.session.sendText(text, options)
        : await this.session.commitUserSpeech(text, options);
    if (result.error) throw result.error;
    return result.text;
  }

  private async runRecording(bytes: Uint8Array, input: UserInputOptions): Promise<string> {
    const text = await this.transcribe(bytes);
    return text ? this.runTurn(text, 'speech', input) : '';
  }

  private transcribe(bytes: Uint8Array): Promise<string> {
    const model = this.options.transcriptionModel as TranscriptionModel | undefined;
    if (!model) {
      return Promise.reject(protocolError('no_transcription_model', 'This agent has no transcriptionModel'));
    }
    return transcribeRecording({
      model,
      audio: bytes,
      bus: this.bus,
      sessionId: this.session.sessionId,
      signal: this.transcriptionSignal(),
      onEmpty: (error) =>
        this.link.send({ type: 'transcription_error', error: error.message, code: error.code }),
    });
  }

  private transcriptionSignal(): AbortSignal {
    const link = this.link.signal;
    if (this.inputSignal?.link !== link) {
      this.inputSignal = { link, signal: AbortSignal.any([this.lifetime.signal, link]) };
    }
    return this.inputSignal.signal;
  }

  private enqueueFromClient(messageType: string, run: () => Promise<string>): void {
    try {
      this.queue
        .push(run)
        .catch((err) => this.logger.debug(`input from ${messageType} ended: ${String(err)}`));
    } catch (error) {
      const full = protocolError('input_queue_full', (error as Error).message, messageType);
      this.rejectInput(full);
    }
  }

  private decodeAudio(audio: string | Uint8Array, method: string): Uint8Array {
    const bytes = decodeAudioInput(audio, method, this.limits.maxAudioBytes);
    if (!this.hasTranscription)
      throw protocolError('no_transcription_model', 'This agent has no transcriptionModel');
    return bytes;
  }

  /** Interrupts with the seed's reason; a reason outside the bus union is reported as given. */
  private interruptWith(reason: string): void {
    const busReason = isInterruptReason(reason) ? reason : 'client_request';
    this.reasonOverride = reason;
    try {
      this.session.interrupt(busReason);
    } finally {
      this.reasonOverride = undefined;
    }
  }

  private sessionIdle(): Promise<void> {
    if (this.session.currentTurnId === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const offs: Array<() => void> = [];
      const done = (): void => {
        for (const off of offs) off();
        // Another turn may begin in the same tick (a background announcement): wait for it too.
        queueMicrotask(() => void this.sessionIdle().then(resolve));
      };
      offs.push(this.bus.once('turn.end', done), this.bus.once('turn.interrupted', done));
    });
  }

  private emitSafe<K extends keyof AgentEventMap>(name: K, ...args: AgentEventMap[K]): void {
    if (name === 'error' && this.listenerCount('error') === 0) {
      this.logger.warn(`VoiceAgent error (no "error" listener): ${(args[0] as Error)?.message}`);
      return;
    }
    (this.emit as (n: K, ...a: AgentEventMap[K]) => boolean)(name, ...args);
  }
}
