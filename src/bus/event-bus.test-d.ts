import { describe, expectTypeOf, it } from 'vitest';
import { EventBus } from './event-bus.ts';
import type { EventMap, SessionState } from './events.ts';

describe('EventBus types', () => {
  const bus = new EventBus<EventMap>();

  it('narrows the payload by event name', () => {
    bus.subscribe('tool.call', (payload) => {
      expectTypeOf(payload.name).toEqualTypeOf<string>();
      expectTypeOf(payload.agentName).toEqualTypeOf<string>();
      expectTypeOf(payload.args).toEqualTypeOf<unknown>();
    });
    bus.subscribe('session.stateChange', (payload) => {
      expectTypeOf(payload.fromState).toEqualTypeOf<SessionState>();
      expectTypeOf(payload.toState).toEqualTypeOf<SessionState>();
    });
    bus.subscribe('agent.transfer', (payload) => {
      expectTypeOf(payload).toHaveProperty('fromAgent');
      expectTypeOf(payload).toHaveProperty('toAgent');
    });
  });

  it('rejects unknown events and wrong payloads', () => {
    // @ts-expect-error unknown event name
    bus.subscribe('no.such.event', () => {});
    // @ts-expect-error missing message
    bus.publish('gui.notification', { sessionId: 's' });
    bus.publish('gui.notification', { sessionId: 's', message: 'ok' });
  });

  it('subscribeAll gets a discriminated union', () => {
    bus.subscribeAll((event) => {
      if (event.type === 'turn.interrupted') expectTypeOf(event.payload.turnId).toEqualTypeOf<string>();
    });
  });
});
