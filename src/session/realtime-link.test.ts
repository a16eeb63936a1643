/**
 * `RealtimeLink` at unit level: the provider connection of a realtime session and its lifecycle,
 * on a model in memory (`ScriptedRealtimeModel`) and a host that records what the link asks of it.
 * Connect and adoption, events of old connections dropped, provider errors by severity, goAway and
 * the connection cap, reconnects with backoff, resumption and its refusal, close. Timers are Vitest's
 * fake ones where a test looks at a delay: no test waits on real time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScriptedRealtimeModel } from '../../test/support/scripted-realtime.ts';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap, SessionState } from '../bus/events.ts';
import { type ColloquyError, ProviderError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { RealtimeConnectError } from '../providers/realtime/realtime-socket.ts';
import type { RealtimeSessionConfig } from '../providers/realtime/types.ts';
import { EventRecorder } from '../testing/recorder.ts';
import type { RealtimeOptions, RealtimeRunnerHost } from './realtime-config.ts';
import { RealtimeLink } from './realtime-link.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

type Turn = { toolsPending: number; responding: boolean } | undefined;

function unit(
  o: { realtime?: Partial<RealtimeOptions>; model?: ScriptedRealtimeModel; state?: SessionState } = {},
) {
  const model = o.model ?? new ScriptedRealtimeModel();
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const rec = new EventRecorder(bus);
  const log: unknown[][] = [];
  let state: SessionState = o.state ?? 'active';
  const controller = new AbortController();
  const turn: { now: Turn } = { now: undefined };
  const session = {
    bus,
    sessionId: 's1',
    realtime: { model, ...o.realtime },
    sessionSignal: controller.signal,
    state: () => state,
    transition: (to: SessionState) => {
      log.push(['transition', to]);
      state = to;
    },
    reportError: (component: string, err: unknown, severity: string) =>
      log.push(['reportError', component, err, severity]),
  } as unknown as RealtimeRunnerHost;
  const histories: unknown[] = [];
  const link = new RealtimeLink({
    session,
    model: () => model,
    config: async (history) => {
      histories.push(history);
      const config: RealtimeSessionConfig = {
        instructions: 'x',
        tools: [],
        turnDetection: { type: 'provider' },
      };
      if ('resumeHandle' in history) config.resumeHandle = history.resumeHandle;
      return config;
    },
    onEvent: (e) => log.push(['onEvent', e.type]),
    connectionLost: () => log.push(['connectionLost']),
    activeTurn: () => turn.now,
    reconnected: () => log.push(['reconnected']),
    fail: (err, code) => log.push(['fail', err, code]),
  });
  /** The host calls of one kind, without their name. */
  const calls = (kind: string) => log.filter((c) => c[0] === kind).map((c) => c.slice(1));
  return { model, link, rec, log, calls, histories, turn, signal: controller.signal, state: () => state };
}

const errorInfo = (e: unknown) => {
  const c = e as ColloquyError;
  return { name: c.name, code: c.code, message: c.message, cause: c.cause };
};

