/**
 * Offline speech-to-text with CMU PocketSphinx (`SttModel`), through the Debian
 * `pocketsphinx_continuous` program and the `pocketsphinx-en-us` acoustic model.
 *
 * Invocation: `pocketsphinx_continuous -infile /dev/stdin -samprate 16000 -logfn /dev/null
 * [-jsgf grammar.jsgf] [-dict words.dict] [-hmm dir]`. A path without a `.wav` suffix is read as
 * raw 16-bit little-endian mono PCM, so audio is piped in as it arrives and decoding overlaps
 * the user's speech. The program `fopen`s that path, and Node's stdio "pipes" are socketpairs,
 * which cannot be opened through /dev/stdin (ENXIO); so it runs as `sh -c 'cat | "$0" "$@"'`,
 * giving it a real pipe, in its own process group that abort and timeout kill as a whole. The program prints one hypothesis line per speech segment it detects; the
 * final transcript is those lines joined. Without a grammar it falls back to the generic
 * language model, which is far less accurate: pass a JSGF grammar for command-style input.
 */
import { createHash } from 'node:crypto';
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int16ToBytes } from '../../audio/pcm.ts';
import { isSupportedSampleRate, StreamingResampler } from '../../audio/resample.ts';
import { ConfigError, InvalidInputError, ProviderError, TimeoutError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { SttEvent, SttModel, SttStreamOptions } from '../types.ts';
import { abortReason, captureTail, findExecutable, raceAbort } from './child-process.ts';
import { type ProcessLauncher, startProcess } from './process-launcher.ts';

export const POCKETSPHINX_SAMPLE_RATE = 16000;

export interface PocketsphinxSttOptions {
  /** JSGF grammar text (`#JSGF V1.0; grammar g; public <s> = ...;`). */
  grammar?: string;
  /** Path to a JSGF grammar file (used when `grammar` is not given). */
  grammarFile?: string;
  /** Pronunciation dictionary path (default: the en-us model's cmudict). */
  dictionary?: string;
  /** Acoustic model directory (default: the program's built-in en-us model). */
  acousticModel?: string;
  /** Program name or path (default 'pocketsphinx_continuous'). */
  binary?: string;
  /** Bound on decoding after the audio ends (default 15 000 ms). */
  timeoutMs?: number;
  /** Longest accepted utterance in seconds (default 120). */
  maxAudioSeconds?: number;
  /**
   * How the program is started (default 'helper'): through one small helper process, so starting it
   * never blocks this process's event loop (`spawn()` does until the program runs); 'direct' with
   * `spawn()` here.
   */
  launcher?: ProcessLauncher;
}

/**
 * Offline STT with the `pocketsphinx_continuous` program, optionally constrained by a JSGF grammar.
 *
 * @example
 * ```ts
 * import { PocketsphinxStt } from 'colloquy';
 *
 * const stt = new PocketsphinxStt({
 *   grammar: '#JSGF V1.0; grammar menu; public <order> = (one | two | three) (coffee | tea) [please];',
 *   timeoutMs: 10_000,
 * });
 * ```
 */
export class PocketsphinxStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'pocketsphinx';
  readonly modelId: string;
  readonly sampleRate = POCKETSPHINX_SAMPLE_RATE;
  private readonly options: PocketsphinxSttOptions;
  private readonly timeoutMs: number;
  private readonly maxSamples: number;
  private readonly launcher: ProcessLauncher;
  private grammarPath: Promise<string | undefined> | null = null;

  constructor(options: PocketsphinxSttOptions = {}) {
    if (options.grammar !== undefined && !/^\s*#JSGF/.test(options.grammar)) {
      throw new ConfigError('stt_bad_grammar', 'grammar must be JSGF text starting with "#JSGF"');
    }
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.launcher = options.launcher ?? 'helper';
    this.maxSamples = Math.round((options.maxAudioSeconds ?? 120) * POCKETSPHINX_SAMPLE_RATE);
    this.modelId = options.grammar || options.grammarFile ? 'en-us-jsgf' : 'en-us';
  }

  /** Grammar file path: the given file, or the grammar text written once to a temp file. */
  private grammarFile(): Promise<string | undefined> {
    this.grammarPath ??= (async () => {
      const { grammar, grammarFile } = this.options;
      if (grammar !== undefined) {
        const dir = await mkdtemp(join(tmpdir(), 'colloquy-jsgf-'));
        const file = join(dir, `${createHash('sha256').update(grammar).digest('hex').slice(0, 16)}.jsgf`);
        await writeFile(file, grammar);
        return file;
      }
      if (grammarFile !== undefined) {
        try {
          await access(grammarFile);
        } catch (err) {
          throw new ConfigError('stt_bad_grammar', `Grammar file not found: ${grammarFile}`, { cause: err });
        }
        return grammarFile;
      }
      return undefined;
    })().catch((err: unknown) => {
      this.grammarPath = null;
      throw err;
    });
    return this.grammarPath;
  }

  private async args(): Promise<string[]> {
    const args = [
      '-infile',
      '/dev/stdin',
      '-samprate',
      String(POCKETSPHINX_SAMPLE_RATE),
      '-logfn',
      '/dev/null',
    ];
    const grammar = await this.grammarFile();
    if (grammar) args.push('-jsgf', grammar);
    if (this.options.dictionary) args.push('-dict', this.options.dictionary);
    if (this.options.acousticModel) args.push('-hmm', this.options.acousticModel);
    return args;
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    const signal = options.abortSignal;
    signal?.throwIfAborted();
    if (!isSupportedSampleRate(options.sampleRate)) {
      throw new InvalidInputError(
        'stt_bad_sample_rate',
        `Unsupported input sample rate ${options.sampleRate}`,
      );
    }
    const binaryName = this.options.binary ?? 'pocketsphinx_continuous';
    const binary = await findExecutable(binaryName);
    if (!binary) throw new ProviderError('stt_unavailable', `'${binaryName}' was not found on PATH`);
    const args = await this.args();
    const resampler =
      options.sampleRate === POCKETSPHINX_SAMPLE_RATE
        ? null
        : new StreamingResampler(options.sampleRate, POCKETSPHINX_SAMPLE_RATE);

    const child = startProcess(this.launcher, '/bin/sh', ['-c', 'cat | "$0" "$@"', binary, ...args], {
      detached: true,
    });
    const exited = child.exited;
    const stdout = captureTail(child.stdout, 64_000);
    const stderr = captureTail(child.stderr);
    let stdinBroken = false;
    exited.then(
      () => {
        stdinBroken = true;
      },
      () => {
        stdinBroken = true;
      },
    );
    const onAbort = () => child.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      let written = 0;
      const iterator = audio[Symbol.asyncIterator]();
      for (;;) {
        const next = await raceAbort(iterator.next(), signal);
        if (next.done) break;
        const pcm = resampler ? resampler.process(next.value) : next.value;
        written += pcm.length;
        if (written > this.maxSamples) {
          await iterator.return?.();
          throw new InvalidInputError(
            'stt_audio_too_long',
            `Utterance exceeds ${this.options.maxAudioSeconds ?? 120} s`,
          );
        }
        if (stdinBroken) break;
        if (pcm.length > 0 && !child.writeStdin(int16ToBytes(pcm))) {
          await raceAbort(child.drained(), signal);
        }
      }
      child.endStdin(resampler && !stdinBroken ? int16ToBytes(resampler.flush()) : undefined);

      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill();
          reject(
            new TimeoutError('PocketSphinx decoding', this.timeoutMs, {
              details: { provider: 'pocketsphinx' },
            }),
          );
        }, this.timeoutMs);
      });
      let exit: Awaited<typeof exited>;
      try {
        exit = await raceAbort(Promise.race([exited, timeout]), signal);
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        if (err instanceof TimeoutError) throw err;
        throw new ProviderError('stt_failed', `Could not run ${binary}`, { cause: err });
      }
      if (exit.code !== 0) {
        throw new ProviderError(
          'stt_failed',
          `${binaryName} exited with ${exit.code ?? exit.signal}: ${stderr()}`,
          {
            details: { code: exit.code, stderr: stderr() },
          },
        );
      }
      const text = stdout()
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.length > 0 && !line.startsWith('INFO:') && !line.startsWith('ERROR:'))
        .join(' ');
      yield { type: 'final', text, language: 'en' };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.kill();
    }
  }
}
