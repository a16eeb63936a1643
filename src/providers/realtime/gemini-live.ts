/**
 * Gemini Live (BidiGenerateContent) over WebSocket: `setup` → `setupComplete`, 16 kHz PCM in
 * (`realtimeInput.audio`), 24 kHz PCM out (`serverContent.modelTurn` inline data), automatic
 * activity detection or manual `activityStart`/`activityEnd`, input/output transcription,
 * `interrupted`, `turnComplete`, tool calls and their cancellation, `goAway`, session resumption
 * (only handles marked resumable are reported) and sliding-window context compression.
 */
import { ConfigError, ProviderError } from '../../errors.ts';
import { appendCapped, BaseRealtimeConnection, sayInstructions } from './base-connection.ts';
import { CompressionWatch } from './gemini-compression.ts';
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

export const GOOGLE_LIVE_URL =
  'wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

export interface GeminiLiveOptions {
  /** e.g. 'gemini-2.5-flash-native-audio-preview-12-2025' (a leading 'models/' is optional). */
  model: string;
  /** Default: `GOOGLE_GENERATIVE_AI_API_KEY`. */
  apiKey?: string;
  /** Default: `COLLOQUY_GOOGLE_LIVE_URL`, else the BidiGenerateContent endpoint. */
  url?: string;
  /**
   * Sliding-window context compression (on by default, so sessions are not capped in length):
   * compress once the context reaches `triggerTokens`, down to `targetTokens`. `false` turns it off.
   */
  compression?: { triggerTokens?: number; targetTokens?: number } | false;
}

/** `"50s"`, `"1.5s"` (protobuf Duration JSON) → ms; anything else → undefined. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/**
 * Close codes: 1000 normal; 1007 (invalid argument: bad setup, bad handle) and 1008 (policy:
 * authentication, quota) cannot be fixed by reconnecting; 1001/1006/1011/1013 can.
 */
export function classifyGeminiClose(code: number): RealtimeErrorSeverity {
  if (code === 1007 || code === 1008 || code === 1003) return 'fatal';
  return 'retryable';
}

/**
 * Google's Gemini Live speech-to-speech API as a `RealtimeModel` (key from GOOGLE_GENERATIVE_AI_API_KEY).
 *
 * @example
 * ```ts
 * import { google } from '@ai-sdk/google';
 * import { GeminiLiveModel, VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: google('gemini-2.5-flash'), // the text model (subagents, memory); the realtime model speaks
 *   agents: [{ name: 'main', instructions: 'You are a friendly receptionist.' }],
 *   realtime: { model: new GeminiLiveModel({ model: 'gemini-2.5-flash-native-audio-preview-12-2025' }) },
 *   audio: { output: { write: (frame) => console.log(frame.length) } },
 * });
 * ```
 */
export class GeminiLiveModel implements RealtimeModel {
  readonly specificationVersion = REALTIME_SPECIFICATION_VERSION;
  readonly provider = 'google-live';
  readonly modelId: string;
  readonly inputSampleRate = 16000;
  readonly outputSampleRate = 24000;
  readonly capabilities: RealtimeCapabilities = {
    resumption: true,
    truncation: false,
    liveUpdate: false,
    speechEvents: false,
  };

