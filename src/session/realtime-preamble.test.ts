/**
 * A realtime model that speaks before it calls a tool ("Let me check that for you."): the answer to the
 * call often arrives while that preamble still plays, the model's audio coming faster than real time.
 * Against the local fake provider servers (real WebSockets on loopback): the answer plays after the
 * preamble, and a barge-in during the preamble tells the provider what was heard of each item.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeAll, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { silentLogger } from '../logger.ts';
import type { FakeRealtimeReply } from '../testing/fake-realtime-server.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { VoiceSession } from './voice-session.ts';

afterEach(closeAll);

const PREAMBLE = 'Let me check that for you.';
const ANSWER = 'It is open until nine.';
/** 1.5 s of preamble (75 frames of 20 ms), 0.3 s of answer (15 frames). */
const reply: FakeRealtimeReply = {
  preamble: { text: PREAMBLE, audioMs: 1500 },
  toolCall: { name: 'lookup', args: {} },
  text: ANSWER,
  audioMs: 300,
};

/** A tool that answers once the test calls `release`. */
function gatedLookup() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const lookup = tool({
    description: 'Looks up the opening hours',
    inputSchema: z.object({}),
    execute: async () => {
      await gate;
      return { open: 'until nine' };
    },
  });
  return { lookup, release: () => release() };
}

describe('the answer to a tool call arriving while the preamble plays', () => {
  it.each([
    { provider: 'OpenAI', fake: openai },
    { provider: 'Gemini', fake: gemini },
  ])(
    '$provider: is played after the preamble, whole; the turn ends once both have played',
    async ({ fake }) => {
      const { model } = await fake({ replies: [reply] });
      const { lookup, release } = gatedLookup();
      const { session, rec, frames } = harness(model, {
        agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
      });
      await session.start();
      const answered = session.sendText('when do you close?');
      await rec.waitFor('bot.tts.text'); // the preamble plays
      release();
      const { turnId } = await rec.waitFor('llm.text.delta', (p) => ANSWER.startsWith(p.text));
      // The answer arrived before the preamble finished playing.
      expect(frames.get(turnId) ?? 0).toBeLessThan(75);
      expect(await answered).toMatchObject({ turnId, text: PREAMBLE + ANSWER, interrupted: false });
      expect(frames.get(turnId)).toBe(90);
      expect(
        rec
          .payloads('bot.tts.text')
          .map((p) => p.text)
          .join(''),
      ).toBe(PREAMBLE + ANSWER);
    },
  );
});

describe('a barge-in during the preamble, with the answer to its tool call queued behind it', () => {
  it('OpenAI: the preamble item is truncated at the audio heard, the answer item deleted; history keeps what was heard', async () => {
    const { server, model } = await openai({ replies: [reply, {}] });
    const { lookup, release } = gatedLookup();
    const { session, rec, frames } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    await session.start();
    const cut = session.sendText('when do you close?');
    await rec.waitFor('bot.tts.text');
    release();
    const { turnId } = await rec.waitFor('llm.text.delta', (p) => ANSWER.startsWith(p.text));
    // Cut once some words of the preamble were heard (40 frames: 0.8 s of its 1.5 s).
    while ((frames.get(turnId) ?? 0) < 40) await new Promise((r) => setTimeout(r, 10));
    let framesAtInterrupt = -1;
    session.eventBus.subscribe('turn.interrupted', () => {
      framesAtInterrupt = frames.get(turnId) ?? 0;
    });
    session.interrupt();
    const said = await cut;
    expect(framesAtInterrupt).toBeGreaterThanOrEqual(40);
    expect(framesAtInterrupt).toBeLessThan(75); // cut during the preamble
    await server.waitFor('conversation.item.delete');
    await expect.poll(() => server.truncations.length).toBe(1);
    expect(server.truncations).toEqual([
      { itemId: expect.any(String), audioEndMs: framesAtInterrupt * 20, sentMs: 1500 },
    ]);
    expect(server.deletions).toHaveLength(1);
    expect(server.deletions[0]).not.toBe(server.truncations[0]?.itemId);
    expect(said).toMatchObject({ turnId, interrupted: true });
    expect(said.text).not.toBe('');
    expect(PREAMBLE.startsWith(said.text)).toBe(true);
    expect(said.text.length).toBeLessThan(PREAMBLE.length);
    expect(session.history.at(-1)).toEqual({ role: 'assistant', content: said.text.trim() });
  });

  it('a session without audio output keeps the whole text of the cut turn, once', async () => {
    const { model } = await openai({ replies: [reply, {}] });
    const { lookup, release } = gatedLookup();
    const session = new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: { model },
    });
    const rec = new EventRecorder(session.eventBus);
    await session.start();
    const cut = session.sendText('when do you close?');
    await rec.waitFor('tool.call');
    release();
    // Cut while the answer arrives: the turn's text is the preamble and the answer so far.
    await rec.waitFor('llm.text.delta', (p) => ANSWER.startsWith(p.text));
    const text = rec
      .payloads('llm.text.delta')
      .map((p) => p.text)
      .join('');
    expect(text.startsWith(`${PREAMBLE}It`)).toBe(true);
    session.interrupt();
    expect(await cut).toMatchObject({ text, interrupted: true });
    expect(session.history.at(-1)).toEqual({ role: 'assistant', content: text.trim() });
    await session.close();
  });
});
