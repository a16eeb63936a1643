/**
 * `colloquy console` with sound through sox, for real: a recording (a 48 kHz WAV of "what time is
 * breakfast") is the microphone (`--mic-file`: sox decodes and resamples it, the console sends it at
 * real time), the offline demo agent runs in-process and hears it, and the agent's speech goes to
 * sox's output (`--speaker-file`, a WAV) — real audio, not silence.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rms } from '../../src/audio/pcm.ts';
import { makeFakeMicWav } from '../browser/fake-mic.ts';
import { BIN, cleanEnv, colloquy, launch } from './run.ts';

/** The PCM16 samples and rate of a WAV file (its `fmt ` and `data` chunks). */
function readWav(bytes: Buffer): { sampleRate: number; channels: number; samples: Int16Array } {
  expect(bytes.toString('ascii', 0, 4)).toBe('RIFF');
  expect(bytes.toString('ascii', 8, 12)).toBe('WAVE');
  let sampleRate = 0;
  let channels = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      channels = bytes.readUInt16LE(at + 10);
      sampleRate = bytes.readUInt32LE(at + 12);
    } else if (id === 'data') {
      const end = Math.min(bytes.length, at + 8 + size);
      const data = bytes.subarray(at + 8, end - ((end - at - 8) % 2));
      return {
        sampleRate,
        channels,
        samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)),
      };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

describe('colloquy console: microphone and speaker through sox', () => {
  let dir: string;
  let micPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-console-sound-'));
    micPath = (
      await makeFakeMicWav({ text: 'what time is breakfast', leadingSilenceMs: 800, trailingSilenceMs: 800 })
    ).path;
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the agent hears the recording and its answer is written, as real audio, to the speaker file', async () => {
    const speaker = join(dir, 'answer.wav');
    const run = launch(process.execPath, [BIN, 'console', '--mic-file', micPath, '--speaker-file', speaker], {
      env: cleanEnv(),
    });
    try {
      const connected = await run.waitFor(
        /^Connected to .*\((microphone: .*) and (speaker: .*) on: speak, or type\)/m,
        60_000,
      );
      expect(connected[1]).toBe(`microphone: ${micPath}`);
      expect(connected[2]).toBe(`speaker: ${speaker}`);
      await run.waitFor(/^… you are speaking$/m, 60_000);
      const heard = await run.waitFor(/^you: (.*)$/m, 60_000);
      expect(heard[1]).toMatch(/^(what time|when) is breakfast$/);
      await run.waitFor(/^agent: .*garden room.*$/m, 60_000);
      await run.waitFor(/^⏱ turn \d+ ms/m, 60_000);
    } finally {
      run.child.stdin?.end('/quit\n');
    }
    const done = await run.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).not.toMatch(/✗/);

    const wav = readWav(await readFile(speaker));
    expect(wav.channels).toBe(1);
    expect(wav.sampleRate).toBeGreaterThanOrEqual(16_000);
    const seconds = wav.samples.length / wav.sampleRate;
    // The answer alone ("Breakfast is served from seven to ten in the garden room.") is over 2 s.
    expect(seconds).toBeGreaterThan(2);
    expect(rms(wav.samples)).toBeGreaterThan(0.02);
  }, 120_000);

  it('a recording that is not there is one line; --text with a sound flag is refused', async () => {
    const missing = await colloquy(['console', '--mic-file', join(dir, 'nowhere.wav')], {
      env: cleanEnv(),
      input: '',
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe(
      `colloquy console: --mic-file ${join(dir, 'nowhere.wav')} not found: fix the path`,
    );
    const both = await colloquy(['console', '--text', '--speaker-file', join(dir, 'x.wav')], {
      env: cleanEnv(),
      input: '',
    });
    expect(both.code).toBe(2);
    expect(both.stderr.split('\n')[0]).toBe(
      'colloquy console: --text leaves sound off: drop --mic-file and --speaker-file',
    );
  }, 60_000);
});
