/**
 * The native WebSocket projection: bus events in, server → client messages out (seed 001 wire
 * protocol, `docs/websocket-protocol.md`), through `NATIVE_TABLE`. It only subscribes to the event
 * types it maps, and keeps per-turn state only to build `response_complete` and to bracket speech.
 */
import { TRANSFER_TOOL_NAME } from '../../agents/transfer.ts';
import type { EventBus, EventTable, Unsubscribe } from '../../bus/event-bus.ts';
import type { EventMap, InterruptReason } from '../../bus/events.ts';
import type { ClientChannels } from '../../session/client-channels.ts';
import { clientErrorText, clientToolResult } from '../client-safe.ts';
import {
  serverMessages as m,
  type ResponseCompleteFields,
  type ServerMessage,
  type ServerMessageOf,
} from './server-messages.ts';

export interface NativeProjectionOptions {
  /** Where messages go (the socket); `onWritten` runs once the socket accepted the message. */
  send: (message: ServerMessage, onWritten?: () => void) => void;
  /** Answer to `client.ready` (the `session_init` message). */
  sessionInit: () => ServerMessageOf<'session_init'>;
  /** Extra `response_complete` fields (VideoAgent: `sessionId`, `frameContext`). */
  responseExtras?: () => Partial<ResponseCompleteFields>;
  /** The reason to report for an interruption (a client's own `interrupt` reason replaces the bus one). */
  reasonFor?: (reason: InterruptReason) => string;
  /** The session's client channels: the projection registers as `websocket` until `dispose`. */
  channels?: ClientChannels;
}

/** Components whose `error` events already reached the client another way (or must not). */
const NOT_FORWARDED = new Set(['llm', 'event-bus', 'input', 'tts', 'stt']);

interface TurnState {
  text: string;
  reasoning: string;
  toolCalls: ResponseCompleteFields['toolCalls'];
  toolResults: ResponseCompleteFields['toolResults'];
  sources: unknown[];
  streamStarted: boolean;
  completeSent: boolean;
  /** Between `speech_stream_start` and `speech_stream_end`. */
  speechOpen: boolean;
  /** Chunks queued for speech (a `speech_interrupted` is only sent when something was to be said). */
  speechQueued: boolean;
  /** The LLM pass under way asked for a transfer: another agent goes on with this response. */
  transferAsked: boolean;
  /** The `stream_finish` of a pass that ended with a transfer, held until the response ends. */
  heldFinish: { finishReason: string; usage: ResponseUsage } | undefined;
}

type ResponseUsage = ServerMessageOf<'stream_finish'>['usage'];

type Table = EventTable<EventMap, NativeProjection>;

