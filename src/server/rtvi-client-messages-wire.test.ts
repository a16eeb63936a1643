/**
 * What an RTVI session answers to each client message (`rtvi-client-messages.ts`), on an in-process
 * wire (test/support/rtvi-wire.ts) with the offline demo's models: the exact RTVI payloads sent back
 * (type, id, data), what reaches the session (history, turns, bus events, audio), and what is NOT
 * answered. Each test starts and closes its own session.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, type FakeWire, startRtvi } from '../../test/support/rtvi-wire.ts';
import type { BusEvent } from '../bus/events.ts';
import { InvalidInputError } from '../errors.ts';
import { MockTts } from '../testing/mock-tts.ts';

/** Bounded waits for what follows at once on a quiet machine (a loaded one can take a while). */
const WAIT = { timeout: 4000, interval: 5 };

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await closeAll();
});

const refused = (id: string, error: string) => ({
  label: 'rtvi-ai',
  type: 'error-response',
  id,
  data: { error },
});
const answered = (id: string, t: string, d?: unknown) => ({
  label: 'rtvi-ai',
  type: 'server-response',
  id,
  data: d === undefined ? { t } : { t, d },
});
const clientMessage = (wire: FakeWire, id: string, t: string, d?: unknown) =>
  wire.send('client-message', d === undefined ? { t } : { t, d }, id);

/** A ready session (client-ready answered, the session started). */
async function readySession(options: Parameters<typeof startRtvi>[0] = {}) {
  const started = startRtvi(options);
  const events: BusEvent[] = [];
  started.rtvi.session.eventBus.subscribeAll((e) => events.push(e));
  started.wire.ready();
  await vi.waitFor(() => expect(started.rtvi.session.state).not.toBe('created'), WAIT);
  const before = started.wire.sent.length;
  return { ...started, events, before, replies: () => started.wire.sent.slice(before) };
}

describe('before client-ready', () => {
  it.each([
    ['send-text', { content: 'hello' }],
    ['client-message', { t: 'ping' }],
    ['dtmf', { buttons: ['1'] }],
    ['raw-audio', { base64Audio: 'AAAA', sampleRate: 16000, numChannels: 1 }],
    ['append-to-context', { role: 'user', content: 'hello' }],
    ['ui-event', { event: 'subagent-ui-response', payload: {} }],
    ['llm-function-call-result', { function_name: 'f', tool_call_id: 't1', arguments: {}, result: {} }],
  ])('%s is refused to its id: Send client-ready before it', (type, data) => {
    const { wire, rtvi } = startRtvi();
    wire.send(type, data, 'early-01');
    expect(wire.sent).toEqual([refused('early-01', `Send client-ready before "${type}"`)]);
    expect(rtvi.state).toBe('waiting');
    expect(rtvi.session.history).toEqual([]);
  });

  it('disconnect-bot ends the waiting session: conversation-end, the wire closed, reason client_disconnected', async () => {
    const { wire, rtvi } = startRtvi();
    wire.send('disconnect-bot', {}, 'bye-01');
    expect(await rtvi.closed).toBe('client_disconnected');
    expect(wire.sent).toEqual([
      {
        label: 'rtvi-ai',
        type: 'server-message',
        data: { type: 'conversation-end', data: { reason: 'client_disconnected' } },
      },
    ]);
    expect(wire.closes).toBe(1);
  });
});

