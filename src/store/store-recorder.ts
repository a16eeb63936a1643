/**
 * The store's projection of one session's bus: session start/close and agent changes, the
 * transcript (what the user said, what the assistant said and what of it the user heard, who
 * answered, interruptions), tool calls with their results and compaction summaries become
 * `StoreWrite`s on the server's `StoreWriter`. Handlers only enqueue: nothing here waits on the
 * database.
 */
import type { ModelMessage } from 'ai';
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { StoreWriter } from './store-writer.ts';
import type { TranscriptEntry } from './types.ts';

export interface RecordSessionOptions {
  /** Transport name stored with the session (default 'local'). */
  transport?: string;
  mode?: 'agent' | 'stream';
  /** The conversation as the model sees it, stored when the session closes. */
  history?: () => ModelMessage[];
  /** Clock (default `Date.now`). */
  now?: () => number;
}

/**
 * Record `bus`'s session into the store through `writer`. Returns the unsubscribe function.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { openSessionStore, recordSession, StoreWriter, VoiceSession } from 'colloquy';
 *
 * const writer = new StoreWriter(openSessionStore({ kind: 'memory' }));
 * const session = new VoiceSession({ userId: 'u1', model: openai('gpt-4.1-mini'), agents: [{ name: 'main', instructions: 'Be brief.' }] });
 * // transcript, tool calls and history are stored as the session runs
 * const stop = recordSession(session.eventBus, writer, { transport: 'websocket', history: () => session.history });
 * ```
 */
export function recordSession(
  bus: SessionEventBus,
  writer: StoreWriter,
  options: RecordSessionOptions = {},
): () => void {
  const now = options.now ?? Date.now;
  let opened = false;
  /** What the LLM said in each running turn (its text deltas, in order). */
  const said = new Map<string, string>();
  /** An interrupted assistant entry waiting for its `turn.interrupted` (which names the reason). */
  let held: TranscriptEntry | undefined;
  const release = () => {
    if (!held) return;
    writer.enqueue({ type: 'transcript', entry: held });
    held = undefined;
  };

  const offs = [
    bus.subscribe('session.start', (e) => {
      opened = true;
      writer.enqueue({
        type: 'session.open',
        session: {
          id: e.sessionId,
          userId: e.userId,
          transport: options.transport ?? 'local',
          mode: options.mode ?? 'agent',
          agentName: e.agentName,
          startedAt: now(),
        },
      });
    }),
    bus.subscribe('agent.enter', (e) => {
      if (opened)
        writer.enqueue({ type: 'session.agent', sessionId: e.sessionId, agentName: e.agentName, at: now() });
    }),
    bus.subscribe('user.text', (e) => {
      release();
      writer.enqueue({
        type: 'transcript',
        entry: {
          sessionId: e.sessionId,
          turnId: e.turnId,
          role: 'user',
          text: e.text,
          source: e.source,
          interrupted: false,
          at: now(),
        },
      });
    }),
    bus.subscribe('llm.text.delta', (e) => {
      said.set(e.turnId, (said.get(e.turnId) ?? '') + e.text);
    }),
    bus.subscribe('assistant.text', (e) => {
      release();
      const full = said.get(e.turnId);
      said.delete(e.turnId);
      const text = full !== undefined && full.length >= e.text.length ? full : e.text;
      if (!text && !e.interrupted) return;
      const entry: TranscriptEntry = {
        sessionId: e.sessionId,
        turnId: e.turnId,
        role: 'assistant',
        agentName: e.agentName,
        text,
        heardText: e.text,
        interrupted: e.interrupted,
        at: now(),
      };
      if (e.interrupted) held = entry;
      else writer.enqueue({ type: 'transcript', entry });
    }),
    bus.subscribe('turn.interrupted', (e) => {
      if (held && held.turnId === e.turnId && e.reason) held.interruptReason = e.reason;
      release();
    }),
    bus.subscribe('tool.call', (e) => {
      writer.enqueue({
        type: 'tool.call',
        call: {
          sessionId: e.sessionId,
          toolCallId: e.id,
          name: e.name,
          agentName: e.agentName,
          ...(e.turnId ? { turnId: e.turnId } : {}),
          ...(e.execution ? { execution: e.execution } : {}),
          args: e.args,
          startedAt: now(),
        },
      });
    }),
    bus.subscribe('tool.result', (e) => {
      writer.enqueue({
        type: 'tool.result',
        sessionId: e.sessionId,
        toolCallId: e.toolCallId,
        status: e.status,
        result: e.result,
        ...(e.error ? { errorMessage: e.error.message } : {}),
        ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}),
        at: now(),
      });
    }),
    bus.subscribe('context.compact', (e) => {
      if (e.summary === undefined) return;
      writer.enqueue({
        type: 'summary',
        summary: { sessionId: e.sessionId, removedItems: e.removedItems, summary: e.summary, at: now() },
      });
    }),
    bus.subscribe('session.close', (e) => {
      release();
      said.clear();
      if (!opened) return;
      const at = now();
      if (options.history)
        writer.enqueue({ type: 'session.history', sessionId: e.sessionId, history: options.history(), at });
      writer.enqueue({ type: 'session.close', sessionId: e.sessionId, reason: e.reason, at });
    }),
  ];
  return () => {
    release();
    for (const off of offs) off();
  };
}
