/** The tool runner: every call observed (tool.call → tool.result), bounded by a timeout, cancelled with its turn. */
import { getEventListeners } from 'node:events';
import { type ToolExecutionOptions, type ToolSet, tool } from 'ai';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { TimeoutError, ToolError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { ClientChannels } from '../session/client-channels.ts';
import { now } from '../session/latency.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { defineTool } from './define-tool.ts';
import { findToolContext } from './tool-context.ts';
import {
  BACKGROUND_STARTED,
  type BackgroundToolResult,
  cancelRunningTools,
  type RunningTool,
  runBounded,
  type ToolRunContext,
  wrapTools,
} from './tool-runner.ts';

const input = z.object({ q: z.string() });

/** A tool whose call waits until the test settles it, and that records the options it was called with. */
function pendingTool(settings: { timeoutMs?: number; execution?: 'inline' | 'background' } = {}) {
  const calls: ToolExecutionOptions[] = [];
  let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  const t = defineTool({
    description: 'waits',
    inputSchema: input,
    ...settings,
    execute: (_args, options) => {
      calls.push(options);
      return new Promise((resolve, reject) => {
        settle = { resolve, reject };
      });
    },
  });
  return { t, calls, settle: () => settle };
}

function context(overrides: Partial<ToolRunContext> = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const turn = new AbortController();
  const session = new AbortController();
  const background: BackgroundToolResult[] = [];
  const ctx: ToolRunContext = {
    bus,
    sessionId: 's1',
    agentName: 'main',
    turnId: 't1',
    signal: turn.signal,
    sessionSignal: session.signal,
    running: new Map<string, RunningTool>(),
    defaultTimeoutMs: 60_000,
    onBackgroundResult: (r) => background.push(r),
    ...overrides,
  };
  return { ctx, bus, turn, session, background, rec: new EventRecorder(bus) };
}

function call(
  tools: ToolSet,
  name: string,
  args: unknown,
  id = 'c1',
  extra: Partial<ToolExecutionOptions> = {},
) {
  const execute = tools[name]?.execute;
  if (!execute) throw new Error(`${name} has no execute`);
  return Promise.resolve(execute(args as never, { toolCallId: id, messages: [], ...extra }));
}

describe('tool runner: inline calls', () => {
  it('publishes tool.call before the tool runs and tool.result after, with the result returned to the LLM', async () => {
    const { ctx, rec } = context();
    const seenAtRun: string[] = [];
    const tools = wrapTools(
      {
        lookup: tool({
          description: 'look up',
          inputSchema: input,
          execute: async ({ q }) => {
            seenAtRun.push(...rec.types('tool.'));
            expect(ctx.running.get('c1')).toMatchObject({
              id: 'c1',
              name: 'lookup',
              execution: 'inline',
              turnId: 't1',
            });
            return { answer: q.toUpperCase() };
          },
        }),
      },
      ctx,
    );
    const before = performance.now();
    expect(await call(tools, 'lookup', { q: 'hi' })).toEqual({ answer: 'HI' });
    const elapsed = performance.now() - before;
    expect(seenAtRun).toEqual(['tool.call']);
    expect(rec.payloads('tool.call')).toEqual([
      {
        sessionId: 's1',
        agentName: 'main',
        id: 'c1',
        name: 'lookup',
        args: { q: 'hi' },
        turnId: 't1',
        execution: 'inline',
      },
    ]);
    const result = rec.payloads('tool.result');
    expect(result).toEqual([
      {
        sessionId: 's1',
        toolCallId: 'c1',
        status: 'success',
        result: { answer: 'HI' },
        name: 'lookup',
        turnId: 't1',
        durationMs: expect.any(Number),
      },
    ]);
    expect(result[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(result[0]?.durationMs).toBeLessThanOrEqual(elapsed + 0.01);
    expect(ctx.running.size).toBe(0);
    expect(rec.payloads('error')).toEqual([]);
  });

  it('a client-side tool (no execute) is passed through untouched', () => {
    const { ctx } = context();
    const clientSide = tool({ description: 'client', inputSchema: input });
    expect(wrapTools({ clientSide }, ctx).clientSide).toBe(clientSide);
  });

  it('a failing tool becomes tool_failed: tool.result error with the message, and an error event (warn)', async () => {
    const { ctx, rec } = context();
    const tools = wrapTools(
      {
        broken: tool({
          description: 'fails',
          inputSchema: input,
          execute: async (): Promise<string> => {
            throw new Error('disk full');
          },
        }),
      },
      ctx,
    );
    const err = await call(tools, 'broken', { q: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({ code: 'tool_failed', message: 'Tool "broken" failed: disk full' });
    expect((err as ToolError).retryable).toBe(false);
    expect(rec.payloads('tool.result')).toEqual([
      {
        sessionId: 's1',
        toolCallId: 'c1',
        status: 'error',
        result: { error: 'Tool "broken" failed: disk full' },
        name: 'broken',
        turnId: 't1',
        durationMs: expect.any(Number),
        error: err,
      },
    ]);
    expect(rec.payloads('error')).toEqual([
      { sessionId: 's1', component: 'tool:broken', error: err, severity: 'warn' },
    ]);
    expect(ctx.running.size).toBe(0);
  });

  it('a tool past its timeoutMs fails with tool_timeout (retryable) and its abortSignal fires with the TimeoutError', async () => {
    const { ctx, rec } = context();
    const { t, calls } = pendingTool({ timeoutMs: 30 });
    const tools = wrapTools({ slow: t }, ctx);
    const err = await call(tools, 'slow', { q: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'tool_timeout',
      message: 'Tool "slow" timed out after 30 ms',
      retryable: true,
    });
    expect((err as ToolError).cause).toBeInstanceOf(TimeoutError);
    expect(calls[0]?.abortSignal?.aborted).toBe(true);
    expect(calls[0]?.abortSignal?.reason).toBeInstanceOf(TimeoutError);
    expect(rec.first('tool.result')).toMatchObject({
      toolCallId: 'c1',
      status: 'timeout',
      result: { error: 'Tool "slow" timed out after 30 ms' },
      error: err,
    });
    expect(rec.first('error')).toMatchObject({ component: 'tool:slow', severity: 'warn' });
    expect(ctx.running.size).toBe(0);
    // durationMs is in milliseconds: the call ran at least (about) its 30 ms timeout.
    expect(rec.first('tool.result')?.durationMs).toBeGreaterThanOrEqual(25);
  });

  it('without its own timeoutMs a tool gets the session default', async () => {
    const { ctx } = context({ defaultTimeoutMs: 25 });
    const { t } = pendingTool();
    const err = await call(wrapTools({ slow: t }, ctx), 'slow', { q: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'tool_timeout', message: 'Tool "slow" timed out after 25 ms' });
  });

  it('a tool that finishes in time keeps its result, and its timer does not fire later', async () => {
    const { ctx, rec } = context({ defaultTimeoutMs: 40 });
    const { t, settle, calls } = pendingTool();
    const result = call(wrapTools({ quick: t }, ctx), 'quick', { q: 'x' });
    await rec.waitFor('tool.call');
    settle().resolve('ok');
    expect(await result).toBe('ok');
    await new Promise((r) => setTimeout(r, 80));
    expect(rec.payloads('tool.result').map((r) => r.status)).toEqual(['success']);
    expect(calls[0]?.abortSignal?.aborted).toBe(false);
  });

  it('the tool gets its own abortSignal that follows the turn: aborting the turn cancels the call (no tool.result from the runner)', async () => {
    const { ctx, rec, turn } = context();
    const { t, calls } = pendingTool();
    const result = call(wrapTools({ slow: t }, ctx), 'slow', { q: 'x' }).catch((e: unknown) => e);
    await rec.waitFor('tool.call');
    expect(calls[0]?.abortSignal).not.toBe(turn.signal);
    expect(calls[0]?.abortSignal?.aborted).toBe(false);
    const reason = new Error('user interrupted');
    turn.abort(reason);
    expect(calls[0]?.abortSignal?.aborted).toBe(true);
    expect(calls[0]?.abortSignal?.reason).toBe(reason);
    expect(await result).toMatchObject({ code: 'tool_cancelled', message: 'Tool "slow" was cancelled' });
    expect(rec.payloads('tool.result')).toEqual([]);
    expect(rec.payloads('error')).toEqual([]);
    expect(ctx.running.size).toBe(0);
  });

  it('a tool that ignores the abort and answers anyway is still cancelled', async () => {
    const { ctx, rec, turn } = context();
    const { t, settle } = pendingTool();
    const result = call(wrapTools({ stubborn: t }, ctx), 'stubborn', { q: 'x' }).catch((e: unknown) => e);
    await rec.waitFor('tool.call');
    // The abort settles the call at once; the late answer changes nothing.
    turn.abort(new Error('interrupted'));
    settle().resolve('late');
    expect(await result).toMatchObject({ code: 'tool_cancelled' });
    expect(rec.payloads('tool.result')).toEqual([]);
  });

  it('a call made after the turn was aborted starts with an aborted signal and is cancelled', async () => {
    const { ctx, turn } = context();
    turn.abort(new Error('gone'));
    const seen: boolean[] = [];
    const tools = wrapTools(
      {
        t: tool({
          description: 'x',
          inputSchema: input,
          execute: async (_a, o) => {
            seen.push(o.abortSignal?.aborted ?? false);
            return 'done';
          },
        }),
      },
      ctx,
    );
    expect(await call(tools, 't', { q: 'x' }).catch((e: unknown) => e)).toMatchObject({
      code: 'tool_cancelled',
    });
    expect(seen).toEqual([true]);
  });

  it('after the call finished, aborting the turn no longer touches the tool’s signal', async () => {
    const { ctx, turn } = context();
    const { t, settle, calls } = pendingTool();
    const result = call(wrapTools({ t }, ctx), 't', { q: 'x' });
    settle().resolve('ok');
    await result;
    turn.abort(new Error('later'));
    expect(calls[0]?.abortSignal?.aborted).toBe(false);
  });

  it('with client channels the tool gets a ToolContext naming its call; without, the caller’s context passes through', async () => {
    const channels = new ClientChannels();
    channels.register({ name: 'page', kinds: ['gui'] });
    const withChannels = context({ channels });
    const a = pendingTool();
    const first = call(wrapTools({ t: a.t }, withChannels.ctx), 't', { q: 'x' }, 'c7');
    a.settle().resolve(1);
    await first;
    const tc = findToolContext(a.calls[0] ?? {});
    expect(tc).toMatchObject({ sessionId: 's1', agentName: 'main', toolCallId: 'c7', turnId: 't1' });
    expect(tc?.gui.update({ x: 1 })).toEqual({ delivered: true });
    expect(withChannels.rec.first('gui.update')).toEqual({ sessionId: 's1', data: { x: 1 }, turnId: 't1' });

    const without = context({ turnId: undefined });
    const b = pendingTool();
    const mine = { caller: true };
    const second = call(wrapTools({ t: b.t }, without.ctx), 't', { q: 'x' }, 'c8', {
      experimental_context: mine,
    });
    b.settle().resolve(2);
    await second;
    expect(b.calls[0]?.experimental_context).toBe(mine);
    expect(without.rec.first('tool.call')).toMatchObject({ id: 'c8', turnId: undefined });
  });

  it('a ToolContext outside a turn has no turnId', async () => {
    const channels = new ClientChannels();
    const { ctx } = context({ channels, turnId: undefined });
    const a = pendingTool();
    const p = call(wrapTools({ t: a.t }, ctx), 't', { q: 'x' });
    a.settle().resolve(1);
    await p;
    const tc = findToolContext(a.calls[0] ?? {});
    expect(tc?.toolCallId).toBe('c1');
    expect(tc && 'turnId' in tc).toBe(false);
  });
});

describe('tool runner: background calls', () => {
  it('the LLM hears "started" at once; the result arrives later through onBackgroundResult and tool.result', async () => {
    const { ctx, rec, background } = context();
    const { t, settle } = pendingTool({ execution: 'background' });
    expect(await call(wrapTools({ report: t }, ctx), 'report', { q: 'x' })).toEqual(BACKGROUND_STARTED);
    expect(rec.first('tool.call')).toMatchObject({ id: 'c1', execution: 'background' });
    expect(ctx.running.get('c1')?.execution).toBe('background');
    expect(background).toEqual([]);
    settle().resolve({ url: 'r.pdf' });
    const result = await rec.waitFor('tool.result');
    expect(result).toMatchObject({ toolCallId: 'c1', status: 'success', result: { url: 'r.pdf' } });
    expect(background).toEqual([
      { toolCallId: 'c1', toolName: 'report', status: 'success', result: { url: 'r.pdf' } },
    ]);
  });

  it('a background call outlives its turn: aborting the turn does not cancel it', async () => {
    const { ctx, rec, turn, background } = context();
    const { t, settle, calls } = pendingTool({ execution: 'background' });
    await call(wrapTools({ report: t }, ctx), 'report', { q: 'x' });
    turn.abort(new Error('interrupted'));
    expect(calls[0]?.abortSignal?.aborted).toBe(false);
    settle().resolve('done');
    await rec.waitFor('tool.result');
    expect(background).toEqual([{ toolCallId: 'c1', toolName: 'report', status: 'success', result: 'done' }]);
  });

  it('closing the session cancels a background call: no result is delivered', async () => {
    const { ctx, session, background } = context();
    const p = pendingTool({ execution: 'background' });
    await call(wrapTools({ report: p.t }, ctx), 'report', { q: 'x' });
    session.abort(new Error('closed'));
    expect(p.calls[0]?.abortSignal?.aborted).toBe(true);
    // Let the rejection run through the runner.
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(background).toEqual([]);
    expect(ctx.running.size).toBe(0);
  });

  it('a failing background call reports status error with the message; a slow one reports timeout', async () => {
    const { ctx, rec, background } = context();
    const failing = pendingTool({ execution: 'background' });
    const slow = pendingTool({ execution: 'background', timeoutMs: 20 });
    const tools = wrapTools({ failing: failing.t, slow: slow.t }, ctx);
    await call(tools, 'failing', { q: 'x' }, 'f1');
    await call(tools, 'slow', { q: 'x' }, 's1');
    failing.settle().reject(new Error('no printer'));
    await rec.waitFor('tool.result', (r) => r.toolCallId === 's1');
    await new Promise((r) => setTimeout(r, 0));
    expect(background).toEqual([
      {
        toolCallId: 'f1',
        toolName: 'failing',
        status: 'error',
        result: { error: 'Tool "failing" failed: no printer' },
      },
      {
        toolCallId: 's1',
        toolName: 'slow',
        status: 'timeout',
        result: { error: 'Tool "slow" timed out after 20 ms' },
      },
    ]);
  });
});

describe('runBounded', () => {
  const never = () => new Promise<never>(() => {});

  it('a settled call leaves no timer and no abort listener behind (a long-lived session signal does not collect them)', async () => {
    vi.useFakeTimers();
    try {
      const session = new AbortController();
      expect(
        await runBounded(
          () => Promise.resolve('ok'),
          60_000,
          session.signal,
          'x',
          () => {},
        ),
      ).toBe('ok');
      expect(vi.getTimerCount()).toBe(0);
      expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
      await expect(
        runBounded(
          () => Promise.reject(new Error('no')),
          60_000,
          session.signal,
          'x',
          () => {},
        ),
      ).rejects.toThrow('no');
      expect(vi.getTimerCount()).toBe(0);
      expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
      const turn = new AbortController();
      const aborted = runBounded(never, 60_000, turn.signal, 'x', () => {});
      expect(vi.getTimerCount()).toBe(1);
      turn.abort(new Error('interrupted'));
      await expect(aborted).rejects.toThrow('interrupted');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a timeout of 0 or Infinity means no timer', async () => {
    for (const timeoutMs of [0, Number.POSITIVE_INFINITY]) {
      const abort = new AbortController();
      let timedOut = false;
      const p = runBounded(never, timeoutMs, abort.signal, 'x', () => {
        timedOut = true;
      });
      await new Promise((r) => setTimeout(r, 30));
      expect(timedOut).toBe(false);
      abort.abort(new Error('stop'));
      await expect(p).rejects.toThrow('stop');
    }
  });

  it('on timeout onTimeout gets the TimeoutError and the result rejects with it', async () => {
    const abort = new AbortController();
    const seen: TimeoutError[] = [];
    const err = await runBounded(never, 20, abort.signal, 'lookup', (e) => seen.push(e)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ message: 'lookup timed out after 20 ms' });
    expect(seen).toEqual([err]);
  });

  it('an abort rejects with the signal’s reason and stops the timer', async () => {
    const abort = new AbortController();
    let timedOut = false;
    const p = runBounded(never, 30, abort.signal, 'x', () => {
      timedOut = true;
    });
    const reason = new Error('interrupted');
    abort.abort(reason);
    await expect(p).rejects.toBe(reason);
    await new Promise((r) => setTimeout(r, 60));
    expect(timedOut).toBe(false);
  });

  it('an AbortError from the work becomes the signal’s reason; other errors pass through', async () => {
    const own = new AbortController();
    const reason = new Error('cancel');
    own.abort(reason);
    // Already aborted: the abort listener never fires, so the work's own AbortError settles the call.
    const mapped = runBounded(
      () => Promise.reject(new DOMException('x', 'AbortError')),
      0,
      own.signal,
      'x',
      () => {},
    );
    await expect(mapped).rejects.toBe(reason);
    const live = new AbortController();
    const unmapped = runBounded(
      () => Promise.reject(new DOMException('x', 'AbortError')),
      0,
      live.signal,
      'x',
      () => {},
    );
    await expect(unmapped).rejects.toMatchObject({ name: 'AbortError' });
    const boom = new Error('boom');
    await expect(
      runBounded(
        () => Promise.reject(boom),
        0,
        live.signal,
        'x',
        () => {},
      ),
    ).rejects.toBe(boom);
  });

  it('a result that comes first wins; a later abort changes nothing', async () => {
    const abort = new AbortController();
    const p = runBounded(
      () => Promise.resolve(42),
      20,
      abort.signal,
      'x',
      () => {
        throw new Error('timer fired');
      },
    );
    expect(await p).toBe(42);
    abort.abort(new Error('late'));
    await new Promise((r) => setTimeout(r, 40));
  });
});

describe('cancelRunningTools', () => {
  function running(
    id: string,
    name: string,
    execution: 'inline' | 'background',
    turnId?: string,
  ): RunningTool {
    // Started 1.5 s ago, so the reported durationMs can be checked in milliseconds.
    return { id, name, execution, startedAt: now() - 1500, controller: new AbortController(), turnId };
  }

  it('cancels the matching calls: tool.cancel with their ids, their signals aborted, a cancelled tool.result each', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const rec = new EventRecorder(bus);
    const a = running('a', 'search', 'inline', 't1');
    const b = running('b', 'report', 'background', 't1');
    const map = new Map([
      ['a', a],
      ['b', b],
    ]);
    expect(cancelRunningTools(bus, 's1', map, (t) => t.execution === 'inline', 't1')).toEqual(['a']);
    expect([...map.keys()]).toEqual(['b']);
    expect(rec.payloads('tool.cancel')).toEqual([{ sessionId: 's1', toolCallIds: ['a'], turnId: 't1' }]);
    expect(a.controller.signal.aborted).toBe(true);
    expect(a.controller.signal.reason).toMatchObject({
      code: 'tool_cancelled',
      message: 'Tool "search" was cancelled',
    });
    expect(b.controller.signal.aborted).toBe(false);
    expect(rec.payloads('tool.result')).toEqual([
      {
        sessionId: 's1',
        toolCallId: 'a',
        status: 'cancelled',
        result: null,
        name: 'search',
        turnId: 't1',
        durationMs: expect.any(Number),
      },
    ]);
    const d = rec.first('tool.result')?.durationMs ?? -1;
    expect(d).toBeGreaterThanOrEqual(1500);
    expect(d).toBeLessThan(60_000);
  });

  it('without a turn id tool.cancel has none; with nothing to cancel nothing is published', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const rec = new EventRecorder(bus);
    const map = new Map([['a', running('a', 'search', 'inline')]]);
    expect(cancelRunningTools(bus, 's1', map, () => false)).toEqual([]);
    expect(rec.types()).toEqual([]);
    expect(cancelRunningTools(bus, 's1', map, () => true)).toEqual(['a']);
    expect(rec.payloads('tool.cancel')).toEqual([{ sessionId: 's1', toolCallIds: ['a'] }]);
  });
});