  constructor(private readonly options: GeminiLiveOptions) {
    if (!options.model) throw new ConfigError('invalid_model_spec', 'google-live needs a model name');
    this.modelId = options.model.replace(/^models\//, '');
  }

  async connect(config: RealtimeSessionConfig, o: RealtimeConnectOptions): Promise<RealtimeConnection> {
    const apiKey = this.options.apiKey ?? process.env.GOOGLE_GENERATIVE_AI_API_KEY;
    if (!apiKey) throw new ConfigError('missing_api_key', 'google-live needs GOOGLE_GENERATIVE_AI_API_KEY');
    const url = new URL(this.options.url ?? process.env.COLLOQUY_GOOGLE_LIVE_URL ?? GOOGLE_LIVE_URL);
    url.searchParams.set('key', apiKey);
    const timeoutMs = o.timeoutMs ?? 15_000;
    const ws = await openSocket({
      url: url.toString(),
      timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const conn = new GeminiLiveConnection(ws, o.onEvent);
    await conn.setup(this.setupMessage(config), config, timeoutMs);
    return conn;
  }

  /** The `setup` message for a session config. */
  setupMessage(config: RealtimeSessionConfig): Record<string, unknown> {
    const c = this.options.compression;
    return {
      setup: {
        model: `models/${this.modelId}`,
        generationConfig: {
          responseModalities: ['AUDIO'],
          ...(config.voice
            ? { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: config.voice } } } }
            : {}),
        },
        systemInstruction: { parts: [{ text: config.instructions }] },
        ...(config.tools.length > 0
          ? {
              tools: [
                {
                  functionDeclarations: config.tools.map((t) => ({
                    name: t.name,
                    description: t.description ?? '',
                    parametersJsonSchema: t.parameters,
                  })),
                },
              ],
            }
          : {}),
        ...(config.turnDetection.type === 'manual'
          ? { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } }
          : config.turnDetection.silenceMs !== undefined
            ? {
                realtimeInputConfig: {
                  automaticActivityDetection: { silenceDurationMs: config.turnDetection.silenceMs },
                },
              }
            : {}),
        ...(config.inputTranscription === false ? {} : { inputAudioTranscription: {} }),
        outputAudioTranscription: {},
        sessionResumption: config.resumeHandle ? { handle: config.resumeHandle } : {},
        ...(c === false
          ? {}
          : {
              contextWindowCompression: {
                ...(c?.triggerTokens !== undefined ? { triggerTokens: String(c.triggerTokens) } : {}),
                slidingWindow: c?.targetTokens !== undefined ? { targetTokens: String(c.targetTokens) } : {},
              },
            }),
      },
    };
  }
}

class GeminiLiveConnection extends BaseRealtimeConnection implements RealtimeConnection {
  private turnCounter = 0;
  private turnId: string | undefined;
  private interruptedTurn = false;
  private inputText = '';
  private outputText = '';
  private readonly context = new CompressionWatch();

  /** Sends `setup` (then replays history unless resuming); resolves at `setupComplete`. */
  async setup(
    setup: Record<string, unknown>,
    config: RealtimeSessionConfig,
    timeoutMs: number,
  ): Promise<void> {
    await this.awaitSetup(timeoutMs, 'setupComplete', () => this.send(setup));
    if (!config.resumeHandle && config.history && config.history.length > 0) {
      this.send({
        clientContent: {
          turns: config.history.map((h) => ({
            role: h.role === 'user' ? 'user' : 'model',
            parts: [{ text: h.text }],
          })),
          turnComplete: false,
        },
      });
    }
  }

  protected closeSeverity(code: number): RealtimeErrorSeverity {
    return classifyGeminiClose(code);
  }

  sendAudio(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.send({ realtimeInput: { audio: { data: pcmToBase64(pcm), mimeType: 'audio/pcm;rate=16000' } } });
  }

  startInput(): void {
    this.send({ realtimeInput: { activityStart: {} } });
  }

  commitInput(): void {
    this.send({ realtimeInput: { activityEnd: {} } });
  }