describe('connect and adoption', () => {
  it('connects with the session signal and the default 15 s bound, replaying nothing, and adopts it', async () => {
    const u = unit();
    await u.link.connect(false);
    expect(u.histories).toEqual([{ replay: false }]);
    expect(u.model.attempts).toHaveLength(1);
    expect(u.model.attempts[0]!.options.timeoutMs).toBe(15_000);
    expect(u.model.attempts[0]!.options.signal).toBe(u.signal);
    expect(u.link.conn).toBe(u.model.last);
    expect(u.link.reconnecting).toBeUndefined();
    expect(u.rec.types()).toEqual([]); // no session.resume without a handle
    u.link.close();
  });

  it('connectTimeoutMs bounds the connect', async () => {
    const u = unit({ realtime: { connectTimeoutMs: 1234 } });
    await u.link.connect(false);
    expect(u.model.attempts[0]!.options.timeoutMs).toBe(1234);
    u.link.close();
  });

  it('only the adopted connection speaks: events before adoption and of a replaced connection are dropped', async () => {
    const u = unit();
    await u.link.connect(false);
    const first = u.model.last;
    first.emit({ type: 'speech-started' });
    expect(u.calls('onEvent')).toEqual([['speech-started']]);
    // A second connection, still being set up: its events are not the session's yet.
    const release = u.model.hold();
    const second = u.link.connect(true);
    await vi.waitFor(() => expect(u.model.attempts).toHaveLength(2));
    release();
    await second;
    const newer = u.model.last;
    expect(newer).not.toBe(first);
    expect(first.kinds()).toEqual(['close']); // the old one is closed on adoption
    first.emit({ type: 'speech-stopped' }, { type: 'closed', code: 1000, reason: '', expected: false });
    expect(u.calls('onEvent')).toEqual([['speech-started']]);
    expect(u.calls('connectionLost')).toEqual([]);
    newer.emit({ type: 'response-started', responseId: 'r1' });
    expect(u.calls('onEvent')).toEqual([['speech-started'], ['response-started']]);
    u.link.close();
  });

  it("events a connection sends while its connect is under way are not the session's", async () => {
    const u = unit();
    await u.link.connect(false);
    u.model.emitOnConnect(
      { type: 'speech-started' },
      { type: 'error', error: new ProviderError('realtime_provider_error' as never, 'x'), severity: 'fatal' },
      { type: 'closed', code: 1006, reason: '', expected: false },
    );
    await u.link.connect(true);
    expect(u.log).toEqual([]);
    u.model.last.emit({ type: 'speech-stopped' });
    expect(u.calls('onEvent')).toEqual([['speech-stopped']]);
    u.link.close();
  });

  it('a connection that opens after close() is closed at once and never adopted', async () => {
    const u = unit();
    const release = u.model.hold();
    const connecting = u.link.connect(false);
    await vi.waitFor(() => expect(u.model.attempts).toHaveLength(1));
    u.link.close();
    release();
    await connecting;
    expect(u.model.last.kinds()).toEqual(['close']);
    expect(u.link.conn).toBeUndefined();
  });

  it('of two connects under way, only the newer is adopted; the older is closed when it opens', async () => {
    const u = unit();
    const releaseOld = u.model.hold();
    const older = u.link.connect(false);
    await vi.waitFor(() => expect(u.model.attempts).toHaveLength(1));
    await u.link.connect(false);
    const adopted = u.model.last;
    releaseOld();
    await older;
    const late = u.model.last;
    expect(late).not.toBe(adopted);
    expect(late.kinds()).toEqual(['close']);
    expect(adopted.kinds()).toEqual([]);
    expect(u.link.conn).toBe(adopted);
    u.link.close();
  });

  it('close() closes the adopted connection once, drops its later events, and is idempotent', async () => {
    const u = unit();
    await u.link.connect(false);
    const conn = u.model.last;
    u.link.close();
    u.link.close();
    expect(conn.kinds()).toEqual(['close']);
    expect(u.link.conn).toBeUndefined();
    conn.emit({ type: 'speech-started' }, { type: 'closed', code: 1006, reason: '', expected: false });
    expect(u.log).toEqual([]);
  });
});

describe('provider errors', () => {
  const cases: Array<[string, 'harmless' | 'retryable' | 'fatal', string, string]> = [
    ['a harmless error is a warning', 'harmless', 'realtime_provider_error', 'warn'],
    ['a retryable error is an error', 'retryable', 'realtime_provider_error', 'error'],
    [
      'a close reported as an error is a warning (the reconnect follows)',
      'retryable',
      'realtime_closed',
      'warn',
    ],
  ];
  for (const [name, severity, code, reported] of cases) {
    it(name, async () => {
      const u = unit();
      await u.link.connect(false);
      const error = new ProviderError(code as never, 'boom');
      u.model.last.emit({ type: 'error', error, severity });
      expect(u.log).toEqual([['reportError', 'realtime', error, reported]]);
      u.link.close();
    });
  }

  it('a fatal error fails the session with its own code', async () => {
    const u = unit();
    await u.link.connect(false);
    const error = new ProviderError('realtime_auth_failed' as never, 'bad key');
    u.model.last.emit({ type: 'error', error, severity: 'fatal' });
    expect(u.log).toEqual([['fail', error, 'realtime_auth_failed']]);
    u.link.close();
  });
});

