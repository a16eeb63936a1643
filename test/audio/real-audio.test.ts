/**
 * Real audio end to end through a VoiceSession: eSpeak NG speaks the user's sentences, the audio is
 * resampled to 16 kHz and pushed as 20 ms frames into a session with the embedded providers —
 * Silero VAD, PocketSphinx STT (constrained by a JSGF grammar), a scripted LLM and eSpeak NG
 * speaking the answers into a collecting sink.
 *
 * Audio is pushed faster than real time: the VAD and barge-in decisions run on sample time, so
 * only endpointing (kept small) and the bot's paced playout take wall-clock time. Assertions are on
 * events, the request a transcript makes (a weather question, a booking — not which city or number
 * the recogniser picked) and audio content, never on timing.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { concatPcm, rms } from '../../src/audio/pcm.ts';
import { silentLogger } from '../../src/logger.ts';
import { EspeakTts } from '../../src/providers/local/espeak-tts.ts';
import { PocketsphinxStt } from '../../src/providers/local/pocketsphinx-stt.ts';
import { SileroVad } from '../../src/providers/local/silero-vad.ts';
import { VoiceSession } from '../../src/session/voice-session.ts';
import { lastUserText, mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { synthesizeAll } from '../../src/testing/signals.ts';

const RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz
const OUTPUT_RATE = 24000; // eSpeak's 22 050 Hz is resampled by the speech output

const GRAMMAR = `#JSGF V1.0;
grammar requests;
public <request> = <weather> | <booking>;
<weather> = what is the weather in <city>;
<city> = paris | london | tokyo | berlin;
<booking> = book a table for <count>;
<count> = one | two | three | four;
`;

/** What the grammar lets the recogniser make of each spoken request. */
const WEATHER = /^what is the weather in (paris|london|tokyo|berlin)$/;
const BOOKING = /^book a table for (one|two|three|four)$/;
const STORY_FIRST = 'Here is a story.';
const STORY =
  `${STORY_FIRST} Once upon a time there was a small robot who loved to talk about the weather, ` +
  'and it would go on and on about clouds, rain, wind and sunshine for a very long time indeed.';

/** What the scripted LLM answers to each request (the weather answer names the city it heard). */
function answerFor(userText: string): string {
  const city = WEATHER.exec(userText)?.[1];
  if (city) return `The weather in ${city} is fine.`;
  if (BOOKING.test(userText)) return STORY;
  return 'Sorry?';
}

/** 16 kHz user audio for each sentence, made once. */
const spoken = new Map<string, Int16Array>();

const speak = (text: string) => synthesizeAll(new EspeakTts({ backend: 'cli' }), text, RATE);

beforeAll(async () => {
  for (const text of [
    'what is the weather in paris',
    'book a table for two',
    'what is the weather in tokyo',
  ]) {
    spoken.set(text, await speak(text));
  }
  await new SileroVad().warmup();
});

interface Written {
  turnId: string;
  sampleRate: number;
  samples: Int16Array;
}

function realSession() {
  const written: Written[] = [];
  const session = new VoiceSession({
    sessionId: 'real-audio',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'Answer briefly.' }],
    model: mockLanguageModel([(options) => answerFor(lastUserText(options))]),
    logger: silentLogger,
    audio: {
      vad: new SileroVad(),
      stt: new PocketsphinxStt({ grammar: GRAMMAR }),
      tts: new EspeakTts({ backend: 'cli' }),
      inputSampleRate: RATE,
      outputSampleRate: OUTPUT_RATE,
      endpointing: { endpointingMs: 50 },
      output: {
        // the frame buffer is reused by the pipeline: copy it
        write: (frame, info) => written.push({ ...info, samples: frame.slice() }),
      },
    },
  });
  const rec = new EventRecorder(session.eventBus);
  return { session, rec, written };
}

function pushSilence(session: VoiceSession, ms: number): void {
  for (let t = 0; t < ms; t += 20) session.pushAudio(new Int16Array(FRAME), RATE);
}

/** Pushes the audio as consecutive 20 ms frames (the last one zero-padded). */
function pushSpeech(session: VoiceSession, audio: Int16Array): void {
  for (let i = 0; i < audio.length; i += FRAME) {
    const frame = new Int16Array(FRAME);
    frame.set(audio.subarray(i, Math.min(audio.length, i + FRAME)));
    session.pushAudio(frame, RATE);
  }
}

function say(session: VoiceSession, text: string): void {
  pushSilence(session, 400);
  pushSpeech(session, spoken.get(text)!);
  pushSilence(session, 800);
}

