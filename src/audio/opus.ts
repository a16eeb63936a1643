/**
 * Opus encode/decode at 48 kHz in 20 ms frames (960 samples per channel), on the `opusscript`
 * WASM build. The module is imported lazily on first use and shared; each encoder/decoder owns
 * native memory that `destroy()` frees.
 */
import { AudioFormatError } from '../errors.ts';
import { requireOptional } from '../optional-dependency.ts';
import { bytesToInt16 } from './pcm.ts';

export const OPUS_SAMPLE_RATE = 48000;
export const OPUS_FRAME_MS = 20;
/** Samples per channel in one 20 ms frame at 48 kHz. */
export const OPUS_FRAME_SAMPLES = 960;

export type OpusApplication = 'voip' | 'audio' | 'lowdelay';

export interface OpusCodecOptions {
  /** 1 (default) or 2, interleaved. */
  channels?: 1 | 2;
  /** Encoder tuning (default 'voip'). */
  application?: OpusApplication;
  /** Encoder target bitrate in bits per second. */
  bitrate?: number;
}

interface OpusScriptInstance {
  encode(buffer: Buffer, frameSize: number): Buffer;
  decode(buffer: Buffer): Buffer;
  setBitrate(bitrate: number): void;
  delete(): void;
}

interface OpusScriptClass {
  new (sampleRate: 48000, channels: number, application: number): OpusScriptInstance;
  Application: { VOIP: number; AUDIO: number; RESTRICTED_LOWDELAY: number };
}

let opusModule: OpusScriptClass | null = null;

/** Loads the optional `opusscript` package once (a missing one throws `MissingDependencyError`). */
async function loadOpus(): Promise<OpusScriptClass> {
  opusModule ??= requireOptional<OpusScriptClass>('opusscript', 'Opus audio');
  return opusModule;
}

function applicationCode(cls: OpusScriptClass, application: OpusApplication): number {
  switch (application) {
    case 'voip':
      return cls.Application.VOIP;
    case 'audio':
      return cls.Application.AUDIO;
    case 'lowdelay':
      return cls.Application.RESTRICTED_LOWDELAY;
  }
}

function destroyedError(what: string): AudioFormatError {
  return new AudioFormatError('opus_destroyed', `Opus ${what} was used after destroy()`);
}

export class OpusEncoder {
  readonly channels: number;
  private native: OpusScriptInstance | null;

  constructor(native: OpusScriptInstance, channels: number) {
    this.native = native;
    this.channels = channels;
  }

  /** Encodes exactly one 20 ms frame (960 × channels interleaved samples) to one packet. */
  encode(frame: Int16Array): Uint8Array {
    const native = this.native;
    if (native === null) throw destroyedError('encoder');
    const expected = OPUS_FRAME_SAMPLES * this.channels;
    if (frame.length !== expected) {
      throw new AudioFormatError(
        'opus_bad_frame_size',
        `Opus frames must hold ${expected} samples (20 ms at 48 kHz × ${this.channels} ch), got ${frame.length}`,
        { details: { expected, actual: frame.length } },
      );
    }
    const input = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    try {
      return new Uint8Array(native.encode(input, OPUS_FRAME_SAMPLES));
    } catch (err) {
      throw new AudioFormatError('opus_encode_failed', 'Opus encoding failed', { cause: err });
    }
  }

  destroy(): void {
    this.native?.delete();
    this.native = null;
  }
}

export class OpusDecoder {
  readonly channels: number;
  private native: OpusScriptInstance | null;

  constructor(native: OpusScriptInstance, channels: number) {
    this.native = native;
    this.channels = channels;
  }

  /** Decodes one packet to interleaved PCM16 at 48 kHz. Throws `opus_decode_failed` on a bad packet. */
  decode(packet: Uint8Array): Int16Array {
    const native = this.native;
    if (native === null) throw destroyedError('decoder');
    if (packet.length === 0) throw new AudioFormatError('opus_decode_failed', 'Empty Opus packet');
    let pcm: Buffer;
    try {
      pcm = native.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    } catch (err) {
      throw new AudioFormatError('opus_decode_failed', 'Opus packet could not be decoded', { cause: err });
    }
    return bytesToInt16(pcm).slice();
  }

  destroy(): void {
    this.native?.delete();
    this.native = null;
  }
}

function validateChannels(channels: number): void {
  if (channels !== 1 && channels !== 2) {
    throw new AudioFormatError('opus_bad_channels', `Opus supports 1 or 2 channels, got ${channels}`);
  }
}

/**
 * Creates a 48 kHz Opus encoder (loads opusscript on first use).
 *
 * @example
 * ```ts
 * import { createOpusEncoder } from 'colloquy';
 *
 * // needs the optional `opusscript` package (MissingDependencyError without it)
 * const encoder = await createOpusEncoder({ channels: 1, application: 'voip', bitrate: 24000 });
 * const frame = new Int16Array(960); // exactly 20 ms at 48 kHz
 * const packet: Uint8Array = encoder.encode(frame);
 * encoder.destroy();
 * ```
 */
export async function createOpusEncoder(options: OpusCodecOptions = {}): Promise<OpusEncoder> {
  const channels = options.channels ?? 1;
  validateChannels(channels);
  const cls = await loadOpus();
  const native = new cls(OPUS_SAMPLE_RATE, channels, applicationCode(cls, options.application ?? 'voip'));
  if (options.bitrate !== undefined) {
    try {
      native.setBitrate(options.bitrate);
    } catch (err) {
      native.delete();
      throw new AudioFormatError('opus_bad_bitrate', `Opus rejected bitrate ${options.bitrate}`, {
        cause: err,
      });
    }
  }
  return new OpusEncoder(native, channels);
}

/**
 * Creates a 48 kHz Opus decoder (loads opusscript on first use).
 *
 * @example
 * ```ts
 * import { createOpusDecoder, createOpusEncoder } from 'colloquy';
 *
 * const encoder = await createOpusEncoder();
 * const decoder = await createOpusDecoder({ channels: 1 });
 * const packet = encoder.encode(new Int16Array(960));
 * const pcm = decoder.decode(packet); // 48 kHz PCM16, 960 samples
 * encoder.destroy();
 * decoder.destroy();
 * ```
 */
export async function createOpusDecoder(
  options: Pick<OpusCodecOptions, 'channels'> = {},
): Promise<OpusDecoder> {
  const channels = options.channels ?? 1;
  validateChannels(channels);
  const cls = await loadOpus();
  return new OpusDecoder(new cls(OPUS_SAMPLE_RATE, channels, cls.Application.VOIP), channels);
}
