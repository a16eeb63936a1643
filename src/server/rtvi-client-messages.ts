/**
 * Answers one RTVI client message for an `RtviSession` (docs/server.md lists the behaviour):
 * validation at the edge (`parseClientMessage`), then a switch over every accepted type. A refused
 * message gets `error-response` (to its id) or a non-fatal `error`; the session goes on.
 */
import { downmixToMono } from '../audio/pcm.ts';
import type { SessionEventBus } from '../bus/event-bus.ts';
import { isColloquyError, toColloquyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { VoiceSession } from '../session/voice-session.ts';
import {
  errorMessage,
  errorResponseMessage,
  parseClientMessage,
  protocolErrorReply,
  type RtviClientMessage,
  serverResponseMessage,
} from '../surfaces/rtvi/index.ts';
import type { ClientCalls } from './client-calls.ts';
import type { ServerLimits } from './limits.ts';
import type { MessageBudget } from './message-budget.ts';
import type { MicBudget } from './mic-budget.ts';
import type { RtviTransport } from './rtvi-transport.ts';

/** What the message handler may touch of its session. */
export interface RtviSessionInternals {
  readonly sessionId: string;
  readonly session: VoiceSession;
  readonly bus: SessionEventBus;
  readonly transport: RtviTransport;
  readonly calls: ClientCalls;
  readonly mode: 'agent' | 'stream';
  readonly logger: Logger;
  /** `client-ready` was answered. */
  readonly ready: boolean;
  /** Stream-mode `tts-speak` texts queued or being spoken (bounded by `limits.ttsSpeakQueue`). */
  speechQueued: number;
  /** The server's bounds on client messages and the `tts-speak` queue. */
  readonly limits: Pick<ServerLimits, 'rtviMessageBytes' | 'rtviJsonDepth' | 'ttsSpeakQueue'>;
  /** Messages and bytes per second this session may send (checked before parsing). */
  readonly budget: MessageBudget;
  /** How fast this session's mic audio may arrive (`raw-audio` and transport audio alike). */
  readonly mic: MicBudget;
  onClientReady(id: string, about: unknown): void;
  /** The user did something: restart the idle timer. */
  touch(): void;
  disconnect(reason: string): Promise<void>;
  reportError(component: string, err: unknown, severity: 'warn' | 'error'): void;
}

/**
 * Longest `tts-speak` text; longer texts are truncated (seed 002).
 *
 * @example
 * ```ts
 * import { TTS_SPEAK_MAX_CHARS } from 'colloquy/server';
 *
 * function speakable(text: string): string[] {
 *   const parts: string[] = [];
 *   for (let i = 0; i < text.length; i += TTS_SPEAK_MAX_CHARS) parts.push(text.slice(i, i + TTS_SPEAK_MAX_CHARS));
 *   return parts; // send each as its own `tts-speak`
 * }
 * ```
 */
export const TTS_SPEAK_MAX_CHARS = 2000;

/**
 * The `t` values of RTVI `client-message`s the server answers.
 *
 * @example
 * ```ts
 * import { RTVI_CLIENT_MESSAGE_NAMES } from 'colloquy/server';
 *
 * const supported = new Set<string>(RTVI_CLIENT_MESSAGE_NAMES); // 'tts-speak', 'ping', 'subagent-ui-response'
 * console.log(supported.has('ping'));
 * ```
 */
export const RTVI_CLIENT_MESSAGE_NAMES = ['tts-speak', 'ping', 'subagent-ui-response'] as const;

/** The `ui-event` name (and `client-message` type) of an answer to a subagent's question. */
export const SUBAGENT_UI_RESPONSE = 'subagent-ui-response';

/** Routes a client's answer to the waiting subagent; a refused answer is told to the client. */
function answerSubagent(payload: unknown, s: RtviSessionInternals, refuse: (error: string) => void): boolean {
  try {
    s.session.subagentUi.respond(payload);
    s.touch();
    return true;
  } catch (err) {
    const error = toColloquyError(err, 'ui_invalid_response');
    refuse(`${error.code}: ${error.message}`);
    return false;
  }
}

export function handleClientMessage(raw: unknown, s: RtviSessionInternals): void {
  // Over its budget, a message is dropped before parsing: a flood cannot take the event loop.
  const admitted = s.budget.admit(typeof raw === 'string' ? raw.length : 1024);
  if (!admitted.ok) {
    if (admitted.notice) s.transport.sendMessage(errorMessage(admitted.notice, false));
    return;
  }
  const parsed = parseClientMessage(raw, {
    maxBytes: s.limits.rtviMessageBytes,
    maxDepth: s.limits.rtviJsonDepth,
  });
  if (!parsed.ok) {
    s.logger.debug(`session ${s.sessionId}: refused client message: ${parsed.error.message}`);
    s.transport.sendMessage(protocolErrorReply(parsed.error));
    return;
  }
  const msg = parsed.message;
  if (msg.type === 'client-ready') {
    s.onClientReady(msg.id, msg.data.about);
    return;
  }
  if (msg.type === 'disconnect-bot') {
    void s.disconnect('client_disconnected');
    return;
  }
  if (!s.ready) {
    s.transport.sendMessage(errorResponseMessage(msg.id, `Send client-ready before "${msg.type}"`));
    return;
  }
  dispatch(msg, s);
}

function dispatch(
  msg: Exclude<RtviClientMessage, { type: 'client-ready' | 'disconnect-bot' }>,
  s: RtviSessionInternals,
) {
  const refuse = (error: string) => s.transport.sendMessage(errorResponseMessage(msg.id, error));
  switch (msg.type) {
    case 'send-text': {
      s.touch();
      const content = msg.data.content;
      // `run_immediately: false` only adds the text to the conversation.
      if (msg.data.options?.run_immediately === false) {
        if (!content.trim()) return refuse('Text is empty');
        s.session.setHistory([...s.session.history, { role: 'user', content }]);
        return;
      }
      runAsync(() => s.session.sendText(content), refuse, s);
      return;
    }
    case 'client-message':
      return clientMessage(msg.id, msg.data.t, msg.data.d, s);
    case 'llm-function-call-result': {
      const { tool_call_id, function_name, result } = msg.data;
      if (!s.calls.settle(tool_call_id, function_name, result)) {
        s.logger.debug(`session ${s.sessionId}: no pending client call ${tool_call_id} (${function_name})`);
        if (msg.id !== undefined) refuse(`No pending function call "${tool_call_id}" for "${function_name}"`);
      }
      return;
    }
    case 'dtmf':
      s.touch();
      s.bus.publish('user.dtmf', { sessionId: s.sessionId, digits: msg.data.buttons.join('') });
      return;
    case 'raw-audio': {
      const bytes = Buffer.from(msg.data.base64Audio, 'base64');
      if (bytes.length === 0 || bytes.length % (2 * msg.data.numChannels) !== 0) {
        return refuse('raw-audio must hold whole PCM16 frames');
      }
      const frames = bytes.length / (2 * msg.data.numChannels);
      if (!s.mic.admit(frames, msg.data.sampleRate)) return refuse(`audio_too_fast: ${s.mic.refusal()}`);
      const samples = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
      const mono = msg.data.numChannels === 1 ? samples : downmixToMono(samples, msg.data.numChannels);
      try {
        s.session.pushAudio(mono, msg.data.sampleRate);
      } catch (err) {
        refuse(toColloquyError(err).message);
      }
      return;
    }
    case 'append-to-context': {
      const { role, content, run_immediately } = msg.data;
      if (typeof content !== 'string' || !content.trim())
        return refuse('append-to-context needs string content');
      if (role === 'user' && run_immediately) return runAsync(() => s.session.sendText(content), refuse, s);
      s.session.setHistory([...s.session.history, { role, content }]);
      return;
    }
    case 'ui-event':
      if (msg.data.event !== SUBAGENT_UI_RESPONSE) {
        return refuse(
          `ui-event "${msg.data.event.slice(0, 64)}" is not supported (only "${SUBAGENT_UI_RESPONSE}")`,
        );
      }
      return answerSubagent(msg.data.payload, s, refuse);
    case 'ui-snapshot':
    case 'ui-cancel-job-group':
      return refuse(`"${msg.type}" is not supported by this server`);
    default:
      return assertNever(msg);
  }
}

function clientMessage(id: string, t: string, d: unknown, s: RtviSessionInternals): void {
  const respond = (data?: unknown) => s.transport.sendMessage(serverResponseMessage(id, t, data));
  const refuse = (error: string) => s.transport.sendMessage(errorResponseMessage(id, error));
  switch (t) {
    case 'tts-speak': {
      if (s.mode !== 'stream') {
        refuse('tts-speak is only available in stream mode');
        return;
      }
      const raw = (d as { text?: unknown } | null | undefined)?.text;
      // Blanks around the text count nothing: a clip of blanks would be answered queued, never said.
      const text = typeof raw === 'string' ? raw.trim() : '';
      // Empty or non-string texts are silently ignored (seed 002).
      if (!text) {
        respond({ queued: false });
        return;
      }
      if (s.speechQueued >= s.limits.ttsSpeakQueue) {
        // Bounded: a client cannot pile up synthesis (memory, CPU shared with other sessions).
        refuse(
          `tts-speak queue is full (${s.limits.ttsSpeakQueue} texts); try again once earlier texts were spoken`,
        );
        return;
      }
      s.touch();
      const clipped = text.length > TTS_SPEAK_MAX_CHARS ? text.slice(0, TTS_SPEAK_MAX_CHARS) : text;
      s.speechQueued++;
      s.session
        .speak(clipped)
        .catch((err) => s.reportError('tts-speak', err, 'warn'))
        .finally(() => {
          s.speechQueued--;
        });
      respond({ queued: true, length: clipped.length });
      return;
    }
    case 'ping':
      respond({ pong: true });
      return;
    case SUBAGENT_UI_RESPONSE:
      if (answerSubagent(d, s, refuse)) respond({ accepted: true });
      return;
    default:
      refuse(`Unknown client message "${t.slice(0, 64)}"`);
      return;
  }
}

/** Runs a session call whose synchronous validation errors answer the request. */
function runAsync(
  run: () => Promise<unknown>,
  refuse: (error: string) => void,
  s: RtviSessionInternals,
): void {
  let pending: Promise<unknown>;
  try {
    pending = run();
  } catch (err) {
    refuse(isColloquyError(err) ? err.message : String(err));
    return;
  }
  pending.catch((err) => s.reportError('session', err, 'warn'));
}

function assertNever(x: never): never {
  throw new Error(`Unhandled RTVI message ${JSON.stringify(x)}`);
}
