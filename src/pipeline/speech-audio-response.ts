/**
 * A speech response whose audio is ready-made (a realtime speech-to-speech model) instead of
 * synthesised from text. It is one more response in `SpeechOutput`'s FIFO, played through the same
 * pacing, pause/resume, interruption and playout tracking as TTS speech, so every transport works
 * unchanged. Its transcript is attached as it arrives (for what was heard); the caller publishes the
 * words as they play, since the model's transcript and audio are not aligned chunk by chunk.
 */
import { StreamingResampler } from '../audio/resample.ts';
import { type Chunk, newChunk, type OutputResponse, type SpeechOutcome } from './speech-response.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';

export interface AudioResponse {
  /** Model audio, PCM16 mono at the rate given to `beginAudioResponse`. */
  pushAudio(pcm: Int16Array): void;
  /** Transcript of the audio, as it arrives. */
  pushText(delta: string): void;
  /** No more audio will come. */
  end(): void;
  /** Audio written to the output so far (what the user heard), in ms. */
  readonly playedMs: number;
  /** Audio received so far, in ms. */
  readonly receivedMs: number;
  /** Words of the transcript heard so far (in proportion to the audio played). */
  readonly heardText: string;
  /** True once the response played to its end or was cancelled. */
  readonly finished: boolean;
  readonly done: Promise<SpeechOutcome>;
}

/** What an audio response needs from its `SpeechOutput`. */
export interface AudioResponseHost {
  readonly outputSampleRate: number;
  nextChunkId(): number;
  /** Queues the response (FIFO behind others) and cancels it when `signal` aborts. */
  add(r: OutputResponse, signal: AbortSignal): void;
  /** Audio at the output rate for `chunk`; playout starts or goes on. */
  append(chunk: Chunk, pcm: Int16Array): void;
  /** The response has all its audio. */
  end(r: OutputResponse): void;
  heard(r: OutputResponse): string;
}

export function createAudioResponse(
  host: AudioResponseHost,
  turnId: string,
  signal: AbortSignal,
  sampleRate: number,
): AudioResponse {
  let resolve!: (o: SpeechOutcome) => void;
  const done = new Promise<SpeechOutcome>((r) => {
    resolve = r;
  });
  let finished = false;
  const r: OutputResponse = {
    turnId,
    state: 'open',
    chunks: [],
    fullText: '',
    segmenter: new SpeechSegmenter({}),
    info: { turnId, sampleRate: host.outputSampleRate },
    playIndex: 0,
    releaseIndex: 0,
    startPublished: true,
    completePublished: true,
    speaking: false,
    resolve: (o) => {
      finished = true;
      resolve(o);
    },
    detach: undefined,
  };
  const chunk = newChunk(host.nextChunkId(), '', r);
  chunk.state = 'synthesizing';
  chunk.external = true;
  r.chunks.push(chunk);
  const resampler =
    sampleRate === host.outputSampleRate
      ? undefined
      : new StreamingResampler(sampleRate, host.outputSampleRate);
  let received = 0;
  host.add(r, signal);
  const msPerSample = 1000 / host.outputSampleRate;
  return {
    pushAudio(pcm) {
      if (r.state !== 'open' || pcm.length === 0) return;
      const out = resampler ? resampler.process(pcm) : pcm;
      if (out.length === 0) return;
      received += out.length;
      host.append(chunk, out);
    },
    pushText(delta) {
      if (r.state !== 'open' && r.state !== 'ended') return;
      chunk.text += delta;
      r.fullText += delta;
    },
    end() {
      if (r.state !== 'open') return;
      const tail = resampler?.flush();
      if (tail && tail.length > 0) {
        received += tail.length;
        host.append(chunk, tail);
      }
      chunk.state = 'done';
      host.end(r);
    },
    get playedMs() {
      return chunk.played * msPerSample;
    },
    get receivedMs() {
      return received * msPerSample;
    },
    get heardText() {
      return host.heard(r);
    },
    get finished() {
      return finished;
    },
    done,
  };
}
