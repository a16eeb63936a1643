/**
 * Turns of a realtime (speech-to-speech) conversation: provider events become the same bus events a
 * cascade turn publishes, so every projection (hooks, RTVI, VoiceAgent, native protocol) sees a
 * realtime turn like any other.
 *
 * - A turn opens when the user starts speaking (provider or local detection), when a typed turn is
 *   sent, or when a response starts with no turn open: `turn.start`.
 * - Input transcription → `transcription.interim` (the text so far) and `transcription.final` +
 *   `user.text {source:'speech'}`; the user message enters history.
 * - A response → `llm.start`, output transcript → `llm.text.delta`; its audio goes through the
 *   session's `SpeechOutput` (same pacing, playout tracking and barge-in as cascade speech), and
 *   each transcript piece becomes `bot.tts.text` once the audio it came with is played. For
 *   projections that hand audio out as chunks (VoiceAgent, the native WebSocket protocol), each
 *   piece of the model's audio is also a chunk: `speech.chunk.queued` then `speech.chunk` (PCM16 with
 *   the transcript that came with it), bracketed by `speech.start` / `speech.complete` like
 *   synthesised speech.
 * - Tool calls run through the session's tool wrappers; results go back to the provider.
 * - Interruption stops playout at once, cancels the response (`cancelResponse`), tells the provider
 *   what was heard of each item still playing (`truncate`: audio played, clamped to audio received; 0
 *   deletes the item) and keeps only the heard words in history: `turn.interrupted`.
 * - A turn can have several responses with audio (what the model says before a tool call, then its
 *   answer): each is its own response on the speech output, queued behind the one still playing.
 * - `response-done` with no tool call pending ends the turn once its audio has played: `turn.end`.
 * - The model's audio received and not yet played is bounded (`maxAudioAheadMs`): a provider sends
 *   audio faster than real time, so a long answer would pile up. The piece that would take the
 *   backlog over the bound is dropped with the rest of its response, audio and transcript alike (a
 *   `realtime_audio_ahead` warning); the provider is asked to cancel the response and to keep only
 *   the audio kept of its item (`truncate`). What the user hears, the transcript (`llm.text.delta`,
 *   `bot.tts.text`) and history all stop at the cut, as after a barge-in at the end of the audio kept.
 */
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { InterruptReason, TokenUsage } from '../bus/events.ts';
import { ProviderError } from '../errors.ts';
import type { AudioResponse } from '../pipeline/speech-audio-response.ts';
import {
  appendCapped,
  MAX_TRANSCRIPT_CHARS,
  sayInstructions,
} from '../providers/realtime/base-connection.ts';
import type { RealtimeConnection, RealtimeEvent, RealtimeUsage } from '../providers/realtime/types.ts';
import type { ConversationHistory } from './history.ts';
import type { LatencyTracker } from './latency.ts';
import { now } from './latency.ts';

export interface RealtimeTurnsHost {
  readonly bus: SessionEventBus;
  readonly sessionId: string;
  readonly conversation: ConversationHistory;
  readonly latency: LatencyTracker;
  modelId(): string;
  outputSampleRate(): number;
  currentAgent(): string;
  connection(): RealtimeConnection | undefined;
  /** Starts an audio response on the session's speech output (undefined: a text-only session). */
  beginAudio(turnId: string, signal: AbortSignal): AudioResponse | undefined;
  /** Stops all speech output at once; returns what was heard of the response that was playing. */
  stopSpeech(reason: InterruptReason): void;
  /** Runs a provider tool call for the turn (results go back to the provider). */
  runTool(
    turnId: string,
    callId: string,
    name: string,
    argumentsJson: string,
    signal: AbortSignal,
  ): Promise<boolean>;
  /** Cancels the running tools of a turn (`tool.cancel`), or only the calls named. */
  cancelTools(turnId: string | undefined, callIds?: string[]): void;
  /** The turn ended and nothing is pending (background notifications may go now). */
  onIdle(): void;
  /** Most audio received and not yet played, in ms, over every response of the turn. */
  readonly maxAudioAheadMs: number;
}

