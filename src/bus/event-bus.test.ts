import { describe, expect, it, vi } from 'vitest';
import { ColloquyError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { EventBus, type EventTable } from './event-bus.ts';
import type { EventMap } from './events.ts';
import { attachHooks } from './hooks.ts';

const bus = () => new EventBus<EventMap>({ logger: silentLogger });

describe('EventBus', () => {
  it('delivers a published payload to subscribers of that type only', () => {
    const b = bus();
    const seen: unknown[] = [];
    b.subscribe('agent.transfer', (p) => seen.push(p));
    b.subscribe('agent.enter', () => seen.push('wrong'));
    b.publish('agent.transfer', { sessionId: 's', fromAgent: 'a', toAgent: 'b' });
    expect(seen).toEqual([{ sessionId: 's', fromAgent: 'a', toAgent: 'b' }]);
  });

  it('subscribe returns an unsubscribe function', () => {
    const b = bus();
    const h = vi.fn();
    const off = b.subscribe('gui.notification', h);
    b.publish('gui.notification', { sessionId: 's', message: 'one' });
    off();
    b.publish('gui.notification', { sessionId: 's', message: 'two' });
    expect(h).toHaveBeenCalledTimes(1);
    expect(b.hasSubscribers('gui.notification')).toBe(false);
  });

  it('once delivers the first event only, then unsubscribes itself', () => {
    const b = bus();
    const seen: string[] = [];
    b.once('gui.notification', (p) => seen.push(p.message));
    b.publish('gui.notification', { sessionId: 's', message: 'first' });
    b.publish('gui.notification', { sessionId: 's', message: 'second' });
    expect(seen).toEqual(['first']);
    expect(b.hasSubscribers('gui.notification')).toBe(false);
  });

  it('the unsubscribe function once returns removes the handler before any event', () => {
    const b = bus();
    const h = vi.fn();
    const off = b.once('gui.notification', h);
    off();
    b.publish('gui.notification', { sessionId: 's', message: 'never' });
    expect(h).not.toHaveBeenCalled();
    expect(b.hasSubscribers('gui.notification')).toBe(false);
  });

  it('the subscribeAll unsubscribe stops delivery to that observer only', () => {
    const b = bus();
    const first: string[] = [];
    const second: string[] = [];
    const off = b.subscribeAll((e) => first.push(e.type));
    b.subscribeAll((e) => second.push(e.type));
    b.publish('turn.start', { sessionId: 's', turnId: 't1' });
    off();
    b.publish('turn.end', { sessionId: 's', turnId: 't1' });
    expect(first).toEqual(['turn.start']);
    expect(second).toEqual(['turn.start', 'turn.end']);
  });

  it('after the last subscribeAll observer leaves, an unobserved type has no subscribers', () => {
    const b = bus();
    const off = b.subscribeAll(() => {});
    expect(b.hasSubscribers('turn.start')).toBe(true);
    off();
    expect(b.hasSubscribers('turn.start')).toBe(false);
  });

  it('subscribeTable: a static table plus a per-subscriber context; null entries are not subscribed', () => {
    const b = bus();
    const table: EventTable<EventMap, string[]> = {
      'turn.start': (p, seen) => seen.push(`start ${p.turnId}`),
      'turn.end': null,
    };
    const one: string[] = [];
    const two: string[] = [];
    const off = b.subscribeTable(table, one);
    b.subscribeTable(table, two);
    expect(b.hasSubscribers('turn.start')).toBe(true);
    expect(b.hasSubscribers('turn.end')).toBe(false);
    b.publish('turn.start', { sessionId: 's', turnId: 't1' });
    b.publish('turn.end', { sessionId: 's', turnId: 't1' });
    off();
    b.publish('turn.start', { sessionId: 's', turnId: 't2' });
    expect(one).toEqual(['start t1']);
    expect(two).toEqual(['start t1', 'start t2']);
  });

  it('subscribeTable: order is per-type handlers, then tables, then subscribeAll; a throwing mapper is isolated', () => {
    const errors: string[] = [];
    const b = new EventBus<EventMap>({ logger: silentLogger, onHandlerError: (_e, t) => errors.push(t) });
    const order: string[] = [];
    b.subscribeAll(() => order.push('all'));
    b.subscribeTable(
      {
        'turn.start': (_p, o: string[]) => {
          o.push('table');
          throw new Error('boom');
        },
      },
      order,
    );
    b.subscribe('turn.start', () => order.push('handler'));
    b.publish('turn.start', { sessionId: 's', turnId: 't1' });
    expect(order).toEqual(['handler', 'table', 'all']);
    expect(errors).toEqual(['turn.start']);
    b.clear();
    expect(b.hasSubscribers('turn.start')).toBe(false);
  });

  it('unsubscribeTable removes that table for that context only; the same table for another context stays', () => {
    const b = bus();
    const table = {
      'turn.start': (p: { turnId: string }, seen: string[]) => {
        seen.push(p.turnId);
      },
    };
    const first: string[] = [];
    const second: string[] = [];
    b.subscribeTable(table, first);
    b.subscribeTable(table, second);
    b.publish('turn.start', { sessionId: 's', turnId: 't1' });
    b.unsubscribeTable(table, first);
    b.publish('turn.start', { sessionId: 's', turnId: 't2' });
    expect(first).toEqual(['t1']);
    expect(second).toEqual(['t1', 't2']);
    b.unsubscribeTable(table, second);
    expect(b.hasSubscribers('turn.start')).toBe(false);
  });

  it('subscribeAll observes every event as a {type, payload} union', () => {
    const b = bus();
    const seen: string[] = [];
    b.subscribeAll((e) => seen.push(e.type));
    b.publish('turn.start', { sessionId: 's', turnId: 't1' });
    b.publish('turn.end', { sessionId: 's', turnId: 't1' });
    expect(seen).toEqual(['turn.start', 'turn.end']);
  });

  it('a throwing handler never reaches the publisher; later handlers still run; onHandlerError hears it', () => {
    const errors: string[] = [];
    const b = new EventBus<EventMap>({
      logger: silentLogger,
      onHandlerError: (_e, type) => errors.push(type),
    });
    const after = vi.fn();
    b.subscribe('turn.start', () => {
      throw new Error('boom');
    });
    b.subscribe('turn.start', after);
    expect(() => b.publish('turn.start', { sessionId: 's', turnId: 't' })).not.toThrow();
    expect(after).toHaveBeenCalledOnce();
    expect(errors).toEqual(['turn.start']);
  });

  it('a throwing `error` handler does not loop', () => {
    const b = new EventBus<EventMap>({
      logger: silentLogger,
      onHandlerError: () =>
        b.publish('error', {
          component: 'x',
          error: new ColloquyError('internal_error', 'e'),
          severity: 'warn',
        }),
    });
    const h = vi.fn(() => {
      throw new Error('again');
    });
    b.subscribe('error', h);
    b.publish('turn.start', { sessionId: 's', turnId: 't' });
    b.publish('error', { component: 'x', error: new ColloquyError('internal_error', 'e'), severity: 'warn' });
    expect(h).toHaveBeenCalledTimes(1);
  });

  it('events published from inside a handler reach every subscriber after the current one (publish order)', () => {
    const b = bus();
    const order: string[] = [];
    b.subscribe('turn.end', (p) =>
      b.publish('turn.latency', { sessionId: 's', turnId: p.turnId, kind: 'text', segments: {}, marks: {} }),
    );
    b.subscribeAll((e) => order.push(e.type));
    b.publish('turn.end', { sessionId: 's', turnId: 't' });
    expect(order).toEqual(['turn.end', 'turn.latency']);
  });

  it('unsubscribing one handler keeps the other handlers of that type', () => {
    const b = bus();
    const seen: string[] = [];
    const offA = b.subscribe('gui.notification', (p) => seen.push(`a:${p.message}`));
    b.subscribe('gui.notification', (p) => seen.push(`b:${p.message}`));
    offA();
    b.publish('gui.notification', { sessionId: 's', message: 'one' });
    expect(seen).toEqual(['b:one']);
    expect(b.hasSubscribers('gui.notification')).toBe(true);
  });

  it('a throwing subscribeAll observer is isolated and reported like any handler', () => {
    const errors: Array<[string, string]> = [];
    const b = new EventBus<EventMap>({
      logger: silentLogger,
      onHandlerError: (e, type) => errors.push([type, (e as Error).message]),
    });
    const after: string[] = [];
    b.subscribeAll(() => {
      throw new Error('observer');
    });
    b.subscribeAll((e) => after.push(e.type));
    expect(() => b.publish('turn.start', { sessionId: 's', turnId: 't' })).not.toThrow();
    expect(after).toEqual(['turn.start']);
    expect(errors).toEqual([['turn.start', 'observer']]);
  });

  it('logs which event type a handler threw on; every throw is reported, not only the first', () => {
    const logged: string[] = [];
    const reported: string[] = [];
    const b = new EventBus<EventMap>({
      logger: { ...silentLogger, error: (m: string) => logged.push(m) },
      onHandlerError: (_e, type) => reported.push(type),
    });
    b.subscribe('turn.start', () => {
      throw new Error('one');
    });
    b.subscribe('turn.end', () => {
      throw new Error('two');
    });
    b.publish('turn.start', { sessionId: 's', turnId: 't' });
    b.publish('turn.end', { sessionId: 's', turnId: 't' });
    b.publish('turn.start', { sessionId: 's', turnId: 't2' });
    expect(reported).toEqual(['turn.start', 'turn.end', 'turn.start']);
    expect(logged).toEqual([
      'event handler for "turn.start" threw',
      'event handler for "turn.end" threw',
      'event handler for "turn.start" threw',
    ]);
  });

  it('an error listener that throws is logged and never reaches the publisher; the next error is reported again', () => {
    const logged: string[] = [];
    let calls = 0;
    const b = new EventBus<EventMap>({
      logger: { ...silentLogger, error: (m: string) => logged.push(m) },
      onHandlerError: () => {
        calls++;
        throw new Error('listener broke');
      },
    });
    b.subscribe('turn.start', () => {
      throw new Error('handler');
    });
    expect(() => b.publish('turn.start', { sessionId: 's', turnId: 't' })).not.toThrow();
    expect(() => b.publish('turn.start', { sessionId: 's', turnId: 't2' })).not.toThrow();
    expect(calls).toBe(2);
    expect(logged.filter((m) => m === 'handler error listener threw')).toHaveLength(2);
  });

  it('setHandlerErrorListener replaces the listener; undefined removes it', () => {
    const first: string[] = [];
    const second: string[] = [];
    const b = new EventBus<EventMap>({ logger: silentLogger, onHandlerError: (_e, t) => first.push(t) });
    b.subscribe('turn.start', () => {
      throw new Error('x');
    });
    b.setHandlerErrorListener((_e, t) => second.push(t));
    b.publish('turn.start', { sessionId: 's', turnId: 't' });
    b.setHandlerErrorListener(undefined);
    b.publish('turn.start', { sessionId: 's', turnId: 't2' });
    expect([first, second]).toEqual([[], ['turn.start']]);
  });

  it('publishing with no subscribers does nothing and reports no subscribers', () => {
    const b = bus();
    expect(b.hasSubscribers('llm.text.delta')).toBe(false);
    b.publish('llm.text.delta', { sessionId: 's', turnId: 't', id: 'x', text: 'hi' });
  });
});

describe('attachHooks', () => {
  it('projects bus events onto the nine hook shapes', () => {
    const b = bus();
    let t = 1000;
    const calls: Array<[string, unknown]> = [];
    const rec = (name: string) => (e: unknown) => {
      calls.push([name, e]);
    };
    attachHooks(
      b,
      {
        onSessionStart: rec('onSessionStart'),
        onSessionEnd: rec('onSessionEnd'),
        onTurnLatency: rec('onTurnLatency'),
        onToolCall: rec('onToolCall'),
        onToolResult: rec('onToolResult'),
        onAgentTransfer: rec('onAgentTransfer'),
        onSubagentStep: rec('onSubagentStep'),
        onMemoryExtraction: rec('onMemoryExtraction'),
        onError: rec('onError'),
      },
      silentLogger,
      () => t,
    );
    b.publish('session.start', { sessionId: 's', userId: 'u', agentName: 'main' });
    b.publish('tool.call', {
      sessionId: 's',
      agentName: 'main',
      id: 'c1',
      name: 'lookup',
      args: {},
      execution: 'inline',
    });
    b.publish('tool.result', {
      sessionId: 's',
      toolCallId: 'c1',
      status: 'success',
      result: 1,
      durationMs: 12,
    });
    b.publish('agent.transfer', { sessionId: 's', fromAgent: 'main', toAgent: 'billing' });
    t += 7;
    b.publish('agent.enter', { sessionId: 's', agentName: 'billing' });
    b.publish('turn.latency', {
      sessionId: 's',
      turnId: 't1',
      kind: 'text',
      segments: { totalE2EMs: 5 },
      marks: {},
    });
    b.publish('subagent.step', {
      sessionId: 's',
      subagentName: 'r',
      stepNumber: 1,
      toolCalls: [],
      tokensUsed: 30,
    });
    b.publish('memory.extracted', { sessionId: 's', userId: 'u', factsExtracted: 2, durationMs: 40 });
    const error = new ColloquyError('internal_error', 'bad');
    b.publish('error', { sessionId: 's', component: 'llm', error, severity: 'fatal' });
    t += 93;
    b.publish('session.close', { sessionId: 's', reason: 'bye' });
    expect(calls).toEqual([
      ['onSessionStart', { sessionId: 's', userId: 'u', agentName: 'main' }],
      [
        'onToolCall',
        { sessionId: 's', toolCallId: 'c1', toolName: 'lookup', execution: 'inline', agentName: 'main' },
      ],
      ['onToolResult', { toolCallId: 'c1', durationMs: 12, status: 'success' }],
      ['onAgentTransfer', { sessionId: 's', fromAgent: 'main', toAgent: 'billing', reconnectMs: 7 }],
      ['onTurnLatency', { sessionId: 's', turnId: 't1', kind: 'text', segments: { totalE2EMs: 5 } }],
      ['onSubagentStep', { subagentName: 'r', stepNumber: 1, toolCalls: [], tokensUsed: 30 }],
      ['onMemoryExtraction', { userId: 'u', factsExtracted: 2, durationMs: 40 }],
      ['onError', { sessionId: 's', component: 'llm', error, severity: 'fatal' }],
      ['onSessionEnd', { sessionId: 's', durationMs: 100, reason: 'bye' }],
    ]);
  });

  it('a hook that throws or rejects is caught and logged', async () => {
    const b = bus();
    const logger = { ...silentLogger, error: vi.fn() };
    attachHooks(
      b,
      {
        onSessionStart: () => {
          throw new Error('sync');
        },
        onSessionEnd: async () => {
          throw new Error('async');
        },
      },
      logger,
    );
    expect(() => b.publish('session.start', { sessionId: 's', userId: 'u', agentName: 'a' })).not.toThrow();
    b.publish('session.close', { sessionId: 's', reason: 'r' });
    await new Promise((r) => setTimeout(r, 0));
    expect(logger.error).toHaveBeenCalledTimes(2);
  });
});
