/**
 * Helpers run before measuring: JIT warm-up of the whole turn path (a server that has handled a
 * few turns), and a real spoken utterance for the Silero runs.
 */
import { concatPcm } from '../src/audio/pcm.ts';
import { resample } from '../src/audio/resample.ts';
import { EspeakTts } from '../src/providers/local/espeak-tts.ts';
import { MockVad } from '../src/testing/mock-vad.ts';
import { BenchSession, FRAME_SAMPLES, framesOf, INPUT_RATE, Mic, toneFrames } from './harness.ts';
import { within } from './stats.ts';

/** Zero-latency stand-ins and short policy waits: turns as fast as the pipeline goes. */
export const INSTANT = {
  latencies: { sttMs: 0, llmMs: 0, ttsMs: 0 },
  policy: {
    minSpeechMs: 40,
    minSilenceMs: 40,
    endpointingMs: 0,
    minInterruptionMs: 300,
    pauseOnSpeech: true,
  },
} as const;

/** Spoken turns pushed faster than real time (the VAD runs on sample time) with zero-latency providers. */
export async function warmUp(turns: number): Promise<void> {
  const bs = new BenchSession({
    id: 'warmup',
    vad: new MockVad({ frameSamples: FRAME_SAMPLES }),
    ...INSTANT,
    answer: 'Sure.',
    msPerChar: 4,
  });
  const speech = toneFrames(200);
  for (let i = 0; i < turns; i++) {
    const ended = bs.nextTurnEnd();
    for (const f of speech) bs.session.pushAudio(f, INPUT_RATE);
    for (let k = 0; k < 5; k++) bs.session.pushAudio(Mic.silence, INPUT_RATE);
    await within(ended, 2000);
  }
  for (let i = 0; i < turns; i++) await bs.session.sendText('hello');
  await bs.close();
}

/** A real sentence from eSpeak NG at 16 kHz in 20 ms frames, trimmed of edge silence; undefined without espeak. */
export async function spokenFrames(text: string): Promise<Int16Array[] | undefined> {
  try {
    const tts = new EspeakTts({ backend: 'cli' });
    const parts: Int16Array[] = [];
    for await (const chunk of tts.synthesize({ text })) parts.push(chunk);
    const audio = resample(concatPcm(parts), tts.sampleRate, INPUT_RATE);
    let start = 0;
    let end = audio.length;
    while (start < end && Math.abs(audio[start]!) < 300) start++;
    while (end > start && Math.abs(audio[end - 1]!) < 300) end--;
    return framesOf(audio.subarray(start, end));
  } catch {
    return undefined;
  }
}
