import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap, SubagentUiPayload } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { VoiceSession } from '../session/voice-session.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { SubagentUi, type SubagentUiOptions } from './subagent-ui.ts';

function bare(options: SubagentUiOptions = {}, canDeliver = () => true) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const lifetime = new AbortController();
  const ui = new SubagentUi({ bus, sessionId: 's', signal: lifetime.signal, canDeliver }, options);
  return { bus, ui, lifetime, rec: new EventRecorder(bus) };
}
type Request = Extract<SubagentUiPayload, { type: 'request' }>;
const requests = (rec: EventRecorder) =>
  rec
    .payloads('subagent.ui.send')
    .map((p) => p.payload)
    .filter((p): p is Request => p.type === 'request');
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('subagent UI', () => {
  it('round trip: a subagent asks through the client (subagent.ui.send), the answer comes back (subagent.ui.response), the main agent tells the user', async () => {
    const deskModel = mockLanguageModel([
      [
        {
          toolCall: {
            name: 'ask_user',
            args: { prompt: 'Late check out until one costs 20 euros. Book it?', options: ['yes', 'no'] },
            id: 'ask1',
          },
        },
      ],
      (call) => {
        const prompt = JSON.stringify(call.prompt);
        return prompt.includes('"status":"answered"') && prompt.includes('"value":"yes"')
          ? 'The guest said yes; late check out is booked.'
          : 'No answer.';
      },
    ]);
    const mainModel = mockLanguageModel([
      [{ toolCall: { name: 'handoff_to_desk', args: { task: 'offer late check out' }, id: 'h1' } }],
      'I asked the front desk.',
      'The front desk booked your late check out.',
    ]);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [
        { name: 'main', instructions: 'main', subagents: ['desk'], transfers: [] },
        { name: 'desk', instructions: 'desk', model: deskModel, transfers: [] },
      ],
      model: mainModel,
      logger: silentLogger,
    });
    // A client that can answer questions is connected (a projection registers this).
    session.clientChannels.register({ name: 'test', kinds: ['ui.request'] });
    const rec = new EventRecorder(session.eventBus);
    expect((await session.sendText('can I leave later?')).text).toBe('I asked the front desk.');

    const sent = await rec.waitFor('subagent.ui.send');
    expect(sent).toEqual({
      sessionId: 's',
      payload: {
        type: 'request',
        requestId: expect.stringMatching(/^ui_[0-9a-f-]{36}$/),
        subagentName: 'desk',
        prompt: 'Late check out until one costs 20 euros. Book it?',
        options: ['yes', 'no'],
        expiresAt: expect.any(Number),
      },
    });
    const { requestId } = sent.payload as Request;
    expect(session.subagentUi.requests).toHaveLength(1);

    // An answer that is not one of the options is refused; the question keeps waiting.
    expect(code(() => session.subagentUi.respond({ requestId, value: 'maybe' }))).toBe('ui_invalid_answer');
    expect(session.subagentUi.respond({ requestId, value: 'yes' })).toEqual({ requestId, value: 'yes' });
    expect(rec.payloads('subagent.ui.response')).toEqual([
      { sessionId: 's', response: { requestId, value: 'yes' } },
    ]);
    // The same answer again: finished, not unknown.
    expect(code(() => session.subagentUi.respond({ requestId, value: 'yes' }))).toBe('ui_request_finished');

    const note = await rec.waitFor('subagent.notification');
    expect(note).toEqual({
      sessionId: 's',
      event: 'completed',
      result: {
        subagentName: 'desk',
        toolCallId: 'h1',
        text: 'The guest said yes; late check out is booked.',
      },
    });
    expect(rec.payloads('tool.result').find((r) => r.toolCallId === 'ask1')).toMatchObject({
      name: 'ask_user',
      status: 'success',
      result: { status: 'answered', value: 'yes' },
    });
    // The main agent tells the user.
    await rec.waitFor('assistant.text', (p) => p.text === 'The front desk booked your late check out.');
    expect(JSON.stringify(mainModel.calls.at(-1)?.prompt)).toContain(
      'Subagent \\"desk\\" finished: The guest said yes; late check out is booked.',
    );
    await session.close();
  });

  it('unknown, finished, malformed answers are typed errors', async () => {
    const { ui, rec } = bare();
    const pending = ui.ask({ subagentName: 'desk', prompt: 'Your name?' });
    const [req] = requests(rec);
    expect(code(() => ui.respond({ requestId: 'ui_forged', value: 'x' }))).toBe('ui_request_unknown');
    for (const bad of [
      null,
      'yes',
      [],
      { value: 'x' },
      { requestId: 7 },
      { requestId: req!.requestId, value: 3 },
    ]) {
      expect(code(() => ui.respond(bad))).toBe('ui_invalid_response');
    }
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, 'x']));
    expect(code(() => ui.respond({ requestId: req!.requestId, values: many }))).toBe('ui_invalid_response');
    // A free-text question needs a non-empty value.
    expect(code(() => ui.respond({ requestId: req!.requestId, value: '  ' }))).toBe('ui_invalid_answer');
    ui.respond({ requestId: req!.requestId, value: 'Ana' });
    await expect(pending).resolves.toEqual({ status: 'answered', value: 'Ana' });
    expect(code(() => ui.respond({ requestId: req!.requestId, declined: true }))).toBe('ui_request_finished');
  });

  it('a small form: values are checked against the fields', async () => {
    const { ui, rec } = bare();
    const pending = ui.ask({
      subagentName: 'desk',
      prompt: 'Booking details',
      form: {
        fields: [
          { name: 'people', label: 'People', type: 'number' },
          { name: 'time', label: 'Time', type: 'choice', options: ['19:00', '20:00'] },
          { name: 'terrace', label: 'Terrace', type: 'boolean', required: false },
        ],
      },
    });
    const id = requests(rec)[0]!.requestId;
    expect(code(() => ui.respond({ requestId: id, value: '2' }))).toBe('ui_invalid_answer');
    expect(code(() => ui.respond({ requestId: id, values: { people: '2', time: '19:00' } }))).toBe(
      'ui_invalid_answer',
    );
    expect(code(() => ui.respond({ requestId: id, values: { people: 2, time: '21:00' } }))).toBe(
      'ui_invalid_answer',
    );
    expect(code(() => ui.respond({ requestId: id, values: { people: 2 } }))).toBe('ui_invalid_answer');
    expect(code(() => ui.respond({ requestId: id, values: { people: 2, time: '19:00', x: 1 } }))).toBe(
      'ui_invalid_answer',
    );
    ui.respond({ requestId: id, values: { people: 2, time: '19:00' } });
    await expect(pending).resolves.toEqual({ status: 'answered', values: { people: 2, time: '19:00' } });
  });

  it('bad questions and too many pending ones are refused', () => {
    const { ui } = bare({ maxPending: 2 });
    expect(code(() => ui.ask({ subagentName: 'd', prompt: ' ' }))).toBe('ui_invalid_request');
    expect(
      code(() =>
        ui.ask({
          subagentName: 'd',
          prompt: 'x',
          options: ['a', 'b'],
          form: { fields: [{ name: 'a', label: 'A', type: 'text' }] },
        }),
      ),
    ).toBe('ui_invalid_request');
    expect(
      code(() =>
        ui.ask({
          subagentName: 'd',
          prompt: 'x',
          form: { fields: [{ name: 'a', label: 'A', type: 'choice' }] },
        }),
      ),
    ).toBe('ui_invalid_request');
    void ui.ask({ subagentName: 'd', prompt: 'one' });
    void ui.ask({ subagentName: 'd', prompt: 'two' });
    expect(code(() => ui.ask({ subagentName: 'd', prompt: 'three' }))).toBe('ui_too_many_pending');
    ui.dispose();
  });

  it('a question times out: the client is told to drop it, a late answer is "finished"', async () => {
    const { ui, rec } = bare({ timeoutMs: 20 });
    await expect(ui.ask({ subagentName: 'd', prompt: 'Still there?' })).resolves.toEqual({
      status: 'timeout',
    });
    const id = requests(rec)[0]!.requestId;
    expect(rec.payloads('subagent.ui.send').at(-1)?.payload).toEqual({
      type: 'cancel',
      requestId: id,
      reason: 'timeout',
    });
    expect(code(() => ui.respond({ requestId: id, value: 'yes' }))).toBe('ui_request_finished');
  });

  it('the subagent stopping or the session ending (hang-up) cancels the question', async () => {
    const { ui, rec, lifetime } = bare();
    const stop = new AbortController();
    const a = ui.ask({ subagentName: 'd', prompt: 'a?' }, stop.signal);
    const b = ui.ask({ subagentName: 'd', prompt: 'b?' });
    stop.abort();
    await expect(a).resolves.toEqual({ status: 'cancelled' });
    lifetime.abort();
    await expect(b).resolves.toEqual({ status: 'cancelled' });
    const cancels = rec.payloads('subagent.ui.send').filter((p) => p.payload.type === 'cancel');
    expect(cancels.map((c) => c.payload)).toEqual([
      { type: 'cancel', requestId: requests(rec)[0]!.requestId, reason: 'cancelled' },
      { type: 'cancel', requestId: requests(rec)[1]!.requestId, reason: 'session_closed' },
    ]);
    await expect(ui.ask({ subagentName: 'd', prompt: 'c?' })).resolves.toEqual({ status: 'cancelled' });
  });

  it('no client that can answer: undeliverable at once; a resumed client gets the waiting questions again', async () => {
    let connected = false;
    const { ui, rec, bus } = bare({}, () => connected);
    await expect(ui.ask({ subagentName: 'd', prompt: 'x?' })).resolves.toEqual({
      status: 'undeliverable',
      reason: 'No connected client can answer UI requests',
    });
    connected = true;
    void ui.ask({ subagentName: 'd', prompt: 'y?' });
    bus.publish('session.resume', { sessionId: 's', handle: 'h' });
    const sent = requests(rec);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
    ui.dispose();
  });
});