describe('refused before parsing or by the parser', () => {
  it('a message that does not parse: error-response to its id, or a non-fatal error; logged at debug', async () => {
    const { wire, logger, rtvi } = await readySession();
    wire.receive({ label: 'rtvi-ai', type: 'launch-rockets', id: 'unk-01', data: {} });
    wire.receive('{"label":"rtvi-ai",');
    const bad = 'RTVI message is not valid JSON';
    expect(wire.sent.slice(-2)).toEqual([
      refused('unk-01', 'Unsupported RTVI message type "launch-rockets"'),
      { label: 'rtvi-ai', type: 'error', data: { error: bad, message: bad, fatal: false } },
    ]);
    expect(logger.lines.filter((l) => l[0] === 'debug' && String(l[1]).includes('refused'))).toEqual([
      ['debug', `session ${rtvi.id}: refused client message: Unsupported RTVI message type "launch-rockets"`],
      ['debug', `session ${rtvi.id}: refused client message: ${bad}`],
    ]);
  });

  it('the parser uses the configured size and depth limits', async () => {
    const { wire, replies } = await readySession({ limits: { rtviMessageBytes: 2048, rtviJsonDepth: 4 } });
    clientMessage(wire, 'big-01', 'ping', { pad: 'x'.repeat(3000) });
    clientMessage(wire, 'deep-01', 'ping', { a: { b: {} } });
    clientMessage(wire, 'ok-01', 'ping', { a: 1 });
    expect(replies().map((m) => [m.type, m.id])).toEqual([
      ['error-response', 'big-01'],
      ['error-response', 'deep-01'],
      ['server-response', 'ok-01'],
    ]);
    expect(replies()[0]!.data.error).toMatch(/^RTVI message is too large: /);
    expect(replies()[1]!.data.error).toMatch(/^RTVI message is too deep: /);
  });

  it('over the message budget: dropped before parsing, the client told once, with the configured rates', async () => {
    // Bytes: a burst of rtviMessageBytes (3000), refilled at 1 byte per second (nothing within a test).
    const { wire, replies } = await readySession({
      limits: { rtviMessagesPerSecond: 1000, rtviBytesPerSecond: 1, rtviMessageBytes: 3000 },
    });
    // client-ready (an object) took 1024 of the 3000 bytes. Text is counted by its length: three
    // of about 580 characters fit the 1976 left, the fourth does not.
    const text = (id: string) =>
      JSON.stringify({
        label: 'rtvi-ai',
        type: 'client-message',
        id,
        data: { t: 'ping', d: { pad: 'x'.repeat(500) } },
      });
    expect(text('t-1').length * 3).toBeLessThanOrEqual(1976);
    expect(text('t-1').length * 4).toBeGreaterThan(1976);
    for (const id of ['t-1', 't-2', 't-3', 't-4', 't-5']) wire.receive(text(id));
    const notice =
      'Too many messages: 1 dropped (a session may send 1000 messages and 0 KiB per second); slow down';
    expect(replies()).toEqual([
      answered('t-1', 'ping', { pong: true }),
      answered('t-2', 'ping', { pong: true }),
      answered('t-3', 'ping', { pong: true }),
      { label: 'rtvi-ai', type: 'error', data: { error: notice, message: notice, fatal: false } },
    ]);
  });

  it('a parsed message (not text) counts as 1024 bytes', async () => {
    const { wire, replies } = await readySession({
      limits: { rtviMessagesPerSecond: 1000, rtviBytesPerSecond: 1, rtviMessageBytes: 3000 },
    });
    for (const id of ['o-1', 'o-2', 'o-3']) clientMessage(wire, id, 'ping');
    expect(replies().map((m) => [m.type, m.id])).toEqual([
      ['server-response', 'o-1'],
      ['error', undefined],
    ]);
  });
});

