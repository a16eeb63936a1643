/**
 * A fake microphone for Chromium (`--use-file-for-fake-audio-capture=FILE%noloop`): espeak-ng speech
 * as a 48 kHz mono PCM16 WAV, with silence before and after. The whole file carries a faint noise
 * floor (~ -70 dBFS) because the client's recorder drops samples that are exactly zero.
 * Files are cached by content in the OS temp dir.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FAKE_MIC_SAMPLE_RATE = 48_000;

export interface FakeMicOptions {
  /** What the fake user says. */
  text: string;
  /** espeak-ng voice. Default `en-us`. */
  voice?: string;
  /** Words per minute. Default 160. */
  wordsPerMinute?: number;
  leadingSilenceMs?: number;
  trailingSilenceMs?: number;
  /** Noise floor in dBFS. Default -70. */
  noiseFloorDb?: number;
  /** Where to write; default `<tmp>/colloquy-fake-mic`. */
  dir?: string;
}

export interface FakeMic {
  path: string;
  sampleRate: number;
  durationMs: number;
  /** Where the speech starts and ends in the file. */
  speechStartMs: number;
  speechEndMs: number;
}

async function need(tool: string): Promise<void> {
  try {
    await run(tool, ['--version']);
  } catch (cause) {
    throw new Error(`fake-mic needs "${tool}" on PATH (apt-get install ${tool}): ${String(cause)}`);
  }
}

/** Speech as raw 48 kHz mono PCM16 samples. */
async function speak(text: string, voice: string, wpm: number): Promise<Int16Array> {
  await need('espeak-ng');
  await need('sox');
  const dir = join(tmpdir(), `colloquy-speak-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const wav = join(dir, 'speech.wav');
  await run('espeak-ng', ['-v', voice, '-s', String(wpm), '-w', wav, text]);
  const { stdout } = await run(
    'sox',
    [
      wav,
      '-t',
      'raw',
      '-r',
      String(FAKE_MIC_SAMPLE_RATE),
      '-e',
      'signed-integer',
      '-b',
      '16',
      '-c',
      '1',
      '-L',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
  );
  await rm(dir, { recursive: true, force: true });
  const bytes = stdout as Buffer;
  const samples = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

/** PCM16 mono WAV bytes. */
export function wavBytes(samples: Int16Array, sampleRate: number): Buffer {
  const data = samples.length * 2;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i], 44 + i * 2);
  return out;
}

/** Writes (or reuses) the fake-mic WAV for `options`. */
export async function makeFakeMicWav(options: FakeMicOptions): Promise<FakeMic> {
  const voice = options.voice ?? 'en-us';
  const wpm = options.wordsPerMinute ?? 160;
  const leadMs = options.leadingSilenceMs ?? 500;
  const trailMs = options.trailingSilenceMs ?? 1500;
  const floorDb = options.noiseFloorDb ?? -70;
  const dir = options.dir ?? join(tmpdir(), 'colloquy-fake-mic');
  const key = createHash('sha256')
    .update(JSON.stringify([options.text, voice, wpm, leadMs, trailMs, floorDb]))
    .digest('hex')
    .slice(0, 16);
  const path = join(dir, `mic-${key}.wav`);
  const rate = FAKE_MIC_SAMPLE_RATE;
  const describe = (totalSamples: number): FakeMic => {
    const durationMs = Math.round((totalSamples * 1000) / rate);
    return { path, sampleRate: rate, durationMs, speechStartMs: leadMs, speechEndMs: durationMs - trailMs };
  };
  if (existsSync(path)) return describe(((await stat(path)).size - 44) / 2);

  const speech = await speak(options.text, voice, wpm);
  const lead = Math.round((leadMs * rate) / 1000);
  const trail = Math.round((trailMs * rate) / 1000);

  const samples = new Int16Array(lead + speech.length + trail);
  samples.set(speech, lead);
  // Deterministic noise floor, never exactly zero: uniform in ±amplitude, amplitude from dBFS.
  const amplitude = Math.max(2, Math.round(32767 * 10 ** (floorDb / 20)));
  let seed = 0x2545f491;
  for (let i = 0; i < samples.length; i++) {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
    let n = (seed % (2 * amplitude + 1)) - amplitude;
    if (n === 0) n = 1;
    samples[i] = Math.max(-32768, Math.min(32767, samples[i] + n));
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, wavBytes(samples, rate));
  await rename(tmp, path);
  return describe(samples.length);
}