let current: VoiceSession | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('real audio through a VoiceSession (Silero VAD, PocketSphinx STT, eSpeak NG TTS)', () => {
  it('a spoken question is detected, transcribed as that question, answered and spoken as real audio', async () => {
    const { session, rec, written } = realSession();
    current = session;
    say(session, 'what is the weather in paris');
    await session.audioIdle();
    const end = await rec.waitFor('turn.end', () => true, 20_000);

    expect(rec.types(['user.speech.start', 'user.speech.stop'])).toEqual([
      'user.speech.start',
      'user.speech.stop',
    ]);
    const finals = rec.payloads('transcription.final').map((t) => t.text);
    expect(finals).toEqual([expect.stringMatching(WEATHER)]);
    const question = finals[0]!;
    const answer = answerFor(question);
    expect(rec.first('user.text')).toMatchObject({ text: question, source: 'speech', turnId: end.turnId });
    expect(rec.first('assistant.text')).toMatchObject({
      turnId: end.turnId,
      text: answer,
      interrupted: false,
    });
    expect(session.history).toEqual([
      { role: 'user', content: question },
      { role: 'assistant', content: [{ type: 'text', text: answer }] },
    ]);

    // eSpeak's speech, resampled to the output rate, in 20 ms frames: real, non-silent PCM
    expect(written.length).toBeGreaterThan(10);
    for (const w of written) {
      expect(w).toMatchObject({ turnId: end.turnId, sampleRate: OUTPUT_RATE });
      expect(w.samples.length).toBe(OUTPUT_RATE / 50);
    }
    const bot = concatPcm(written.map((w) => w.samples));
    expect(rms(bot)).toBeGreaterThan(0.02);
    const loudFrames = written.filter((w) => rms(w.samples) > 0.01).length;
    expect(loudFrames).toBeGreaterThan(written.length / 2);
  });

  it('barge-in with real speech: the bot stops, history keeps only what was heard, the new question is answered', async () => {
    const { session, rec, written } = realSession();
    current = session;
    let writtenAtInterruption = -1;
    session.eventBus.subscribe('speech.interrupted', () => {
      writtenAtInterruption = written.length;
    });
    say(session, 'book a table for two');
    const first = await rec.waitFor('turn.start', () => true, 20_000);
    // let the first sentence play out completely before talking over the rest of the story
    await rec.waitFor('bot.tts.text', (t) => t.turnId === first.turnId && t.text !== STORY_FIRST, 20_000);
    say(session, 'what is the weather in tokyo');

    const interrupted = await rec.waitFor('speech.interrupted', () => true, 20_000);
    expect(interrupted).toMatchObject({ turnId: first.turnId, reason: 'user_speaking' });
    expect(rec.first('turn.interrupted')).toMatchObject({ turnId: first.turnId, reason: 'user_speaking' });
    const second = await rec.waitFor('turn.end', () => true, 20_000);

    // the story was cut: what the user heard is a prefix of it, at least its first sentence
    const heard = rec.payloads('assistant.text').find((a) => a.turnId === first.turnId)!;
    expect(heard.interrupted).toBe(true);
    expect(heard.text).toBe(interrupted.heardText);
    expect(heard.text.startsWith(STORY_FIRST)).toBe(true);
    expect(STORY.startsWith(heard.text)).toBe(true);
    expect(heard.text.length).toBeLessThan(STORY.length);

    const finals = rec.payloads('transcription.final').map((t) => t.text);
    expect(finals).toEqual([expect.stringMatching(BOOKING), expect.stringMatching(WEATHER)]);
    const answer = answerFor(finals[1]!);
    expect(session.history).toEqual([
      { role: 'user', content: finals[0] },
      { role: 'assistant', content: [{ type: 'text', text: heard.text }] },
      { role: 'user', content: finals[1] },
      { role: 'assistant', content: [{ type: 'text', text: answer }] },
    ]);
    expect(rec.payloads('assistant.text').at(-1)).toMatchObject({
      turnId: second.turnId,
      text: answer,
      interrupted: false,
    });
    // the story's audio was playing, and not one of its frames was written after the interruption
    expect(written.filter((w) => w.turnId === first.turnId).length).toBeGreaterThan(0);
    expect(written.slice(writtenAtInterruption).filter((w) => w.turnId === first.turnId)).toEqual([]);
    expect(written.slice(writtenAtInterruption).every((w) => w.turnId === second.turnId)).toBe(true);
  });
});
