/**
 * A typed, synchronous publish/subscribe bus. Publishing with no subscribers is a map lookup.
 * Delivery is in publish order for every subscriber: an event published from inside a handler is
 * queued and delivered (still synchronously, before the outer `publish` returns) once the current
 * event has reached all of its subscribers.
 * A handler that throws never reaches the publisher: the error goes to `onHandlerError`
 * (the session turns it into an `error` event and the `onError` hook) and is logged.
 */

import { consoleLogger, type Logger } from '../logger.ts';
import type { BusEvent, EventMap } from './events.ts';

export type Handler<P> = (payload: P) => void;
export type AnyHandler<M> = (event: { [K in keyof M]: { type: K; payload: M[K] } }[keyof M]) => void;
export type Unsubscribe = () => void;

/** One table mapper: an event's payload plus the subscriber's own context. */
export type TableMapper<P, C> = (payload: P, context: C) => void;
/**
 * A projection table: for some event types, what to do with them. A `null` or missing entry is not
 * subscribed. Tables are static (module-level): every subscriber shares the table's functions and
 * brings only its `context`, so subscribing costs one entry however many types the table maps.
 */
export type EventTable<M, C> = { readonly [K in keyof M]?: TableMapper<M[K], C> | null };

interface TableSubscription {
  readonly table: Readonly<Record<PropertyKey, TableMapper<unknown, unknown> | null | undefined>>;
  readonly keys: ReadonlySet<PropertyKey>;
  readonly context: unknown;
}

/** The mapped (non-null) types of each table, computed once per table. */
const tableKeys = new WeakMap<object, ReadonlySet<PropertyKey>>();
function keysOf(table: object): ReadonlySet<PropertyKey> {
  let keys = tableKeys.get(table);
  if (keys === undefined) {
    keys = new Set(
      Object.keys(table).filter((k) => typeof (table as Record<string, unknown>)[k] === 'function'),
    );
    tableKeys.set(table, keys);
  }
  return keys;
}

/** The route of a type no table maps (shared). */
const NO_ROUTE: ReadonlyArray<unknown> = Object.freeze([]);

export interface EventBusOptions {
  logger?: Logger;
  /** Called with the error a handler threw and the event type it was handling. */
  onHandlerError?: (error: unknown, type: string) => void;
}

/**
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { VoiceSession } from 'colloquy';
 *
 * const session = new VoiceSession({ userId: 'u1', agents: [{ name: 'main', instructions: 'Be brief.' }], model: openai('gpt-4.1-mini') });
 * const off = session.eventBus.subscribe('turn.end', (e) => console.log(e.turnId));
 * const counts = new Map<string, number>();
 * session.eventBus.subscribeAll((e) => counts.set(e.type, (counts.get(e.type) ?? 0) + 1));
 * off(); // unsubscribe
 * ```
 */
export class EventBus<M extends object = EventMap> {
  // Arrays are replaced on change (copy-on-write), so publish can iterate without copying.
  private readonly handlers = new Map<keyof M, ReadonlyArray<Handler<any>>>();
  private allHandlers: ReadonlyArray<AnyHandler<M>> = [];
  private tables: ReadonlyArray<TableSubscription> = [];
  /**
   * Per event type, the table mappers it reaches and their contexts (`[mapper, context, …]`), built
   * at a type's first publish and dropped when the tables change: a publish looks its route up once
   * instead of asking every table.
   */
  private routes: Map<keyof M, ReadonlyArray<unknown>> | undefined;
  private readonly logger: Logger;
  private onHandlerError: ((error: unknown, type: string) => void) | undefined;
  private reporting = false;
  private dispatching = false;
  private readonly queue: Array<[keyof M, unknown]> = [];

  constructor(options: EventBusOptions = {}) {
    this.logger = options.logger ?? consoleLogger;
    this.onHandlerError = options.onHandlerError;
  }

  setHandlerErrorListener(listener: ((error: unknown, type: string) => void) | undefined): void {
    this.onHandlerError = listener;
  }

  subscribe<K extends keyof M>(type: K, handler: Handler<M[K]>): Unsubscribe {
    const list = this.handlers.get(type) ?? [];
    this.handlers.set(type, [...list, handler]);
    return () => {
      const current = this.handlers.get(type);
      if (!current) return;
      const next = current.filter((h) => h !== handler);
      if (next.length) this.handlers.set(type, next);
      else this.handlers.delete(type);
    };
  }

