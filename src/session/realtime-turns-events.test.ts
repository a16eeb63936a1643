/**
 * `RealtimeTurns` at unit level: provider events in by hand, the bus events a turn publishes out,
 * exactly (payloads, order, what is not published), and what the turns ask of the connection and of
 * the session (tools, cancellation, the idle moment). The speech output is real, on a hand clock
 * (`realtimeTurnsUnit`); a text-only session has none.
 */
import { describe, expect, it } from 'vitest';
import { realtimeTurnsUnit as unit } from '../../test/support/realtime-turns-unit.ts';
import { settle } from '../../test/support/scripted-realtime.ts';
import { MAX_TRANSCRIPT_CHARS, sayInstructions } from '../providers/realtime/base-connection.ts';

const text = (t: string, final = false) =>
  ({ type: 'output-transcript', itemId: 'i1', text: t, final }) as const;
const started = (responseId = 'r1') => ({ type: 'response-started', responseId }) as const;
const done = (responseId = 'r1', status: 'completed' | 'interrupted' | 'cancelled' = 'completed') =>
  ({ type: 'response-done', responseId, status }) as const;

/** The events of the recorder without their session id, as [type, payload] pairs. */
function flow(rec: ReturnType<typeof unit>['rec'], types?: string[]) {
  return rec.events
    .filter((e) => (types === undefined ? e.type !== 'turn.latency' : types.includes(e.type)))
    .map((e) => {
      const { sessionId: _s, at: _a, ...rest } = e.payload as Record<string, unknown>;
      return [e.type, rest];
    });
}

describe('a turn and its ids', () => {
  it('begin(): turn.start with a realtime turn id; a second begin interrupts the first with the reason', () => {
    const u = unit(undefined, { textOnly: true });
    const a = u.turns.begin();
    expect(a.id).toMatch(/^turn_\d+_rt$/);
    const b = u.turns.begin('interrupted');
    expect(b.id).not.toBe(a.id);
    expect(flow(u.rec)).toEqual([
      ['turn.start', { turnId: a.id }],
      ['assistant.text', { turnId: a.id, agentName: 'main', text: '', interrupted: true }],
      ['turn.interrupted', { turnId: a.id, reason: 'interrupted' }],
      ['turn.start', { turnId: b.id }],
    ]);
    expect(u.host).toEqual(['stopSpeech interrupted', `cancelTools ${a.id} -`]);
    expect(u.turns.active).toBe(b);
    u.close();
  });

  it('interrupt() with no turn does nothing', () => {
    const u = unit(undefined, { textOnly: true });
    u.turns.interrupt('interrupted');
    expect(u.rec.events).toEqual([]);
    expect(u.host).toEqual([]);
    u.close();
  });
});

describe('typed turns and say', () => {
  it('text(): turn.start, user.text (source), history, the text to the model; the running turn cut as interrupted', () => {
    const u = unit(undefined, { textOnly: true });
    const first = u.turns.text('hello');
    const second = u.turns.text('from a recording', 'speech');
    expect(flow(u.rec, ['turn.start', 'user.text', 'turn.interrupted'])).toEqual([
      ['turn.start', { turnId: first }],
      ['user.text', { turnId: first, text: 'hello', source: 'text' }],
      ['turn.interrupted', { turnId: first, reason: 'interrupted' }],
      ['turn.start', { turnId: second }],
      ['user.text', { turnId: second, text: 'from a recording', source: 'speech' }],
    ]);
    expect(u.provider).toEqual(['text hello', 'text from a recording']);
    expect(u.conversation.all).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'user', content: 'from a recording' },
    ]);
    u.close();
  });

  it('say(): the model is asked to say it; the turn publishes no llm events, only the speech and assistant.text', () => {
    const u = unit(undefined, { textOnly: true });
    const id = u.turns.say('Welcome.');
    u.send(started(), text('Welcome.'), { type: 'usage', usage: { outputTokens: 2 } }, done());
    expect(u.provider).toEqual(['say Welcome.']);
    expect(flow(u.rec, ['llm.start', 'llm.text.delta', 'llm.end'])).toEqual([]);
    expect(flow(u.rec, ['assistant.text', 'turn.end'])).toEqual([
      ['assistant.text', { turnId: id, agentName: 'main', text: 'Welcome.', interrupted: false }],
      ['turn.end', { turnId: id }],
    ]);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'Welcome.' }]);
    u.close();
  });

  it('say() on a connection without say: a bracketed text turn', () => {
    const u = unit(undefined, { textOnly: true, noSay: true });
    u.turns.say('Welcome.');
    expect(u.provider).toEqual([`text [${sayInstructions('Welcome.')}]`]);
    u.close();
  });

  it('a say() cut while the model speaks: no llm.end either', () => {
    const u = unit(undefined, { textOnly: true });
    u.turns.say('Welcome.');
    u.send(started(), text('Wel'));
    u.turns.interrupt('interrupted');
    expect(flow(u.rec, ['llm.end'])).toEqual([]);
    expect(u.provider).toEqual(['say Welcome.', 'cancel']);
    u.close();
  });
});

