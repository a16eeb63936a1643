/**
 * A local server speaking the Gemini Live (BidiGenerateContent) WebSocket protocol, for tests and
 * offline development: `?key=` checked at the upgrade, `setup` answered with `setupComplete`,
 * automatic activity detection emulated with an energy detector (or `activityStart`/`activityEnd`
 * when it is disabled), input/output transcription, 24 kHz audio in `modelTurn` inline data,
 * `interrupted` when the user speaks over the model, tool calls (`toolResponse` continues the
 * turn), `goAway`, and session resumption: a resumable handle after every turn, `resumable:false`
 * while a tool call is open, and a conversation that continues on a connection resumed with a
 * known handle. An unknown or expired handle is refused by closing with 1007 (invalid argument).
 * `usageMetadata` counts the context (a token per four characters); sliding-window compression
 * drops the oldest turns past `triggerTokens`, unannounced, like the service.
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

export const GEMINI_LIVE_PATH =
  '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

interface Conversation {
  id: number;
  /** Turns so far, as `role: text` lines (what a resumed connection remembers). */
  turns: string[];
  handles: number;
}

interface GeminiConnection extends FakeConnectionState {
  setup: Record<string, unknown> | undefined;
  manual: boolean;
  conversation: Conversation;
  responding: { cancelled: boolean } | undefined;
  awaitingTool: FakeRealtimeReply | undefined;
  inputSamples: number;
}

/**
 * A local server speaking Gemini Live's BidiGenerateContent protocol: scripted replies (a tone for
 * audio, transcripts, tool calls), session resumption handles and GoAway.
 *
 * @example
 * ```ts
 * import { GeminiLiveModel } from 'colloquy';
 * import { FakeGeminiLiveServer } from 'colloquy/testing';
 *
 * const server = await new FakeGeminiLiveServer({ replies: [{ userTranscript: 'hi', text: 'Hello there!' }] }).listen();
 * const model = new GeminiLiveModel({ model: 'gemini-live-test', apiKey: server.apiKey, url: server.url });
 * // … a VoiceSession with `realtime: { model }` …
 * server.goAway(5000); // the server announces it will close
 * await server.close();
 * ```
 */
export class FakeGeminiLiveServer extends FakeRealtimeServer {
  private readonly handles = new Map<string, Conversation>();
  private conversations = 0;
  private counter = 0;
  /** Times the sliding window dropped turns. */
  compressions = 0;
  /** Setups received, in order (check resumption handles, instructions, tools). */
  readonly setups: Array<Record<string, unknown>> = [];

  /** The URL to give the adapter (`COLLOQUY_GOOGLE_LIVE_URL`). */
  get url(): string {
    return `${this.base}${GEMINI_LIVE_PATH}`;
  }

  /** The base URL to give `@google/genai` (`httpOptions.baseUrl`). */
  get httpBaseUrl(): string {
    return this.base.replace(/^ws/, 'http');
  }

  /** Announces the end of the newest connection in `timeLeftMs`. */
  goAway(timeLeftMs: number): void {
    const s = this.latest();
    if (s) this.emit(s, { goAway: { timeLeft: `${timeLeftMs / 1000}s` } });
  }

  /** Forgets every resumption handle (they expired). */
  expireHandles(): void {
    this.handles.clear();
  }

  /** The remembered turns of the newest connection's conversation. */
  get conversationTurns(): string[] {
    return (this.latest() as GeminiConnection | undefined)?.conversation.turns.slice() ?? [];
  }

  protected authorize(req: IncomingMessage): number {
    // The SDK's base URL ends in '/', so its path starts with '//'.
    const url = new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://x');
    if (url.pathname !== GEMINI_LIVE_PATH) return 404;
    if (url.searchParams.get('key') !== this.apiKey) return 403;
    return 200;
  }

  protected kindOf(m: Record<string, unknown>): string {
    return Object.keys(m)[0] ?? '';
  }

  protected onOpen(base: FakeConnectionState): void {
    const s = base as GeminiConnection;
    s.setup = undefined;
    s.manual = false;
    s.responding = undefined;
    s.awaitingTool = undefined;
    s.inputSamples = 0;
  }

  protected onClose(): void {}

  private emit(s: FakeConnectionState, message: Record<string, unknown>): void {
    if (s.ws.readyState === 1) s.ws.send(JSON.stringify(message));
  }