describe('client-message', () => {
  it('ping: pong; an unknown t: refused, named (64 characters at most)', async () => {
    const { wire, replies } = await readySession();
    clientMessage(wire, 'p-1', 'ping');
    clientMessage(wire, 'u-1', 'nope', {});
    clientMessage(wire, 'u-2', 'y'.repeat(100));
    expect(replies()).toEqual([
      answered('p-1', 'ping', { pong: true }),
      refused('u-1', 'Unknown client message "nope"'),
      refused('u-2', `Unknown client message "${'y'.repeat(64)}"`),
    ]);
  });

  it('tts-speak in agent mode: refused, nothing said', async () => {
    const { wire, replies, rtvi } = await readySession();
    clientMessage(wire, 's-1', 'tts-speak', { text: 'hello' });
    expect(replies()).toEqual([refused('s-1', 'tts-speak is only available in stream mode')]);
    expect(rtvi.session.history).toEqual([]);
  });

  it.each([
    ['no d', undefined, { queued: false }],
    ['d null', null, { queued: false }],
    ['no text', {}, { queued: false }],
    ['text not a string', { text: 42 }, { queued: false }],
    ['blank text', { text: ' \n ' }, { queued: false }],
    ['a text', { text: 'Hello there' }, { queued: true, length: 11 }],
    ['2000 characters', { text: 'a'.repeat(2000) }, { queued: true, length: 2000 }],
    ['2001 characters: clipped', { text: 'b'.repeat(2001) }, { queued: true, length: 2000 }],
  ])('stream mode tts-speak, %s', async (_what, d, answer) => {
    const tts = new MockTts({ msPerChar: 1, stallOn: () => true });
    const { wire, replies, rtvi } = await readySession({ requestData: { config: 'stream' }, tts });
    const speak = vi.spyOn(rtvi.session, 'speak');
    clientMessage(wire, 'speak-1', 'tts-speak', d);
    expect(replies().filter((m) => m.id !== undefined)).toEqual([answered('speak-1', 'tts-speak', answer)]);
    if (answer.queued) {
      expect(speak.mock.calls).toEqual([[(d as { text: string }).text.slice(0, 2000)]]);
    } else {
      expect(speak).not.toHaveBeenCalled();
    }
  });

  it('stream mode tts-speak is bounded by limits.ttsSpeakQueue; a text spoken (or cut) frees its place', async () => {
    const tts = new MockTts({ msPerChar: 1, stallOn: () => true });
    const { wire, replies, rtvi, events } = await readySession({
      requestData: { config: 'stream' },
      tts,
      limits: { ttsSpeakQueue: 2 },
    });
    clientMessage(wire, 'q-1', 'tts-speak', { text: 'one' });
    clientMessage(wire, 'q-2', 'tts-speak', { text: 'two' });
    clientMessage(wire, 'q-3', 'tts-speak', { text: 'three' });
    const answers = () => replies().filter((m) => m.id !== undefined);
    expect(answers()).toEqual([
      answered('q-1', 'tts-speak', { queued: true, length: 3 }),
      answered('q-2', 'tts-speak', { queued: true, length: 3 }),
      refused('q-3', 'tts-speak queue is full (2 texts); try again once earlier texts were spoken'),
    ]);
    // Both utterances cut: their places are free again.
    rtvi.session.interrupt('interrupted');
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'assistant.text')).toHaveLength(2), WAIT);
    await new Promise((r) => setImmediate(r));
    clientMessage(wire, 'q-4', 'tts-speak', { text: 'four' });
    clientMessage(wire, 'q-5', 'tts-speak', { text: 'five' });
    clientMessage(wire, 'q-6', 'tts-speak', { text: 'six' });
    expect(answers().slice(3)).toEqual([
      answered('q-4', 'tts-speak', { queued: true, length: 4 }),
      answered('q-5', 'tts-speak', { queued: true, length: 4 }),
      refused('q-6', 'tts-speak queue is full (2 texts); try again once earlier texts were spoken'),
    ]);
  });

  it('a text of blanks then words: the words are said (blanks around a text count nothing)', async () => {
    const tts = new MockTts({ msPerChar: 1, stallOn: () => true });
    const { wire, replies, rtvi } = await readySession({ requestData: { config: 'stream' }, tts });
    const speak = vi.spyOn(rtvi.session, 'speak');
    clientMessage(wire, 'b-1', 'tts-speak', { text: `${' '.repeat(2000)}words after the blanks\n` });
    clientMessage(wire, 'b-2', 'tts-speak', { text: `  ${'c'.repeat(2001)}` });
    expect(replies().filter((m) => m.id !== undefined)).toEqual([
      answered('b-1', 'tts-speak', { queued: true, length: 22 }),
      answered('b-2', 'tts-speak', { queued: true, length: 2000 }),
    ]);
    expect(speak.mock.calls).toEqual([['words after the blanks'], ['c'.repeat(2000)]]);
  });

  it('a tts-speak the session fails to say is reported as a tts-speak warning, and frees its place', async () => {
    const tts = new MockTts({ msPerChar: 1, stallOn: () => true });
    const { wire, replies, events, rtvi } = await readySession({
      requestData: { config: 'stream' },
      tts,
      limits: { ttsSpeakQueue: 1 },
    });
    vi.spyOn(rtvi.session, 'speak').mockRejectedValueOnce(
      new InvalidInputError('empty_text', 'Text is empty'),
    );
    clientMessage(wire, 'f-1', 'tts-speak', { text: 'first' });
    const answers = () => replies().filter((m) => m.id !== undefined);
    expect(answers()).toEqual([answered('f-1', 'tts-speak', { queued: true, length: 5 })]);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'error')).toBe(true), WAIT);
    const errors = events.filter((e) => e.type === 'error').map((e) => e.payload as any);
    expect(errors.map((p) => [p.component, p.severity, p.error.code, p.error.message])).toEqual([
      ['tts-speak', 'warn', 'empty_text', 'Text is empty'],
    ]);
    await new Promise((r) => setImmediate(r));
    clientMessage(wire, 'f-2', 'tts-speak', { text: 'now this' });
    expect(answers().slice(1)).toEqual([answered('f-2', 'tts-speak', { queued: true, length: 8 })]);
    expect(tts.requests.map((r) => r.text)).toEqual(['now this']);
  });
});