describe('user speech from the provider', () => {
  it('speech-started opens a turn (cutting the running one: user_speaking); speech-stopped marks its end', () => {
    const u = unit(undefined, { textOnly: true });
    const running = u.turns.text('hi');
    u.send({ type: 'speech-started' });
    const turnId = u.turns.active!.id;
    u.send({ type: 'speech-stopped' });
    expect(flow(u.rec).slice(2)).toEqual([
      ['user.speech.start', {}],
      ['assistant.text', { turnId: running, agentName: 'main', text: '', interrupted: true }],
      ['turn.interrupted', { turnId: running, reason: 'user_speaking' }],
      ['turn.start', { turnId }],
      ['user.speech.stop', { durationMs: 0 }],
    ]);
    expect(typeof u.rec.first('user.speech.start')!.at).toBe('number');
    u.close();
  });

  it('interim transcripts accumulate per item; the final is trimmed, opens a turn if none, enters history', () => {
    const u = unit(undefined, { textOnly: true });
    const interim = (itemId: string, t: string) =>
      u.send({ type: 'input-transcript', itemId, text: t, final: false });
    interim('u1', 'what ');
    interim('u1', 'time');
    interim('u2', 'other');
    expect(u.rec.payloads('transcription.interim').map((p) => p.text)).toEqual([
      'what ',
      'what time',
      'other',
    ]);
    u.send({ type: 'input-transcript', itemId: 'u1', text: '  what time is it \n', final: true });
    const turnId = u.turns.active!.id;
    expect(flow(u.rec, ['turn.start', 'transcription.final', 'user.text'])).toEqual([
      ['transcription.final', { text: 'what time is it' }],
      ['turn.start', { turnId }],
      ['user.text', { turnId, text: 'what time is it', source: 'speech' }],
    ]);
    expect(u.conversation.all).toEqual([{ role: 'user', content: 'what time is it' }]);
    // The item is done: a later interim of the same id starts afresh.
    interim('u1', 'again');
    expect(u.rec.payloads('transcription.interim').at(-1)!.text).toBe('again');
    u.close();
  });

  it('a blank final transcript is nothing: no event, no turn, no history', () => {
    const u = unit(undefined, { textOnly: true });
    u.send({ type: 'input-transcript', itemId: 'u1', text: '  ', final: true });
    expect(u.rec.events).toEqual([]);
    expect(u.turns.active).toBeUndefined();
    expect(u.conversation.all).toEqual([]);
    u.close();
  });

  it('a final transcript for the turn already open joins it', () => {
    const u = unit(undefined, { textOnly: true });
    u.send({ type: 'speech-started' });
    const turnId = u.turns.active!.id;
    u.send({ type: 'input-transcript', itemId: 'u1', text: 'hi', final: true });
    expect(u.rec.types(['turn.start'])).toEqual(['turn.start']);
    expect(u.rec.first('user.text')!.turnId).toBe(turnId);
    u.close();
  });
});

