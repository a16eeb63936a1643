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

/**
 * A mono PCM16 sine tone.
 *
 * @example
 * ```ts
 * import { encodeWav } from 'colloquy';
 * import { tone } from 'colloquy/testing';
 *
 * const beep = tone({ hz: 880, sampleRate: 16000, samples: 8000 }); // 0.5 s, amplitude 8000
 * const wav = encodeWav(beep, { sampleRate: 16000, channels: 1 });
 * ```
 */
export function tone({ hz = 440, sampleRate, samples, amplitude = 8000 }: ToneOptions): Int16Array {
  const out = new Int16Array(samples);
  const step = (2 * Math.PI * hz) / sampleRate;
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin(step * i));
  return out;
}

/**
 * Largest absolute sample.
 *
 * @example
 * ```ts
 * import { peak, tone } from 'colloquy/testing';
 * import { expect } from 'vitest';
 *
 * const frame = tone({ sampleRate: 16000, samples: 320, amplitude: 4000 });
 * expect(peak(frame)).toBeGreaterThan(3000); // audible, not silence
 * ```
 */
export function peak(pcm: Int16Array): number {
  let max = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.abs(pcm[i]!);
    if (v > max) max = v;
  }
  return max;
}

/**
 * Polls `probe` until it returns a value (not undefined); rejects after `timeoutMs` naming `what`.
 *
 * @example
 * ```ts
 * import { VoiceSession } from 'colloquy';
 * import { mockLanguageModel, until } from 'colloquy/testing';
 *
 * const session = new VoiceSession({ userId: 'u1', model: mockLanguageModel(['Hi!']), agents: [{ name: 'main', instructions: 'Greet.' }] });
 * void session.sendText('Hello');
 * // polls until the probe returns a value; rejects after 5 s naming what it waited for
 * const last = await until('an assistant message', () => session.history.find((m) => m.role === 'assistant'), 5000);
 * ```
 */
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

/**
 * Everything `tts` says for `text`, as one PCM16 buffer, resampled to `sampleRate` when given.
 *
 * @example
 * ```ts
 * import { EspeakTts } from 'colloquy';
 * import { peak, synthesizeAll } from 'colloquy/testing';
 *
 * const pcm = await synthesizeAll(new EspeakTts(), 'Testing one two three', 16000); // resampled to 16 kHz
 * console.log(pcm.length / 16000, 's, peak', peak(pcm));
 * ```
 */
export async function synthesizeAll(tts: TtsModel, text: string, sampleRate?: number): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for await (const chunk of tts.synthesize({ text })) parts.push(chunk);
  const pcm = concatPcm(parts);
  return sampleRate === undefined || sampleRate === tts.sampleRate
    ? pcm
    : resample(pcm, tts.sampleRate, sampleRate);
}
