/**
 * Allocation on the audio hot path, in bytes per 20 ms frame: what a session allocates while it
 * listens to silence, while the user speaks (VAD + the streaming STT hand-off), and while the bot
 * speaks (paced playout, the stand-in TTS's own audio included). Allocation is exact: the heap
 * growth over the run plus what every GC in between collected (`v8.GCProfiler`), minus the same
 * loop without the session (the measuring loop's own promises).
 */
import { GCProfiler } from 'node:v8';
import { StreamingResampler } from '../src/audio/resample.ts';
import { silentLogger } from '../src/logger.ts';
import type { VadModel, VadStream } from '../src/providers/types.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { SPECIFICATION_VERSIONS } from '../src/specification-version.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { MockStt } from '../src/testing/mock-stt.ts';
import { MockTts } from '../src/testing/mock-tts.ts';
import { FRAME_SAMPLES, INPUT_RATE, OUTPUT_RATE, toneFrames } from './harness.ts';
import { round } from './stats.ts';

export interface HotPathResult {
  /** Bytes allocated per pushed input frame while the session listens to silence. */
  listeningBytesPerFrame: number;
  /** The same while the user speaks (an utterance in progress, audio streamed to STT). */
  speakingBytesPerFrame: number;
  /**
   * Listening to silence pushed at 48 kHz (as WebRTC delivers it), resampled to the VAD's and the
   * STT's 16 kHz. Beside it, the floor: what the two resamplers alone allocate for the same frames.
   */
  listening48kBytesPerFrame: number;
  resampleFloorBytesPerFrame: number;
  /** Bytes allocated per bot audio frame written to the sink, the stand-in TTS's audio included. */
  playoutBytesPerFrame: number;
  /** Bytes of PCM in each bot frame (what the TTS itself must produce). */
  playoutFrameBytes: number;
  /** GC pauses over the whole measurement. */
  gcPauseMs: number;
  gcCount: number;
}

/** An energy VAD that allocates nothing per frame (the test `MockVad` records every score). */
class EnergyVad implements VadModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.vad;
  readonly provider = 'bench';
  readonly modelId = 'energy';
  readonly sampleRate = INPUT_RATE;
  readonly frameSamples = FRAME_SAMPLES;
  createStream(): VadStream {
    return {
      process(frame: Int16Array): number {
        let sum = 0;
        for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
        return Math.sqrt(sum / frame.length) / 32768 > 0.02 ? 0.95 : 0.02;
      },
      reset(): void {},
      close(): void {},
    };
  }
}

interface Allocation {
  bytes: number;
  gcPauseMs: number;
  gcCount: number;
}

async function allocatedDuring(run: () => Promise<void>): Promise<Allocation> {
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.memoryUsage().heapUsed;
  await run();
  const after = process.memoryUsage().heapUsed;
  const stats = profiler.stop()?.statistics ?? [];
  let collected = 0;
  let pauseUs = 0;
  for (const s of stats) {
    collected += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    pauseUs += s.cost;
  }
  return { bytes: after - before + collected, gcPauseMs: pauseUs / 1000, gcCount: stats.length };
}

const nextTick = () => new Promise<void>((r) => setImmediate(r));

/** Pushes `frames` one per macrotask, like a transport delivering a live microphone. */
async function push(
  session: VoiceSession | undefined,
  frames: ReadonlyArray<Int16Array>,
  rate = INPUT_RATE,
): Promise<void> {
  for (const f of frames) {
    session?.pushAudio(f, rate);
    await nextTick();
  }
}

/** Each row three times, each time against the loop alone just before: the median difference per frame.
 * (When a GC falls is not exact to the byte: one run of a row that allocates ~0 reads ±200.) */
async function rowOf(
  frames: ReadonlyArray<Int16Array>,
  run: () => Promise<void>,
): Promise<{ perFrame: number; gcPauseMs: number; gcCount: number }> {
  const perFrame: number[] = [];
  const all: Allocation[] = [];
  for (let r = 0; r < 3; r++) {
    const baseline = await allocatedDuring(() => push(undefined, frames));
    const a = await allocatedDuring(run);
    perFrame.push((a.bytes - baseline.bytes) / frames.length);
    all.push(a);
  }
  perFrame.sort((a, b) => a - b);
  const gcPauseMs = all.reduce((t, a) => t + a.gcPauseMs, 0);
  const gcCount = all.reduce((t, a) => t + a.gcCount, 0);
  return { perFrame: perFrame[1]!, gcPauseMs, gcCount };
}

