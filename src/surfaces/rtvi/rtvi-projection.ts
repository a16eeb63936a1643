/**
 * The RTVI projection: bus events in, RTVI server messages out (seed 002), through `RTVI_TABLE`.
 *
 * Only the event types with a mapping are subscribed (per type, not `subscribeAll`), so producers of
 * per-frame events (`audio.level`, `speech.chunk`) still see "no subscriber" and skip building payloads.
 */
import type { EventBus, EventTable, TableMapper, Unsubscribe } from '../../bus/event-bus.ts';
import type { EventMap, EventType } from '../../bus/events.ts';
import type { ClientChannels } from '../../session/client-channels.ts';
import { botReadyMessage, RTVI_PROTOCOL_VERSION, type RtviServerMessage, serverMessage } from './messages.ts';
import { type Emit, flushHeld, type Mapper, RTVI_TABLE, RtviState } from './rtvi-table.ts';

export interface RtviProjectionOptions {
  /** Where RTVI messages go (the transport serialises them). */
  send: (message: RtviServerMessage) => void;
  /** `false` turns every event projection off (`bot-ready` itself still answers `client-ready`). Default true. */
  enabled?: boolean;
  /** `user_id` of transcriptions; defaults to the `userId` of `session.start`. */
  userId?: string;
  /** Name of the tool that hands the conversation to another agent: its stopped message waits for `agent.transfer`. */
  transferToolName?: string;
  /** Also send Pipecat's `user-audio-level` / `bot-audio-level` (client-js 1.13.1 ignores them). Default false. */
  audioLevels?: boolean;
  /**
   * The session's client channels: while enabled, the projection registers as `rtvi` (client events
   * and GUI events reach the client) until `dispose`.
   */
  channels?: ClientChannels;
}

/** Events that are projected only when asked for. */
const OPT_IN: ReadonlySet<EventType> = new Set<EventType>(['audio.level']);

/** `RTVI_TABLE` as a bus table (built once; every projection shares it and brings only itself). */
function busTable(withOptIn: boolean): EventTable<EventMap, RtviProjection> {
  const table: Record<string, TableMapper<never, RtviProjection>> = {};
  for (const type of Object.keys(RTVI_TABLE) as EventType[]) {
    const mapper = RTVI_TABLE[type] as Mapper<EventType> | null;
    if (mapper === null || (OPT_IN.has(type) && !withOptIn)) continue;
    table[type] = (payload: EventMap[EventType], projection: RtviProjection) =>
      mapper(payload, projection.send, projection.state);
  }
  return table as EventTable<EventMap, RtviProjection>;
}
const BUS_TABLE = busTable(false);
const BUS_TABLE_WITH_LEVELS = busTable(true);

/**
 * Projects one session's bus onto RTVI messages. Create it when the RTVI client connects, call
 * `botReady` when its `client-ready` arrives, `dispose` when the connection ends.
 */
export class RtviProjection {
  readonly enabled: boolean;
  /** @internal (read by the shared bus table) */
  readonly state: RtviState;
  /** @internal (read by the shared bus table) */
  readonly send: Emit;
  private readonly unsubscribes: Unsubscribe[] = [];

  constructor(bus: EventBus<EventMap>, options: RtviProjectionOptions) {
    this.enabled = options.enabled ?? true;
    this.send = options.send;
    this.state = new RtviState(options.userId ?? '', options.transferToolName);
    if (!this.enabled) return;
    if (options.channels) {
      this.unsubscribes.push(
        options.channels.register({ name: 'rtvi', kinds: ['client.event', 'gui', 'ui.request'] }),
      );
    }
    this.unsubscribes.push(bus.subscribeTable(options.audioLevels ? BUS_TABLE_WITH_LEVELS : BUS_TABLE, this));
  }

  /** Maps one event (what the bus subscriptions call). */
  project<K extends EventType>(type: K, payload: EventMap[K]): void {
    if (!this.enabled) return;
    const mapper = RTVI_TABLE[type] as Mapper<K> | null;
    if (mapper) mapper(payload, this.send, this.state);
  }

  /**
   * Answers `client-ready`: the RTVI `bot-ready` (always: without it the client waits forever) and,
   * when projection is enabled, the seed's custom `bot-ready` server message.
   */
  botReady(requestId: string | undefined, about?: unknown): void {
    this.send(botReadyMessage(requestId, about));
    if (this.enabled) {
      const data: { version: string; about?: unknown } = { version: RTVI_PROTOCOL_VERSION };
      if (about !== undefined) data.about = about;
      this.send(serverMessage('bot-ready', data));
    }
  }

  /** Stops projecting; a transfer stop still waiting for its target is sent with `transition_to: null`. */
  dispose(): void {
    for (const off of this.unsubscribes.splice(0)) off();
    if (this.enabled) flushHeld(this.send, this.state);
  }
}