describe("the model's answer (a text-only session)", () => {
  it('a response with no turn open opens one: llm.start, deltas, then llm.end, assistant.text, turn.end, idle', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started('r7'), text('It is '), text('noon.'));
    const turnId = u.turns.active!.id;
    u.send({ type: 'usage', usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 } });
    u.send({ type: 'usage', usage: { outputTokens: 1 } });
    u.send(done('r7'));
    expect(flow(u.rec)).toEqual([
      ['turn.start', { turnId }],
      ['llm.start', { turnId, agentName: 'main' }],
      ['llm.text.delta', { turnId, id: 'r7', text: 'It is ' }],
      ['llm.text.delta', { turnId, id: 'r7', text: 'noon.' }],
      [
        'metrics.usage',
        {
          turnId,
          agentName: 'main',
          model: 'fake',
          usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 },
        },
      ],
      ['metrics.usage', { turnId, agentName: 'main', model: 'fake', usage: { outputTokens: 1 } }],
      ['llm.end', { turnId, outcome: 'finish', usage: { inputTokens: 5, outputTokens: 4, totalTokens: 8 } }],
      ['assistant.text', { turnId, agentName: 'main', text: 'It is noon.', interrupted: false }],
      ['turn.end', { turnId }],
    ]);
    expect(u.host).toEqual(['onIdle']);
    expect(u.turns.active).toBeUndefined();
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'It is noon.' }]);
    u.close();
  });

  it('usage with no turn: metrics.usage with an empty turn id and the current agent', () => {
    const u = unit(undefined, { textOnly: true });
    u.send({ type: 'usage', usage: { totalTokens: 2 } });
    expect(flow(u.rec)).toEqual([
      ['metrics.usage', { turnId: '', agentName: 'main', model: 'fake', usage: { totalTokens: 2 } }],
    ]);
    u.close();
  });

  it('transcript and audio before any response (or after it is done) are dropped', () => {
    const u = unit(undefined, { textOnly: true });
    u.turns.text('hi');
    u.send(text('stray'), u.audio('i1', 100), done());
    expect(u.rec.types(['llm.text.delta', 'turn.end', 'speech.start'])).toEqual([]);
    u.send(started(), text('ok'), done(), text(' late'));
    expect(u.rec.payloads('llm.text.delta').map((p) => p.text)).toEqual(['ok']);
    u.close();
  });

  it('a final transcript adds only what the deltas missed; one that disagrees with them is ignored', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(
      started(),
      text('Hello'),
      text('Hello there.', true),
      text('Hello there.', true),
      text('Bye', true),
      done(),
    );
    expect(u.rec.payloads('llm.text.delta').map((p) => p.text)).toEqual(['Hello', ' there.']);
    expect(u.rec.first('assistant.text')!.text).toBe('Hello there.');
    // A final with no deltas before it is the whole text.
    u.send(started('r2'), text('Whole.', true), done('r2'));
    expect(u.rec.payloads('assistant.text').at(-1)!.text).toBe('Whole.');
    u.close();
  });

  it(`the turn's text is bounded (${MAX_TRANSCRIPT_CHARS} characters): a provider that never stops`, () => {
    const u = unit(undefined, { textOnly: true });
    const big = 'x'.repeat(MAX_TRANSCRIPT_CHARS);
    u.send(started(), text(big), text('more'), done());
    expect(u.rec.payloads('llm.text.delta').map((p) => p.text.length)).toEqual([MAX_TRANSCRIPT_CHARS]);
    expect(u.rec.first('assistant.text')!.text).toHaveLength(MAX_TRANSCRIPT_CHARS);
    const under = unit(undefined, { textOnly: true });
    under.send(started(), text('x'.repeat(MAX_TRANSCRIPT_CHARS - 1)), text('yz'), done());
    expect(under.rec.first('assistant.text')!.text).toHaveLength(MAX_TRANSCRIPT_CHARS + 1);
    u.close();
    under.close();
  });

  it('the end of an earlier response (cut by a barge-in) does not end the next one; an `interrupted` end cuts the turn', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started('r1'), text('A'), started('r2'), text('B'), done('r1'));
    expect(u.rec.types(['turn.end'])).toEqual([]);
    u.send(done('r2', 'interrupted'));
    expect(flow(u.rec, ['llm.end', 'turn.interrupted'])).toEqual([
      ['llm.end', { turnId: u.rec.first('turn.start')!.turnId, outcome: 'abort' }],
      ['turn.interrupted', { turnId: u.rec.first('turn.start')!.turnId, reason: 'user_speaking' }],
    ]);
    expect(u.provider).toEqual(['cancel']);
    u.close();
  });

  it('a response-done without a response id ends the response running', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started('r1'), text('A'), { type: 'response-done', status: 'completed' } as never);
    expect(u.rec.types(['turn.end'])).toEqual(['turn.end']);
    u.close();
  });

  it('a blank answer leaves history alone; the turn still ends', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started(), text('   '), done());
    expect(u.rec.types(['turn.end'])).toEqual(['turn.end']);
    expect(u.conversation.all).toEqual([]);
    u.close();
  });
});

