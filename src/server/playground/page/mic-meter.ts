/**
 * The microphone level meter: an AnalyserNode on the local microphone track, read ten times a
 * second (RMS mapped from -60..0 dBFS onto 0..100). Muted, or a disabled track, reads as silence.
 */
export class MicMeter {
  private context: AudioContext | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private trackId: string | undefined;
  /** While muted nothing is sent: the meter reads 0 whatever the device hears. */
  muted = false;

  constructor(private readonly meter: HTMLMeterElement) {}

  attach(track: MediaStreamTrack): void {
    if (track.id === this.trackId) return;
    this.detach();
    this.trackId = track.id;
    const context = new AudioContext();
    this.context = context;
    void context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      if (track.readyState === 'ended') return this.detach();
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      const db = rms > 0 ? 20 * Math.log10(rms) : -100;
      this.show(track.enabled && !this.muted ? Math.max(0, Math.min(100, ((db + 60) / 60) * 100)) : 0);
    }, 100);
  }

  detach(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.trackId = undefined;
    void this.context?.close();
    this.context = undefined;
    this.show(0);
  }

  private show(level: number): void {
    this.meter.value = Math.round(level);
  }
}
