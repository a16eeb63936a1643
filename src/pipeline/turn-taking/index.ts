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
export {
  type MutableInput,
  USER_MUTE_STRATEGY_NAMES,
  UserMuteController,
  type UserMuteOptions,
  type UserMuteState,
  type UserMuteStrategy,
  type UserMuteStrategyName,
  validateUserMuteStrategies,
} from './user-mute.ts';
export { VadDetector, type VadDetectorOptions, type VadState, type VadTransition } from './vad-detector.ts';