describe('a connection lost', () => {
  it('an expected close is nothing; an unexpected one reports the loss and reconnects, replaying the conversation', async () => {
    const u = unit();
    await u.link.connect(false);
    const first = u.model.last;
    first.emit({ type: 'closed', code: 1000, reason: 'bye', expected: true });
    expect(u.log).toEqual([]);
    expect(u.link.reconnecting).toBeUndefined();
    first.emit({ type: 'closed', code: 1006, reason: '', expected: false });
    expect(u.link.reconnecting).toBeInstanceOf(Promise);
    await u.link.reconnecting;
    expect(u.link.reconnecting).toBeUndefined();
    expect(u.histories).toEqual([{ replay: false }, { replay: true }]);
    expect(u.log.map((c) => c.slice(0, 2))).toEqual([
      ['connectionLost'],
      ['transition', 'reconnecting'],
      ['transition', 'active'],
      ['reconnected'],
    ]);
    expect(u.link.conn).toBe(u.model.last);
    expect(u.link.conn).not.toBe(first);
    u.link.close();
  });

  it('reconnect() while one is under way returns the same attempt: one connect', async () => {
    const u = unit();
    await u.link.connect(false);
    const release = u.model.hold();
    const a = u.link.reconnect();
    const b = u.link.reconnect();
    expect(b).toBe(a);
    release();
    await a;
    expect(u.model.attempts).toHaveLength(2);
    u.link.close();
  });

  it('a session that is not active (transferring) is not moved to reconnecting, nor back', async () => {
    const u = unit({ state: 'transferring' });
    await u.link.connect(false);
    await u.link.reconnect();
    expect(u.calls('transition')).toEqual([]);
    expect(u.calls('reconnected')).toEqual([[]]);
    u.link.close();
  });

  it('Gemini: resumes with the newest handle (session.resume); a model without resumption replays', async () => {
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { resumption: true } }) });
    await u.link.connect(false);
    u.model.last.emit({ type: 'resumption', handle: 'h1' }, { type: 'resumption', handle: 'h2' });
    expect(u.calls('onEvent')).toEqual([]); // handles are the link's
    await u.link.reconnect();
    expect(u.histories).toEqual([{ replay: false }, { resumeHandle: 'h2' }]);
    expect(u.rec.payloads('session.resume')).toEqual([{ sessionId: 's1', handle: 'h2' }]);
    // A first connect never resumes, handle or not.
    await u.link.connect(false);
    expect(u.histories.at(-1)).toEqual({ replay: false });
    // forgetHandle(): another model, no handle of the old one applies.
    u.link.forgetHandle();
    await u.link.reconnect();
    expect(u.histories.at(-1)).toEqual({ replay: true });
    expect(u.rec.payloads('session.resume')).toHaveLength(1);
    u.link.close();

    const openai = unit();
    await openai.link.connect(false);
    openai.model.last.emit({ type: 'resumption', handle: 'h1' });
    await openai.link.reconnect();
    expect(openai.histories).toEqual([{ replay: false }, { replay: true }]);
    expect(openai.rec.payloads('session.resume')).toEqual([]);
    openai.link.close();
  });
});