/** Default of `RealtimeOptions.maxAudioAheadMs`: a minute of audio (2.9 MB at 24 kHz). */
export const DEFAULT_MAX_AUDIO_AHEAD_MS = 60_000;

interface TextMark {
  /** The audio the text came with. */
  audio: AudioResponse;
  /** Audio received (ms) in `audio` before this text arrived. */
  atMs: number;
  text: string;
  chunkId: number;
}

/** The audio of one response on the session's speech output, until it has played. */
interface Playback {
  audio: AudioResponse;
  /** Length of the turn's text when this audio began: its transcript comes after. */
  textStart: number;
  /** The provider's audio item being received (the latest, when a response has several). */
  itemId: string | undefined;
  /** Where that item's audio begins in `audio`, in ms. */
  itemStartMs: number;
  /** ms of audio received for that item (at the model's output rate). */
  itemMs: number;
}

interface RealtimeTurn {
  id: string;
  controller: AbortController;
  agentName: string;
  /** The heard-so-far assistant text (all responses of the turn). */
  text: string;
  responseText: string;
  responseId: string | undefined;
  /** The audio of the response running now, while it arrives. */
  audio: Playback | undefined;
  /**
   * Every audio of the turn not yet played to its end, in playing order: the answer to a tool call
   * can arrive while what the model said before the call still plays; the speech output queues it.
   */
  playing: Playback[];
  marks: TextMark[];
  markTimer: ReturnType<typeof setInterval> | undefined;
  toolsPending: number;
  responding: boolean;
  /** A tool result went to the model; its answer is due. */
  awaitingAnswer: boolean;
  /**
   * The response running now went over `maxAudioAheadMs`: the rest of its audio and transcript is
   * dropped until the next response starts.
   */
  dropping: boolean;
  usage: TokenUsage;
  userText: string;
  /** Model audio not yet published as a `speech.chunk` (held until the next piece or the end). */
  pendingPcm: Int16Array | undefined;
  /** Transcript received since the last published chunk. */
  pendingText: string;
  /** `speech.start` was published. */
  speechStarted: boolean;
  /**
   * The model says a given text (`say`): like a cascade `speak()`, the turn publishes speech and
   * `assistant.text` but no `llm.*` events (the text was not the model's own answer).
   */
  saying: boolean;
  /** `llm.start` was published and no `llm.end` yet. */
  llmOpen: boolean;
}

let counter = 0;
let chunkCounter = 0;

export class RealtimeTurns {
  private turn: RealtimeTurn | undefined;
  private readonly input = new Map<string, string>();
  /** `speech.chunk` ids: from 0 over the session, as for synthesised chunks. */
  private nextChunkId = 0;

  constructor(private readonly h: RealtimeTurnsHost) {}

  get active(): { id: string; toolsPending: number; responding: boolean } | undefined {
    return this.turn;
  }

  /** Opens a turn (interrupting the running one). */
  begin(reason: InterruptReason = 'user_speaking'): RealtimeTurn {
    if (this.turn) this.interrupt(reason);
    const turn: RealtimeTurn = {
      id: `turn_${++counter}_rt`,
      controller: new AbortController(),
      agentName: this.h.currentAgent(),
      text: '',
      responseText: '',
      responseId: undefined,
      audio: undefined,
      playing: [],
      marks: [],
      markTimer: undefined,
      toolsPending: 0,
      responding: false,
      llmOpen: false,
      awaitingAnswer: false,
      dropping: false,
      usage: {},
      userText: '',
      pendingPcm: undefined,
      pendingText: '',
      speechStarted: false,
      saying: false,
    };
    this.turn = turn;
    this.h.bus.publish('turn.start', { sessionId: this.h.sessionId, turnId: turn.id });
    return turn;
  }

  /** A typed user turn (`speech`: the transcript of a recording, transcribed before it came here). */
  text(text: string, source: 'text' | 'speech' = 'text'): string {
    const turn = this.begin('interrupted');
    this.h.bus.publish('user.text', { sessionId: this.h.sessionId, turnId: turn.id, text, source });
    this.h.conversation.append({ role: 'user', content: text });
    this.h.connection()?.sendText(text);
    return turn.id;
  }

