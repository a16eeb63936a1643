/**
 * eSpeak NG text-to-speech (`TtsModel`, 22 050 Hz mono PCM16, no key, fully offline).
 *
 * Backends:
 * - `cli`: the `espeak-ng` program (Debian package). Text goes in on stdin (no shell, no argv
 *   parsing of user text), `--stdout` writes a streaming WAV whose PCM is yielded as it arrives.
 *   Abort and timeout kill the process.
 * - `wasm`: the npm `espeak-ng` package (GPL, optional dependency), loaded lazily. Its build only
 *   exports `main`, so each utterance runs main once in a fresh instance of a WebAssembly module
 *   that is compiled once per process and kept warm; the WAV it writes is yielded in chunks.
 * `auto` (default) uses the program when it is on PATH, else the WASM build.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { decodeWav, WavStreamDecoder } from '../../audio/wav.ts';
import { ConfigError, InvalidInputError, isAbortError, ProviderError, TimeoutError } from '../../errors.ts';
import { importOptional, MissingDependencyError } from '../../optional-dependency.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { TtsModel, TtsRequest } from '../types.ts';
import { abortReason, captureTail, findExecutable } from './child-process.ts';
import { type ProcessLauncher, startProcess } from './process-launcher.ts';
import { ProcessSlots } from './process-slots.ts';

export const ESPEAK_SAMPLE_RATE = 22050;

export type EspeakBackend = 'auto' | 'cli' | 'wasm';

export interface EspeakTtsOptions {
  /** eSpeak voice (default 'en-us'); `TtsRequest.voice` overrides it. */
  voice?: string;
  /** Speaking rate in words per minute, 80..450 (default 175). */
  rateWpm?: number;
  backend?: EspeakBackend;
  /** Program name or path for the CLI backend (default 'espeak-ng'). */
  binary?: string;
  /** Longest accepted text in characters (default 5000). */
  maxTextLength?: number;
  /** Bound on one utterance's synthesis (default 30 000 ms). */
  timeoutMs?: number;
  /** Samples per yielded chunk for the WASM backend (default 2205 = 100 ms). */
  chunkSamples?: number;
  /**
   * How the CLI backend starts `espeak-ng` (default 'helper'): 'helper' through one small helper
   * process started on first use, so starting a program never blocks this process's event loop
   * (`spawn()` does, 40–200 ms on a busy machine); 'direct' with `spawn()` here.
   */
  launcher?: ProcessLauncher;
  /**
   * CLI backend: `espeak-ng` programs running at once, for every session using this instance
   * (default: the machine's CPU count). More utterances wait for a slot, in order.
   */
  maxProcesses?: number;
  /**
   * CLI backend: utterances waiting for a slot (default 256). Past it an utterance fails at once
   * with `ProviderError` `tts_busy` (retryable); a waiting utterance whose `abortSignal` aborts
   * leaves the queue at once.
   */
  maxWaiting?: number;
}

/** How busy an `EspeakTts`'s pool of `espeak-ng` programs is (CLI backend). */
export interface EspeakPool {
  /** Programs running now (at most `maxRunning`). */
  readonly running: number;
  /** Utterances waiting for a program slot now (at most `maxWaiting`). */
  readonly waiting: number;
  /** `maxProcesses`. */
  readonly maxRunning: number;
  /** `maxWaiting`. */
  readonly maxWaiting: number;
}

const VOICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_+\-/.]{0,63}$/;

interface EspeakWasm {
  factory: (module: Record<string, unknown>) => Promise<{ FS: { readFile(path: string): Uint8Array } }>;
  compiled: WebAssembly.Module;
}

let wasmPromise: Promise<EspeakWasm> | null = null;

/** Imports the WASM build and compiles its module once per process. */
function loadEspeakWasm(): Promise<EspeakWasm> {
  wasmPromise ??= (async () => {
    const mod = await importOptional<{ default: EspeakWasm['factory'] }>(
      'espeak-ng',
      'eSpeak NG speech without the espeak-ng program on PATH (or install the program: apt install espeak-ng)',
    );
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('espeak-ng/dist/espeak-ng.wasm');
    const compiled = await WebAssembly.compile(await readFile(wasmPath));
    return { factory: mod.default, compiled };
  })().catch((err: unknown) => {
    wasmPromise = null;
    if (err instanceof MissingDependencyError) throw err;
    throw new ProviderError('tts_unavailable', 'The espeak-ng WASM package could not be loaded', {
      cause: err,
    });
  });
  return wasmPromise;
}