const NATIVE_TABLE: Table = {
  'llm.start': (p, x) => {
    const t = x.turn(p.turnId);
    if (t.streamStarted) {
      // The next agent's pass after a transfer: the same response goes on, still open.
      t.transferAsked = false;
      t.heldFinish = undefined;
      return;
    }
    t.streamStarted = true;
    x.send(m.streamStart({ turnId: p.turnId }));
  },
  'llm.step.start': (p, x) => x.send(m.stepStart({ turnId: p.turnId, warnings: [] })),
  'llm.text.start': (p, x) => x.send(m.textStart({ turnId: p.turnId, id: p.id })),
  'llm.text.delta': (p, x) => {
    const t = x.turn(p.turnId);
    const first = t.text === '';
    t.text += p.text;
    const message = m.textDelta({ turnId: p.turnId, id: p.id, text: p.text });
    // The first text of a turn is timed (the latency of a turn without speech ends on its arrival).
    const channels = x.options.channels;
    if (first && channels) {
      channels.outputSent(p.turnId, 'handed');
      x.options.send(message, () => channels.outputSent(p.turnId, 'written'));
    } else x.send(message);
  },
  'llm.text.end': (p, x) => x.send(m.textEnd({ turnId: p.turnId, id: p.id })),
  'llm.reasoning.start': (p, x) => x.send(m.reasoningStart({ turnId: p.turnId, id: p.id })),
  'llm.reasoning.delta': (p, x) => {
    x.turn(p.turnId).reasoning += p.text;
    x.send(m.reasoningDelta({ turnId: p.turnId, id: p.id, text: p.text }));
  },
  'llm.reasoning.end': (p, x) => x.send(m.reasoningEnd({ turnId: p.turnId, id: p.id })),
  'llm.tool-input.start': (p, x) =>
    x.send(m.toolInputStart({ turnId: p.turnId, id: p.id, toolName: p.toolName })),
  'llm.tool-input.delta': (p, x) => x.send(m.toolInputDelta({ turnId: p.turnId, id: p.id, delta: p.delta })),
  'llm.tool-input.end': (p, x) => x.send(m.toolInputEnd({ turnId: p.turnId, id: p.id })),
  'tool.call': (p, x) => {
    const call = { toolName: p.name, toolCallId: p.id, input: p.args };
    if (p.turnId !== undefined) x.turn(p.turnId).toolCalls.push(call);
    x.send(m.toolCall({ turnId: p.turnId, ...call }));
  },
  'tool.result': (p, x) => {
    if (p.status === 'cancelled') return;
    const toolName = p.name ?? '';
    if (p.turnId !== undefined) {
      const t = x.turn(p.turnId);
      t.toolResults.push({ toolName, toolCallId: p.toolCallId, output: p.result });
      if (p.status === 'success' && toolName === TRANSFER_TOOL_NAME) t.transferAsked = true;
    }
    // Bounded and redacted for the client: no upstream error bodies, no oversized results.
    const result = clientToolResult(p.status, p.result, p.error);
    if (p.status === 'success') {
      x.send(m.toolResult({ turnId: p.turnId, toolName, toolCallId: p.toolCallId, result }));
    } else {
      const error = (result as { error: string }).error;
      x.send(m.toolError({ turnId: p.turnId, toolName, toolCallId: p.toolCallId, error }));
    }
  },
  'llm.search-response': (p, x) => {
    x.turn(p.turnId).sources.push(p.response);
    x.send(m.source({ turnId: p.turnId, source: p.response }));
  },
  'llm.step.finish': (p, x) =>
    x.send(m.stepFinish({ turnId: p.turnId, finishReason: p.finishReason, usage: p.usage })),
  'llm.end': (p, x) => {
    switch (p.outcome) {
      case 'finish': {
        const finish = { finishReason: p.finishReason ?? 'stop', usage: p.usage ?? {} };
        const t = x.turn(p.turnId);
        // A pass that handed the user to another agent: that agent's pass continues the response
        // (one stream_start, one stream_finish, one response_complete with all of its text).
        if (t.transferAsked) {
          t.heldFinish = finish;
          return;
        }
        x.send(m.streamFinish({ turnId: p.turnId, ...finish }));
        x.complete(p.turnId);
        return;
      }
      case 'error':
        x.send(
          m.streamError({
            turnId: p.turnId,
            error: p.error ? clientErrorText('llm', p.error) : 'The model failed',
          }),
        );
        x.complete(p.turnId);
        return;
      case 'abort':
        x.send(m.streamAbort({ turnId: p.turnId, reason: x.reason(p.reason ?? 'interrupted') }));
        return;
    }
  },
  'assistant.text': (p, x) => {
    if (!p.interrupted) {
      // A transfer that was not carried out (too many in one turn): the response ends here.
      const held = x.known(p.turnId)?.heldFinish;
      if (held) {
        x.send(m.streamFinish({ turnId: p.turnId, ...held }));
        x.complete(p.turnId);
      }
      return;
    }
    // Cut between a transfer's pass and the next agent's: no LLM stream runs to be aborted, and the
    // finish held for the next pass will not come; the client's stream still ends, aborted.
    const held = x.known(p.turnId)?.heldFinish;
    if (held) x.send(m.streamAbort({ turnId: p.turnId, reason: x.reason('interrupted') }));
    x.complete(p.turnId, { interrupted: true, spokenText: p.text });
    const t = x.turn(p.turnId);
    if (t.speechOpen) {
      t.speechOpen = false;
      x.send(m.speechStreamEnd({ turnId: p.turnId }));
    }
  },
  'turn.end': (p, x) => x.forget(p.turnId),
  'turn.interrupted': (p, x) => x.forget(p.turnId),
  'speech.chunk.queued': (p, x) => {
    x.turn(p.turnId).speechQueued = true;
  },
  'speech.start': (p, x) => {
    if (!p.streaming) return;
    x.turn(p.turnId).speechOpen = true;
    x.send(m.speechStreamStart({ turnId: p.turnId }));
  },
  'speech.chunk': (p, x) =>
    x.send(
      m.audioChunk({
        turnId: p.turnId,
        chunkId: p.chunkId,
        audio: p.audio,
        format: p.format,
        text: p.text,
        ...(p.sampleRate !== undefined ? { sampleRate: p.sampleRate } : {}),
      }),
    ),
  'speech.complete': (p, x) => {
    if (!p.streaming) return;
    const t = x.turn(p.turnId);
    if (!t.speechOpen) return;
    t.speechOpen = false;
    x.send(m.speechStreamEnd({ turnId: p.turnId }));
  },
  'speech.interrupted': (p, x) => {
    if (!x.turn(p.turnId).speechQueued) return;
    x.send(m.speechInterrupted({ turnId: p.turnId, reason: x.reason(p.reason), heardText: p.heardText }));
  },
  'speech.chunk.error': (p, x) => x.send(m.error(p.error)),
  'speech.full': (p, x) =>
    x.send(
      m.audio({
        audio: p.audio,
        format: p.format,
        ...(p.sampleRate !== undefined ? { sampleRate: p.sampleRate } : {}),
      }),
    ),
  'transcription.final': (p, x) =>
    x.send(m.transcriptionResult({ text: p.text, ...(p.language ? { language: p.language } : {}) })),
  'transcription.interim': (p, x) => x.send(m.transcriptionInterim(p.text)),
  'transcription.error': (p, x) => x.send(m.transcriptionError(p.error)),
  'user.speech.start': (p, x) => x.send(m.userSpeechStart(p.at)),
  'user.speech.stop': (p, x) => x.send(m.userSpeechStop(p.durationMs, p.at)),
  'video.frame': (p, x) => x.send(m.frameAck(p.sequence)),
  'video.frame.requested': (p, x) => x.send(m.captureFrame(p.reason)),
  'client.ready': (_p, x) => x.send(x.options.sessionInit()),
  'client.event': (p, x) =>
    x.send(
      m.clientEvent({
        topic: p.topic,
        payload: p.payload,
        ...(p.toolCallId ? { toolCallId: p.toolCallId } : {}),
        ...(p.turnId ? { turnId: p.turnId } : {}),
      }),
    ),
  'gui.update': (p, x) => x.send(m.guiUpdate({ data: p.data, ...(p.turnId ? { turnId: p.turnId } : {}) })),
  'gui.notification': (p, x) =>
    x.send(m.guiNotification({ message: p.message, ...(p.turnId ? { turnId: p.turnId } : {}) })),
  'subagent.ui.send': (p, x) => x.send(m.subagentUi(p.payload)),
  error: (p, x) => {
    if (p.severity !== 'fatal' && (NOT_FORWARDED.has(p.component) || p.component.startsWith('tool:'))) return;
    x.send(m.error(p.error));
  },
};

