/** Records every bus event in order, for tests that assert event order and payloads. */
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { BusEvent, EventMap, EventType } from '../bus/events.ts';

/**
 * Every event of a session's bus, in order: `types()`, `payloads(type)`, `first(type)`, `waitFor(type)`.
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { EventRecorder, mockLanguageModel } from 'colloquy/testing';
 * import { expect, it } from 'vitest';
 *
 * it('answers in one turn', async () => {
 *   const session = new VoiceSession({ userId: 'u1', model: mockLanguageModel(['Hello!']), agents: [{ name: 'main', instructions: 'Greet.' }] });
 *   const events = new EventRecorder(session.eventBus);
 *   await session.sendText('Hi');
 *   expect(events.types(['turn.start', 'turn.end'])).toEqual(['turn.start', 'turn.end']);
 *   const { turnId } = await events.waitFor('turn.end');
 *   events.dispose();
 *   await session.close();
 * });
 * ```
 */
export class EventRecorder {
  readonly events: BusEvent[] = [];
  private readonly off: () => void;

  constructor(bus: SessionEventBus) {
    this.off = bus.subscribeAll((e) => {
      this.events.push(e);
    });
  }

  /** Event types in order, optionally only those matching a prefix or list. */
  types(filter?: string | string[]): string[] {
    return this.events.map((e) => e.type).filter((t) => match(t, filter));
  }

  /** Payloads of one event type, in order. */
  payloads<K extends EventType>(type: K): EventMap[K][] {
    return this.events.filter((e) => e.type === type).map((e) => e.payload as EventMap[K]);
  }

  first<K extends EventType>(type: K): EventMap[K] | undefined {
    return this.payloads(type)[0];
  }

  /** Resolves when an event of `type` (matching `predicate`) has been recorded. */
  waitFor<K extends EventType>(
    type: K,
    predicate: (p: EventMap[K]) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<EventMap[K]> {
    const found = this.payloads(type).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`Timed out waiting for ${type}; saw: ${this.types().join(', ')}`));
      }, timeoutMs);
      const poll = setInterval(() => {
        const hit = this.payloads(type).find(predicate);
        if (hit) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(hit);
        }
      }, 2);
    });
  }

  clear(): void {
    this.events.length = 0;
  }

  dispose(): void {
    this.off();
  }
}

function match(type: string, filter?: string | string[]): boolean {
  if (filter === undefined) return true;
  if (Array.isArray(filter)) return filter.includes(type);
  return type.startsWith(filter);
}