describe('send-text and append-to-context', () => {
  it('send-text runs a turn with the text as is', async () => {
    const { wire, rtvi, replies } = await readySession();
    wire.send('send-text', { content: 'hello there' }, 'st-1');
    await vi.waitFor(() => expect(rtvi.session.history.length).toBeGreaterThanOrEqual(1), WAIT);
    expect(rtvi.session.history[0]).toEqual({ role: 'user', content: 'hello there' });
    expect(replies().filter((m) => m.id === 'st-1')).toEqual([]);
  });

  it('send-text with run_immediately false only adds the user text; no turn runs', async () => {
    const { wire, rtvi, events, replies } = await readySession();
    rtvi.session.setHistory([{ role: 'assistant', content: 'Earlier.' }]);
    wire.send('send-text', { content: ' note this ', options: { run_immediately: false } }, 'st-2');
    expect(rtvi.session.history).toEqual([
      { role: 'assistant', content: 'Earlier.' },
      { role: 'user', content: ' note this ' },
    ]);
    await new Promise((r) => setImmediate(r));
    expect(events.filter((e) => e.type === 'turn.start' || e.type === 'user.text')).toEqual([]);
    expect(replies()).toEqual([]);
  });

  it.each([
    ['blank', '   ', 'Text is empty'],
    ['over the session limit', 'x'.repeat(8001), 'Text has 8001 characters; the limit is 8000'],
  ])(
    'send-text the session refuses at once (%s): error-response with its message',
    async (_what, content, error) => {
      const { wire, rtvi, replies } = await readySession();
      wire.send('send-text', { content }, 'st-3');
      expect(replies()).toEqual([refused('st-3', error)]);
      expect(rtvi.session.history).toEqual([]);
    },
  );

  it('a session call that throws something not a Colloquy error: its text answers the request', async () => {
    const { wire, rtvi, replies } = await readySession();
    vi.spyOn(rtvi.session, 'sendText').mockImplementation(() => {
      throw new TypeError('broken inside');
    });
    wire.send('send-text', { content: 'hello' }, 'st-4');
    expect(replies()).toEqual([refused('st-4', 'TypeError: broken inside')]);
  });

  it('a turn that fails later is reported as a session warning (not to the request)', async () => {
    const { wire, rtvi, replies, events } = await readySession();
    vi.spyOn(rtvi.session, 'sendText').mockImplementation(() => Promise.reject(new Error('turn broke')));
    wire.send('send-text', { content: 'hello' }, 'st-5');
    await vi.waitFor(() => expect(events.some((e) => e.type === 'error')).toBe(true), WAIT);
    const p = events.find((e) => e.type === 'error')!.payload as any;
    expect([p.component, p.severity, p.error.code, p.error.message]).toEqual([
      'session',
      'warn',
      'session_failed',
      'turn broke',
    ]);
    expect(replies()).toEqual([]);
  });

  it.each([
    ['a user text', { role: 'user', content: 'remember me' }, { role: 'user', content: 'remember me' }],
    [
      'an assistant text',
      { role: 'assistant', content: 'I said so' },
      { role: 'assistant', content: 'I said so' },
    ],
    [
      'an assistant text with run_immediately',
      { role: 'assistant', content: 'I said so', run_immediately: true },
      { role: 'assistant', content: 'I said so' },
    ],
    [
      'a user text with run_immediately false',
      { role: 'user', content: 'later', run_immediately: false },
      { role: 'user', content: 'later' },
    ],
  ])('append-to-context, %s: added after the history, no turn', async (_what, data, added) => {
    const { wire, rtvi, events, replies } = await readySession();
    rtvi.session.setHistory([{ role: 'user', content: 'Earlier.' }]);
    wire.send('append-to-context', data, 'ac-1');
    expect(rtvi.session.history).toEqual([{ role: 'user', content: 'Earlier.' }, added]);
    await new Promise((r) => setImmediate(r));
    expect(events.filter((e) => e.type === 'user.text')).toEqual([]);
    expect(replies()).toEqual([]);
  });

  it('append-to-context of a user text with run_immediately: a turn runs with it', async () => {
    const { wire, rtvi, events } = await readySession();
    wire.send('append-to-context', { role: 'user', content: 'hello', run_immediately: true }, 'ac-2');
    await vi.waitFor(() => expect(events.some((e) => e.type === 'user.text')).toBe(true), WAIT);
    expect(rtvi.session.history[0]).toEqual({ role: 'user', content: 'hello' });
  });

  it('append-to-context that runs a turn the session refuses: error-response with its message', async () => {
    const { wire, replies } = await readySession();
    wire.send(
      'append-to-context',
      { role: 'user', content: 'x'.repeat(8001), run_immediately: true },
      'ac-3',
    );
    expect(replies()).toEqual([refused('ac-3', 'Text has 8001 characters; the limit is 8000')]);
  });
});

