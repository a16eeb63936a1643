/** Interim transcripts on the bus: a VoiceSession whose STT is Deepgram streaming (fake Deepgram on loopback). */
import { afterEach, expect, it } from 'vitest';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { FakeDeepgramServer } from '../../testing/fake-deepgram-server.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { MockVad } from '../../testing/mock-vad.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { DeepgramStt } from './deepgram-stt.ts';

const RATE = 16000;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('transcription.interim events (words so far) precede transcription.final and the user turn', async () => {
  const fake = await FakeDeepgramServer.start({ transcript: 'book a table for two', msPerWord: 100 });
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'x' }],
    model: mockLanguageModel(['Done.']),
    logger: silentLogger,
    audio: {
      vad: new MockVad(),
      stt: new DeepgramStt({ apiKey: fake.apiKey, url: fake.url }),
      inputSampleRate: RATE,
      vadOptions: { minSpeechMs: 60, minSilenceMs: 100 },
      endpointing: { endpointingMs: 100, maxEndpointingMs: 2000 },
    },
  });
  cleanups.push(
    () => fake.close(),
    () => session.close(),
  );
  const rec = new EventRecorder(session.eventBus);
  await session.start();
  const tone = new Int16Array(320).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)));
  for (let i = 0; i < 50; i++) session.pushAudio(tone, RATE); // 1 s of "speech"
  for (let i = 0; i < 40; i++) session.pushAudio(new Int16Array(320), RATE);
  await rec.waitFor('user.text', () => true, 10_000);
  const types = rec.types(['transcription.interim', 'transcription.final', 'user.text']);
  expect(types[0]).toBe('transcription.interim');
  expect(types.slice(-2)).toEqual(['transcription.final', 'user.text']);
  for (const p of rec.payloads('transcription.interim')) {
    expect(p).toEqual({ sessionId: 's', text: expect.any(String), at: expect.any(Number) });
    expect('book a table for two'.startsWith(p.text)).toBe(true);
  }
  expect(rec.first('transcription.final')).toMatchObject({ text: 'book a table for two' });
  expect(rec.first('user.text')).toMatchObject({ text: 'book a table for two', source: 'speech' });
});
