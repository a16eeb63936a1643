/**
 * The sound of `colloquy console`, through sox: the microphone (`rec`, sox's default input device,
 * or a recording played in at real time with `--mic-file`) streams 16 kHz PCM16 to the agent, and
 * the agent's audio plays on the speaker (`play`) or is written to a file (`--speaker-file`).
 * sox chooses the default device; AUDIODEV (and AUDIODRIVER) select another, as for sox itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { findExecutable } from '../providers/local/child-process.ts';

export const MIC_RATE = 16_000;
/** 20 ms of 16 kHz PCM16: what a recording sends per tick. */
const MIC_FRAME_BYTES = (MIC_RATE / 50) * 2;
/** The longest recording `--mic-file` sends (10 minutes). */
const MAX_RECORDING_BYTES = MIC_RATE * 2 * 600;
/** sox arguments for headerless 16-bit mono PCM at `rate`. */
const raw = (rate: number) => ['-t', 'raw', '-r', String(rate), '-e', 'signed', '-b', '16', '-c', '1'];

export interface ConsoleAudioOptions {
  /** An audio file (any format sox reads) sent as the microphone, at real time; silence after it. */
  micFile?: string;
  /** Where the agent's audio goes instead of the speaker (the format follows the extension, e.g. .wav). */
  speakerFile?: string;
  /** Sends one chunk of 16 kHz PCM16 to the agent. */
  send: (pcm: Uint8Array) => void;
  /** Reports a problem of the sound programs (one line). */
  onError: (line: string) => void;
}

export interface ConsoleAudio {
  /** What the console says about its sound when it connects. */
  readonly description: string;
  play(pcm: Uint8Array, sampleRate: number): void;
  /** The agent was interrupted: stop what the speaker still plays (a file keeps what was written). */
  clear(): void;
  /** Stops the microphone and the speaker; a speaker file is complete once this resolves. */
  stop(): Promise<void>;
}

/**
 * The programs the console's sound needs, or undefined when it runs text only (no sox and no sound
 * flags). A sound flag without sox, or a missing `--mic-file`, is a `ConfigError` saying what to do.
 */
export async function findSoundPrograms(
  options: Pick<ConsoleAudioOptions, 'micFile' | 'speakerFile'>,
): Promise<{ mic: string; speaker: string } | undefined> {
  const wanted = options.micFile !== undefined || options.speakerFile !== undefined;
  if (options.micFile !== undefined && !existsSync(options.micFile))
    throw new ConfigError('console_mic_file', `--mic-file ${options.micFile} not found: fix the path`);
  const sox = await findExecutable('sox');
  const mic = options.micFile !== undefined ? sox : await findExecutable('rec');
  const speaker = options.speakerFile !== undefined ? sox : await findExecutable('play');
  if (mic && speaker) return { mic, speaker };
  if (wanted)
    throw new ConfigError('console_needs_sox', 'sound needs sox: apt install sox (or brew install sox)');
  return undefined;
}

/** Starts the microphone and prepares the speaker. */
export function startConsoleAudio(
  programs: { mic: string; speaker: string },
  o: ConsoleAudioOptions,
): ConsoleAudio {
  const mic = o.micFile !== undefined ? recording(programs.mic, o.micFile, o) : microphone(programs.mic, o);
  let speaker: { child: ChildProcess; rate: number; exited: Promise<void> } | undefined;
  const stopSpeaker = () => {
    const s = speaker;
    speaker = undefined;
    if (!s) return Promise.resolve();
    if (o.speakerFile !== undefined)
      s.child.stdin?.end(); // sox completes the file's header
    else s.child.kill();
    return s.exited;
  };
  const startSpeaker = (rate: number) => {
    const target = o.speakerFile !== undefined ? [o.speakerFile] : [];
    const child = spawn(programs.speaker, ['-q', ...raw(rate), '-', ...target], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-300);
    });
    child.on('error', (err) => o.onError(`✗ speaker: ${err.message}`));
    child.stdin?.on('error', () => {});
    const exited = new Promise<void>((resolve) =>
      child.once('close', (code, signal) => {
        if (code !== 0 && signal === null && stderr.trim()) o.onError(`✗ speaker: ${stderr.trim()}`);
        resolve();
      }),
    );
    return { child, rate, exited };
  };
  return {
    description:
      `${o.micFile !== undefined ? `microphone: ${o.micFile}` : 'microphone'} and ` +
      `${o.speakerFile !== undefined ? `speaker: ${o.speakerFile}` : 'speaker'} on`,
    play: (pcm, rate) => {
      // A file has one rate: the session's output rate does not change within a conversation.
      if (speaker && speaker.rate !== rate && o.speakerFile === undefined) void stopSpeaker();
      speaker ??= startSpeaker(rate);
      speaker.child.stdin?.write(pcm);
    },
    clear: () => {
      if (o.speakerFile === undefined) void stopSpeaker();
    },
    stop: async () => {
      mic.stop();
      await stopSpeaker();
    },
  };
}

/** sox's default input device (`rec`), 16 kHz PCM16 as it is captured. */
function microphone(rec: string, o: ConsoleAudioOptions): { stop(): void } {
  const child = spawn(rec, ['-q', ...raw(MIC_RATE), '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', (err) => o.onError(`✗ microphone: ${err.message}`));
  child.stdout.on('data', (chunk: Buffer) => o.send(chunk));
  return { stop: () => child.kill() };
}

/**
 * A recording as the microphone: sox decodes and resamples it to 16 kHz PCM16, and it is sent in
 * 20 ms frames at real time, then silence, as a microphone in a quiet room would.
 */
function recording(sox: string, file: string, o: ConsoleAudioOptions): { stop(): void } {
  const child = spawn(sox, ['-q', file, ...raw(MIC_RATE), '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-300);
  });
  child.on('error', (err) => o.onError(`✗ microphone: ${err.message}`));
  child.once('close', (code) => {
    if (code !== 0) o.onError(`✗ microphone: sox could not read ${file}: ${stderr.trim()}`);
  });
  // The decoded recording (bounded: at most MAX_RECORDING_MS of it is kept).
  let pending = Buffer.alloc(0);
  let offset = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    if (pending.length - offset + chunk.length > MAX_RECORDING_BYTES) return;
    pending = Buffer.concat([pending.subarray(offset), chunk]);
    offset = 0;
  });
  const silence = new Uint8Array(MIC_FRAME_BYTES);
  const startedAt = Date.now();
  let sentFrames = 0;
  // Catches up by wall-clock time, so timer jitter does not slow the recording down.
  const tick = setInterval(() => {
    const due = Math.floor((Date.now() - startedAt) / 20);
    for (; sentFrames < due; sentFrames++) {
      if (pending.length - offset >= MIC_FRAME_BYTES) {
        o.send(pending.subarray(offset, offset + MIC_FRAME_BYTES));
        offset += MIC_FRAME_BYTES;
      } else {
        o.send(silence);
      }
    }
  }, 20);
  return {
    stop: () => {
      clearInterval(tick);
      child.kill();
    },
  };
}
