/**
 * The seed 001 EventEmitter projection: bus events in, `VoiceAgent` / `VideoAgent` events out,
 * through `AGENT_EVENT_TABLE`. Only mapped event types are subscribed. Payloads are built from the
 * bus payload alone, and only when the agent has a listener for the event (`wants`): an agent
 * nobody listens to for `audio_chunk` never base64-encodes its audio, nor builds a
 * `chunk:text_delta` per token. The only state is which turns queued speech (a `speech_interrupted`
 * is only emitted when something was being said or waiting to be said); it is kept whether or not
 * anyone listens. `error` is always emitted (the agent logs it when nobody listens).
 */
import type { EventBus, EventTable, Unsubscribe } from '../../bus/event-bus.ts';
import type { EventMap, InterruptReason } from '../../bus/events.ts';
import { base64Of } from '../native-protocol/server-messages.ts';
import type {
  AgentEventMap,
  SubagentUiCancelEvent,
  SubagentUiRequestEvent,
  VideoAgentConfig,
} from './options.ts';

export type Emit = <K extends keyof AgentEventMap>(name: K, ...args: AgentEventMap[K]) => void;

interface Context {
  emit: Emit;
  /** Whether anyone listens for the event (checked before its payload is built). */
  wants: (name: keyof AgentEventMap) => boolean;
  reasonFor: (reason: InterruptReason) => string;
  /** Turns that queued at least one speech chunk (created at the first). */
  speaking: Set<string> | undefined;
}

export const AGENT_EVENT_TABLE: EventTable<EventMap, Context> = {
  'user.text': (p, c) => {
    if (c.wants('text'))
      c.emit('text', { role: 'user', text: p.text, ...(p.hasImage ? { hasImage: true } : {}) });
  },
  'llm.text.delta': (p, c) => {
    if (c.wants('chunk:text_delta')) c.emit('chunk:text_delta', { id: p.id, text: p.text });
  },
  'llm.reasoning.delta': (p, c) => {
    if (c.wants('chunk:reasoning_delta')) c.emit('chunk:reasoning_delta', { id: p.id, text: p.text });
  },
  'tool.call': (p, c) => {
    if (c.wants('chunk:tool_call'))
      c.emit('chunk:tool_call', { toolName: p.name, toolCallId: p.id, input: p.args });
  },
  'tool.result': (p, c) => {
    if (p.status === 'cancelled' || !c.wants('tool_result')) return;
    c.emit('tool_result', { name: p.name ?? '', toolCallId: p.toolCallId, result: p.result });
  },
  'speech.chunk.queued': (p, c) => {
    if (c.speaking === undefined) c.speaking = new Set();
    c.speaking.add(p.turnId);
    if (c.wants('speech_chunk_queued')) c.emit('speech_chunk_queued', { id: p.chunkId, text: p.text });
  },
  'speech.start': (p, c) => {
    if (c.wants('speech_start')) c.emit('speech_start', { streaming: p.streaming });
  },
  'speech.chunk': (p, c) => {
    if (!c.wants('audio_chunk')) return;
    c.emit('audio_chunk', {
      chunkId: p.chunkId,
      data: base64Of(p.audio),
      format: p.format,
      text: p.text,
      uint8Array: p.audio,
    });
  },
  'speech.complete': (p, c) => {
    if (c.wants('speech_complete')) c.emit('speech_complete', { streaming: p.streaming });
  },
  'speech.interrupted': (p, c) => {
    if (!c.speaking?.delete(p.turnId) || !c.wants('speech_interrupted')) return;
    c.emit('speech_interrupted', { reason: c.reasonFor(p.reason) });
  },
  'speech.full': (p, c) => {
    if (c.wants('audio')) c.emit('audio', { data: base64Of(p.audio), format: p.format, uint8Array: p.audio });
  },
  'assistant.text': (p, c) => {
    // seed 001: the assistant's full response, once it completed (after speech_complete).
    if (!p.interrupted && c.wants('text')) c.emit('text', { role: 'assistant', text: p.text });
  },
  'turn.end': (p, c) => {
    c.speaking?.delete(p.turnId);
  },
  'turn.interrupted': (p, c) => {
    c.speaking?.delete(p.turnId);
  },
  'transcription.final': (p, c) => {
    if (c.wants('transcription'))
      c.emit('transcription', { text: p.text, ...(p.language ? { language: p.language } : {}) });
  },
  'audio.received': (p, c) => {
    if (c.wants('audio_received')) c.emit('audio_received', { size: p.size });
  },
  'history.cleared': (_p, c) => {
    if (c.wants('history_cleared')) c.emit('history_cleared');
  },
  'history.trimmed': (p, c) => {
    if (c.wants('history_trimmed'))
      c.emit('history_trimmed', { removedCount: p.removedCount, reason: p.reason });
  },
  'transport.connected': (_p, c) => {
    if (c.wants('connected')) c.emit('connected');
  },
  'transport.disconnected': (_p, c) => {
    if (c.wants('disconnected')) c.emit('disconnected');
  },
  'video.frame': (p, c) => {
    if (!c.wants('frame_received')) return;
    c.emit('frame_received', {
      sequence: p.sequence,
      timestamp: p.timestamp,
      triggerReason: p.triggerReason,
      size: p.size,
      dimensions: p.dimensions,
    });
  },
  'video.frame.requested': (p, c) => {
    if (c.wants('frame_requested')) c.emit('frame_requested', { reason: p.reason });
  },
  'client.ready': (p, c) => {
    if (c.wants('client_ready')) c.emit('client_ready', p.capabilities);
  },
  'client.event': (p, c) => {
    if (!c.wants('client_event')) return;
    c.emit('client_event', {
      topic: p.topic,
      payload: p.payload,
      ...(p.toolCallId ? { toolCallId: p.toolCallId } : {}),
    });
  },
  'gui.update': (p, c) => {
    if (c.wants('gui_update')) c.emit('gui_update', { data: p.data });
  },
  'gui.notification': (p, c) => {
    if (c.wants('gui_notification')) c.emit('gui_notification', { message: p.message });
  },
  'subagent.ui.send': (p, c) => {
    const { type, ...fields } = p.payload;
    if (type === 'request') {
      if (c.wants('subagent_ui_request')) c.emit('subagent_ui_request', fields as SubagentUiRequestEvent);
    } else if (c.wants('subagent_ui_cancel')) c.emit('subagent_ui_cancel', fields as SubagentUiCancelEvent);
  },
  'config.changed': (p, c) => {
    if (c.wants('config_changed')) c.emit('config_changed', p.config as VideoAgentConfig);
  },
  error: (p, c) => c.emit('error', p.error),
  warning: (p, c) => {
    if (c.wants('warning')) c.emit('warning', p.message);
  },
};

/** Subscribes the table to a bus; returns the unsubscribe. */
export function projectAgentEvents(
  bus: EventBus<EventMap>,
  emit: Emit,
  reasonFor: (reason: InterruptReason) => string,
  wants: (name: keyof AgentEventMap) => boolean,
): Unsubscribe {
  return bus.subscribeTable(AGENT_EVENT_TABLE, { emit, reasonFor, wants, speaking: undefined });
}
