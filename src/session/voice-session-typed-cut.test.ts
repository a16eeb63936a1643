/**
 * Typed text that cuts a turn while a `speak()` utterance waits behind its answer: the speech is
 * stopped once, by the turn's cut, so the cut turn keeps what was heard of it (an application's own
 * speech port that stops everything at once and reports the response that was playing).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { messageText } from './history.ts';
import type { SpeechOutcome, SpeechPort } from './speech-port.ts';
import { VoiceSession } from './voice-session.ts';

/** Plays nothing by itself: `interrupt()` stops all, and the playing one was heard up to `heard` characters. */
function stoppingPort(heard: number): SpeechPort & { interrupts: number } {
  const queue: Array<{ turnId: string; text: string; resolve: (o: SpeechOutcome) => void }> = [];
  const port = {
    interrupts: 0,
    speaking: true,
    beginResponse(turnId: string) {
      let resolve!: (o: SpeechOutcome) => void;
      const done = new Promise<SpeechOutcome>((r) => {
        resolve = r;
      });
      const entry = { turnId, text: '', resolve };
      queue.push(entry);
      return {
        pushText: (d: string) => {
          entry.text += d;
        },
        end: () => {},
        done,
      };
    },
    speak(turnId: string, text: string) {
      return new Promise<SpeechOutcome>((resolve) => void queue.push({ turnId, text, resolve }));
    },
    interrupt(reason: SpeechOutcome['reason']) {
      port.interrupts++;
      const [first] = queue;
      if (!first) return undefined;
      const outcomes = queue.splice(0).map((e) => {
        const o: SpeechOutcome = {
          turnId: e.turnId,
          heardText: e === first ? e.text.slice(0, heard) : '',
          fullText: e.text,
          interrupted: true,
          ...(reason ? { reason } : {}),
        };
        e.resolve(o);
        return o;
      });
      return outcomes[0];
    },
  };
  return port;
}

describe('typed text while a turn speaks and a speak() utterance waits behind it', () => {
  it('the cut turn keeps what was heard; the utterance, never heard, leaves no message', async () => {
    const port = stoppingPort(3);
    const session = new VoiceSession({
      sessionId: 's1',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['Hello there.', 'Ok.']),
      logger: silentLogger,
      speech: port,
    });
    const rec = new EventRecorder(session.eventBus);
    try {
      const first = session.sendText('hi');
      await rec.waitFor('llm.end');
      const said = session.speak('A note.');
      void session.sendText('stop');
      const cut = await first;
      expect(cut).toMatchObject({ text: 'Hel', interrupted: true, reason: 'interrupted' });
      expect(port.interrupts).toBe(1);
      expect(rec.first('assistant.text')).toEqual({
        sessionId: 's1',
        turnId: cut.turnId,
        agentName: 'main',
        text: 'Hel',
        interrupted: true,
      });
      expect(await said).toMatchObject({ text: '', interrupted: true });
      expect(session.history.slice(0, 3).map((m) => [m.role, messageText(m)])).toEqual([
        ['user', 'hi'],
        ['assistant', 'Hel'],
        ['user', 'stop'],
      ]);
    } finally {
      await session.close();
    }
  });
});
