/**
 * The audio halves of a server-side `@roamhq/wrtc` peer, shared by the WebRTC transports:
 * `PacedAudioOutput` queues bot audio and feeds an `RTCAudioSource` 10 ms frames of 48 kHz in real
 * time (the wall clock decides, timers drift); `attachPcmSink` reads a remote audio track as mono
 * PCM16 at a chosen rate.
 */
import { downmixToMono } from '../../audio/pcm.ts';
import { StreamingResampler } from '../../audio/resample.ts';

export const WEBRTC_RATE = 48_000;
/** Samples per 10 ms frame at 48 kHz: what `RTCAudioSource.onData` takes. */
export const FRAME_SAMPLES = 480;
export const FRAME_MS = 10;

/** What `RTCAudioSource.onData` takes (the subset used here). */
export interface AudioSourceFrame {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample: number;
  channelCount: number;
  numberOfFrames: number;
}
export interface FrameSource {
  onData(frame: AudioSourceFrame): void;
}

interface AudioSinkData {
  samples: Int16Array;
  sampleRate: number;
  channelCount?: number;
}
/** `RTCAudioSink` as wrtc ships it. */
export interface PcmSinkLike {
  ondata: ((data: AudioSinkData) => void) | undefined;
  stop(): void;
}

export class PacedAudioOutput {
  private readonly maxQueuedSamples: number;
  private outResampler: { rate: number; resampler: StreamingResampler } | undefined;
  // Bot audio queue at 48 kHz, consumed in 480-sample frames.
  private queue: Int16Array[] = [];
  private queued = 0;
  private head = 0;
  private pacer: ReturnType<typeof setInterval> | undefined;
  private pacerStart = 0;
  private framesSent = 0;
  private totalFrames = 0;
  private closed = false;

  /** @param maxQueuedMs most audio queued (older audio is dropped beyond it). */
  constructor(
    private readonly source: FrameSource,
    maxQueuedMs = 120_000,
  ) {
    this.maxQueuedSamples = Math.round((maxQueuedMs * WEBRTC_RATE) / 1000);
  }

  /** Queues mono PCM16; it leaves in real time, 10 ms at a time. */
  write(pcm: Int16Array, sampleRate: number): void {
    if (this.closed || pcm.length === 0) return;
    if (this.outResampler?.rate !== sampleRate) {
      this.outResampler =
        sampleRate === WEBRTC_RATE
          ? undefined
          : { rate: sampleRate, resampler: new StreamingResampler(sampleRate, WEBRTC_RATE) };
    }
    const samples = this.outResampler ? this.outResampler.resampler.process(pcm) : pcm.slice();
    if (samples.length === 0) return;
    this.queue.push(samples);
    this.queued += samples.length;
    while (this.queued - this.head > this.maxQueuedSamples && this.queue.length > 1) {
      const dropped = this.queue.shift()!;
      this.queued -= dropped.length;
      this.head = 0;
    }
    this.startPacer();
  }

  /** Drops queued audio (barge-in). */
  clear(): void {
    this.queue = [];
    this.queued = 0;
    this.head = 0;
    this.outResampler?.resampler.reset();
  }

  /** 10 ms frames sent since the output was created. */
  get sentFrames(): number {
    return this.totalFrames;
  }

  /** Audio still queued, in ms. */
  get queuedMs(): number {
    return ((this.queued - this.head) * 1000) / WEBRTC_RATE;
  }

  close(): void {
    this.closed = true;
    this.stopPacer();
    this.clear();
  }

  private startPacer(): void {
    if (this.pacer || this.closed) return;
    this.pacerStart = performance.now();
    this.framesSent = 0;
    this.pacer = setInterval(() => this.pace(), FRAME_MS);
    this.pace();
  }

  private stopPacer(): void {
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = undefined;
  }

  /** Sends the frames that are due by the wall clock. */
  private pace(): void {
    const due = Math.floor((performance.now() - this.pacerStart) / FRAME_MS) + 1 - this.framesSent;
    for (let i = 0; i < due; i++) {
      const frame = this.takeFrame();
      if (!frame) {
        this.stopPacer();
        return;
      }
      this.source.onData({
        samples: frame,
        sampleRate: WEBRTC_RATE,
        bitsPerSample: 16,
        channelCount: 1,
        numberOfFrames: FRAME_SAMPLES,
      });
      this.framesSent++;
      this.totalFrames++;
    }
  }

  /** The next 480 samples (the tail is padded with silence). */
  private takeFrame(): Int16Array | undefined {
    if (this.queued - this.head <= 0) return undefined;
    const frame = new Int16Array(FRAME_SAMPLES);
    let filled = 0;
    while (filled < FRAME_SAMPLES && this.queue.length > 0) {
      const chunk = this.queue[0];
      const n = Math.min(FRAME_SAMPLES - filled, chunk.length - this.head);
      frame.set(chunk.subarray(this.head, this.head + n), filled);
      filled += n;
      this.head += n;
      if (this.head === chunk.length) {
        this.queue.shift();
        this.queued -= chunk.length;
        this.head = 0;
      }
    }
    return frame;
  }
}

/**
 * Reads a remote track through `sink` as mono PCM16 at `rate` (downmixed and resampled); `handler`
 * gets each 10 ms piece. Returns the sink (stop it to detach).
 */
export function attachPcmSink<S extends PcmSinkLike>(
  sink: S,
  rate: number,
  handler: (pcm: Int16Array, sampleRate: number) => void,
): S {
  let resampler: { rate: number; resampler: StreamingResampler } | undefined;
  sink.ondata = (data) => {
    const mono = downmixToMono(data.samples, data.channelCount ?? 1);
    if (data.sampleRate === rate) return handler(mono, rate);
    if (resampler?.rate !== data.sampleRate) {
      resampler = { rate: data.sampleRate, resampler: new StreamingResampler(data.sampleRate, rate) };
    }
    handler(resampler.resampler.process(mono), rate);
  };
  return sink;
}
