/** Deterministic test signals and polling for tests that drive real components. */
import { concatPcm } from '../audio/pcm.ts';
import { resample } from '../audio/resample.ts';
import type { TtsModel } from '../providers/types.ts';

export interface ToneOptions {
  /** Frequency in Hz (default 440). */
  hz?: number;
  sampleRate: number;
  samples: number;
  /** Peak amplitude in PCM16 units (default 8000). */
  amplitude?: number;
}

/** A mono PCM16 sine tone. */
export function tone({ hz = 440, sampleRate, samples, amplitude = 8000 }: ToneOptions): Int16Array {
  const out = new Int16Array(samples);
  const step = (2 * Math.PI * hz) / sampleRate;
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin(step * i));
  return out;
}

/** Largest absolute sample. */
export function peak(pcm: Int16Array): number {
  let max = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.abs(pcm[i]!);
    if (v > max) max = v;
  }
  return max;
}

/** Polls `probe` until it returns a value (not undefined); rejects after `timeoutMs` naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Everything `tts` says for `text`, as one PCM16 buffer, resampled to `sampleRate` when given. */
export async function synthesizeAll(tts: TtsModel, text: string, sampleRate?: number): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for await (const chunk of tts.synthesize({ text })) parts.push(chunk);
  const pcm = concatPcm(parts);
  return sampleRate === undefined || sampleRate === tts.sampleRate
    ? pcm
    : resample(pcm, tts.sampleRate, sampleRate);
}
