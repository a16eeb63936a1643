/**
 * Client channels: which connected clients can receive what, right now.
 *
 * A projection that delivers to a client (the RTVI projection, the native WebSocket projection, a
 * LiveKit data channel, ...) registers itself here while its client is connected, naming the kinds
 * of client-bound output it can deliver, and unregisters when the client goes away. Producers ask
 * `canDeliver(kind)` before they claim something reached a client (a `client_event` tool answers the
 * LLM `{delivered: false, reason}` when nobody can receive it).
 *
 * The registry only answers "is anybody there"; delivery itself stays bus-driven: producers publish
 * `client.event`, `gui.update`, `gui.notification`, `subagent.ui.send` on the session bus and each
 * registered projection maps them onto its own wire protocol.
 *
 * ```ts
 * const off = session.clientChannels.register({ name: 'livekit', kinds: ['client.event', 'gui'] });
 * // ... client disconnects:
 * off();
 * ```
 */

/**
 * Kinds of client-bound output:
 * - `client.event`: `client_event` tool payloads (bus `client.event`);
 * - `gui`: `gui.update` / `gui.notification`;
 * - `ui.request`: subagent UI requests (`subagent.ui.send`) the client can answer.
 */
export type ClientChannelKind = 'client.event' | 'gui' | 'ui.request';

export const CLIENT_CHANNEL_KINDS: readonly ClientChannelKind[] = ['client.event', 'gui', 'ui.request'];

export interface ClientChannel {
  /** Short name for diagnostics and the `reason` of undelivered output ('rtvi', 'websocket', ...). */
  readonly name: string;
  /** What this channel delivers to its client while it is registered. */
  readonly kinds: readonly ClientChannelKind[];
}

/** Why output of `kind` could not be delivered (the text a tool returns to the LLM). */
export function undeliverableReason(kind: ClientChannelKind): string {
  switch (kind) {
    case 'client.event':
      return 'No connected client can receive client events';
    case 'gui':
      return 'No connected client can receive GUI updates';
    case 'ui.request':
      return 'No connected client can answer UI requests';
  }
}

/**
 * How far a turn's response text got towards a client: `handed` to the connection's send call, then
 * `written` out of the process (the socket accepted the bytes). The latency of text turns is
 * measured from these reports.
 */
export type ClientOutputStage = 'handed' | 'written';

/**
 * The registry of one session. Cheap: a set of the channels currently connected.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({ userId: 'u1', model: openai('gpt-4.1-mini'), agents: [{ name: 'main', instructions: 'Be brief.' }] });
 * // your own client connection delivers GUI updates and client events while it is open
 * const unregister = session.clientChannels.register({ name: 'my-app', kinds: ['gui', 'client.event'] });
 * console.log(session.clientChannels.canDeliver('gui')); // true
 * unregister(); // the client disconnected
 * ```
 */
export class ClientChannels {
  private readonly channels = new Set<ClientChannel>();
  private outputListener: ((turnId: string, stage: ClientOutputStage) => void) | undefined;

  /**
   * Register a connected channel; returns the function that unregisters it (idempotent). Register
   * when the client connects (or its projection starts), unregister when it disconnects.
   */
  register(channel: ClientChannel): () => void {
    // A private copy, so the caller cannot change what it registered afterwards.
    const entry: ClientChannel = { name: channel.name, kinds: [...channel.kinds] };
    this.channels.add(entry);
    return () => {
      this.channels.delete(entry);
    };
  }

  /** True when at least one connected channel delivers `kind`. */
  canDeliver(kind: ClientChannelKind): boolean {
    for (const c of this.channels) if (c.kinds.includes(kind)) return true;
    return false;
  }

  /** Names of the connected channels that deliver `kind` (all of them without `kind`). */
  names(kind?: ClientChannelKind): string[] {
    const out: string[] = [];
    for (const c of this.channels) if (kind === undefined || c.kinds.includes(kind)) out.push(c.name);
    return out;
  }

  /**
   * A projection reports response text of `turnId` reaching its client (call it for the first text of
   * a turn; later calls for the same turn are ignored by the listener).
   */
  outputSent(turnId: string, stage: ClientOutputStage): void {
    this.outputListener?.(turnId, stage);
  }

  /** The session listens to output reports (one listener; a new one replaces the old). */
  onOutput(listener: ((turnId: string, stage: ClientOutputStage) => void) | undefined): void {
    this.outputListener = listener;
  }

  /** Number of registered channels. */
  get size(): number {
    return this.channels.size;
  }
}