/**
 * Offline TTS with eSpeak NG (the `espeak-ng` program, or the optional `espeak-ng` WASM package).
 *
 * @example
 * ```ts
 * import { EspeakTts } from 'colloquy';
 *
 * const tts = new EspeakTts({ voice: 'en-gb', rateWpm: 190 });
 * for await (const chunk of tts.synthesize({ text: 'Hello from Colloquy.' })) {
 *   console.log(`${chunk.length} samples at ${tts.sampleRate} Hz`);
 * }
 * ```
 */
export class EspeakTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'espeak-ng';
  readonly modelId = 'espeak-ng';
  readonly sampleRate = ESPEAK_SAMPLE_RATE;
  private readonly voice: string;
  private readonly rateWpm: number;
  private readonly backend: EspeakBackend;
  private readonly binary: string;
  private readonly maxTextLength: number;
  private readonly timeoutMs: number;
  private readonly chunkSamples: number;
  private readonly launcher: ProcessLauncher;
  private readonly pool: ProcessSlots;

  constructor(options: EspeakTtsOptions = {}) {
    this.voice = options.voice ?? 'en-us';
    this.rateWpm = options.rateWpm ?? 175;
    this.backend = options.backend ?? 'auto';
    this.binary = options.binary ?? 'espeak-ng';
    this.maxTextLength = options.maxTextLength ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.chunkSamples = options.chunkSamples ?? 2205;
    this.launcher = options.launcher ?? 'helper';
    this.pool = new ProcessSlots({
      maxRunning: options.maxProcesses ?? availableParallelism(),
      maxWaiting: options.maxWaiting ?? 256,
      full: (slots) =>
        new ProviderError(
          'tts_busy',
          `eSpeak NG is busy: ${slots.maxRunning} utterances are being synthesized and ${slots.maxWaiting} wait`,
          { retryable: true, details: { maxProcesses: slots.maxRunning, maxWaiting: slots.maxWaiting } },
        ),
    });
    if (!VOICE_PATTERN.test(this.voice))
      throw new ConfigError('tts_bad_option', `Invalid eSpeak voice '${this.voice}'`);
    if (!Number.isFinite(this.rateWpm) || this.rateWpm < 80 || this.rateWpm > 450) {
      throw new ConfigError('tts_bad_option', `rateWpm must be within 80..450, got ${this.rateWpm}`);
    }
  }

  /** The bound on concurrent `espeak-ng` programs (CLI backend) and on utterances waiting for one. */
  get slots(): EspeakPool {
    return this.pool;
  }

  /** Which backend `auto` resolves to on this machine. */
  async resolveBackend(): Promise<'cli' | 'wasm'> {
    if (this.backend !== 'auto') return this.backend;
    return (await findExecutable(this.binary)) ? 'cli' : 'wasm';
  }

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    const text = this.validateText(request.text);
    const voice = request.voice ?? this.voice;
    if (!VOICE_PATTERN.test(voice))
      throw new InvalidInputError('tts_bad_voice', `Invalid eSpeak voice '${voice}'`);
    request.abortSignal?.throwIfAborted();
    const backend = await this.resolveBackend();
    if (backend === 'cli') yield* this.synthesizeCli(text, voice, request.abortSignal);
    else yield* this.synthesizeWasm(text, voice, request.abortSignal);
  }

  private validateText(text: unknown): string {
    if (typeof text !== 'string') throw new InvalidInputError('tts_bad_text', 'TTS text must be a string');
    if (text.trim().length === 0) throw new InvalidInputError('tts_bad_text', 'TTS text is empty');
    if (text.length > this.maxTextLength) {
      throw new InvalidInputError('tts_text_too_long', `TTS text exceeds ${this.maxTextLength} characters`, {
        details: { length: text.length, max: this.maxTextLength },
      });
    }
    // Control characters other than whitespace have no business in speech text.
    let clean = '';
    for (const ch of text) {
      const code = ch.charCodeAt(0);
      const control = code < 0x20 ? ch !== '\t' && ch !== '\n' && ch !== '\r' : code === 0x7f;
      clean += control ? ' ' : ch;
    }
    return clean;
  }

  private async *synthesizeCli(
    text: string,
    voice: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Int16Array> {
    const binary = await findExecutable(this.binary);
    if (!binary) throw new ProviderError('tts_unavailable', `'${this.binary}' was not found on PATH`);
    // At most `maxProcesses` programs at once; the wait ends with the request's signal.
    const release = await this.pool.acquire(signal);
    try {
      yield* this.runCli(binary, text, voice, signal);
    } finally {
      release();
    }
  }

  private async *runCli(
    binary: string,
    text: string,
    voice: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Int16Array> {
    const child = startProcess(this.launcher, binary, [
      '--stdout',
      '-v',
      voice,
      '-s',
      String(Math.round(this.rateWpm)),
    ]);
    const exited = child.exited;
    const stderr = captureTail(child.stderr);
    child.endStdin(Buffer.from(text));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill();
    }, this.timeoutMs);
    const onAbort = () => child.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const decoder = new WavStreamDecoder();
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        const pcm = decoder.push(chunk);
        if (pcm.length > 0 && !signal?.aborted && !timedOut) yield pcm;
      }
      let exit: Awaited<typeof exited>;
      try {
        exit = await exited;
      } catch (err) {
        throw new ProviderError('tts_failed', `Could not run ${binary}`, { cause: err });
      }
      if (signal?.aborted) throw abortReason(signal);
      if (timedOut)
        throw new TimeoutError('eSpeak NG synthesis', this.timeoutMs, { details: { provider: 'espeak-ng' } });
      if (exit.code !== 0) {
        throw new ProviderError(
          'tts_failed',
          `espeak-ng exited with ${exit.code ?? exit.signal}: ${stderr()}`,
          {
            details: { code: exit.code, stderr: stderr() },
          },
        );
      }
      try {
        decoder.end({ allowTruncated: true });
      } catch (err) {
        throw new ProviderError('tts_failed', `espeak-ng produced no audio: ${stderr()}`, { cause: err });
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.kill();
      // The slot is released after this: it stays taken until the program has really exited (a
      // consumer that stops reading early gets here with the program still running).
      await exited.catch(() => {});
    }
  }

  private async *synthesizeWasm(
    text: string,
    voice: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Int16Array> {
    const { factory, compiled } = await loadEspeakWasm();
    signal?.throwIfAborted();
    const errors: string[] = [];
    const savedExitCode = process.exitCode;
    let wav: Uint8Array;
    try {
      const moduleArg: Record<string, unknown> = {
        arguments: ['-v', voice, '-s', String(Math.round(this.rateWpm)), '-w', '/out.wav', '-f', '/in.txt'],
        print: () => {},
        printErr: (line: string) => errors.push(line),
        preRun: [
          () => {
            (moduleArg.FS as { writeFile(path: string, data: string): void }).writeFile('/in.txt', text);
          },
        ],
        instantiateWasm: (
          imports: WebAssembly.Imports,
          receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
        ) => {
          WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled));
          return {};
        },
      };
      const instance = await factory(moduleArg);
      wav = instance.FS.readFile('/out.wav');
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw new ProviderError('tts_failed', `espeak-ng (WASM) failed: ${errors.join(' ')}`, { cause: err });
    } finally {
      // An emscripten exit() sets process.exitCode; it must not leak into the host process.
      process.exitCode = savedExitCode;
    }
    signal?.throwIfAborted();
    let samples: Int16Array;
    try {
      samples = decodeWav(wav, { allowTruncated: true }).samples;
    } catch (err) {
      throw new ProviderError('tts_failed', `espeak-ng (WASM) produced no audio: ${errors.join(' ')}`, {
        cause: err,
      });
    }
    for (let offset = 0; offset < samples.length; offset += this.chunkSamples) {
      signal?.throwIfAborted();
      yield samples.slice(offset, offset + this.chunkSamples);
    }
  }
}