describe('dtmf, function-call results, ui events', () => {
  it('dtmf: the keys as one user.dtmf event; no answer', async () => {
    const { wire, rtvi, events, replies } = await readySession();
    wire.send('dtmf', { buttons: ['1', '2', '#'] }, 'd-1');
    expect(events.filter((e) => e.type === 'user.dtmf').map((e) => e.payload)).toEqual([
      { sessionId: rtvi.id, digits: '12#' },
    ]);
    expect(replies()).toEqual([]);
  });

  it('llm-function-call-result for no pending call: refused to its id, logged; without an id only logged', async () => {
    const { wire, rtvi, replies, logger } = await readySession();
    const data = { function_name: 'pick', tool_call_id: 'call-9', arguments: {}, result: { ok: true } };
    wire.send('llm-function-call-result', data, 'r-1');
    wire.send('llm-function-call-result', data);
    expect(replies()).toEqual([refused('r-1', 'No pending function call "call-9" for "pick"')]);
    const line = `session ${rtvi.id}: no pending client call call-9 (pick)`;
    expect(logger.lines.filter((l) => l[1] === line)).toEqual([
      ['debug', line],
      ['debug', line],
    ]);
  });

  it.each([
    ['ui-snapshot', { tree: { root: {}, captured_at: 1 } }, '"ui-snapshot" is not supported by this server'],
    ['ui-cancel-job-group', { job_id: 'j1' }, '"ui-cancel-job-group" is not supported by this server'],
    [
      'ui-event',
      { event: `custom-${'e'.repeat(80)}` },
      `ui-event "custom-${'e'.repeat(57)}" is not supported (only "subagent-ui-response")`,
    ],
  ])('%s: refused to its id', async (type, data, error) => {
    const { wire, replies } = await readySession();
    wire.send(type, data, 'ui-1');
    expect(replies()).toEqual([refused('ui-1', error)]);
  });

  it.each([
    ['ui-event', (d: unknown) => ({ event: 'subagent-ui-response', payload: d })],
    ['client-message', (d: unknown) => ({ t: 'subagent-ui-response', d })],
  ])(
    'an answer to a subagent question as %s: routed to the question; a refused answer names its code',
    async (type, data) => {
      const { wire, rtvi, replies } = await readySession();
      const outcome = rtvi.session.subagentUi.ask({
        subagentName: 'helper',
        prompt: 'Which one?',
        options: ['red', 'blue'],
      });
      const requestId = rtvi.session.subagentUi.requests[0]!.requestId;
      wire.send(type, data({ requestId: 'ui_nope', value: 'red' }), 'a-1');
      wire.send(type, data({ requestId, value: 'blue' }), 'a-2');
      const expected =
        type === 'client-message'
          ? [
              refused('a-1', 'ui_request_unknown: No UI request "ui_nope" in this session'),
              answered('a-2', 'subagent-ui-response', { accepted: true }),
            ]
          : [refused('a-1', 'ui_request_unknown: No UI request "ui_nope" in this session')];
      expect(replies().filter((m) => m.id === 'a-1' || m.id === 'a-2')).toEqual(expected);
      await expect(outcome).resolves.toMatchObject({ status: 'answered' });
    },
  );
});