/** Projects one session's bus onto one socket. Create it when the socket attaches; `dispose` on close. */
export class NativeProjection {
  readonly options: NativeProjectionOptions;
  private readonly turns = new Map<string, TurnState>();
  private readonly unsubscribes: Unsubscribe[] = [];

  constructor(bus: EventBus<EventMap>, options: NativeProjectionOptions) {
    this.options = options;
    if (options.channels) {
      this.unsubscribes.push(
        options.channels.register({ name: 'websocket', kinds: ['client.event', 'gui', 'ui.request'] }),
      );
    }
    this.unsubscribes.push(bus.subscribeTable(NATIVE_TABLE, this));
  }

  send(message: ServerMessage): void {
    this.options.send(message);
  }

  turn(turnId: string): TurnState {
    let t = this.turns.get(turnId);
    if (t === undefined) {
      t = {
        text: '',
        reasoning: '',
        toolCalls: [],
        toolResults: [],
        sources: [],
        streamStarted: false,
        completeSent: false,
        speechOpen: false,
        speechQueued: false,
        transferAsked: false,
        heldFinish: undefined,
      };
      this.turns.set(turnId, t);
    }
    return t;
  }

  /** The turn's state, if it has any yet. */
  known(turnId: string): TurnState | undefined {
    return this.turns.get(turnId);
  }

  forget(turnId: string): void {
    this.turns.delete(turnId);
  }

  reason(reason: InterruptReason): string {
    return this.options.reasonFor?.(reason) ?? reason;
  }

  /** Sends the turn's `response_complete` once (only for a turn whose LLM stream started). */
  complete(turnId: string, extra: Partial<ResponseCompleteFields> = {}): void {
    const t = this.turn(turnId);
    if (!t.streamStarted || t.completeSent) return;
    t.completeSent = true;
    this.send(
      m.responseComplete({
        turnId,
        text: t.text,
        ...(t.reasoning ? { reasoning: t.reasoning } : {}),
        toolCalls: t.toolCalls,
        toolResults: t.toolResults,
        ...(t.sources.length > 0 ? { sources: t.sources } : {}),
        ...(this.options.responseExtras?.() ?? {}),
        ...extra,
      }),
    );
  }

  dispose(): void {
    for (const off of this.unsubscribes.splice(0)) off();
    this.turns.clear();
  }
}
