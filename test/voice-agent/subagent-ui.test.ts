/**
 * Subagent UI on the native WebSocket protocol: a background subagent of a VoiceAgent asks the user
 * a question; a real `ws` client on loopback gets `subagent_ui_request`, answers with
 * `subagent_ui_response`, and the assistant tells the user the subagent's result. Answers the
 * session cannot route are typed `error` messages; the socket goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { openClient, startServer } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function makeAgent(timeoutMs?: number) {
  const deskModel = mockLanguageModel([
    [
      {
        toolCall: {
          name: 'ask_user',
          args: {
            prompt: 'Table details?',
            form: {
              fields: [
                { name: 'people', label: 'People', type: 'number' },
                { name: 'time', label: 'Time', type: 'choice', options: ['19:00', '20:00'] },
              ],
            },
          },
          id: 'ask1',
        },
      },
    ],
    (call) => {
      const prompt = JSON.stringify(call.prompt);
      if (prompt.includes('"status":"timeout"')) return 'The guest did not answer.';
      return prompt.includes('"people":2') && prompt.includes('"time":"20:00"')
        ? 'Booked a table for 2 at 20:00.'
        : 'Could not book.';
    },
  ]);
  const model = mockLanguageModel([
    [{ toolCall: { name: 'handoff_to_booker', args: { task: 'book a table' }, id: 'h1' } }],
    'I am on it.',
    (call) =>
      JSON.stringify(call.prompt).includes('Booked a table for 2 at 20:00.')
        ? 'Your table for two at eight is booked.'
        : 'Booking did not work out.',
  ]);
  const agent = new VoiceAgent({
    model,
    logger: silentLogger,
    subagents: [{ name: 'booker', instructions: 'Book tables.', model: deskModel }],
    ...(timeoutMs !== undefined ? { subagentUi: { timeoutMs } } : {}),
  });
  cleanups.push(() => agent.destroy());
  return { agent, rec: new EventRecorder(agent.bus) };
}

/** Serves `agent` on a loopback socket server and connects a client to it. */
async function serve(agent: VoiceAgent) {
  const server = await startServer((socket) => agent.handleSocket(socket));
  cleanups.push(() => server.close());
  const log = await openClient(server.url);
  cleanups.push(() => log.socket.terminate());
  return log;
}

describe('subagent UI over the native WebSocket protocol', () => {
  it('subagent_ui_request → subagent_ui_response → the assistant tells the user the result', async () => {
    const { agent, rec } = makeAgent();
    const requests: unknown[] = [];
    agent.on('subagent_ui_request', (r) => requests.push(r));
    const log = await serve(agent);

    log.send({ type: 'transcript', text: 'book us a table' });
    const request = await log.waitFor('subagent_ui_request');
    expect(request).toEqual({
      type: 'subagent_ui_request',
      requestId: expect.stringMatching(/^ui_/),
      subagentName: 'booker',
      prompt: 'Table details?',
      form: {
        fields: [
          { name: 'people', label: 'People', type: 'number' },
          { name: 'time', label: 'Time', type: 'choice', options: ['19:00', '20:00'] },
        ],
      },
      expiresAt: expect.any(Number),
    });
    const { type: _t, ...fields } = request;
    expect(requests).toEqual([fields]);
    const requestId = request.requestId as string;

    // Answers the session cannot take: typed errors, the socket goes on.
    log.send({ type: 'subagent_ui_response', requestId: 'ui_forged', value: 'x' });
    log.send({ type: 'subagent_ui_response', requestId, values: { people: 2, time: '23:00' } });
    log.send({ type: 'subagent_ui_response', requestId: 5 });
    await log.waitFor('error', (m) => m.messageType === 'subagent_ui_response' && m.code === 'invalid_field');
    const errors = log.of('error').map((e) => ({ code: e.code, messageType: e.messageType }));
    expect(errors).toEqual([
      { code: 'ui_request_unknown', messageType: 'subagent_ui_response' },
      { code: 'ui_invalid_answer', messageType: 'subagent_ui_response' },
      { code: 'invalid_field', messageType: 'subagent_ui_response' },
    ]);

    log.send({ type: 'subagent_ui_response', requestId, values: { people: 2, time: '20:00' } });
    const told = await rec.waitFor('assistant.text', (p) => p.text.includes('booked'), 10_000);
    expect(told.text).toBe('Your table for two at eight is booked.');
    expect(rec.first('subagent.ui.response')).toEqual({
      sessionId: agent.session.sessionId,
      response: { requestId, values: { people: 2, time: '20:00' } },
    });
    expect(rec.first('subagent.notification')).toMatchObject({
      event: 'completed',
      result: { subagentName: 'booker', text: 'Booked a table for 2 at 20:00.' },
    });
    await log.waitFor('response_complete', (m) => m.text === 'Your table for two at eight is booked.');

    // A late second answer: finished.
    log.send({ type: 'subagent_ui_response', requestId, values: { people: 3, time: '19:00' } });
    await log.waitFor('error', (m) => m.code === 'ui_request_finished');
    expect(() => agent.answerSubagent({ requestId, declined: true })).toThrowError(
      expect.objectContaining({ code: 'ui_request_finished' }),
    );
  });

  it('an unanswered question times out: subagent_ui_cancel, the subagent goes on without the answer', async () => {
    const { agent, rec } = makeAgent(150);
    const log = await serve(agent);
    log.send({ type: 'transcript', text: 'book us a table' });
    const request = await log.waitFor('subagent_ui_request');
    const cancel = await log.waitFor('subagent_ui_cancel');
    expect(cancel).toEqual({ type: 'subagent_ui_cancel', requestId: request.requestId, reason: 'timeout' });
    await rec.waitFor('subagent.notification');
    expect(rec.first('subagent.notification')?.result).toMatchObject({ text: 'The guest did not answer.' });
  });
});