describe('raw-audio', () => {
  const pcm = (...samples: number[]) => {
    const b = Buffer.alloc(samples.length * 2);
    for (const [i, s] of samples.entries()) b.writeInt16LE(s, i * 2);
    return b.toString('base64');
  };

  it.each([
    ['no bytes', { base64Audio: '====', sampleRate: 16000, numChannels: 1 }],
    [
      'half a mono sample',
      { base64Audio: Buffer.from([1, 2, 3]).toString('base64'), sampleRate: 16000, numChannels: 1 },
    ],
    ['one and a half stereo frames', { base64Audio: pcm(1, 2, 3), sampleRate: 16000, numChannels: 2 }],
  ])('%s: refused, nothing reaches the session', async (_what, data) => {
    const { wire, rtvi, replies } = await readySession();
    const push = vi.spyOn(rtvi.session, 'pushAudio');
    wire.send('raw-audio', data, 'ra-1');
    expect(replies()).toEqual([refused('ra-1', 'raw-audio must hold whole PCM16 frames')]);
    expect(push).not.toHaveBeenCalled();
  });

  it('mono PCM16 reaches the session as is; stereo mixed down to mono; no answer', async () => {
    const { wire, rtvi, replies } = await readySession();
    const pushed: Array<[number[], number]> = [];
    vi.spyOn(rtvi.session, 'pushAudio').mockImplementation(
      (frame, rate) => void pushed.push([[...frame], rate]),
    );
    wire.send(
      'raw-audio',
      { base64Audio: pcm(1, -2, 300, -32768), sampleRate: 16000, numChannels: 1 },
      'ra-2',
    );
    wire.send(
      'raw-audio',
      { base64Audio: pcm(100, 300, -50, -150), sampleRate: 8000, numChannels: 2 },
      'ra-3',
    );
    expect(pushed).toEqual([
      [[1, -2, 300, -32768], 16000],
      [[200, -100], 8000],
    ]);
    expect(replies()).toEqual([]);
  });

  it('audio the session refuses: its message answers the request', async () => {
    const { wire, rtvi, replies } = await readySession();
    vi.spyOn(rtvi.session, 'pushAudio').mockImplementation(() => {
      throw new Error('no microphone here');
    });
    wire.send('raw-audio', { base64Audio: pcm(1, 2), sampleRate: 16000, numChannels: 1 }, 'ra-4');
    expect(replies()).toEqual([refused('ra-4', 'no microphone here')]);
  });

  it('faster than the mic budget: refused with audio_too_fast; counted by frames, not samples', async () => {
    const { wire, rtvi, replies } = await readySession({ limits: { micAudioSpeed: 1 } });
    const push = vi.spyOn(rtvi.session, 'pushAudio').mockImplementation(() => {});
    // 14.5 s of stereo at 8 kHz fits the 15 s burst (counted as 29 s of samples it would not).
    const frames = 8000 * 14.5;
    const stereo = Buffer.alloc(frames * 4).toString('base64');
    wire.send('raw-audio', { base64Audio: stereo, sampleRate: 8000, numChannels: 2 }, 'ra-5');
    expect(replies()).toEqual([]);
    // One more second: over the burst.
    wire.send(
      'raw-audio',
      { base64Audio: Buffer.alloc(16000).toString('base64'), sampleRate: 8000, numChannels: 1 },
      'ra-6',
    );
    expect(replies()).toEqual([
      refused('ra-6', 'audio_too_fast: mic audio arrives faster than 1× real time'),
    ]);
    expect(push).toHaveBeenCalledTimes(1);
  });
});

describe('a handler that throws', () => {
  it('is reported to the client as a non-fatal error and logged; the session goes on', async () => {
    const { wire, rtvi, logger, replies } = await readySession();
    vi.spyOn(rtvi.session, 'setHistory').mockImplementation(() => {
      throw new Error('history is read-only');
    });
    wire.send('append-to-context', { role: 'assistant', content: 'x' }, 'h-1');
    clientMessage(wire, 'h-2', 'ping');
    expect(replies()).toEqual([
      {
        label: 'rtvi-ai',
        type: 'error',
        data: { error: 'history is read-only', message: 'history is read-only', fatal: false },
      },
      answered('h-2', 'ping', { pong: true }),
    ]);
    const warn = logger.lines.find((l) => l[0] === 'warn')!;
    expect(warn[1]).toBe(`session ${rtvi.id}: client message failed`);
    expect(warn[2]).toMatchObject({ code: 'rtvi_handler_failed', message: 'history is read-only' });
    expect(rtvi.state).toBe('ready');
  });
});

