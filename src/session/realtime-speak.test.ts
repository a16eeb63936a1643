/**
 * `session.speak(text)` on a realtime model: the model says the text as its own turn (OpenAI: a
 * `response.create` with the text in its instructions and no user item; Gemini: a bracketed request
 * as a client turn), queued behind the turn that is running, never cutting it off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { sayInstructions } from '../providers/realtime/base-connection.ts';
import type { RealtimeConnection, RealtimeModel } from '../providers/realtime/types.ts';

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
    // Like a cascade speak(): speech and the said text, no LLM events (the text is not the model's answer).
    const expected = [
      'turn.start',
      'speech.start',
      'bot.speaking.start',
      'bot.tts.text',
      'assistant.text',
      'turn.end',
    ];
    const order = rec.types(expected);
    expect(order.filter((t, i) => t !== order[i - 1])).toEqual(expected);
    expect(rec.payloads('speech.start')).toEqual([
      expect.objectContaining({ turnId: result.turnId, streaming: true }),
    ]);
    expect(rec.types(['llm.start', 'llm.text.delta', 'llm.end'])).toEqual([]);
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

  it('a v1 connection without say(): the request goes as a bracketed text turn and the model says it', async () => {
    const { server, model: full } = await openai({ replies: [{ text: GREETING, audioMs: 200 }] });
    // A third-party adapter written against v1 before `say` existed: everything but `say`.
    const model: RealtimeModel = {
      specificationVersion: full.specificationVersion,
      provider: 'third-party',
      modelId: full.modelId,
      inputSampleRate: full.inputSampleRate,
      outputSampleRate: full.outputSampleRate,
      capabilities: full.capabilities,
      connect: async (config, options) => {
        const c = await full.connect(config, options);
        const { say: _say, ...rest } = Object.fromEntries(
          [
            'sendAudio',
            'startInput',
            'commitInput',
            'sendText',
            'say',
            'sendToolResult',
            'cancelResponse',
            'truncate',
            'updateSession',
            'close',
          ].map((k) => [k, (c as unknown as Record<string, (...a: unknown[]) => unknown>)[k]!.bind(c)]),
        );
        return Object.defineProperty(rest, 'open', { get: () => c.open }) as unknown as RealtimeConnection;
      },
    };
    const { session } = harness(model);
    const result = await session.speak(GREETING);
    expect(result).toMatchObject({ text: GREETING, interrupted: false });
    const items = server.messages('conversation.item.create').map((m) => m.item);
    expect(items).toEqual([
      expect.objectContaining({
        role: 'user',
        content: [{ type: 'input_text', text: `[${sayInstructions(GREETING)}]` }],
      }),
    ]);
    expect(session.history).toEqual([{ role: 'assistant', content: GREETING }]);
  });

  it('a closed session refuses to speak', async () => {
    const { model } = await openai();
    const { session } = harness(model);
    await session.start();
    await session.close();
    await expect(session.speak('anyone?')).rejects.toMatchObject({ code: 'session_closed' });
  });
});
