/**
 * The timer that publishes a realtime turn's transcript (`bot.tts.text`) as its audio plays: one per
 * turn, however many of the turn's responses have audio, and none left once the turn is over.
 * And the user's interim transcripts, kept per utterance within a bound.
 * Unit level (`RealtimeTurns` on a real `SpeechOutput` driven by a hand clock); only the global
 * interval functions are faked, so the timers the turn starts can be counted.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { realtimeTurnsUnit } from '../../test/support/realtime-turns-unit.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the transcript marks timer of a realtime turn', () => {
  it('a turn whose second response has audio too runs one timer, and none is left when it ends', async () => {
    const u = realtimeTurnsUnit();
    expect(vi.getTimerCount()).toBe(0);
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 100), u.said('Let me check. '));
    expect(vi.getTimerCount()).toBe(1);
    u.send({ type: 'response-done', status: 'completed', responseId: 'r1' });
    // The answer (after a tool result) arrives while the preamble still plays: a second audio response.
    u.send({ type: 'response-started', responseId: 'r2' }, u.audio('i2', 100), u.said('Nine.'));
    expect(vi.getTimerCount()).toBe(1);
    u.send({ type: 'response-done', status: 'completed', responseId: 'r2' });
    await u.playOut();
    expect(u.rec.payloads('bot.tts.text').map((p) => p.text)).toEqual(['Let me check. ', 'Nine.']);
    expect(vi.getTimerCount()).toBe(0);
    u.close();
  });

  it('a turn cut while both responses play leaves no timer either', () => {
    const u = realtimeTurnsUnit();
    u.send({ type: 'response-started', responseId: 'r1' }, u.audio('i1', 100), u.said('Let me check. '));
    u.send({ type: 'response-done', status: 'completed', responseId: 'r1' });
    u.send({ type: 'response-started', responseId: 'r2' }, u.audio('i2', 100), u.said('Nine.'));
    u.send({ type: 'interrupted' });
    expect(u.rec.types(['turn.interrupted'])).toEqual(['turn.interrupted']);
    expect(vi.getTimerCount()).toBe(0);
    u.close();
  });
});

describe("the user's interim transcripts of a realtime session", () => {
  it('the interim text of 16 utterances at once is kept for each; a 17th drops the oldest', () => {
    const u = realtimeTurnsUnit();
    const interim = (itemId: string, text: string) =>
      u.send({ type: 'input-transcript', itemId, text, final: false });
    for (let i = 1; i <= 16; i++) interim(`u${i}`, `one${i}`);
    interim('u1', ' two');
    expect(u.rec.payloads('transcription.interim').at(-1)?.text).toBe('one1 two');
    interim('u17', 'one17');
    // u1 was the oldest: its text so far is forgotten, the next piece starts afresh.
    interim('u1', ' three');
    expect(u.rec.payloads('transcription.interim').at(-1)?.text).toBe(' three');
    u.close();
  });
});
