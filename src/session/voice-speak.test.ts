/**
 * `speak()` utterances queued one behind another (a greeting, stream-mode replies): each is tracked
 * until it ends, so typed input that cuts one off saves what was heard of it in the right place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { messageText } from './history.ts';
import type { SpeechOutcome, SpeechPort } from './speech-port.ts';
import { VoiceSession } from './voice-session.ts';

let session: VoiceSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

describe('speak() utterances queued behind each other', () => {
  it('typed text cuts the first of two: its heard part enters history before the typed text, the second is never said', async () => {
    session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['Breakfast is at seven.']),
      logger: silentLogger,
      audio: {
        tts: new MockTts({ sampleRate: 24000, msPerChar: 40 }),
        outputSampleRate: 24000,
        output: { write: () => {} },
      },
    });
    const rec = new EventRecorder(session.eventBus);
    const first = session.speak(
      'Hello! I am the demo concierge. Ask me about breakfast, the pool, the spa, the gym, the restaurant, parking or anything else about your stay.',
    );
    const second = session.speak('The wifi password is on your key card.');
    await rec.waitFor('bot.tts.text', (t) => t.text.startsWith('I am')); // "Hello!" was heard
    const answer = await session.sendText('when is breakfast');
    const [one, two] = await Promise.all([first, second]);
    expect(one.interrupted).toBe(true);
    expect(one.text.startsWith('Hello!')).toBe(true);
    expect(answer.text).toBe('Breakfast is at seven.');
    const said = rec.payloads('bot.tts.text').map((t) => t.text);
    expect(said.some((t) => t.includes('wifi'))).toBe(false);
    expect(two.text.includes('wifi')).toBe(false);
    const history = session.history.map((m) => [m.role, messageText(m)]);
    expect(history).toEqual([
      ['assistant', one.text],
      ['user', 'when is breakfast'],
      ['assistant', 'Breakfast is at seven.'],
    ]);
  });

  it('interrupt() with no turn running stops the utterance being said: its heard part enters history at once', async () => {
    session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      audio: {
        tts: new MockTts({ sampleRate: 24000, msPerChar: 40 }),
        outputSampleRate: 24000,
        output: { write: () => {} },
      },
    });
    const rec = new EventRecorder(session.eventBus);
    const greeting = session.speak(
      'Hello! I am the demo concierge. Ask me about breakfast, the pool, the spa, the gym, the restaurant, parking or anything else about your stay.',
    );
    await rec.waitFor('bot.tts.text', (t) => t.text.startsWith('I am')); // "Hello!" was heard
    session.interrupt();
    expect(session.history.map((m) => m.role)).toEqual(['assistant']);
    const result = await greeting;
    expect(result).toMatchObject({ turnId: 'say_1', interrupted: true, reason: 'interrupted' });
    expect(result.text.startsWith('Hello!')).toBe(true);
    expect(result.text.includes('your stay')).toBe(false);
    expect(session.history.map((m) => [m.role, messageText(m)])).toEqual([['assistant', result.text]]);
    expect(rec.types(['turn.start', 'turn.interrupted'])).toEqual([]);
  });
});

/**
 * A speech port of the application's own (`options.speech`) whose user heard only blanks of an
 * utterance: `speak()` waits until it is cut (or `endAll()` ends it) and reports `heard`.
 */
function blankPort(heard: string): SpeechPort & { endAll(): void } {
  const waiting = new Map<string, { text: string; resolve: (o: SpeechOutcome) => void }>();
  const outcome = (turnId: string, fullText: string, interrupted: boolean): SpeechOutcome => ({
    turnId,
    heardText: heard,
    fullText,
    interrupted,
    ...(interrupted ? { reason: 'interrupted' as const } : {}),
  });
  return {
    speaking: false,
    speak: (turnId, text) => new Promise((resolve) => waiting.set(turnId, { text, resolve })),
    beginResponse: (turnId) => {
      let text = '';
      let resolve!: (o: SpeechOutcome) => void;
      const done = new Promise<SpeechOutcome>((r) => {
        resolve = r;
      });
      return {
        pushText: (delta) => {
          text += delta;
        },
        end: () => resolve({ turnId, heardText: text, fullText: text, interrupted: false }),
        done,
      };
    },
    interrupt: () => {
      const [first] = waiting;
      if (!first) return undefined;
      const [turnId, { text, resolve }] = first;
      waiting.delete(turnId);
      const o = outcome(turnId, text, true);
      resolve(o);
      return o;
    },
    endAll: () => {
      for (const [turnId, { text, resolve }] of waiting) resolve(outcome(turnId, text, false));
      waiting.clear();
    },
  };
}

describe('a speak() utterance of which only blanks were heard', () => {
  it('cut by typed input: no assistant message for it enters history', async () => {
    const port = blankPort('   ');
    session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['Breakfast is at seven.']),
      logger: silentLogger,
      speech: port,
    });
    const said = session.speak('Welcome to the hotel.');
    const answer = await session.sendText('when is breakfast');
    expect(await said).toMatchObject({ text: '   ', interrupted: true });
    expect(answer.text).toBe('Breakfast is at seven.');
    expect(session.history.map((m) => [m.role, messageText(m)])).toEqual([
      ['user', 'when is breakfast'],
      ['assistant', 'Breakfast is at seven.'],
    ]);
  });

  it('ending by itself: no assistant message for it enters history', async () => {
    const port = blankPort(' \n ');
    session = new VoiceSession({
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      speech: port,
    });
    const said = session.speak('Welcome to the hotel.');
    port.endAll();
    // An utterance's turn id says it is one (`say_<n>`, counted per session), not a model turn.
    expect(await said).toMatchObject({ turnId: 'say_1', text: ' \n ', interrupted: false });
    expect(session.history).toEqual([]);
  });
});
