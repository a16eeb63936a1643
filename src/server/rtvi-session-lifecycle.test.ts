/**
 * The life of an RTVI session (`rtvi-session.ts`) on an in-process wire (test/support/rtvi-wire.ts)
 * with the offline demo's models: ids, `bot-ready`, the client-ready deadline, the greeting, mic
 * audio refused by kind, how each way of losing the wire ends the session (with and without resume),
 * and what closing releases. Timers are faked where a deadline is the point; each test starts and
 * closes its own session.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, FakeWire, startRtvi } from '../../test/support/rtvi-wire.ts';
import type { BusEvent } from '../bus/events.ts';
import { ResumeError, ResumeHandles } from '../session/resume-handles.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { SessionRegistry } from './session-registry.ts';

const WAIT = { timeout: 4000, interval: 5 };
const flush = () => new Promise((r) => setImmediate(r));

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await closeAll();
});

const fakeTimeouts = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
const conversationEnd = (reason: string) => ({
  label: 'rtvi-ai',
  type: 'server-message',
  data: { type: 'conversation-end', data: { reason } },
});
const fatal = (text: string) => ({
  label: 'rtvi-ai',
  type: 'error',
  data: { error: text, message: text, fatal: true },
});

function recordEvents(started: ReturnType<typeof startRtvi>) {
  const events: BusEvent[] = [];
  started.rtvi.session.eventBus.subscribeAll((e) => events.push(e));
  return events;
}

describe('building the session', () => {
  it('refuses a wire of another transport specification', () => {
    class OldWire extends FakeWire {
      override readonly specificationVersion = 'colloquy-transport-v0' as never;
    }
    expect(() => startRtvi({ wire: new OldWire('old-wire') })).toThrow(
      'The transport "old-wire" implements "colloquy-transport-v0"; this Colloquy needs specificationVersion "colloquy-transport-v1"',
    );
  });

  it.each([
    ['given ids', { sessionId: 'abcdefgh-1234', userId: 'u-7' }, 'abcdefgh-1234', 'u-7'],
    [
      'a session id only: the user is named after it',
      { sessionId: 'abcdefgh-1234' },
      'abcdefgh-1234',
      'user-abcdefgh',
    ],
    ['the user of the request', { sessionId: 's-1', requestData: { user_id: 'guest-3' } }, 's-1', 'guest-3'],
  ])('%s', (_what, options, id, userId) => {
    const { rtvi } = startRtvi(options);
    expect([rtvi.id, rtvi.session.sessionId, rtvi.session.userId]).toEqual([id, id, userId]);
  });

  it('without a session id: a random UUID, and the user named after its first 8 characters', () => {
    const a = startRtvi().rtvi;
    const b = startRtvi().rtvi;
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b.id).not.toBe(a.id);
    expect(a.session.userId).toBe(`user-${a.id.slice(0, 8)}`);
  });

  it('is listed in the registry while live, with its final transcript and reason once closed', async () => {
    const registry = new SessionRegistry();
    const t0 = Date.now();
    const { rtvi, wire } = startRtvi({
      sessionId: 'reg-1',
      userId: 'u-1',
      registry,
      requestData: { config: 'stream' },
    });
    const before = Date.now();
    expect(registry.isLive('reg-1')).toBe(true);
    expect(registry.liveOf('u-1').map((s) => s.id)).toEqual(['reg-1']);
    const live = registry.get('reg-1')!;
    expect(live).toEqual({
      id: 'reg-1',
      transport: 'fake-wire',
      mode: 'stream',
      startedAt: expect.any(Number),
      transcript: [],
    });
    expect(live.startedAt).toBeGreaterThanOrEqual(t0);
    expect(live.startedAt).toBeLessThanOrEqual(before);
    wire.ready();
    rtvi.session.setHistory([{ role: 'user', content: 'kept' }]);
    await registry.liveOf('u-1')[0]!.close('admin_closed');
    expect(await rtvi.closed).toBe('admin_closed');
    expect(registry.get('reg-1')).toMatchObject({
      closeReason: 'admin_closed',
      transcript: [{ role: 'user', content: 'kept' }],
    });
    expect(registry.isLive('reg-1')).toBe(false);
  });
});

describe('client-ready', () => {
  it('answers bot-ready to its id, starts the session once; a second client-ready is answered again', async () => {
    const started = startRtvi({ sessionId: 'cr-1' });
    const { wire, rtvi, logger } = started;
    const events = recordEvents(started);
    wire.ready('ready-01');
    await vi.waitFor(() => expect(rtvi.session.state).toBe('active'), WAIT);
    const botReady = (id: string) => ({
      label: 'rtvi-ai',
      type: 'bot-ready',
      id,
      data: {
        version: '2.1.0',
        about: {
          library: 'colloquy',
          library_version: '0.1.0',
          protocol_version: '2.1.0',
          session_id: 'cr-1',
        },
      },
    });
    expect(wire.sent[0]).toEqual(botReady('ready-01'));
    expect(rtvi.state).toBe('ready');
    wire.ready('ready-02');
    await flush();
    expect(wire.ofType('bot-ready')).toEqual([botReady('ready-01'), botReady('ready-02')]);
    expect(events.filter((e) => e.type === 'session.start')).toHaveLength(1);
    expect(logger.lines.filter((l) => l[0] === 'debug' && String(l[1]).includes('client-ready'))).toEqual([
      ['debug', 'session cr-1: client-ready', { library: 'fake-wire-test', version: '1.0' }],
    ]);
  });

  it('with a greeting: the session says it once started', async () => {
    const { wire, rtvi } = startRtvi({ greeting: 'Welcome to the hotel.' });
    const speak = vi.spyOn(rtvi.session, 'speak').mockResolvedValue(undefined as never);
    wire.ready();
    await vi.waitFor(() => expect(speak).toHaveBeenCalled(), WAIT);
    expect(speak.mock.calls).toEqual([['Welcome to the hotel.']]);
  });

  it('closed before it started: no greeting', async () => {
    const { wire, rtvi } = startRtvi({ greeting: 'Welcome to the hotel.' });
    const speak = vi.spyOn(rtvi.session, 'speak');
    wire.ready();
    await rtvi.close('gone');
    await flush();
    expect(speak).not.toHaveBeenCalled();
  });

  it('a session that cannot start: reported as a session error to the client', async () => {
    const started = startRtvi();
    const events = recordEvents(started);
    vi.spyOn(started.rtvi.session, 'start').mockRejectedValue(new Error('cannot start'));
    started.wire.ready();
    await vi.waitFor(() => expect(events.some((e) => e.type === 'error')).toBe(true), WAIT);
    const p = events.find((e) => e.type === 'error')!.payload as any;
    expect([p.component, p.severity, p.error.code, p.error.message]).toEqual([
      'session',
      'error',
      'session_failed',
      'cannot start',
    ]);
    expect(started.wire.sent.at(-1)).toEqual({
      label: 'rtvi-ai',
      type: 'error',
      data: { error: 'cannot start', message: 'cannot start', fatal: false },
    });
  });

  it('no client-ready within readyTimeoutMs: a fatal error, conversation-end, the wire closed', async () => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({ readyTimeoutMs: 500 });
    vi.advanceTimersByTime(499);
    expect([rtvi.state, wire.sent]).toEqual(['waiting', []]);
    vi.advanceTimersByTime(1);
    expect(await rtvi.closed).toBe('client_ready_timeout');
    expect(wire.sent).toEqual([
      fatal('No client-ready within 500 ms'),
      conversationEnd('client_ready_timeout'),
    ]);
    expect(wire.closes).toBe(1);
  });

  it('the default deadline is 30 s', async () => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi();
    vi.advanceTimersByTime(29_999);
    expect(rtvi.state).toBe('waiting');
    vi.advanceTimersByTime(1);
    expect(await rtvi.closed).toBe('client_ready_timeout');
    expect(wire.sent[0]).toEqual(fatal('No client-ready within 30000 ms'));
  });

  it('client-ready in time: the deadline passes unnoticed', async () => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({ readyTimeoutMs: 500 });
    wire.ready();
    vi.advanceTimersByTime(10_000);
    await flush();
    expect(rtvi.state).toBe('ready');
    expect(wire.sent.filter((m) => m.type === 'error')).toEqual([]);
  });
});

describe('mic audio on the wire', () => {
  const tone = (n: number) => new Int16Array(n).fill(1000);

  it('before client-ready: dropped; after: to the session as sent', async () => {
    const { wire, rtvi } = startRtvi();
    const push = vi.spyOn(rtvi.session, 'pushAudio').mockImplementation(() => {});
    wire.mic(tone(320), 16000);
    expect(push).not.toHaveBeenCalled();
    wire.ready();
    const frame = tone(160);
    wire.mic(frame, 8000);
    expect(push.mock.calls).toEqual([[frame, 8000]]);
  });

  it('refused frames: the client told once per kind, every one counted in a warning at close', async () => {
    const { wire, rtvi, logger } = startRtvi({ sessionId: 'mic-1', limits: { micAudioSpeed: 1 } });
    wire.ready();
    const before = wire.sent.length;
    wire.mic(tone(16000 * 16), 16000); // 16 s at once: over the 15 s burst
    wire.mic(tone(16000 * 16), 16000);
    wire.mic(tone(123), 12345); // a rate the pipeline refuses
    wire.mic(tone(123), 12345);
    wire.mic(tone(123), 12345);
    const told = wire.sent.slice(before);
    expect(told).toEqual([
      {
        label: 'rtvi-ai',
        type: 'error',
        data: {
          error:
            'Audio refused (audio_too_fast): mic audio arrives faster than 1× real time. Further frames with this problem are dropped and counted.',
          message:
            'Audio refused (audio_too_fast): mic audio arrives faster than 1× real time. Further frames with this problem are dropped and counted.',
          fatal: false,
        },
      },
      {
        label: 'rtvi-ai',
        type: 'error',
        data: {
          error: expect.stringMatching(
            /^Audio refused \(unsupported_sample_rate\): .+\. Further frames with this problem are dropped and counted\.$/,
          ),
          message: expect.any(String),
          fatal: false,
        },
      },
    ]);
    expect(logger.lines.filter((l) => l[0] === 'warn').map((l) => l[1])).toEqual([
      'session mic-1: bad audio frame (audio_too_fast)',
      'session mic-1: bad audio frame (unsupported_sample_rate)',
    ]);
    await rtvi.close('done');
    await rtvi.close('done again'); // closing twice reports once
    expect(logger.lines.filter((l) => l[0] === 'warn').map((l) => l[1])).toEqual([
      'session mic-1: bad audio frame (audio_too_fast)',
      'session mic-1: bad audio frame (unsupported_sample_rate)',
      'session mic-1: refused audio frames: audio_too_fast ×2, unsupported_sample_rate ×3',
    ]);
  });

  it('a frame the session fails on with a foreign error: invalid_audio', async () => {
    const { wire, rtvi, logger } = startRtvi({ sessionId: 'mic-2' });
    wire.ready();
    vi.spyOn(rtvi.session, 'pushAudio').mockImplementation(() => {
      throw new Error('decoder broke');
    });
    const before = wire.sent.length;
    wire.mic(tone(160), 16000);
    const text =
      'Audio refused (invalid_audio): decoder broke. Further frames with this problem are dropped and counted.';
    expect(wire.sent.slice(before)).toEqual([
      { label: 'rtvi-ai', type: 'error', data: { error: text, message: text, fatal: false } },
    ]);
    expect(logger.lines.find((l) => l[0] === 'warn')).toEqual([
      'warn',
      'session mic-2: bad audio frame (invalid_audio)',
      'decoder broke',
    ]);
  });

  it('no refused frame: no warning at close', async () => {
    const { wire, rtvi, logger } = startRtvi();
    wire.ready();
    await rtvi.close('done');
    expect(logger.lines.filter((l) => l[0] === 'warn')).toEqual([]);
  });
});

describe('losing the wire without resume', () => {
  it.each([
    [
      'before client-ready, closed by the client',
      false,
      'client_disconnected' as const,
      'client_disconnected',
    ],
    ['before client-ready, lost', false, 'error' as const, 'transport_error'],
    ['ready, closed by the client', true, 'client_disconnected' as const, 'client_disconnected'],
    ['ready, lost: the session ends itself', true, 'error' as const, 'fatal:transport_lost'],
  ])('%s: %s', async (_what, ready, how, reason) => {
    const { wire, rtvi } = startRtvi();
    if (ready) wire.ready();
    const before = wire.sent.length;
    wire.drop(how);
    expect(await rtvi.closed).toBe(reason);
    expect(wire.sent.slice(before)).toEqual([]); // nothing more to a wire that is gone
    expect(wire.closes).toBe(0);
  });

  it('a lost wire is a fatal transport error naming the transport', async () => {
    const started = startRtvi({ wire: new FakeWire('phone-line') });
    const events = recordEvents(started);
    started.wire.ready();
    started.wire.drop('error');
    await started.rtvi.closed;
    const errors = events.filter((e) => e.type === 'error').map((e) => e.payload as any);
    expect(errors.map((p) => [p.component, p.severity, p.error.code, p.error.message])).toEqual([
      [
        'transport',
        'fatal',
        'transport_lost',
        'The phone-line connection to the client was lost and did not come back',
      ],
    ]);
  });
});

describe('closing', () => {
  it('the server closes it: conversation-end, the wire closed, messages after it ignored', async () => {
    const { wire, rtvi } = startRtvi();
    wire.ready();
    await rtvi.close('maintenance');
    expect(wire.sent.at(-1)).toEqual(conversationEnd('maintenance'));
    expect(wire.closes).toBe(1);
    const count = wire.sent.length;
    wire.send('client-message', { t: 'ping' }, 'late-1');
    wire.mic(new Int16Array(160), 16000);
    expect(wire.sent.length).toBe(count);
    await rtvi.close('again');
    expect(await rtvi.closed).toBe('maintenance');
    expect(wire.closes).toBe(1);
  });

  it('the session ends itself: the RTVI session closes with its reason, and the wire', async () => {
    const { wire, rtvi } = startRtvi();
    wire.ready();
    await rtvi.session.close('kaput');
    expect(await rtvi.closed).toBe('kaput');
    expect(rtvi.state).toBe('closed');
    expect(wire.closes).toBe(1);
  });

  it('a session close that fails is logged; the RTVI session still closes', async () => {
    const { wire, rtvi, logger } = startRtvi({ sessionId: 'cf-1' });
    wire.ready();
    const error = new Error('close broke');
    vi.spyOn(rtvi.session, 'close').mockRejectedValue(error);
    await rtvi.close('bye');
    expect(await rtvi.closed).toBe('bye');
    expect(logger.lines.filter((l) => l[0] === 'warn')).toEqual([
      ['warn', 'session cf-1: close failed', error],
    ]);
    expect(wire.closes).toBe(1);
  });
});

describe('losing the wire with resume', () => {
  const resume = () => ({
    handles: new ResumeHandles(100, () => 1_000),
    windowMs: 1000,
    handleTtlMs: 60_000,
  });

  it('bot-ready carries a fresh resume handle each time; closing revokes it', async () => {
    const r = resume();
    const { wire, rtvi } = startRtvi({ sessionId: 'rs-1', resume: r });
    wire.ready('ready-01');
    wire.ready('ready-02');
    const [first, second] = wire.ofType('bot-ready').map((m) => m.data.about);
    expect(first).toEqual({
      library: 'colloquy',
      library_version: '0.1.0',
      protocol_version: '2.1.0',
      session_id: 'rs-1',
      resume_handle: expect.any(String),
      resume_expires_at: 61_000,
    });
    expect(second.resume_handle).not.toBe(first.resume_handle);
    expect(() => r.handles.redeem(first.resume_handle)).toThrow(ResumeError);
    expect(r.handles.current('rs-1')).toBeDefined();
    await rtvi.close('bye');
    expect(r.handles.current('rs-1')).toBeUndefined();
  });

  it.each([
    ['closed by the client', 'client_disconnected' as const, 'client_disconnected'],
    ['lost', 'error' as const, 'fatal:transport_lost'],
  ])('%s: the session waits detached for the window, then ends (%s)', async (_what, how, reason) => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({ resume: resume(), edit: (c) => ({ ...c, idleTimeoutMs: 300 }) });
    wire.ready();
    await flush();
    const interrupt = vi.spyOn(rtvi.session, 'interrupt');
    wire.drop(how);
    expect(rtvi.state).toBe('detached');
    expect(interrupt.mock.calls).toEqual([['disconnected']]);
    vi.advanceTimersByTime(999); // past the idle timeout: paused while detached
    await flush();
    expect(rtvi.state).toBe('detached');
    vi.advanceTimersByTime(1);
    expect(await rtvi.closed).toBe(reason);
  });

  it('a client coming back within the window takes over on its new wire; the window no longer runs', async () => {
    fakeTimeouts();
    const started = startRtvi({ resume: resume(), sessionId: 'rs-2' });
    const events = recordEvents(started);
    const { wire, rtvi } = started;
    wire.ready();
    await flush();
    wire.drop('error');
    const back = new FakeWire('back-wire');
    rtvi.attach(back, 'the-handle');
    expect(rtvi.state).toBe('ready');
    expect(events.filter((e) => e.type === 'session.resume').map((e) => e.payload)).toEqual([
      { sessionId: 'rs-2', handle: 'the-handle' },
    ]);
    vi.advanceTimersByTime(5_000);
    await flush();
    expect(rtvi.state).toBe('ready');
    back.send('client-message', { t: 'ping' }, 'p-1');
    expect(back.answer('p-1')).toEqual({
      label: 'rtvi-ai',
      type: 'server-response',
      id: 'p-1',
      data: { t: 'ping', d: { pong: true } },
    });
    expect(wire.answer('p-1')).toBeUndefined();
  });

  it('after coming back the idle timer runs again', async () => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({ resume: resume(), edit: (c) => ({ ...c, idleTimeoutMs: 3000 }) });
    wire.ready();
    await flush();
    wire.drop('client_disconnected');
    rtvi.attach(new FakeWire(), 'h');
    vi.advanceTimersByTime(2999);
    await flush();
    expect(rtvi.state).toBe('ready');
    vi.advanceTimersByTime(1);
    expect(await rtvi.closed).toBe('idle_timeout');
  });

  it('a wire still attached is replaced: the old one closed', async () => {
    const { wire, rtvi } = startRtvi({ resume: resume() });
    wire.ready();
    const next = new FakeWire();
    rtvi.attach(next, 'h');
    expect(wire.closes).toBe(1);
    expect(rtvi.state).toBe('ready');
  });

  it('before client-ready a dropped wire ends the session at once', async () => {
    const { wire, rtvi } = startRtvi({ resume: resume() });
    wire.drop('client_disconnected');
    expect(await rtvi.closed).toBe('client_disconnected');
  });

  it('a closed session cannot be attached to: resume_gone', async () => {
    const { wire, rtvi } = startRtvi({ resume: resume() });
    wire.ready();
    await rtvi.close('bye');
    let caught: unknown;
    try {
      rtvi.attach(new FakeWire(), 'h');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ResumeError);
    expect(caught).toMatchObject({ code: 'resume_gone', message: 'The session has ended' });
  });
});

describe('what closing releases', () => {
  it.each([
    ['waiting for client-ready', false],
    ['ready (the idle timer armed)', true],
  ])('%s: no timer left, no listener of user activity left on the bus', async (_what, ready) => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({ readyTimeoutMs: 5000, edit: (c) => ({ ...c, idleTimeoutMs: 3000 }) });
    if (ready) wire.ready();
    await flush();
    expect(vi.getTimerCount()).toBe(1); // the deadline, or the idle timer
    await rtvi.close('bye');
    expect(vi.getTimerCount()).toBe(0);
    const bus = rtvi.session.eventBus;
    const activity = ['user.speech.start', 'user.speech.stop', 'user.text', 'bot.speaking.stop'] as const;
    expect(activity.filter((type) => bus.hasSubscribers(type))).toEqual([]);
  });

  it('closed while detached: the resume window is cleared, nothing happens when it would have ended', async () => {
    fakeTimeouts();
    const started = startRtvi({
      resume: { handles: new ResumeHandles(), windowMs: 1000, handleTtlMs: 60_000 },
    });
    const events = recordEvents(started);
    const { wire, rtvi } = started;
    wire.ready();
    await flush();
    wire.drop('error');
    expect(rtvi.state).toBe('detached');
    await rtvi.close('server_closed');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    await flush();
    expect(await rtvi.closed).toBe('server_closed');
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('the idle timer does not run while the client is away or not yet ready, whatever the session does', async () => {
    fakeTimeouts();
    const { wire, rtvi } = startRtvi({
      resume: { handles: new ResumeHandles(), windowMs: 10_000, handleTtlMs: 60_000 },
      readyTimeoutMs: 10_000,
      edit: (c) => ({ ...c, idleTimeoutMs: 500 }),
    });
    const bus = rtvi.session.eventBus;
    bus.publish('user.text', { sessionId: rtvi.id, text: 'typed early' } as never);
    vi.advanceTimersByTime(1000);
    await flush();
    expect(rtvi.state).toBe('waiting');
    wire.ready();
    await flush();
    wire.drop('client_disconnected');
    // The answer cut by the disconnect stops speaking.
    bus.publish('bot.speaking.stop', { sessionId: rtvi.id } as never);
    vi.advanceTimersByTime(1000);
    await flush();
    expect(rtvi.state).toBe('detached');
  });

  it('messages that arrive while the session closes are dropped', async () => {
    const started = startRtvi();
    const events = recordEvents(started);
    const { wire, rtvi } = started;
    wire.ready();
    let finishClose!: () => void;
    const close = rtvi.session.close.bind(rtvi.session);
    vi.spyOn(rtvi.session, 'close').mockImplementation(async (reason) => {
      await new Promise<void>((r) => {
        finishClose = r;
      });
      return close(reason);
    });
    const closing = rtvi.close('bye');
    expect(rtvi.state).toBe('closed');
    const count = wire.sent.length;
    wire.send('client-message', { t: 'ping' }, 'late-1');
    wire.send('dtmf', { buttons: ['1'] });
    wire.ready('ready-late');
    expect(wire.sent.length).toBe(count);
    expect(events.filter((e) => e.type === 'user.dtmf')).toEqual([]);
    finishClose();
    await closing;
    expect(await rtvi.closed).toBe('bye');
  });
});

describe('client function calls', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A session whose scripted LLM calls the client function `pick_color` on "color". */
  async function withClientFunction(rtviEvents: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'rtvi-calls-'));
    dirs.push(dir);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        mode: 'agent',
        models: { llm: 'scripted:script.json' },
        agents: [{ name: 'main', instructions: 'Be brief.', tools: ['pick_color'] }],
        tools: [
          {
            name: 'pick_color',
            kind: 'client_function',
            description: 'Ask the app which color the user picked',
            input_schema: { type: 'object', properties: { hint: { type: 'string' } } },
            timeout_ms: 60_000,
          },
        ],
      }),
    );
    await writeFile(
      join(dir, 'script.json'),
      JSON.stringify({
        rules: [
          {
            when: 'color',
            call: { name: 'pick_color', args: { hint: 'favourite' } },
            say: 'You picked {{result.color}}.',
          },
        ],
        fallback: 'Ask me about your color.',
      }),
    );
    const started = startRtvi({
      env: { COLLOQUY_CONFIG: join(dir, 'config.json'), COLLOQUY_RTVI_EVENTS: rtviEvents ? 'true' : 'false' },
    });
    const events = recordEvents(started);
    started.wire.ready();
    started.wire.send('send-text', { content: 'which color did I pick' });
    await vi.waitFor(
      () => expect(started.wire.ofType('llm-function-call-in-progress')).not.toEqual([]),
      WAIT,
    );
    return { ...started, events };
  }

  it.each([
    ['with RTVI events off, the session itself asks the client', false],
    ['with RTVI events on, the projection asks (once)', true],
  ])('%s', async (_what, rtviEvents) => {
    const { wire } = await withClientFunction(rtviEvents);
    await flush();
    const calls = wire.ofType('llm-function-call-in-progress');
    expect(calls).toEqual([
      {
        label: 'rtvi-ai',
        type: 'llm-function-call-in-progress',
        data: {
          tool_call_id: expect.any(String),
          function_name: 'pick_color',
          arguments: { hint: 'favourite' },
        },
      },
    ]);
    wire.send(
      'llm-function-call-result',
      {
        function_name: 'pick_color',
        tool_call_id: calls[0]!.data.tool_call_id,
        arguments: { hint: 'favourite' },
        result: { color: 'teal' },
      },
      'res-1',
    );
    expect(wire.answer('res-1')).toBeUndefined(); // a result for a waiting call is not answered
  });
});

