/**
 * Binary PCM16 microphone audio of one connection (Colloquy addition, after `audio_config`).
 * `vad: true`: frames are mixed to mono and fed to the session's VAD/STT in slices of at most
 * 100 ms. `vad: false` (push-to-talk): frames are buffered, bounded by `maxBytes`, until
 * `audio_commit` turns them into one WAV recording.
 */
import { bytesToInt16, downmixToMono } from '../../audio/pcm.ts';
import { encodeWav } from '../../audio/wav.ts';
import type { ColloquyError } from '../../errors.ts';
import {
  type AudioConfigMessage,
  type ProtocolLimits,
  parseBinaryAudioFrame,
  protocolError,
} from '../native-protocol/client-messages.ts';

export interface PcmInputTarget {
  /** Feeds mono PCM16 to the session (server-side VAD). */
  pushAudio(pcm: Int16Array, sampleRate: number): void;
}

export class PcmInput {
  private config: AudioConfigMessage | undefined;
  private buffered: Int16Array[] = [];
  private bufferedBytes = 0;

  constructor(
    private readonly target: PcmInputTarget,
    private readonly limits: ProtocolLimits,
    private readonly maxBytes: number,
  ) {}

  get configured(): AudioConfigMessage | undefined {
    return this.config;
  }

  /** A new format; audio buffered for the current turn is discarded. */
  configure(config: AudioConfigMessage): void {
    this.config = config;
    this.reset();
  }

  reset(): void {
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  /** One binary frame. Throws a protocol error for a bad frame (the caller reports it). */
  push(data: Uint8Array): void {
    const frame = parseBinaryAudioFrame(data, this.config, this.limits);
    const mono = downmixToMono(bytesToInt16(frame.pcm), frame.channels);
    if (this.config!.vad) {
      const slice = Math.max(1, Math.floor(frame.sampleRate / 10));
      for (let i = 0; i < mono.length; i += slice) {
        this.target.pushAudio(mono.subarray(i, Math.min(mono.length, i + slice)), frame.sampleRate);
      }
      return;
    }
    if (this.bufferedBytes + mono.byteLength > this.maxBytes) {
      this.reset();
      throw tooLarge(this.maxBytes);
    }
    this.buffered.push(mono.slice()); // `mono` may view the socket's buffer
    this.bufferedBytes += mono.byteLength;
  }

  /** True when the client asked for server-side VAD (`audio_config.vad`). */
  get vadEnabled(): boolean {
    return this.config?.vad === true;
  }

  /**
   * `audio_commit`: with `vad: false` the buffered turn as a WAV recording (undefined when empty);
   * with `vad: true` undefined (the VAD ends turns).
   */
  commit(): Uint8Array | undefined {
    const config = this.config;
    if (config === undefined) {
      throw protocolError(
        'audio_not_configured',
        '"audio_commit" before an "audio_config" message',
        'audio_commit',
      );
    }
    if (config.vad || this.bufferedBytes === 0) return undefined;
    const pcm = new Int16Array(this.bufferedBytes / 2);
    let offset = 0;
    for (const piece of this.buffered) {
      pcm.set(piece, offset);
      offset += piece.length;
    }
    this.reset();
    return encodeWav(pcm, { sampleRate: config.sampleRate, channels: 1 });
  }
}

function tooLarge(max: number): ColloquyError {
  return protocolError(
    'audio_too_large',
    `Buffered audio exceeds ${max} bytes; the turn was discarded (send "audio_commit" sooner)`,
    'binary',
  );
}
