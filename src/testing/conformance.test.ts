/**
 * Every model implementation that ships with Colloquy, and every mock, against the interface
 * conformance suites. Real audio comes from eSpeak NG; pocketsphinx decodes it with a grammar.
 */
import { MockSpeechModelV3, MockTranscriptionModelV3 } from 'ai/test';
import { afterAll } from 'vitest';
import { encodeWav } from '../audio/wav.ts';
import { SpeechTts } from '../providers/ai-sdk/speech-tts.ts';
import { TranscriptionStt } from '../providers/ai-sdk/transcription-stt.ts';
import { EnergyVad } from '../providers/local/energy-vad.ts';
import { EspeakTts } from '../providers/local/espeak-tts.ts';
import { PocketsphinxStt } from '../providers/local/pocketsphinx-stt.ts';
import { SileroVad } from '../providers/local/silero-vad.ts';
import { describeSttModel, describeTtsModel, describeVadModel } from './conformance.ts';
import { MockStt } from './mock-stt.ts';
import { MockTts } from './mock-tts.ts';
import { MockVad } from './mock-vad.ts';
import { synthesizeAll, tone } from './signals.ts';

const SENTENCE = 'book a table for two';
const GRAMMAR = `#JSGF V1.0; grammar g; public <s> = book a table for two | what is the weather in paris;`;

let spoken: Promise<Int16Array> | undefined;
/** eSpeak NG saying SENTENCE, at 16 kHz, with silence around it. */
function speech16k(): Promise<Int16Array> {
  spoken ??= (async () => {
    const pcm = await synthesizeAll(new EspeakTts(), SENTENCE, 16000);
    const padded = new Int16Array(pcm.length + 16000);
    padded.set(pcm, 8000);
    return padded;
  })();
  return spoken;
}

const toneSpeech = () => tone({ sampleRate: 16000, samples: 16000 });

describeVadModel('SileroVad', () => new SileroVad(), { speech: speech16k });
describeVadModel('SileroVad (worker thread)', () => new SileroVad({ inference: 'worker' }), {
  speech: speech16k,
});
afterAll(() => new SileroVad({ inference: 'worker' }).close());
describeVadModel('EnergyVad', () => new EnergyVad(), { speech: toneSpeech });
describeVadModel('MockVad (energy)', () => new MockVad(), { speech: toneSpeech });

describeSttModel('PocketsphinxStt (JSGF)', () => new PocketsphinxStt({ grammar: GRAMMAR }), {
  utterance: async () => ({ pcm: await speech16k(), sampleRate: 16000, text: SENTENCE }),
});
describeSttModel('MockStt', () => new MockStt({ script: [SENTENCE] }), {
  utterance: async () => ({ pcm: toneSpeech(), sampleRate: 16000, text: SENTENCE }),
});
describeSttModel(
  'TranscriptionStt (AI SDK transcription model)',
  () =>
    new TranscriptionStt({
      model: new MockTranscriptionModelV3({
        doGenerate: async () => ({
          text: SENTENCE,
          segments: [],
          language: 'en',
          durationInSeconds: undefined,
          warnings: [],
          response: { timestamp: new Date(0), modelId: 'mock' },
        }),
      }),
    }),
  { utterance: async () => ({ pcm: toneSpeech(), sampleRate: 16000, text: SENTENCE }) },
);

describeTtsModel('EspeakTts', () => new EspeakTts());
describeTtsModel('MockTts', () => new MockTts());
describeTtsModel(
  'SpeechTts (AI SDK speech model)',
  () =>
    new SpeechTts({
      model: new MockSpeechModelV3({
        doGenerate: async () => ({
          audio: encodeWav(tone({ sampleRate: 24000, samples: 12000 }), { sampleRate: 24000, channels: 1 }),
          warnings: [],
          response: { timestamp: new Date(0), modelId: 'mock' },
        }),
      }),
    }),
);