  protected onMessage(base: FakeConnectionState, m: Record<string, unknown>): void {
    const s = base as GeminiConnection;
    const keys = Object.keys(m);
    if (keys.length !== 1) {
      s.ws.close(1007, 'Exactly one message field is required');
      return;
    }
    if (!s.setup && !('setup' in m)) {
      s.ws.close(1007, 'The first message must be setup');
      return;
    }
    if ('setup' in m) {
      this.onSetup(s, m.setup as Record<string, unknown>);
      return;
    }
    if ('realtimeInput' in m) {
      this.onRealtimeInput(s, m.realtimeInput as Record<string, unknown>);
      return;
    }
    if ('clientContent' in m) {
      const content = m.clientContent as {
        turns?: Array<{ role: string; parts: Array<{ text?: string }> }>;
        turnComplete?: boolean;
      };
      for (const t of content.turns ?? [])
        s.conversation.turns.push(`${t.role}: ${t.parts.map((p) => p.text ?? '').join('')}`);
      if (content.turnComplete) void this.respond(s, this.nextReply());
      return;
    }
    if ('toolResponse' in m) {
      const reply = s.awaitingTool;
      s.awaitingTool = undefined;
      if (reply) void this.respond(s, { ...reply, toolCall: undefined, userTranscript: undefined });
      return;
    }
    s.ws.close(1007, `Unknown message field ${keys[0]}`);
  }

  private onSetup(s: GeminiConnection, setup: Record<string, unknown>): void {
    if (s.setup) {
      s.ws.close(1007, 'setup may be sent once');
      return;
    }
    if (typeof setup.model !== 'string' || !setup.model.startsWith('models/')) {
      s.ws.close(1007, 'Invalid model name');
      return;
    }
    const resumption = setup.sessionResumption as { handle?: string } | undefined;
    if (resumption?.handle) {
      const conversation = this.handles.get(resumption.handle);
      if (!conversation) {
        s.ws.close(1007, 'Invalid session resumption handle');
        return;
      }
      s.conversation = conversation;
    } else {
      s.conversation = { id: ++this.conversations, turns: [], handles: 0 };
    }
    s.setup = setup;
    this.setups.push(setup);
    const aad = (
      setup.realtimeInputConfig as { automaticActivityDetection?: { disabled?: boolean } } | undefined
    )?.automaticActivityDetection;
    s.manual = aad?.disabled === true;
    this.emit(s, { setupComplete: { sessionId: `fake-session-${s.conversation.id}` } });
  }

  private onRealtimeInput(s: GeminiConnection, input: Record<string, unknown>): void {
    const audio = input.audio as { data?: string; mimeType?: string } | undefined;
    if (audio) {
      if (typeof audio.data !== 'string' || audio.mimeType !== 'audio/pcm;rate=16000') {
        s.ws.close(1007, 'Unsupported audio');
        return;
      }
      const pcm = decodePcm(audio.data);
      s.inputSamples += pcm.length;
      if (s.manual) return;
      const edge = this.detect(s, pcm, 16000);
      if (edge === 'start' && s.responding) this.interrupt(s);
      if (edge === 'stop') this.userTurn(s);
      return;
    }
    if (input.activityStart !== undefined) {
      if (!s.manual) {
        s.ws.close(1007, 'activityStart needs automatic activity detection disabled');
        return;
      }
      if (s.responding) this.interrupt(s);
      return;
    }
    if (input.activityEnd !== undefined) {
      if (!s.manual) {
        s.ws.close(1007, 'activityEnd needs automatic activity detection disabled');
        return;
      }
      this.userTurn(s);
      return;
    }
    if (typeof input.text === 'string') {
      s.conversation.turns.push(`user: ${input.text}`);
      void this.respond(s, this.nextReply());
    }
  }

  /** Tokens of the instructions and the remembered turns (one per four characters). */
  private contextTokens(s: GeminiConnection): number {
    const instruction = (
      s.setup?.systemInstruction as { parts?: Array<{ text?: string }> } | undefined
    )?.parts
      ?.map((p) => p.text ?? '')
      .join('');
    let n = instruction ? fakeTokens(instruction) : 0;
    for (const t of s.conversation.turns) n += fakeTokens(t.slice(t.indexOf(': ') + 2));
    return n;
  }

