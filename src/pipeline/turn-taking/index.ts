export { AudioQueue } from './audio-queue.ts';
export {
  type EndOfTurnReason,
  Endpointing,
  type EndpointingCallbacks,
  type EndpointingOptions,
  type EndpointingState,
} from './endpointing.ts';
export {
  countWords,
  type InterruptionOptions,
  InterruptionPolicy,
  type InterruptionState,
  type SpeechControl,
} from './interruption.ts';
export { SttUtterance, type SttUtteranceOptions, type UtteranceState } from './stt-utterance.ts';
export { UserAudioInput, type UserAudioInputOptions, type UserTurnInfo } from './user-input.ts';
export { VadDetector, type VadDetectorOptions, type VadState, type VadTransition } from './vad-detector.ts';
