/**
 * `session.speak(text)` on a realtime model: the model says the text as its own turn (OpenAI: a
 * `response.create` with the text in its instructions and no user item; Gemini: a bracketed request
 * as a client turn), queued behind the turn that is running, never cutting it off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { sayInstructions } from '../providers/realtime/base-connection.ts';

afterEach(closeAll);

const GREETING = 'Welcome to the Seaside Hotel.';

describe('session.speak on a realtime model', () => {
  it('OpenAI: one response.create carrying the text, no user item; spoken, in history, a whole turn', async () => {
    const { server, model } = await openai({ replies: [{ text: GREETING, audioMs: 300 }] });
    const { session, rec, frames } = harness(model);
    const result = await session.speak(GREETING);
    expect(result).toMatchObject({ text: GREETING, interrupted: false, agentName: 'main' });
    expect(server.messages('response.create')).toEqual([
      expect.objectContaining({ response: { instructions: sayInstructions(GREETING) } }),
    ]);
    expect(sayInstructions(GREETING)).toContain(GREETING);
    expect(server.messages('conversation.item.create')).toEqual([]);
    expect(frames.get(result.turnId)).toBe(15); // 300 ms of the model's audio, 20 ms frames
    expect(
      rec.types(['turn.start', 'llm.start', 'bot.speaking.start', 'assistant.text', 'turn.end']),
    ).toEqual(['turn.start', 'llm.start', 'bot.speaking.start', 'assistant.text', 'turn.end']);
    expect(rec.payloads('user.text')).toEqual([]);
    expect(session.history).toEqual([{ role: 'assistant', content: GREETING }]);
  });

  it('Gemini: the request goes in as a client turn and the model speaks it', async () => {
    const { server, model } = await gemini({ replies: [{ text: GREETING, audioMs: 200 }] });
    const { session } = harness(model);
    const result = await session.speak(GREETING);
    expect(result).toMatchObject({ text: GREETING, interrupted: false });
    expect(server.messages('clientContent')).toEqual([
      {
        clientContent: {
          turns: [{ role: 'user', parts: [{ text: `[${sayInstructions(GREETING)}]` }] }],
          turnComplete: true,
        },
      },
    ]);
    expect(session.history).toEqual([{ role: 'assistant', content: GREETING }]);
  });

  it('waits for the running turn to end (never interrupts it); calls are spoken in order', async () => {
    const { server, model } = await openai({
      replies: [
        { text: 'The pool opens at eight.', audioMs: 600 },
        { text: 'First notice.', audioMs: 100 },
        { text: 'Second notice.', audioMs: 100 },
      ],
    });
    const { session, rec } = harness(model);
    await session.start();
    const answer = session.sendText('when does the pool open');
    await rec.waitFor('bot.speaking.start');
    const [first, second] = await Promise.all([
      session.speak('First notice.'),
      session.speak('Second notice.'),
    ]);
    expect((await answer).interrupted).toBe(false);
    expect(rec.payloads('turn.interrupted')).toEqual([]);
    expect([first.text, second.text]).toEqual(['First notice.', 'Second notice.']);
    expect(server.messages('response.create').map((m) => m.response)).toEqual([
      undefined,
      { instructions: sayInstructions('First notice.') },
      { instructions: sayInstructions('Second notice.') },
    ]);
    expect(session.history.map((m) => m.content)).toEqual([
      'when does the pool open',
      'The pool opens at eight.',
      'First notice.',
      'Second notice.',
    ]);
  });

  it('a closed session refuses to speak', async () => {
    const { model } = await openai();
    const { session } = harness(model);
    await session.start();
    await session.close();
    await expect(session.speak('anyone?')).rejects.toMatchObject({ code: 'session_closed' });
  });
});