describe('tools of a turn', () => {
  it('a tool call with no turn open opens one; a result not delivered ends it, with no llm.end (no llm.start came)', async () => {
    const u = unit(undefined, { textOnly: true, runTool: async () => false });
    u.send({ type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{}' });
    const turnId = u.rec.first('turn.start')!.turnId;
    expect(u.host).toEqual([`runTool ${turnId} c1 lookup`]);
    expect(u.rec.types(['turn.end'])).toEqual([]);
    await u.rec.waitFor('turn.end');
    expect(flow(u.rec, ['llm.start', 'llm.end', 'assistant.text', 'turn.end'])).toEqual([
      ['assistant.text', { turnId, agentName: 'main', text: '', interrupted: false }],
      ['turn.end', { turnId }],
    ]);
    u.close();
  });

  it('a delivered result keeps the turn open until the answer (a new response) is done', async () => {
    let deliver!: (v: boolean) => void;
    const u = unit(undefined, {
      textOnly: true,
      runTool: () =>
        new Promise((resolve) => {
          deliver = resolve;
        }),
    });
    u.send(
      started('r1'),
      { type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{}' },
      done('r1'),
    );
    expect(u.turns.active).toMatchObject({ toolsPending: 1, responding: false });
    deliver(true);
    await settle();
    expect(u.turns.active).toMatchObject({ toolsPending: 0 });
    expect(u.rec.types(['turn.end'])).toEqual([]);
    // The connection drops before the answer: the turn ends with what it had.
    u.turns.connectionLost();
    expect(u.rec.types(['llm.end', 'turn.end'])).toEqual(['llm.end', 'turn.end']);
    expect(u.rec.first('llm.end')!.outcome).toBe('finish');
    u.close();
  });

  it('a turn cut while its result waits for the answer: llm.end abort', async () => {
    const u = unit(undefined, { textOnly: true });
    u.send(
      started('r1'),
      { type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{}' },
      done('r1'),
    );
    await settle(); // the result is delivered
    u.turns.interrupt('interrupted');
    expect(u.rec.first('llm.end')).toMatchObject({ outcome: 'abort' });
    expect(u.provider).toEqual([]); // not responding: nothing to cancel
    u.close();
  });

  it('tool-cancel cancels the calls named; an interrupt cancels the turn’s tools', () => {
    const u = unit(undefined, { textOnly: true, runTool: () => new Promise(() => {}) });
    u.send(started(), { type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{}' });
    const turnId = u.turns.active!.id;
    u.send({ type: 'tool-cancel', callIds: ['c1', 'c2'] });
    u.turns.interrupt('user_speaking');
    expect(u.host.slice(1)).toEqual([
      'cancelTools undefined c1,c2',
      'stopSpeech user_speaking',
      `cancelTools ${turnId} -`,
    ]);
    u.close();
  });
});

describe('a connection lost mid-turn', () => {
  it('while the model answers: the response ends as incomplete and the turn ends with what arrived', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started(), text('Half'));
    u.turns.connectionLost();
    expect(u.rec.first('assistant.text')).toMatchObject({ text: 'Half', interrupted: false });
    expect(u.rec.types(['turn.end'])).toEqual(['turn.end']);
    u.close();
  });

  it('with no turn it does nothing', () => {
    const u = unit(undefined, { textOnly: true });
    u.turns.connectionLost();
    expect(u.rec.events).toEqual([]);
    u.close();
  });
});

describe('`interrupted` from the provider', () => {
  it('cuts a turn whose response runs; ignored when nothing is said or playing', () => {
    const u = unit(undefined, { textOnly: true });
    u.turns.text('hi');
    u.send({ type: 'interrupted' });
    expect(u.rec.types(['turn.interrupted'])).toEqual([]);
    u.send(started(), { type: 'interrupted' });
    expect(u.rec.first('turn.interrupted')).toMatchObject({ reason: 'user_speaking' });
    u.close();
  });
});

describe('speech chunks of the model audio', () => {
  it('the first piece opens the speech at once; later ones wait for the next piece (or the end) with their transcript', async () => {
    const u = unit();
    const chunks: Array<[number, string, number, number]> = [];
    u.bus.subscribe('speech.chunk', (p) =>
      chunks.push([p.chunkId, p.text, p.audio.byteLength, p.sampleRate ?? 0]),
    );
    u.send(started(), u.audio('i1', 100));
    const turnId = u.turns.active!.id;
    expect(flow(u.rec, ['speech.chunk.queued', 'speech.start'])).toEqual([
      ['speech.chunk.queued', { turnId, chunkId: 0, text: '' }],
      ['speech.start', { turnId, streaming: true }],
    ]);
    u.send(text('Hello '), u.audio('i1', 100), text('there.'));
    expect(chunks).toEqual([[0, '', 4800, 24000]]); // the second piece waits for its transcript
    u.send(u.audio('i1', 40));
    expect(chunks).toEqual([
      [0, '', 4800, 24000],
      [1, 'Hello there.', 4800, 24000],
    ]);
    u.send(done());
    expect(chunks.slice(2)).toEqual([[2, '', 1920, 24000]]);
    expect(u.rec.payloads('speech.chunk.queued').map((p) => [p.chunkId, p.text])).toEqual([
      [0, ''],
      [1, 'Hello there.'],
      [2, ''],
    ]);
    await u.playOut();
    expect(flow(u.rec, ['speech.complete'])).toEqual([['speech.complete', { turnId, streaming: true }]]);
    u.close();
  });

  it('without subscribers, later pieces publish nothing (the first still opens the speech)', async () => {
    const u = unit();
    const unsub = u.bus.subscribe('speech.start', () => {});
    u.send(started(), u.audio('i1', 100), u.audio('i1', 100), done());
    expect(u.rec.types(['speech.chunk.queued', 'speech.chunk'])).toEqual([
      'speech.chunk.queued',
      'speech.chunk',
      'speech.chunk.queued',
      'speech.chunk',
    ]);
    unsub();
    u.close();
  });

  it('a text-only turn has no speech events', () => {
    const u = unit(undefined, { textOnly: true });
    u.send(started(), u.audio('i1', 100), text('Hi.'), done());
    expect(u.rec.types(['speech.start', 'speech.chunk', 'speech.chunk.queued', 'speech.complete'])).toEqual(
      [],
    );
    expect(u.rec.types(['turn.end'])).toEqual(['turn.end']);
    u.close();
  });

  it('an empty piece of audio is nothing', () => {
    const u = unit();
    u.send(started(), { type: 'audio', itemId: 'i1', pcm: new Int16Array(0) }, done());
    expect(u.rec.types(['speech.start', 'speech.chunk.queued'])).toEqual([]);
    expect(u.rec.types(['turn.end'])).toEqual(['turn.end']);
    u.close();
  });
});

describe('a turn cut while its audio plays', () => {
  it('the item is truncated at the audio heard; the text kept is what was heard; the marks of the cut turn stop', async () => {
    const u = unit();
    u.send(started(), u.audio('i1', 100), text('One '), u.audio('i1', 100), text('two.'));
    const turnId = u.turns.active!.id;
    u.turns.interrupt('user_speaking');
    expect(u.provider).toEqual(['cancel', 'truncate i1 20']);
    expect(flow(u.rec, ['llm.end', 'assistant.text', 'turn.interrupted'])).toEqual([
      ['llm.end', { turnId, outcome: 'abort' }],
      ['assistant.text', { turnId, agentName: 'main', text: '', interrupted: true }],
      ['turn.interrupted', { turnId, reason: 'user_speaking' }],
    ]);
    expect(u.rec.types(['bot.tts.text'])).toEqual([]);
    expect(u.conversation.all).toEqual([]);
    u.close();
  });

  it('cut once its response is done and only audio plays: llm.end finish with the usage; nothing to cancel', () => {
    const u = unit();
    u.send(
      started(),
      u.audio('i1', 200),
      text('Done.'),
      { type: 'usage', usage: { outputTokens: 2 } },
      done(),
    );
    const turnId = u.turns.active!.id;
    u.turns.interrupt('interrupted');
    expect(u.provider).toEqual(['truncate i1 20']);
    expect(flow(u.rec, ['llm.end'])).toEqual([
      ['llm.end', { turnId, outcome: 'finish', usage: { outputTokens: 2 } }],
    ]);
    u.close();
  });
});
