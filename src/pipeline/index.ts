export { type Clock, monotonicClock, systemClock, type TimerHandle } from './clock.ts';
export { type AudioSink, SpeechOutput, type SpeechOutputOptions } from './speech-output.ts';
export {
  type ChunkState,
  interruptReasonOf,
  type ResponseState,
  type SpeechOutcome,
  type SpeechResponse,
} from './speech-response.ts';
export {
  DEFAULT_MAX_CHUNK_SIZE,
  DEFAULT_MIN_CHUNK_SIZE,
  SpeechSegmenter,
  type SpeechSegmenterOptions,
} from './speech-segmenter.ts';
export * from './turn-taking/index.ts';
