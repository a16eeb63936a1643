/**
 * Turn latency and framework overhead: one session, real-time 20 ms frames, spoken turns one
 * after another. For each turn: end of the user's speech (and the final transcript) → first bot
 * audio frame written to the sink, and the part of that which is the framework's own time.
 */
import { MockVad } from '../src/testing/mock-vad.ts';
import {
  BenchSession,
  FRAME_SAMPLES,
  frameworkMs,
  type ProviderLatencies,
  type TurnMarks,
  type TurnPolicy,
  toneFrames,
} from './harness.ts';
import { type Summary, sleep, summarize, within } from './stats.ts';

export interface TurnLatencyResult {
  turns: number;
  /** Waits by construction, subtracted to get `net`. */
  nominalMs: { fromSpeechEnd: number; fromFinalTranscript: number };
  /** End of user speech → first audio frame (includes VAD silence, endpointing and provider time). */
  rawFromSpeechEndMs: Summary;
  /** Final transcript → first audio frame. */
  rawFromFinalTranscriptMs: Summary;
  /** raw − nominal (includes the mock providers' own timer lateness, ~1 ms each). */
  netFromSpeechEndMs: Summary;
  netFromFinalTranscriptMs: Summary;
  /** Sum of the framework-owned gaps only (provider spans and policy timers excluded). */
  frameworkOverheadMs: Summary;
  /** Each framework-owned gap (indented rows split the one above), for profiling. */
  segmentsMs: Record<string, Summary>;
  /** The providers' measured spans (should equal the configured latencies + timer lateness). */
  providersMs: { stt: Summary; llm: Summary; tts: Summary };
}

export async function runTurnLatency(o: {
  turns: number;
  warmupTurns: number;
  latencies: ProviderLatencies;
  policy: TurnPolicy;
  speechMs: number;
}): Promise<TurnLatencyResult> {
  const bs = new BenchSession({
    id: 'latency',
    vad: new MockVad({ frameSamples: FRAME_SAMPLES }),
    latencies: o.latencies,
    policy: o.policy,
    answer: 'Sure. That is fine.',
    msPerChar: 10, // short bot audio: the next turn comes sooner
  });
  const speech = toneFrames(o.speechMs);
  bs.mic.start();
  for (let i = 0; i < o.turns + o.warmupTurns; i++) {
    const ended = bs.nextTurnEnd();
    await bs.mic.say(speech);
    await within(ended, 5000);
    await sleep(60 + Math.random() * 40); // new phase relative to the providers' timers each turn
  }
  await bs.close();
  const turns = bs.turns.filter((t) => t.outcome === 'end').slice(o.warmupTurns);
  return analyseTurns(turns, o.latencies, o.policy);
}

export function analyseTurns(
  turns: ReadonlyArray<TurnMarks>,
  l: ProviderLatencies,
  p: TurnPolicy,
): TurnLatencyResult {
  const fromFinal = Math.max(0, p.endpointingMs - l.sttMs) + l.llmMs + l.ttsMs;
  const fromSpeechEnd = p.minSilenceMs + Math.max(p.endpointingMs, l.sttMs) + l.llmMs + l.ttsMs;
  const col = (f: (t: TurnMarks) => number | undefined) =>
    summarize(turns.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)));
  const d = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    turns: turns.length,
    nominalMs: { fromSpeechEnd, fromFinalTranscript: fromFinal },
    rawFromSpeechEndMs: col((t) => d(t.speechEndAt, t.firstFrameAt)),
    rawFromFinalTranscriptMs: col((t) => d(t.sttFinalAt, t.firstFrameAt)),
    netFromSpeechEndMs: col((t) => sub(d(t.speechEndAt, t.firstFrameAt), fromSpeechEnd)),
    netFromFinalTranscriptMs: col((t) => sub(d(t.sttFinalAt, t.firstFrameAt), fromFinal)),
    frameworkOverheadMs: col((t) => frameworkMs(t, p)),
    segmentsMs: {
      'frame → speech-stop': col((t) => d(t.stopFramePushAt, t.stopAt)),
      'speech-stop → STT audio end': col((t) => d(t.stopAt, t.sttAudioEndAt)),
      'endpoint/final → user text': col((t) =>
        t.stopAt === undefined || t.sttFinalAt === undefined
          ? undefined
          : d(Math.max(t.stopAt + p.endpointingMs, t.sttFinalAt), t.userTextAt),
      ),
      'user text → LLM call': col((t) => d(t.userTextAt, t.llmCalledAt)),
      '  of which user text → streamText (Colloquy)': col((t) => d(t.userTextAt, t.llmStartAt)),
      '  of which streamText → provider (AI SDK)': col((t) => d(t.llmStartAt, t.llmCalledAt)),
      'LLM 1st token → TTS call': col((t) => d(t.llmFirstDeltaAt, t.ttsCalledAt)),
      '  of which provider → text delta (AI SDK)': col((t) => d(t.llmFirstDeltaAt, t.llmDeltaEventAt)),
      '  of which text delta → TTS call (Colloquy)': col((t) => d(t.llmDeltaEventAt, t.ttsCalledAt)),
      'TTS 1st audio → sink write': col((t) => d(t.ttsFirstChunkAt, t.firstFrameAt)),
    },
    providersMs: {
      stt: col((t) => d(t.sttAudioEndAt, t.sttFinalAt)),
      llm: col((t) => d(t.llmCalledAt, t.llmFirstDeltaAt)),
      tts: col((t) => d(t.ttsCalledAt, t.ttsFirstChunkAt)),
    },
  };
}

function sub(a: number | undefined, b: number): number | undefined {
  return a === undefined ? undefined : a - b;
}
