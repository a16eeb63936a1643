/** The bot's remote audio track, played and measured in the page (shared by the test pages). */
import type { RemoteAudioStats } from './types.ts';

export const remoteAudio: RemoteAudioStats = { tracks: 0, nonSilentSamples: 0, peak: 0 };
const playing = new Set<string>();

/**
 * Plays a remote audio track through an <audio> element (Chromium only feeds a remote WebRTC stream
 * to WebAudio while a media element plays it) and measures it with an AnalyserNode: samples above
 * -40 dBFS count as non-silent.
 */
export function playRemote(track: MediaStreamTrack): void {
  if (playing.has(track.id)) return;
  playing.add(track.id);
  remoteAudio.tracks++;
  const stream = new MediaStream([track]);
  const audio = document.createElement('audio');
  audio.autoplay = true;
  audio.srcObject = stream;
  document.body.appendChild(audio);
  const context = new AudioContext();
  void context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  // Each read sees the last 2048 samples (~43 ms at 48 kHz); reading every 40 ms covers the stream.
  const timer = setInterval(() => {
    if (track.readyState === 'ended') {
      clearInterval(timer);
      void context.close();
      return;
    }
    analyser.getFloatTimeDomainData(samples);
    for (const v of samples) {
      const a = Math.abs(v);
      if (a > 0.01) remoteAudio.nonSilentSamples++;
      if (a > remoteAudio.peak) remoteAudio.peak = a;
    }
  }, 40);
}
