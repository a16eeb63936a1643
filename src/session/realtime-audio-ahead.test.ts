/**
 * The bound on a realtime model's audio received ahead of playout (`realtime.maxAudioAheadMs`): a
 * provider sends audio faster than real time, so without it a long answer piles up in memory. Past
 * the bound the rest of the response is dropped, audio and transcript alike, and the provider is
 * told to stop and to keep only the audio kept: what the user hears, the transcript and history agree.
 *
 * At unit level (a real `SpeechOutput` on a hand-driven clock, so how much has played is exact), and
 * against the local fake provider servers (real WebSockets on loopback).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, gemini, harness, openai } from '../../test/support/realtime-harness.ts';
import { realtimeTurnsUnit as unit } from '../../test/support/realtime-turns-unit.ts';
import type { ColloquyError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { OpenAIRealtimeModel } from '../providers/realtime/openai-realtime.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { VoiceSession } from './voice-session.ts';

afterEach(closeAll);

describe('audio received ahead of playout is bounded (unit: the turns on a real speech output)', () => {
  it('the audio that would take the backlog over the bound is dropped with the rest of the response; the provider is told; text and history stop at the cut', async () => {
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' });
    // 200 ms: the first frame plays at once (the hand clock holds the next), 180 ms wait.
    u.send(u.audio('i1', 200), u.said('one '));
    // 180 + 200 = 380 ms wait: within the bound.
    u.send(u.audio('i1', 200), u.said('two '));
    expect(u.warnings()).toEqual([]);
    // 380 + 200 = 580 > 400: cut here.
    u.send(u.audio('i1', 200), u.said('three '), u.audio('i1', 200), u.said('four'));
    u.send(u.said('one two three four', true));
    expect(u.warnings()).toEqual([
      {
        component: 'realtime',
        severity: 'warn',
        retryable: false,
        details: { maxAudioAheadMs: 400, aheadMs: 380, keptMs: 400 },
      },
    ]);
    expect(u.provider).toEqual(['cancel', 'truncate i1 400']);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r1' });
    await u.playOut();
    expect(u.frames()).toBe(20); // 400 ms: the audio kept, all of it
    const deltas = u.rec.payloads('llm.text.delta').map((p) => p.text);
    expect(deltas).toEqual(['one ', 'two ']);
    expect(u.rec.payloads('bot.tts.text').map((p) => p.text)).toEqual(['one ', 'two ']);
    expect(u.rec.payloads('assistant.text')).toEqual([
      expect.objectContaining({ text: 'one two ', interrupted: false }),
    ]);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'one two' }]);
    u.close();
  });

  it('Gemini: the answer to a tool result, in the same response as a preamble that was cut, is heard and kept', async () => {
    // Gemini answers a tool result within the response that asked for the tool (no new response
    // starts), and cancel does not stop it: the answer is new speech, not the rest of the preamble.
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' });
    u.send(u.audio('i1', 300), u.said('Let me check. '));
    u.send(u.audio('i1', 200), u.said('One moment.')); // 280 + 200 > 400: cut
    expect(u.warnings()).toHaveLength(1);
    u.send({ type: 'tool-call', callId: 'c1', name: 'lookup', argumentsJson: '{}' });
    await new Promise((r) => setImmediate(r)); // the tool result is delivered
    u.send(u.audio('i2', 100), u.said('Nine.'));
    u.send({ type: 'response-done', status: 'completed', responseId: 'r1' });
    await u.playOut();
    expect(u.frames()).toBe(20); // 300 ms of the preamble, then 100 ms of the answer
    expect(u.rec.payloads('bot.tts.text').map((p) => p.text)).toEqual(['Let me check. ', 'Nine.']);
    expect(u.conversation.all.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      'Let me check. Nine.',
    ]);
    u.close();
  });

  it('a bound below one piece of audio: a piece with nothing waiting is taken, the next over it is cut', async () => {
    const u = unit(50);
    u.send({ type: 'response-started', responseId: 'r1' });
    u.send(u.audio('i1', 200), u.said('one '));
    expect(u.warnings()).toEqual([]);
    u.send(u.audio('i1', 200), u.said('two'));
    expect(u.warnings()).toHaveLength(1);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r1' });
    await u.playOut();
    expect(u.frames()).toBe(10);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'one' }]);
    u.close();
  });

  it('audio that brings the backlog exactly to the bound is kept', async () => {
    const u = unit(580);
    u.send({ type: 'response-started', responseId: 'r1' });
    u.send(u.audio('i1', 200), u.audio('i1', 200), u.audio('i1', 200)); // 580 ms wait
    expect(u.warnings()).toEqual([]);
    u.send(u.audio('i1', 20));
    expect(u.warnings().map((w) => w.details)).toEqual([{ maxAudioAheadMs: 580, aheadMs: 580, keptMs: 600 }]);
    expect(u.provider).toEqual(['cancel', 'truncate i1 600']);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r1' });
    await u.playOut();
    expect(u.frames()).toBe(30);
    u.close();
  });

  it('the backlog counts every response of the turn still to play: an answer queued behind the preamble', async () => {
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 300), u.said('Let me check. '));
    u.send({ type: 'response-done', status: 'completed', responseId: 'r1' });
    // The preamble has 280 ms to play; the answer's first 200 ms would make 480.
    u.send({ type: 'response-started', responseId: 'r2' }, u.audio('i2', 200), u.said('Nine.'));
    expect(u.warnings().map((w) => w.details)).toEqual([{ maxAudioAheadMs: 400, aheadMs: 280, keptMs: 0 }]);
    // Nothing of the answer's item was kept: it goes (the OpenAI adapter deletes an item truncated at 0).
    expect(u.provider).toEqual(['cancel', 'truncate i2 0']);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r2' });
    await u.playOut();
    expect(u.frames()).toBe(15);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'Let me check.' }]);
    u.close();
  });

  it('the backlog counts the audio still to play of a response before it and of its own', async () => {
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 300), u.said('Let me check. '));
    u.send({ type: 'response-done', status: 'completed', responseId: 'r1' });
    // 280 ms of the preamble wait; the answer's first 100 ms make 380, its next 100 would make 480.
    u.send({ type: 'response-started', responseId: 'r2' }, u.audio('i2', 100), u.said('Nine '));
    expect(u.warnings()).toEqual([]);
    u.send(u.audio('i2', 100), u.said("o'clock."));
    expect(u.warnings().map((w) => w.details)).toEqual([{ maxAudioAheadMs: 400, aheadMs: 380, keptMs: 100 }]);
    expect(u.provider).toEqual(['cancel', 'truncate i2 100']);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r2' });
    await u.playOut();
    expect(u.frames()).toBe(20);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'Let me check. Nine' }]);
    u.close();
  });

  it('a new item whose first audio goes over the bound is deleted; the item before it is left whole', async () => {
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 200), u.said('Hello. '));
    u.send(u.audio('i2', 300), u.said('And more.'));
    expect(u.warnings().map((w) => w.details)).toEqual([{ maxAudioAheadMs: 400, aheadMs: 180, keptMs: 200 }]);
    expect(u.provider).toEqual(['cancel', 'truncate i2 0']);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r1' });
    await u.playOut();
    expect(u.frames()).toBe(10);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'Hello.' }]);
    u.close();
  });

  it('a cut drops the rest of its own response only: the next response of the turn is heard', async () => {
    const u = unit(400);
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 300), u.said('Let me check. '));
    u.send(u.audio('i1', 200), u.said('It is'));
    expect(u.warnings()).toHaveLength(1);
    u.send({ type: 'response-done', status: 'cancelled', responseId: 'r1' });
    // A response started later (after a tool result) is its own: its audio is taken while there is room.
    u.send({ type: 'response-started', responseId: 'r2' }, u.audio('i2', 100), u.said('Nine.'));
    u.send({ type: 'response-done', status: 'completed', responseId: 'r2' });
    await u.playOut();
    expect(u.warnings()).toHaveLength(1);
    expect(u.frames()).toBe(20);
    expect(u.conversation.all).toEqual([{ role: 'assistant', content: 'Let me check. Nine.' }]);
    u.close();
  });
});

const WORDS = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';

describe('audio received ahead of playout is bounded (against the fake providers)', () => {
  it.each([
    { provider: 'OpenAI', fake: openai },
    { provider: 'Gemini', fake: gemini },
  ])(
    '$provider: a long answer sent far faster than real time is cut at the bound; what plays, the transcript and history agree',
    async ({ provider, fake }) => {
      // 3 s of audio in 15 pieces of 200 ms, one word each, sent at a thousand times real time.
      const { server, model } = await fake({
        replies: [{ text: WORDS, audioMs: 3000 }],
        speed: 1000,
        chunkMs: 200,
      });
      const { session, rec, frames } = harness(model, { realtime: { maxAudioAheadMs: 400 } });
      await session.start();
      const result = await session.sendText('count to fifteen');
      const warnings = rec
        .payloads('error')
        .filter((p) => (p.error as ColloquyError).code === 'realtime_audio_ahead');
      expect(warnings).toHaveLength(1);
      const { component, severity, error } = warnings[0]!;
      expect({ component, severity }).toEqual({ component: 'realtime', severity: 'warn' });
      const details = (error as ColloquyError).details as {
        maxAudioAheadMs: number;
        aheadMs: number;
        keptMs: number;
      };
      expect(details.maxAudioAheadMs).toBe(400);
      // The backlog never went over the bound, and the piece dropped would have taken it over.
      expect(details.aheadMs).toBeLessThanOrEqual(400);
      expect(details.aheadMs + 200).toBeGreaterThan(400);
      // Whole pieces were kept: at least the first two (400 ms fit whatever has played), not all.
      const kept = details.keptMs;
      expect(kept % 200).toBe(0);
      expect(kept).toBeGreaterThanOrEqual(400);
      expect(kept).toBeLessThan(3000);
      const heard = `${WORDS.split(' ')
        .slice(0, kept / 200)
        .join(' ')} `;
      expect(frames.get(result.turnId)).toBe(kept / 20);
      expect(result).toMatchObject({ text: heard, interrupted: false });
      expect(
        rec
          .payloads('llm.text.delta')
          .map((p) => p.text)
          .join(''),
      ).toBe(heard);
      expect(
        rec
          .payloads('bot.tts.text')
          .map((p) => p.text)
          .join(''),
      ).toBe(heard);
      expect(session.history.at(-1)).toEqual({ role: 'assistant', content: heard.trim() });
      if (provider === 'OpenAI') {
        const openaiServer = server as Awaited<ReturnType<typeof openai>>['server'];
        expect(openaiServer.messages('response.cancel')).toHaveLength(1);
        await openaiServer.waitFor('conversation.item.truncate');
        expect(openaiServer.truncations).toEqual([
          { itemId: expect.any(String), audioEndMs: kept, sentMs: expect.any(Number) },
        ]);
      }
    },
  );

  it('the default bound is 60 s of audio', async () => {
    // 70 s of audio in 1 s pieces; the session is cut off once the warning came.
    const { server, model } = await openai({
      replies: [{ text: 'a long story', audioMs: 70_000 }],
      speed: 1000,
      chunkMs: 1000,
    });
    const { session, rec } = harness(model);
    await session.start();
    const story = session.sendText('tell me a long story');
    // 61 pieces of a second go out before the cut: generous under load (the test's own limit is 30 s).
    const warning = await rec.waitFor(
      'error',
      (p) => (p.error as ColloquyError).code === 'realtime_audio_ahead',
      20_000,
    );
    const details = (warning.error as ColloquyError).details as { maxAudioAheadMs: number; aheadMs: number };
    expect(details.maxAudioAheadMs).toBe(60_000);
    expect(details.aheadMs).toBeLessThanOrEqual(60_000);
    expect(details.aheadMs + 1000).toBeGreaterThan(60_000);
    session.interrupt();
    expect(await story).toMatchObject({ interrupted: true });
    await server.waitFor('conversation.item.truncate');
  });
});

describe('realtime.maxAudioAheadMs is validated', () => {
  /** Never connected: the options are checked when the session is made. */
  const fakeModel = new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: 'k', url: 'ws://127.0.0.1:9' });
  const make = (maxAudioAheadMs: unknown) =>
    new VoiceSession({
      userId: 'u1',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: { model: fakeModel, maxAudioAheadMs: maxAudioAheadMs as number },
    });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000'])('refuses %s', (value) => {
    expect(() => make(value)).toThrow(
      expect.objectContaining({
        code: 'invalid_options',
        message: expect.stringContaining('maxAudioAheadMs'),
      }),
    );
  });

  it('takes any positive number of ms', async () => {
    const session = make(1);
    await session.close();
  });
});