describe('append-to-context content', () => {
  it.each([
    ['not text', 42],
    ['missing', undefined],
    ['blank', ' \t '],
  ])('content %s: refused to its id, the history unchanged', async (_what, content) => {
    const { wire, rtvi, replies } = await readySession();
    wire.send('append-to-context', { role: 'assistant', content }, 'ac-9');
    expect(replies()).toEqual([refused('ac-9', 'append-to-context needs string content')]);
    expect(rtvi.session.history).toEqual([]);
  });
});

describe('what the user does restarts the idle timer', () => {
  /** A ready session with a 1 s idle timeout, on fake timeouts. */
  async function idleSession(options: Parameters<typeof startRtvi>[0] = {}) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const started = startRtvi({ edit: (c) => ({ ...c, idleTimeoutMs: 1000 }), ...options });
    started.wire.ready();
    await new Promise((r) => setImmediate(r)); // the session started, the idle timer armed
    return started;
  }
  const flush = () => new Promise((r) => setImmediate(r));

  it.each([
    ['dtmf', (w: FakeWire) => w.send('dtmf', { buttons: ['5'] })],
    [
      'send-text that only adds to the conversation',
      (w: FakeWire) => w.send('send-text', { content: 'note', options: { run_immediately: false } }, 'i-1'),
    ],
  ])('%s: the session stays until 1 s after it', async (_what, act) => {
    const { wire, rtvi } = await idleSession();
    vi.advanceTimersByTime(900);
    act(wire);
    vi.advanceTimersByTime(900);
    await flush();
    expect(rtvi.state).toBe('ready');
    vi.advanceTimersByTime(100);
    expect(rtvi.state).toBe('closed');
    expect(await rtvi.closed).toBe('idle_timeout');
  });

  it('a queued tts-speak (stream mode)', async () => {
    const tts = new MockTts({ msPerChar: 1, stallOn: () => true });
    const { wire, rtvi } = await idleSession({ requestData: { config: 'stream' }, tts });
    vi.advanceTimersByTime(900);
    clientMessage(wire, 'i-2', 'tts-speak', { text: 'hold on' });
    vi.advanceTimersByTime(900);
    await flush();
    expect(rtvi.state).toBe('ready');
    vi.advanceTimersByTime(100);
    expect(await rtvi.closed).toBe('idle_timeout');
  });

  it('an answer to a subagent question', async () => {
    const { wire, rtvi } = await idleSession();
    void rtvi.session.subagentUi.ask({
      subagentName: 'helper',
      prompt: 'Which one?',
      options: ['red', 'blue'],
    });
    const requestId = rtvi.session.subagentUi.requests[0]!.requestId;
    vi.advanceTimersByTime(900);
    clientMessage(wire, 'i-3', 'subagent-ui-response', { requestId, value: 'red' });
    vi.advanceTimersByTime(900);
    await flush();
    expect(rtvi.state).toBe('ready');
    vi.advanceTimersByTime(100);
    expect(await rtvi.closed).toBe('idle_timeout');
  });

  it('a ping does not: the session ends 1 s after client-ready, conversation-end idle_timeout', async () => {
    const { wire, rtvi } = await idleSession();
    vi.advanceTimersByTime(900);
    clientMessage(wire, 'i-4', 'ping');
    vi.advanceTimersByTime(100);
    expect(await rtvi.closed).toBe('idle_timeout');
    expect(wire.sent.at(-1)).toEqual({
      label: 'rtvi-ai',
      type: 'server-message',
      data: { type: 'conversation-end', data: { reason: 'idle_timeout' } },
    });
    expect(wire.closes).toBe(1);
  });
});

describe('an answer the subagent UI fails on with something not its own error', () => {
  it('is refused as ui_invalid_response with the error text', async () => {
    const { wire, rtvi, replies } = await readySession();
    vi.spyOn(rtvi.session.subagentUi, 'respond').mockImplementation(() => {
      throw new Error('answer store broke');
    });
    clientMessage(wire, 'x-1', 'subagent-ui-response', { requestId: 'ui_1', value: 'red' });
    expect(replies()).toEqual([refused('x-1', 'ui_invalid_response: answer store broke')]);
  });
});