  sendText(text: string): void {
    this.send({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } });
  }

  say(text: string): void {
    // Gemini has no per-response instructions: the request goes in as a bracketed user turn.
    this.send({
      clientContent: {
        turns: [{ role: 'user', parts: [{ text: `[${sayInstructions(text)}]` }] }],
        turnComplete: true,
      },
    });
  }

  sendToolResult(callId: string, name: string, result: { output: unknown } | { error: string }): void {
    const response = 'error' in result ? { error: result.error } : { output: result.output ?? null };
    this.send({ toolResponse: { functionResponses: [{ id: callId, name, response }] } });
  }

  cancelResponse(): void {
    // Gemini has no cancel message: its own activity detection interrupts, and the runner drops
    // the rest of the turn's audio.
  }

  truncate(): void {
    // Gemini tracks the interruption itself (`interrupted`); there is no truncate message.
  }

  updateSession(): boolean {
    return false; // The setup is fixed while connected: a resumed connection carries the new one.
  }

  private beginTurn(): string {
    if (this.turnId === undefined) {
      this.turnId = `gemini-turn-${++this.turnCounter}`;
      this.interruptedTurn = false;
      this.outputText = '';
      this.emit({ type: 'response-started', responseId: this.turnId });
    }
    return this.turnId;
  }

  private finalInput(): void {
    if (!this.inputText) return;
    const text = this.inputText;
    this.inputText = '';
    this.emit({ type: 'input-transcript', itemId: `input-${this.turnCounter + 1}`, text, final: true });
  }

  protected handle(m: Record<string, unknown>): void {
    if (m.setupComplete !== undefined) {
      this.setupComplete(str(obj(m.setupComplete)?.sessionId));
      return;
    }
    const content = obj(m.serverContent);
    if (content) this.onContent(content);
    const toolCall = obj(m.toolCall);
    if (toolCall) {
      this.finalInput();
      this.beginTurn();
      const calls = Array.isArray(toolCall.functionCalls) ? toolCall.functionCalls : [];
      for (const raw of calls) {
        const c = obj(raw);
        const id = str(c?.id);
        const name = str(c?.name);
        if (!id || !name) {
          this.emit({
            type: 'error',
            error: new ProviderError('realtime_bad_message', 'functionCall without id or name'),
            severity: 'harmless',
          });
          continue;
        }
        this.emit({ type: 'tool-call', callId: id, name, argumentsJson: JSON.stringify(obj(c?.args) ?? {}) });
      }
    }
    const cancel = obj(m.toolCallCancellation);
    if (cancel) {
      const ids = (Array.isArray(cancel.ids) ? cancel.ids : []).filter(
        (x): x is string => typeof x === 'string',
      );
      if (ids.length > 0) this.emit({ type: 'tool-cancel', callIds: ids });
    }
    const goAway = obj(m.goAway);
    if (goAway) this.emit({ type: 'goaway', timeLeftMs: parseDurationMs(goAway.timeLeft) ?? 0 });
    const resumption = obj(m.sessionResumptionUpdate);
    if (resumption) {
      const handle = str(resumption.newHandle);
      if (handle && resumption.resumable === true) this.emit({ type: 'resumption', handle });
    }
    const usage = obj(m.usageMetadata);
    if (usage) {
      const u = toUsage(usage);
      this.emit({ type: 'usage', usage: u });
      const compacted = this.context.observe(u.inputTokens, u.outputTokens);
      if (compacted) this.emit({ type: 'context-compacted', ...compacted });
    }
  }

  private onContent(c: Record<string, unknown>): void {
    const input = obj(c.inputTranscription);
    const inputText = str(input?.text);
    if (inputText) {
      this.inputText = appendCapped(this.inputText, inputText);
      this.emit({
        type: 'input-transcript',
        itemId: `input-${this.turnCounter + 1}`,
        text: inputText,
        final: false,
      });
      if (input?.finished === true) this.finalInput();
    }
    const parts = Array.isArray(obj(c.modelTurn)?.parts) ? (obj(c.modelTurn)!.parts as unknown[]) : [];
    for (const raw of parts) {
      const data = str(obj(obj(raw)?.inlineData)?.data);
      if (!data) continue;
      this.finalInput();
      const turnId = this.beginTurn();
      this.emit({ type: 'audio', itemId: turnId, pcm: base64ToPcm(data) });
    }
    const outputText = str(obj(c.outputTranscription)?.text);
    if (outputText) {
      const turnId = this.beginTurn();
      this.outputText = appendCapped(this.outputText, outputText);
      this.emit({ type: 'output-transcript', itemId: turnId, text: outputText, final: false });
    }
    if (c.interrupted === true) {
      this.interruptedTurn = true;
      this.emit({ type: 'interrupted' });
    }
    if (c.turnComplete === true) {
      this.finalInput();
      const turnId = this.turnId;
      if (turnId === undefined) return;
      this.turnId = undefined;
      if (this.outputText)
        this.emit({ type: 'output-transcript', itemId: turnId, text: this.outputText, final: true });
      this.emit({
        type: 'response-done',
        responseId: turnId,
        status: this.interruptedTurn ? 'interrupted' : 'completed',
      });
    }
  }
}

function toUsage(u: Record<string, unknown>): RealtimeUsage {
  const out: RealtimeUsage = {};
  const set = (k: keyof RealtimeUsage, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('inputTokens', num(u.promptTokenCount));
  set('outputTokens', num(u.responseTokenCount));
  set('totalTokens', num(u.totalTokenCount));
  set('cachedTokens', num(u.cachedContentTokenCount));
  return out;
}