  /**
   * Sliding-window compression as the setup asked for it (`contextWindowCompression`): once the
   * context reaches `triggerTokens` (default 100 000 here), the oldest turns go until it is at most
   * `slidingWindow.targetTokens` (default half the trigger), and the window starts at a user turn.
   * Nothing tells the client, as with the real service.
   */
  private compress(s: GeminiConnection): void {
    const c = s.setup?.contextWindowCompression as
      | { triggerTokens?: string | number; slidingWindow?: { targetTokens?: string | number } }
      | undefined;
    if (!c) return;
    const trigger = Number(c.triggerTokens ?? 100_000);
    const target = Number(c.slidingWindow?.targetTokens ?? trigger / 2);
    const turns = s.conversation.turns;
    if (this.contextTokens(s) < trigger) return;
    while (turns.length > 1 && this.contextTokens(s) > target) turns.shift();
    while (turns.length > 1 && !turns[0]!.startsWith('user: ')) turns.shift();
    this.compressions++;
  }

  /** The user spoke over the model: the turn ends at once as interrupted. */
  private interrupt(s: GeminiConnection): void {
    if (!s.responding) return;
    s.responding.cancelled = true;
    s.responding = undefined;
    this.emit(s, { serverContent: { interrupted: true } });
    this.emit(s, { serverContent: { turnComplete: true } });
  }

  private userTurn(s: GeminiConnection): void {
    const reply = this.nextReply();
    if (reply.userTranscript) {
      s.conversation.turns.push(`user: ${reply.userTranscript}`);
      for (const text of splitText(reply.userTranscript, 2))
        this.emit(s, { serverContent: { inputTranscription: { text } } });
    }
    void this.respond(s, reply);
  }

  private async respond(s: GeminiConnection, reply: FakeRealtimeReply): Promise<void> {
    this.compress(s);
    const prompt = this.contextTokens(s);
    const responding = { cancelled: false };
    s.responding = responding;
    if (reply.toolCall) {
      // A spoken preamble goes out in the model's turn before the call.
      if (reply.preamble) {
        const said = await this.speak(s, responding, reply.preamble.text, replyAudioMs(reply.preamble));
        if (said) s.conversation.turns.push(`model: ${said}`);
        if (responding.cancelled) return;
      }
      s.awaitingTool = reply;
      this.emit(s, { sessionResumptionUpdate: { resumable: false } });
      this.emit(s, {
        toolCall: {
          functionCalls: [
            { id: `fc_${++this.counter}`, name: reply.toolCall.name, args: reply.toolCall.args },
          ],
        },
      });
      if (s.responding === responding) s.responding = undefined;
      return;
    }
    const spoken = await this.speak(s, responding, reply.text ?? '', replyAudioMs(reply));
    if (spoken) s.conversation.turns.push(`model: ${spoken}`);
    if (responding.cancelled) return; // `interrupt` already ended the turn
    if (s.responding === responding) s.responding = undefined;
    this.emit(s, { serverContent: { generationComplete: true } });
    const output = spoken ? fakeTokens(spoken) : 0;
    this.emit(s, {
      serverContent: { turnComplete: true },
      usageMetadata: {
        promptTokenCount: prompt,
        responseTokenCount: output,
        totalTokenCount: prompt + output,
      },
    });
    const handle = `handle-${s.conversation.id}-${++s.conversation.handles}`;
    this.handles.set(handle, s.conversation);
    this.emit(s, { sessionResumptionUpdate: { newHandle: handle, resumable: true } });
  }

  /** The model's audio (a tone) with its transcript, paced at `speed` times real time; returns what was said. */
  private async speak(
    s: GeminiConnection,
    responding: { cancelled: boolean },
    text: string,
    totalMs: number,
  ): Promise<string> {
    const chunks = Math.ceil(totalMs / this.opts.chunkMs);
    const words = splitText(text, chunks);
    let sent = 0;
    let spoken = '';
    for (let i = 0; i < chunks; i++) {
      if (responding.cancelled || s.ws.readyState !== 1) break;
      const ms = Math.min(this.opts.chunkMs, totalMs - i * this.opts.chunkMs);
      const samples = (ms * 24000) / 1000;
      this.emit(s, {
        serverContent: {
          modelTurn: {
            parts: [
              {
                inlineData: {
                  mimeType: 'audio/pcm;rate=24000',
                  data: encodePcm(toneChunk(samples, 24000, sent)),
                },
              },
            ],
          },
        },
      });
      sent += samples;
      const w = words[i];
      if (w) {
        spoken += w;
        this.emit(s, { serverContent: { outputTranscription: { text: w } } });
      }
      await new Promise((r) => setTimeout(r, ms / this.opts.speed));
    }
    return spoken;
  }
}
