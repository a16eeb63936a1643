/**
 * A cheap RMS-energy voice activity detector. It tracks the background noise floor per stream
 * (falls quickly to quieter frames, rises slowly under sustained sound) and maps the frame's level
 * above that floor onto a 0..1 probability with a logistic curve. Synchronous and allocation-free.
 */

import { rms } from '../../audio/pcm.ts';
import { AudioFormatError, ConfigError } from '../../errors.ts';
import { SPECIFICATION_VERSIONS } from '../../specification-version.ts';
import type { VadModel, VadStream } from '../types.ts';

export interface EnergyVadOptions {
  /** Sample rate of the frames (any rate; default 16000). */
  sampleRate?: number;
  /** Samples per frame (default 20 ms at `sampleRate`). */
  frameSamples?: number;
  /** dB above the noise floor where the probability reaches 0.5 (default 12). */
  thresholdDb?: number;
  /** dB per logistic unit: smaller is a harder switch (default 2). */
  slopeDb?: number;
  /** Noise floor a new stream starts from, in dBFS (default -55). */
  initialNoiseFloorDb?: number;
  /** Highest the floor may rise, in dBFS, so long speech is never learnt as noise (default -30). */
  maxNoiseFloorDb?: number;
  /** Fraction of the gap the floor moves per frame when the frame is quieter (default 0.3). */
  floorFallRate?: number;
  /** Fraction of the gap the floor moves per frame when the frame is louder (default 0.005). */
  floorRiseRate?: number;
}

const MIN_DB = -100;

/**
 * A dependency-free VAD from frame energy over an adaptive noise floor (any sample rate).
 *
 * @example
 * ```ts
 * import { EnergyVad } from 'colloquy';
 *
 * const vad = new EnergyVad({ sampleRate: 16000, thresholdDb: 15 });
 * const stream = vad.createStream(); // one per audio stream
 * const probability = await stream.process(new Int16Array(vad.frameSamples)); // 0..1
 * stream.close();
 * ```
 */
export class EnergyVad implements VadModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.vad;
  readonly provider = 'colloquy';
  readonly modelId = 'energy-vad';
  readonly sampleRate: number;
  readonly frameSamples: number;
  readonly settings: Required<Omit<EnergyVadOptions, 'sampleRate' | 'frameSamples'>>;

  constructor(options: EnergyVadOptions = {}) {
    this.sampleRate = options.sampleRate ?? 16000;
    this.frameSamples = options.frameSamples ?? Math.round(this.sampleRate / 50);
    if (!Number.isInteger(this.sampleRate) || this.sampleRate <= 0) {
      throw new ConfigError(
        'vad_bad_option',
        `sampleRate must be a positive integer, got ${this.sampleRate}`,
      );
    }
    if (!Number.isInteger(this.frameSamples) || this.frameSamples <= 0) {
      throw new ConfigError(
        'vad_bad_option',
        `frameSamples must be a positive integer, got ${this.frameSamples}`,
      );
    }
    this.settings = {
      thresholdDb: options.thresholdDb ?? 12,
      slopeDb: options.slopeDb ?? 2,
      initialNoiseFloorDb: options.initialNoiseFloorDb ?? -55,
      maxNoiseFloorDb: options.maxNoiseFloorDb ?? -30,
      floorFallRate: options.floorFallRate ?? 0.3,
      floorRiseRate: options.floorRiseRate ?? 0.005,
    };
    if (this.settings.slopeDb <= 0) throw new ConfigError('vad_bad_option', 'slopeDb must be positive');
  }

  createStream(): EnergyVadStream {
    return new EnergyVadStream(this);
  }
}

export class EnergyVadStream implements VadStream {
  private floorDb: number;
  private closed = false;

  constructor(private readonly vad: EnergyVad) {
    this.floorDb = vad.settings.initialNoiseFloorDb;
  }

  /** Current noise-floor estimate in dBFS. */
  get noiseFloorDb(): number {
    return this.floorDb;
  }

  process(frame: Int16Array): number {
    if (this.closed) throw new AudioFormatError('vad_stream_closed', 'VAD stream was closed');
    if (frame.length !== this.vad.frameSamples) {
      throw new AudioFormatError(
        'vad_bad_frame_size',
        `Energy VAD expects frames of ${this.vad.frameSamples} samples, got ${frame.length}`,
        { details: { expected: this.vad.frameSamples, actual: frame.length } },
      );
    }
    const s = this.vad.settings;
    const r = rms(frame);
    const db = r > 0 ? Math.max(MIN_DB, 20 * Math.log10(r)) : MIN_DB;
    const x = (db - this.floorDb - s.thresholdDb) / s.slopeDb;
    const probability = 1 / (1 + Math.exp(-x));
    const rate = db < this.floorDb ? s.floorFallRate : s.floorRiseRate;
    this.floorDb = Math.min(s.maxNoiseFloorDb, this.floorDb + rate * (db - this.floorDb));
    return probability;
  }

  reset(): void {
    this.floorDb = this.vad.settings.initialNoiseFloorDb;
  }

  close(): void {
    this.closed = true;
  }
}
