/**
 * Barge-in: the bot speaks a long answer, the user starts talking over it (real-time 20 ms frames).
 * Measured from the VAD's detection of the user's speech (`user.speech.start`): when the bot's
 * output paused, when the interruption was decided (`speech.interrupted`), and how many bot audio
 * frames reached the sink after detection and after the decision.
 */
import { MockVad } from '../src/testing/mock-vad.ts';
import {
  BenchSession,
  FRAME_MS,
  FRAME_SAMPLES,
  type ProviderLatencies,
  type TurnPolicy,
  toneFrames,
} from './harness.ts';
import { type Summary, sleep, summarize, within } from './stats.ts';

export interface BargeInResult {
  trials: number;
  policy: Pick<TurnPolicy, 'minSpeechMs' | 'minInterruptionMs' | 'pauseOnSpeech'>;
  /** The decision waits this long after detection by policy (minInterruptionMs − minSpeechMs of stream time). */
  policyDecisionDelayMs: number;
  /** Deciding audio frame pushed → `user.speech.start` published (framework). */
  detectionMs: Summary;
  /** Detection → output paused (pauseOnSpeech). */
  detectToPauseMs: Summary;
  /** Detection → interruption decided (`speech.interrupted`), raw. */
  detectToInterruptMs: Summary;
  /** The same minus the policy delay. */
  detectToInterruptNetMs: Summary;
  /** Last bot frame written − detection (≤ 0: nothing was written after detection). */
  lastFrameAfterDetectMs: Summary;
  /** Bot frames written after detection / after the decision, per trial. */
  framesAfterDetect: Summary;
  framesAfterInterrupt: Summary;
  /** Trials whose bot audio stopped within one 20 ms frame of detection. */
  withinOneFrame: number;
}

const ANSWER =
  'This is a deliberately long answer, long enough that the user has plenty of time to talk over it. ' +
  'It keeps going with a second sentence. And a third one, so the audio lasts several seconds.';

export async function runBargeIn(o: {
  trials: number;
  latencies: ProviderLatencies;
  policy: TurnPolicy;
  speechMs: number;
}): Promise<BargeInResult> {
  const bs = new BenchSession({
    id: 'barge-in',
    vad: new MockVad({ frameSamples: FRAME_SAMPLES }),
    latencies: o.latencies,
    policy: o.policy,
    answer: ANSWER,
  });
  const speech = toneFrames(o.speechMs);
  bs.mic.start();
  let speaking = bs.nextSpeaking();
  const first = bs.mic.say(speech); // the first question
  await first;
  for (let i = 0; i < o.trials; i++) {
    await within(speaking, 5000);
    await sleep(100 + Math.random() * 200); // talk over the bot at a random point
    speaking = bs.nextSpeaking(); // the interrupting speech becomes the next question
    await bs.mic.say(speech);
  }
  await within(speaking, 5000);
  await bs.close();

  const trials = bs.turns.filter((t) => t.outcome === 'interrupted' && t.detectAt !== undefined);
  const policyDelay = Math.max(0, o.policy.minInterruptionMs - o.policy.minSpeechMs);
  const col = (f: (t: (typeof trials)[number]) => number | undefined) =>
    summarize(trials.map(f).filter((x): x is number => x !== undefined));
  return {
    trials: trials.length,
    policy: {
      minSpeechMs: o.policy.minSpeechMs,
      minInterruptionMs: o.policy.minInterruptionMs,
      pauseOnSpeech: o.policy.pauseOnSpeech,
    },
    policyDecisionDelayMs: policyDelay,
    detectionMs: col((t) => t.detectAt! - t.detectFramePushAt!),
    detectToPauseMs: col((t) => (t.pausedAt === undefined ? undefined : t.pausedAt - t.detectAt!)),
    detectToInterruptMs: col((t) =>
      t.interruptedAt === undefined ? undefined : t.interruptedAt - t.detectAt!,
    ),
    detectToInterruptNetMs: col((t) =>
      t.interruptedAt === undefined ? undefined : t.interruptedAt - t.detectAt! - policyDelay,
    ),
    lastFrameAfterDetectMs: col((t) =>
      t.lastFrameAt === undefined ? undefined : t.lastFrameAt - t.detectAt!,
    ),
    framesAfterDetect: col((t) => t.framesAfterDetect),
    framesAfterInterrupt: col((t) => t.framesAfterInterrupt),
    withinOneFrame: trials.filter(
      (t) => (t.lastFrameAt ?? 0) - t.detectAt! <= FRAME_MS && t.framesAfterDetect <= 1,
    ).length,
  };
}
