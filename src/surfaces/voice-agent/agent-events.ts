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

/**
 * A table entry that emits the agent event `name` with the arguments `build` makes from the bus
 * payload: the event is named once, and `build` runs only when someone listens for it.
 */
function route<K extends keyof AgentEventMap, P>(
  name: K,
  build: (p: P) => AgentEventMap[K],
): (p: P, c: Context) => void {
  return (p, c) => {
    if (c.wants(name)) c.emit(name, ...build(p));
  };
}

export const AGENT_EVENT_TABLE: EventTable<EventMap, Context> = {
  'user.text': route('text', (p: EventMap['user.text']) => [
    { role: 'user', text: p.text, ...(p.hasImage ? { hasImage: true } : {}) },
  ]),
  'llm.text.delta': route('chunk:text_delta', (p: EventMap['llm.text.delta']) => [
    { id: p.id, text: p.text },
  ]),
  'llm.reasoning.delta': route('chunk:reasoning_delta', (p: EventMap['llm.reasoning.delta']) => [
    { id: p.id, text: p.text },
  ]),
  'tool.call': route('chunk:tool_call', (p: EventMap['tool.call']) => [
    { toolName: p.name, toolCallId: p.id, input: p.args },
  ]),
  'tool.result': (p, c) => {
    if (p.status === 'cancelled' || !c.wants('tool_result')) return;
    c.emit('tool_result', { name: p.name ?? '', toolCallId: p.toolCallId, result: p.result });
  },
  'speech.chunk.queued': (p, c) => {
    if (c.speaking === undefined) c.speaking = new Set();
    c.speaking.add(p.turnId);
    if (c.wants('speech_chunk_queued')) c.emit('speech_chunk_queued', { id: p.chunkId, text: p.text });
  },
  'speech.start': route('speech_start', (p: EventMap['speech.start']) => [{ streaming: p.streaming }]),
  'speech.chunk': route('audio_chunk', (p: EventMap['speech.chunk']) => [
    { chunkId: p.chunkId, data: base64Of(p.audio), format: p.format, text: p.text, uint8Array: p.audio },
  ]),
  'speech.complete': route('speech_complete', (p: EventMap['speech.complete']) => [
    { streaming: p.streaming },
  ]),
  'speech.interrupted': (p, c) => {
    if (!c.speaking?.delete(p.turnId) || !c.wants('speech_interrupted')) return;
    c.emit('speech_interrupted', { reason: c.reasonFor(p.reason) });
  },
  'speech.full': route('audio', (p: EventMap['speech.full']) => [
    { data: base64Of(p.audio), format: p.format, uint8Array: p.audio },
  ]),
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
  'transcription.final': route('transcription', (p: EventMap['transcription.final']) => [
    { text: p.text, ...(p.language ? { language: p.language } : {}) },
  ]),
  'audio.received': route('audio_received', (p: EventMap['audio.received']) => [{ size: p.size }]),
  'history.cleared': route('history_cleared', () => []),
  'history.trimmed': route('history_trimmed', (p: EventMap['history.trimmed']) => [
    { removedCount: p.removedCount, reason: p.reason },
  ]),
  'transport.connected': route('connected', () => []),
  'transport.disconnected': route('disconnected', () => []),
  'video.frame': route('frame_received', (p: EventMap['video.frame']) => [
    {
      sequence: p.sequence,
      timestamp: p.timestamp,
      triggerReason: p.triggerReason,
      size: p.size,
      dimensions: p.dimensions,
    },
  ]),
  'video.frame.requested': route('frame_requested', (p: EventMap['video.frame.requested']) => [
    { reason: p.reason },
  ]),
  'client.ready': route('client_ready', (p: EventMap['client.ready']) => [p.capabilities]),
  'client.event': route('client_event', (p: EventMap['client.event']) => [
    { topic: p.topic, payload: p.payload, ...(p.toolCallId ? { toolCallId: p.toolCallId } : {}) },
  ]),
  'gui.update': route('gui_update', (p: EventMap['gui.update']) => [{ data: p.data }]),
  'gui.notification': route('gui_notification', (p: EventMap['gui.notification']) => [
    { message: p.message },
  ]),
  'subagent.ui.send': (p, c) => {
    const { type, ...fields } = p.payload;
    if (type === 'request') {
      if (c.wants('subagent_ui_request')) c.emit('subagent_ui_request', fields as SubagentUiRequestEvent);
    } else if (c.wants('subagent_ui_cancel')) c.emit('subagent_ui_cancel', fields as SubagentUiCancelEvent);
  },
  'config.changed': route('config_changed', (p: EventMap['config.changed']) => [
    p.config as VideoAgentConfig,
  ]),
  error: (p, c) => c.emit('error', p.error),
  warning: route('warning', (p: EventMap['warning']) => [p.message]),
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
