import { describe, expect, it, vi } from 'vitest';
import { ColloquyError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { EventBus } from './event-bus.ts';
import type { EventMap } from './events.ts';
import { attachHooks } from './hooks.ts';

const bus = () => new EventBus<EventMap>({ logger: silentLogger });

describe('attachHooks: payload details', () => {
  it('onToolResult carries the error of a failed call, and no error key for a success', () => {
    const b = bus();
    const seen: unknown[] = [];
    attachHooks(b, { onToolResult: (e) => void seen.push(e) }, silentLogger);
    const error = new ColloquyError('tool_failed', 'the lookup failed');
    b.publish('tool.result', { sessionId: 's', toolCallId: 'c1', status: 'error', result: null, error });
    b.publish('tool.result', { sessionId: 's', toolCallId: 'c2', status: 'success', result: 1 });
    expect(seen).toEqual([
      { toolCallId: 'c1', durationMs: 0, status: 'error', error },
      { toolCallId: 'c2', durationMs: 0, status: 'success' },
    ]);
    expect(Object.keys(seen[1] as object)).not.toContain('error');
  });

  it('a transfer completes only when the agent it names enters', () => {
    const b = bus();
    let t = 0;
    const seen: unknown[] = [];
    attachHooks(b, { onAgentTransfer: (e) => void seen.push(e) }, silentLogger, () => t);
    b.publish('agent.transfer', { sessionId: 's', fromAgent: 'main', toAgent: 'billing' });
    t = 5;
    b.publish('agent.enter', { sessionId: 's', agentName: 'support' });
    expect(seen).toEqual([]);
    t = 9;
    b.publish('agent.enter', { sessionId: 's', agentName: 'billing' });
    expect(seen).toEqual([{ sessionId: 's', fromAgent: 'main', toAgent: 'billing', reconnectMs: 9 }]);
  });

  it('onError has no sessionId key for an error outside a session', () => {
    const b = bus();
    const seen: object[] = [];
    attachHooks(b, { onError: (e) => void seen.push(e) }, silentLogger);
    const error = new ColloquyError('internal_error', 'startup');
    b.publish('error', { component: 'server', error, severity: 'warn' });
    expect(seen).toEqual([{ component: 'server', error, severity: 'warn' }]);
    expect(Object.keys(seen[0]!)).not.toContain('sessionId');
  });

  it('the returned function detaches every hook', () => {
    const b = bus();
    const onSessionStart = vi.fn();
    const onError = vi.fn();
    const detach = attachHooks(b, { onSessionStart, onError }, silentLogger);
    detach();
    b.publish('session.start', { sessionId: 's', userId: 'u', agentName: 'a' });
    b.publish('error', { component: 'x', error: new ColloquyError('internal_error', 'e'), severity: 'warn' });
    expect(onSessionStart).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
    expect(b.hasSubscribers('session.start')).toBe(false);
  });

  it('logs which hook threw or rejected; a hook returning nothing or a plain value logs nothing', async () => {
    const b = bus();
    const logged: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => void logged.push(m) };
    attachHooks(
      b,
      {
        onSessionStart: () => {
          throw new Error('sync');
        },
        onSessionEnd: async () => {
          throw new Error('async');
        },
        onToolCall: () => undefined,
        // A JavaScript caller may return anything; only a promise is awaited for its rejection.
        onTurnLatency: (() => 42) as unknown as () => void,
      },
      logger,
    );
    b.publish('tool.call', { sessionId: 's', agentName: 'a', id: 'c', name: 'n', args: {} });
    b.publish('turn.latency', { sessionId: 's', turnId: 't', kind: 'text', segments: {}, marks: {} });
    expect(logged).toEqual([]);
    b.publish('session.start', { sessionId: 's', userId: 'u', agentName: 'a' });
    b.publish('session.close', { sessionId: 's', reason: 'r' });
    await vi.waitFor(() =>
      expect(logged).toEqual(['hook onSessionStart threw', 'hook onSessionEnd rejected']),
    );
  });
});