describe('bot audio', () => {
  it('goes to the wire at the output rate; cutting the bot off clears what the wire still holds', async () => {
    // 11.6 s of speech: still playing when the test cuts it, even after a long stall of a loaded
    // machine (at 40 ms a character it was 1.2 s; a 1.5 s stall let it finish uncut: no clear).
    const tts = new MockTts({ msPerChar: 400, sampleRate: 16000 });
    const { wire, rtvi } = startRtvi({ requestData: { config: 'stream' }, tts });
    wire.ready();
    wire.send('client-message', { t: 'tts-speak', d: { text: 'a sentence long enough to cut' } }, 's-1');
    await vi.waitFor(() => expect(wire.audioFrames).toBeGreaterThan(0), WAIT);
    expect(new Set(wire.audioRates)).toEqual(new Set([24000])); // the session's output rate
    expect(wire.clears).toBe(0);
    rtvi.session.interrupt('interrupted');
    expect(wire.clears).toBeGreaterThan(0);
  });
});

describe('context compaction', () => {
  it('the given compaction reaches the session: a long history is summarised after a turn', async () => {
    const started = startRtvi({
      requestData: { text_only: true },
      compaction: { maxChars: 200, keepRecent: 2 },
    });
    const events = recordEvents(started);
    const { wire, rtvi } = started;
    rtvi.session.setHistory(
      Array.from({ length: 6 }, (_, i) => ({
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `message ${i} ${'x'.repeat(60)}`,
      })),
    );
    wire.ready();
    wire.send('send-text', { content: 'hello' });
    await vi.waitFor(() => expect(events.some((e) => e.type === 'context.compact')).toBe(true), WAIT);
  });
});