describe('reconnecting with backoff', () => {
  it('failures wait 250, 500 ms then are fatal at the third, with the provider, the count and the last message', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    const errs = [new Error('down 1'), new Error('down 2'), new Error('down 3')];
    for (const e of errs) u.model.refuse(e);
    const done = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(u.model.attempts).toHaveLength(2);
    expect(u.calls('reportError').map(([c, e, s]) => [c, errorInfo(e), s])).toEqual([
      [
        'realtime',
        { name: 'ColloquyError', code: 'realtime_reconnect_failed', message: 'down 1', cause: errs[0] },
        'warn',
      ],
    ]);
    await vi.advanceTimersByTimeAsync(249);
    expect(u.model.attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.model.attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(499);
    expect(u.model.attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.model.attempts).toHaveLength(4);
    await done;
    const fail = u.calls('fail');
    expect(fail).toHaveLength(1);
    expect(fail[0]![1]).toBe('realtime_reconnect_failed');
    expect(errorInfo(fail[0]![0])).toEqual({
      name: 'ProviderError',
      code: 'realtime_reconnect_failed',
      message: 'Could not reconnect to scripted (3 attempts): down 3',
      cause: errs[2],
    });
    expect(u.calls('reportError')).toHaveLength(2);
    expect(u.calls('reconnected')).toEqual([]);
    expect(u.state()).toBe('reconnecting');
    expect(u.link.reconnecting).toBeUndefined();
    u.link.close();
  });

  it('maxFailures, initialDelayMs and maxDelayMs: 100, 200, 300 (capped), 300 ms, fatal at the fifth', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({ realtime: { reconnect: { maxFailures: 5, initialDelayMs: 100, maxDelayMs: 300 } } });
    await u.link.connect(false);
    for (let i = 0; i < 5; i++) u.model.refuse(new Error(`down ${i + 1}`));
    const done = u.link.reconnect();
    const waits: number[] = [];
    await vi.advanceTimersByTimeAsync(0);
    let at = 0;
    for (let step = 0; step < 4; step++) {
      const before = u.model.attempts.length;
      let waited = 0;
      while (u.model.attempts.length === before) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      at += waited;
      waits.push(waited);
    }
    await done;
    expect(waits).toEqual([100, 200, 300, 300]);
    expect(at).toBe(900);
    expect(errorInfo(u.calls('fail')[0]![0]).message).toBe(
      'Could not reconnect to scripted (5 attempts): down 5',
    );
    u.link.close();
  });

  it('a connect refused as fatal (RealtimeConnectError) fails at once, without retrying', async () => {
    const u = unit();
    await u.link.connect(false);
    const refused = new RealtimeConnectError('realtime_auth_failed' as never, 'HTTP 401', 'fatal');
    u.model.refuse(refused);
    await u.link.reconnect();
    expect(u.model.attempts).toHaveLength(2);
    expect(u.calls('reportError')).toEqual([]);
    expect(errorInfo(u.calls('fail')[0]![0])).toEqual({
      name: 'ProviderError',
      code: 'realtime_reconnect_failed',
      message: 'Could not reconnect to scripted (0 attempts): HTTP 401',
      cause: refused,
    });
    u.link.close();
  });

  it('a success resets the count: two failures, a success, then two failures again are not fatal', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.model.refuse(new Error('a'));
    u.model.refuse(new Error('b'));
    const one = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    await one;
    expect(u.calls('reconnected')).toHaveLength(1);
    u.model.refuse(new Error('c'));
    u.model.refuse(new Error('d'));
    const two = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    await two;
    expect(u.calls('fail')).toEqual([]);
    expect(u.calls('reconnected')).toHaveLength(2);
    u.link.close();
  });

  it('a refused resumption (not a connect error) warns realtime_resume_rejected and starts afresh with the conversation', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { resumption: true } }) });
    await u.link.connect(false);
    u.model.last.emit({ type: 'resumption', handle: 'old' });
    const refusal = new ProviderError('realtime_setup_failed' as never, 'handle expired');
    u.model.refuse(refusal);
    const done = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(250);
    await done;
    expect(u.histories).toEqual([{ replay: false }, { resumeHandle: 'old' }, { replay: true }]);
    const reports = u.calls('reportError').map(([c, e, s]) => [c, errorInfo(e), s]);
    expect(reports).toEqual([
      [
        'realtime',
        {
          name: 'ProviderError',
          code: 'realtime_resume_rejected',
          message: 'Resumption refused: handle expired',
          cause: refusal,
        },
        'warn',
      ],
      ['realtime', errorInfo(refusal), 'warn'],
    ]);
    expect(u.rec.payloads('session.resume')).toEqual([]);
    u.link.close();
  });

  it('a connect error while resuming (the provider unreachable) keeps the handle for the next attempt', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { resumption: true } }) });
    await u.link.connect(false);
    u.model.last.emit({ type: 'resumption', handle: 'h' });
    u.model.refuse(new RealtimeConnectError('realtime_connect_failed' as never, 'HTTP 503', 'retryable'));
    const done = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(250);
    await done;
    expect(u.histories).toEqual([{ replay: false }, { resumeHandle: 'h' }, { resumeHandle: 'h' }]);
    expect(u.calls('reportError').map(([, e]) => (e as ColloquyError).code)).toEqual([
      'realtime_connect_failed',
    ]);
    u.link.close();
  });

  it('close() during the backoff ends the loop: no further connect', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.model.refuse(new Error('down'));
    const done = u.link.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    u.link.close();
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    expect(u.model.attempts).toHaveLength(2);
    expect(u.calls('fail')).toEqual([]);
  });
});