  /** The model says `text` as its own turn (no user input); the runner waits until nothing runs. */
  say(text: string): string {
    const turn = this.begin('interrupted');
    turn.saying = true;
    const conn = this.h.connection();
    // `say` is optional within the v1 interface: without it, the request goes as a text turn.
    if (conn?.say) conn.say(text);
    else conn?.sendText(`[${sayInstructions(text)}]`);
    return turn.id;
  }

  handle(e: RealtimeEvent): void {
    switch (e.type) {
      case 'speech-started':
        this.h.bus.publish('user.speech.start', { sessionId: this.h.sessionId, at: now() });
        this.begin('user_speaking');
        return;
      case 'speech-stopped':
        this.h.bus.publish('user.speech.stop', { sessionId: this.h.sessionId, at: now(), durationMs: 0 });
        if (this.turn) this.h.latency.mark(this.turn.id, 'userSpeechEndAt');
        return;
      case 'input-transcript':
        this.onInputTranscript(e.itemId, e.text, e.final);
        return;
      case 'response-started':
        this.onResponseStarted(e.responseId);
        return;
      case 'audio':
        this.onAudio(e.itemId, e.pcm);
        return;
      case 'output-transcript':
        this.onOutputTranscript(e.text, e.final);
        return;
      case 'tool-call':
        this.onToolCall(e.callId, e.name, e.argumentsJson);
        return;
      case 'tool-cancel':
        this.h.cancelTools(undefined, e.callIds);
        return;
      case 'response-done':
        this.onResponseDone(e.status, e.responseId);
        return;
      case 'interrupted':
        if (this.turn?.responding || this.turn?.playing.length) this.interrupt('user_speaking');
        return;
      case 'usage':
        this.onUsage(e.usage);
        return;
      case 'ready':
      case 'context-compacted':
      case 'goaway':
      case 'resumption':
      case 'error':
      case 'closed':
        return; // connection lifecycle: the runner's
      default: {
        const unhandled: never = e;
        void unhandled;
      }
    }
  }