function session(written: { frames: number }, inputSampleRate = INPUT_RATE): VoiceSession {
  return new VoiceSession({
    userId: 'bench',
    agents: [{ name: 'main', instructions: 'You are a benchmark.' }],
    model: mockLanguageModel(['Sure.']),
    logger: silentLogger,
    audio: {
      vad: new EnergyVad(),
      stt: new MockStt({ fallback: { text: 'hello there' } }),
      tts: new MockTts({ sampleRate: OUTPUT_RATE, msPerChar: 40 }),
      inputSampleRate,
      outputSampleRate: OUTPUT_RATE,
      vadOptions: { minSpeechMs: 100, minSilenceMs: 100 },
      // a long utterance must not end the turn while it is measured
      endpointing: { endpointingMs: 10_000 },
      output: {
        write: () => {
          written.frames++;
        },
      },
    },
  });
}

export async function runHotPath(quick: boolean): Promise<HotPathResult> {
  const n = quick ? 500 : 1500;
  const silence = Array.from({ length: n }, () => new Int16Array(FRAME_SAMPLES));
  const tone = toneFrames(n * 20);
  const written = { frames: 0 };
  const s = session(written);
  await push(s, silence.slice(0, 100)); // warm
  const listening = await rowOf(silence, () => push(s, silence));
  await push(s, tone.slice(0, 50)); // the utterance starts
  const speaking = await rowOf(tone, () => push(s, tone));
  await s.close();

  // 48 kHz input (WebRTC's rate): the session resamples each frame for the VAD and for the STT's
  // pre-roll history. The floor is those two resamplers alone on the same frames.
  const silence48k = Array.from({ length: n }, () => new Int16Array(FRAME_SAMPLES * 3));
  const s48 = session(written, 48_000);
  await push(s48, silence48k.slice(0, 100), 48_000); // warm
  const listening48k = await rowOf(silence48k, () => push(s48, silence48k, 48_000));
  await s48.close();
  const toVad = new StreamingResampler(48_000, INPUT_RATE);
  const toStt = new StreamingResampler(48_000, INPUT_RATE);
  const floor48k = await rowOf(silence48k, async () => {
    for (const f of silence48k) {
      toVad.process(f);
      toStt.process(f);
      await nextTick();
    }
  });

  // Playout: a long utterance spoken through the paced sink (real time: about 2 s).
  const out = { frames: 0 };
  const p = session(out);
  await p.start();
  await p.speak('Warming up.');
  const text = 'This sentence is spoken by the bot so that its frames can be counted.';
  const from = out.frames;
  const playout = await allocatedDuring(async () => {
    await p.speak(text);
  });
  const frames = out.frames - from;
  await p.close();
  return {
    listeningBytesPerFrame: round(listening.perFrame, 0),
    speakingBytesPerFrame: round(speaking.perFrame, 0),
    listening48kBytesPerFrame: round(listening48k.perFrame, 0),
    resampleFloorBytesPerFrame: round(floor48k.perFrame, 0),
    playoutBytesPerFrame: round(playout.bytes / Math.max(1, frames), 0),
    playoutFrameBytes: (OUTPUT_RATE / 50) * 2,
    gcPauseMs: round(
      listening.gcPauseMs + speaking.gcPauseMs + listening48k.gcPauseMs + playout.gcPauseMs,
      1,
    ),
    gcCount: listening.gcCount + speaking.gcCount + listening48k.gcCount + playout.gcCount,
  };
}

export function printHotPath(r: HotPathResult): void {
  console.log('\n## Audio hot path: allocation per 20 ms frame\n');
  console.log('| path | bytes per frame |');
  console.log('|---|---|');
  console.log(`| input, listening to silence | ${r.listeningBytesPerFrame} |`);
  console.log(`| input, user speaking (VAD + streaming STT) | ${r.speakingBytesPerFrame} |`);
  console.log(
    `| input at 48 kHz, listening to silence (resampled for the VAD and the STT) | ${r.listening48kBytesPerFrame} |`,
  );
  console.log(
    `| floor: the two 48 → 16 kHz resamplers alone, same frames | ${r.resampleFloorBytesPerFrame} |`,
  );
  console.log(
    `| output, bot speaking (the TTS's own audio included; a frame holds ${r.playoutFrameBytes} bytes of PCM) | ${r.playoutBytesPerFrame} |`,
  );
  console.log(`\nGC during these runs: ${r.gcPauseMs} ms in ${r.gcCount} pauses`);
}

// Run alone: `node --import ./bench/loader/register.mjs bench/hot-path.ts [--quick]`
if (import.meta.url === `file://${process.argv[1]}`) {
  printHotPath(await runHotPath(process.argv.includes('--quick')));
  process.exit(0);
}