describe('goAway', () => {
  it('with no turn running: session.goaway, then a reconnect at once', async () => {
    const u = unit();
    await u.link.connect(false);
    u.model.last.emit({ type: 'goaway', timeLeftMs: 30_000 });
    expect(u.rec.payloads('session.goaway')).toEqual([{ sessionId: 's1', timeLeft: 30_000 }]);
    expect(u.link.reconnecting).toBeInstanceOf(Promise);
    await u.link.reconnecting;
    expect(u.model.connections).toHaveLength(2);
    // The goAway is served: going idle later reconnects no more.
    u.link.onIdle();
    expect(u.link.reconnecting).toBeUndefined();
    u.link.close();
  });

  it('while the model answers: waits for the quiet moment (onIdle), or the deadline 2 s before the close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.turn.now = { toolsPending: 0, responding: true };
    u.model.last.emit({ type: 'goaway', timeLeftMs: 5000 });
    expect(u.link.reconnecting).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2999);
    expect(u.model.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.model.connections).toHaveLength(2);
    u.link.close();

    const idle = unit();
    await idle.link.connect(false);
    idle.turn.now = { toolsPending: 0, responding: true };
    idle.model.last.emit({ type: 'goaway', timeLeftMs: 60_000 });
    idle.turn.now = undefined;
    idle.link.onIdle();
    expect(idle.link.reconnecting).toBeInstanceOf(Promise);
    await idle.link.reconnecting;
    expect(idle.model.connections).toHaveLength(2);
    idle.link.close();
  });

  it('never during a tool call, not even past the deadline; a deadline under 2 s fires at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.turn.now = { toolsPending: 1, responding: false };
    u.model.last.emit({ type: 'goaway', timeLeftMs: 1500 });
    await vi.advanceTimersByTimeAsync(0);
    expect(u.link.reconnecting).toBeUndefined();
    u.link.onIdle(); // still in the tool call
    expect(u.link.reconnecting).toBeUndefined();
    u.turn.now = { toolsPending: 0, responding: false };
    u.link.onIdle();
    expect(u.link.reconnecting).toBeInstanceOf(Promise);
    await u.link.reconnecting;
    u.link.close();
  });

  it('a second goAway replaces the first deadline: one timer, at the new deadline', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.turn.now = { toolsPending: 0, responding: true };
    u.model.last.emit({ type: 'goaway', timeLeftMs: 3000 });
    u.model.last.emit({ type: 'goaway', timeLeftMs: 10_000 });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(7999);
    expect(u.model.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.model.connections).toHaveLength(2);
    u.link.close();
  });

  it('close() leaves no goAway timer armed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    u.turn.now = { toolsPending: 0, responding: true };
    u.model.last.emit({ type: 'goaway', timeLeftMs: 30_000 });
    expect(vi.getTimerCount()).toBe(1);
    u.link.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the connection cap (OpenAI: no goAway, a known longest connection)', () => {
  it('announces goAway goAwayLeadMs (default 60 s) before the model cap, and reconnects when quiet', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { maxConnectionMs: 100_000 } }) });
    await u.link.connect(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(39_999);
    expect(u.rec.payloads('session.goaway')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.rec.payloads('session.goaway')).toEqual([{ sessionId: 's1', timeLeft: 60_000 }]);
    await u.link.reconnecting;
    expect(u.model.connections).toHaveLength(2);
    // The new connection has its own cap, one timer.
    expect(vi.getTimerCount()).toBe(2); // the cap, and the goAway deadline of the served goAway
    u.link.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('maxConnectionMs and goAwayLeadMs override; a lead over the cap announces at once with the cap left', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({
      model: new ScriptedRealtimeModel({ capabilities: { maxConnectionMs: 100_000 } }),
      realtime: { maxConnectionMs: 10_000, goAwayLeadMs: 4000 },
    });
    u.turn.now = { toolsPending: 0, responding: true };
    await u.link.connect(false);
    await vi.advanceTimersByTimeAsync(5999);
    expect(u.rec.payloads('session.goaway')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.rec.payloads('session.goaway')).toEqual([{ sessionId: 's1', timeLeft: 4000 }]);
    u.link.close();

    const over = unit({
      model: new ScriptedRealtimeModel({ capabilities: { maxConnectionMs: 3000 } }),
    });
    over.turn.now = { toolsPending: 0, responding: true };
    await over.link.connect(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(over.rec.payloads('session.goaway')).toEqual([{ sessionId: 's1', timeLeft: 3000 }]);
    over.link.close();
  });

  it('a model without a cap arms no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit();
    await u.link.connect(false);
    expect(vi.getTimerCount()).toBe(0);
    u.link.close();
  });

  it('a reconnect re-arms the cap: one cap timer, not one per connection', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { maxConnectionMs: 100_000 } }) });
    await u.link.connect(false);
    await u.link.reconnect();
    await u.link.reconnect();
    expect(vi.getTimerCount()).toBe(1);
    u.link.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('runs where timers are plain numbers (no unref), as in a browser or worker', async () => {
    const realSet = globalThis.setTimeout;
    const armed: number[] = [];
    vi.stubGlobal('setTimeout', ((fn: () => void, ms: number) => {
      const id = Number(realSet(fn, ms));
      armed.push(ms);
      return id;
    }) as unknown as typeof setTimeout);
    const u = unit({ model: new ScriptedRealtimeModel({ capabilities: { maxConnectionMs: 600_000 } }) });
    u.turn.now = { toolsPending: 0, responding: true };
    await u.link.connect(false);
    u.model.last.emit({ type: 'goaway', timeLeftMs: 500_000 });
    expect(armed).toEqual([540_000, 498_000]);
    expect(u.rec.payloads('session.goaway')).toHaveLength(1);
    u.link.close(); // clears both (a number is a Node timer's id)
  });
});