  private onInputTranscript(itemId: string, text: string, final: boolean): void {
    const at = now();
    if (!final) {
      const sofar = appendCapped(this.input.get(itemId) ?? '', text);
      this.input.set(itemId, sofar);
      if (this.input.size > 16) this.input.delete(this.input.keys().next().value!);
      this.h.bus.publish('transcription.interim', { sessionId: this.h.sessionId, text: sofar, at });
      return;
    }
    this.input.delete(itemId);
    const clean = text.trim();
    if (!clean) return;
    this.h.bus.publish('transcription.final', { sessionId: this.h.sessionId, text: clean, at });
    const turn = this.turn ?? this.begin();
    turn.userText = clean;
    this.h.bus.publish('user.text', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      text: clean,
      source: 'speech',
    });
    this.h.conversation.append({ role: 'user', content: clean });
  }

  private onResponseStarted(responseId: string): void {
    const turn = this.turn ?? this.begin();
    turn.responseId = responseId;
    turn.responseText = '';
    turn.responding = true;
    turn.awaitingAnswer = false;
    turn.dropping = false;
    if (turn.saying) return;
    turn.llmOpen = true;
    this.h.bus.publish('llm.start', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
    });
  }

  private onAudio(itemId: string, pcm: Int16Array): void {
    const turn = this.turn;
    if (!turn?.responding || pcm.length === 0) return; // late audio of an interrupted response
    // Gemini answers a tool result within the same response (no new response starts).
    turn.awaitingAnswer = false;
    this.h.latency.mark(turn.id, 'ttsFirstByteAt');
    if (turn.dropping) return;
    const aheadMs = this.aheadMs(turn);
    // Nothing waiting: the piece is taken whatever its length (a bound below one piece of the
    // provider's would otherwise drop every response whole).
    if (aheadMs > 0 && aheadMs + (pcm.length * 1000) / this.h.outputSampleRate() > this.h.maxAudioAheadMs) {
      this.cut(turn, itemId, aheadMs);
      return;
    }
    if (!turn.audio) {
      const audio = this.h.beginAudio(turn.id, turn.controller.signal);
      if (!audio) return; // a text-only session
      turn.audio = { audio, textStart: turn.text.length, itemId: undefined, itemStartMs: 0, itemMs: 0 };
      turn.playing.push(turn.audio);
      if (!turn.markTimer) {
        turn.markTimer = setInterval(() => this.releaseMarks(turn), 40);
        turn.markTimer.unref?.();
      }
    }
    const p = turn.audio;
    this.queueChunk(turn, pcm);
    if (p.itemId !== itemId) {
      p.itemId = itemId;
      p.itemStartMs = p.audio.receivedMs;
      p.itemMs = 0;
    }
    p.itemMs += (pcm.length * 1000) / this.h.outputSampleRate();
    p.audio.pushAudio(pcm);
  }

  private onOutputTranscript(text: string, final: boolean): void {
    const turn = this.turn;
    if (!turn?.responding) return;
    if (final) {
      // A final without deltas (or with more than they carried) adds the missing tail.
      if (!text.startsWith(turn.responseText)) return;
      text = text.slice(turn.responseText.length);
      if (!text) return;
    }
    turn.awaitingAnswer = false;
    if (turn.dropping) return; // the transcript of audio dropped (see `cut`)
    if (turn.text.length >= MAX_TRANSCRIPT_CHARS) return; // a provider that never stops: bounded
    turn.responseText += text;
    turn.text += text;
    turn.pendingText += text;
    if (!turn.saying)
      this.h.bus.publish('llm.text.delta', {
        sessionId: this.h.sessionId,
        turnId: turn.id,
        id: turn.responseId ?? turn.id,
        text,
      });
    const audio = turn.audio?.audio;
    if (audio) {
      audio.pushText(text);
      turn.marks.push({ audio, atMs: Math.max(0, audio.receivedMs - 1), text, chunkId: ++chunkCounter });
      this.releaseMarks(turn);
    }
  }

  /**
   * A piece of the model's audio becomes a `speech.chunk`. The first piece of a turn goes out at
   * once and opens the speech like synthesised speech does (`speech.chunk.queued`, then
   * `speech.start`); each later piece is held until the next one (or the end of the response) so
   * it carries the transcript that arrived in between: providers interleave the two, the
   * transcript often just after its audio.
   */
  private queueChunk(turn: RealtimeTurn, pcm: Int16Array): void {
    this.flushChunk(turn);
    turn.pendingPcm = pcm;
    if (!turn.speechStarted) this.flushChunk(turn);
  }

  /** Publishes the held piece of audio as `speech.chunk.queued` + `speech.chunk`. */
  private flushChunk(turn: RealtimeTurn): void {
    const pcm = turn.pendingPcm;
    if (pcm === undefined) return;
    turn.pendingPcm = undefined;
    const text = turn.pendingText;
    turn.pendingText = '';
    const bus = this.h.bus;
    const sessionId = this.h.sessionId;
    const chunkId = this.nextChunkId++;
    if (!turn.speechStarted) {
      // One `speech.start` per turn, as one synthesised response per turn has.
      turn.speechStarted = true;
      bus.publish('speech.chunk.queued', { sessionId, turnId: turn.id, chunkId, text });
      bus.publish('speech.start', { sessionId, turnId: turn.id, streaming: true });
    } else if (bus.hasSubscribers('speech.chunk.queued')) {
      bus.publish('speech.chunk.queued', { sessionId, turnId: turn.id, chunkId, text });
    }
    if (!bus.hasSubscribers('speech.chunk')) return;
    bus.publish('speech.chunk', {
      sessionId,
      turnId: turn.id,
      chunkId,
      text,
      audio: new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength),
      format: 'pcm16',
      sampleRate: this.h.outputSampleRate(),
    });
  }

  /** Audio received and not yet played, over every response of the turn, in whole ms. */
  private aheadMs(turn: RealtimeTurn): number {
    let ahead = 0;
    for (const p of turn.playing) ahead += p.audio.receivedMs - p.audio.playedMs;
    return Math.round(ahead);
  }

  /**
   * The response running now would take the audio waiting to play over `maxAudioAheadMs`: the rest
   * of it is dropped (this piece, later audio and transcript), what was received plays out. The
   * provider stops the response and keeps only the audio kept of the item being received (0 deletes
   * it), so the model's context holds what the user hears; a warning says so.
   */
  private cut(turn: RealtimeTurn, itemId: string, aheadMs: number): void {
    turn.dropping = true;
    const p = turn.audio;
    const keptMs = p ? Math.round(p.audio.receivedMs) : 0;
    const itemKeptMs = p?.itemId === itemId ? p.itemMs : 0;
    const max = this.h.maxAudioAheadMs;
    this.h.bus.publish('error', {
      sessionId: this.h.sessionId,
      component: 'realtime',
      error: new ProviderError(
        'realtime_audio_ahead',
        `The model's audio would wait more than ${max} ms to be played: the rest of its response is dropped`,
        { retryable: false, details: { maxAudioAheadMs: max, aheadMs, keptMs } },
      ),
      severity: 'warn',
    });
    const conn = this.h.connection();
    conn?.cancelResponse();
    conn?.truncate(itemId, itemKeptMs);
  }

  /** Publishes `bot.tts.text` for transcript pieces whose audio is now playing. */
  private releaseMarks(turn: RealtimeTurn): void {
    while (turn.marks.length > 0) {
      const m = turn.marks[0]!;
      if (m.atMs > m.audio.playedMs && !m.audio.finished) return;
      turn.marks.shift();
      if (this.turn !== turn) return;
      this.h.bus.publish('bot.tts.text', {
        sessionId: this.h.sessionId,
        turnId: turn.id,
        chunkId: m.chunkId,
        text: m.text,
      });
    }
  }

  private onToolCall(callId: string, name: string, argumentsJson: string): void {
    const turn = this.turn ?? this.begin();
    turn.toolsPending++;
    void this.h.runTool(turn.id, callId, name, argumentsJson, turn.controller.signal).then((delivered) => {
      turn.toolsPending--;
      // A delivered result makes the model answer (a new response of this turn, or, on Gemini, more
      // of the same one: an answer heard afresh even if the speech before it was cut); otherwise end here.
      if (delivered) {
        turn.awaitingAnswer = true;
        turn.dropping = false;
      } else this.maybeEnd(turn);
    });
  }

  private onUsage(u: RealtimeUsage): void {
    const turn = this.turn;
    const usage: TokenUsage = {};
    if (u.inputTokens !== undefined) usage.inputTokens = u.inputTokens;
    if (u.outputTokens !== undefined) usage.outputTokens = u.outputTokens;
    if (u.totalTokens !== undefined) usage.totalTokens = u.totalTokens;
    this.h.bus.publish('metrics.usage', {
      sessionId: this.h.sessionId,
      turnId: turn?.id ?? '',
      agentName: turn?.agentName ?? this.h.currentAgent(),
      model: this.h.modelId(),
      usage,
    });
    if (!turn) return;
    for (const k of ['inputTokens', 'outputTokens', 'totalTokens'] as const) {
      if (usage[k] !== undefined) turn.usage[k] = (turn.usage[k] ?? 0) + usage[k];
    }
  }

  private onResponseDone(
    status: 'completed' | 'cancelled' | 'interrupted' | 'incomplete' | 'failed',
    responseId?: string,
  ): void {
    const turn = this.turn;
    if (!turn?.responding) return;
    // The end of an earlier response (cancelled by a barge-in) can arrive after the next one began.
    if (responseId !== undefined && turn.responseId !== undefined && responseId !== turn.responseId) return;
    if (status === 'interrupted') {
      this.interrupt('user_speaking');
      return;
    }
    turn.responding = false;
    const playback = turn.audio;
    if (playback) {
      turn.audio = undefined;
      this.flushChunk(turn);
      playback.audio.end();
      void playback.audio.done.then(() => {
        if (this.turn !== turn) return;
        turn.playing.splice(turn.playing.indexOf(playback), 1);
        this.releaseMarks(turn);
        if (turn.playing.length === 0) this.stopMarks(turn);
        this.maybeEnd(turn);
      });
    }
    this.maybeEnd(turn);
  }

  /** Ends the turn when its response is done, its audio played and no tool call is pending. */
  private maybeEnd(turn: RealtimeTurn): void {
    if (
      this.turn !== turn ||
      turn.responding ||
      turn.playing.length > 0 ||
      turn.toolsPending > 0 ||
      turn.awaitingAnswer
    )
      return;
    this.turn = undefined;
    this.commit(turn, turn.text);
    // Only a turn whose model part started ends it (not a `say`, nor a turn that got no response).
    if (turn.llmOpen)
      this.h.bus.publish('llm.end', {
        sessionId: this.h.sessionId,
        turnId: turn.id,
        outcome: 'finish',
        usage: turn.usage,
      });
    if (turn.speechStarted)
      this.h.bus.publish('speech.complete', {
        sessionId: this.h.sessionId,
        turnId: turn.id,
        streaming: true,
      });
    this.h.bus.publish('assistant.text', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: turn.text,
      interrupted: false,
    });
    this.h.latency.finish(turn.id, 'realtime');
    this.h.bus.publish('turn.end', { sessionId: this.h.sessionId, turnId: turn.id });
    this.h.onIdle();
  }

  /**
   * Cuts the running turn short: playout stops, the provider's response is cancelled and told what
   * was heard, running inline tools are cancelled, history keeps the heard words.
   */
  interrupt(reason: InterruptReason): void {
    const turn = this.turn;
    if (!turn) return;
    this.turn = undefined;
    const conn = this.h.connection();
    // Each item not played to its end keeps the audio heard of it (clamped to what the provider sent:
    // the speech output's resampler can add a few samples), 0 deleting it; the turn's text keeps what
    // was said before the audio still playing, and the words heard of it.
    const cuts = turn.playing.map((p) => ({
      itemId: p.itemId,
      heardMs: Math.min(Math.max(0, p.audio.playedMs - p.itemStartMs), p.itemMs),
    }));
    const first = turn.playing[0];
    const kept = first
      ? turn.text.slice(0, first.textStart) + turn.playing.map((p) => p.audio.heardText).join('')
      : turn.text;
    turn.pendingPcm = undefined; // not played: it never reaches a client
    this.h.stopSpeech(reason);
    turn.controller.abort(reason);
    this.stopMarks(turn);
    if (turn.responding) conn?.cancelResponse();
    for (const cut of cuts) if (cut.itemId !== undefined) conn?.truncate(cut.itemId, cut.heardMs);
    // The model's part ended with its last response unless a response, a tool call or the answer to
    // one was still under way (then it was cut short): cut while only its audio plays, it finished.
    if (turn.llmOpen)
      this.h.bus.publish(
        'llm.end',
        turn.responding || turn.toolsPending > 0 || turn.awaitingAnswer
          ? { sessionId: this.h.sessionId, turnId: turn.id, outcome: 'abort' }
          : { sessionId: this.h.sessionId, turnId: turn.id, outcome: 'finish', usage: turn.usage },
      );
    this.h.cancelTools(turn.id);
    this.commit(turn, kept);
    this.h.bus.publish('assistant.text', {
      sessionId: this.h.sessionId,
      turnId: turn.id,
      agentName: turn.agentName,
      text: kept,
      interrupted: true,
    });
    this.h.latency.finish(turn.id, 'realtime');
    this.h.bus.publish('turn.interrupted', { sessionId: this.h.sessionId, turnId: turn.id, reason });
  }

  /** The connection dropped mid-turn: what arrived plays out, the turn ends without more. */
  connectionLost(): void {
    const turn = this.turn;
    if (!turn) return;
    turn.awaitingAnswer = false;
    if (turn.responding) this.onResponseDone('incomplete');
    else this.maybeEnd(turn);
  }

  private commit(_turn: RealtimeTurn, text: string): void {
    if (text.trim()) this.h.conversation.append({ role: 'assistant', content: text.trim() });
  }

  private stopMarks(turn: RealtimeTurn): void {
    if (turn.markTimer) clearInterval(turn.markTimer);
    turn.markTimer = undefined;
  }
}