  /** Subscribe once: the handler is removed before it runs. */
  once<K extends keyof M>(type: K, handler: Handler<M[K]>): Unsubscribe {
    const off = this.subscribe(type, (payload) => {
      off();
      handler(payload);
    });
    return off;
  }

  /** Observe every event (what projections use). */
  subscribeAll(handler: AnyHandler<M>): Unsubscribe {
    this.allHandlers = [...this.allHandlers, handler];
    return () => {
      this.allHandlers = this.allHandlers.filter((h) => h !== handler);
    };
  }

  /**
   * Subscribe a projection table with its context: each published event whose type the table maps
   * calls `table[type](payload, context)`. Delivered after the per-type handlers of that event, in
   * table subscription order, before `subscribeAll` observers.
   */
  subscribeTable<C>(table: EventTable<M, C>, context: C): Unsubscribe {
    const entry: TableSubscription = {
      table: table as TableSubscription['table'],
      keys: keysOf(table),
      context,
    };
    this.tables = [...this.tables, entry];
    this.routes = undefined;
    return () => {
      this.tables = this.tables.filter((t) => t !== entry);
      this.routes = undefined;
    };
  }

  /**
   * Removes the subscription of `table` with `context` (what calling the function `subscribeTable`
   * returned does), for owners that would rather not keep that function: one per session adds up.
   */
  unsubscribeTable<C>(table: EventTable<M, C>, context: C): void {
    this.tables = this.tables.filter((t) => t.table !== table || t.context !== context);
    this.routes = undefined;
  }

  /** True when publishing `type` would reach someone; lets producers skip building payloads. */
  hasSubscribers(type: keyof M): boolean {
    return this.allHandlers.length > 0 || this.handlers.has(type) || this.route(type).length > 0;
  }

  /** The table mappers `type` reaches, with their contexts, in table subscription order. */
  private route(type: keyof M): ReadonlyArray<unknown> {
    if (this.routes === undefined) this.routes = new Map();
    let route = this.routes.get(type);
    if (route === undefined) {
      const found: unknown[] = [];
      for (const t of this.tables) if (t.keys.has(type)) found.push(t.table[type], t.context);
      route = found.length > 0 ? found : NO_ROUTE;
      this.routes.set(type, route);
    }
    return route;
  }

  publish<K extends keyof M>(type: K, payload: M[K]): void {
    if (this.allHandlers.length === 0 && !this.handlers.has(type) && this.route(type).length === 0) return;
    if (this.dispatching) {
      this.queue.push([type, payload]);
      return;
    }
    this.dispatching = true;
    try {
      this.dispatch(type, payload);
      for (let i = 0; i < this.queue.length; i++) {
        const [t, p] = this.queue[i];
        this.dispatch(t, p as M[typeof t]);
      }
    } finally {
      this.queue.length = 0;
      this.dispatching = false;
    }
  }

  private dispatch<K extends keyof M>(type: K, payload: M[K]): void {
    const list = this.handlers.get(type);
    const all = this.allHandlers;
    const route = this.route(type);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        try {
          list[i](payload);
        } catch (error) {
          this.report(error, type as string);
        }
      }
    }
    for (let i = 0; i < route.length; i += 2) {
      try {
        (route[i] as TableMapper<unknown, unknown>)(payload, route[i + 1]);
      } catch (error) {
        this.report(error, type as string);
      }
    }
    if (all.length > 0) {
      const event = { type, payload } as unknown as Parameters<AnyHandler<M>>[0];
      for (let i = 0; i < all.length; i++) {
        try {
          all[i](event);
        } catch (error) {
          this.report(error, type as string);
        }
      }
    }
  }

  /** Remove every subscriber. */
  clear(): void {
    this.handlers.clear();
    this.allHandlers = [];
    this.tables = [];
    this.routes = undefined;
  }

  private report(error: unknown, type: string): void {
    this.logger.error(`event handler for "${type}" threw`, error);
    // An error listener that itself throws, or a failing `error` handler, must not recurse.
    if (this.reporting || !this.onHandlerError || type === 'error') return;
    this.reporting = true;
    try {
      this.onHandlerError(error, type);
    } catch (inner) {
      this.logger.error('handler error listener threw', inner);
    } finally {
      this.reporting = false;
    }
  }
}

export type SessionEventBus = EventBus<EventMap>;
export type { BusEvent };
