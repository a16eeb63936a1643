/**
 * The audio side of a session: user audio in (VAD, STT, endpointing, barge-in) and speech out
 * (segmenting, parallel TTS, ordered paced playout). Built from `VoiceAudioOptions`; the session
 * wires its callbacks, so turn logic is the same for text and voice.
 */
import type { SessionEventBus } from '../bus/event-bus.ts';
import type { InterruptReason } from '../bus/events.ts';
import { ConfigError } from '../errors.ts';
import {
  type AudioSink,
  type EncodedTtsModel,
  SpeechOutput,
  type SpeechOutputOptions,
} from '../pipeline/speech-output.ts';
import type { EndpointingOptions } from '../pipeline/turn-taking/endpointing.ts';
import type { InterruptionOptions } from '../pipeline/turn-taking/interruption.ts';
import { UserAudioInput, type UserTurnInfo } from '../pipeline/turn-taking/user-input.ts';
import { UserMuteController, type UserMuteStrategy } from '../pipeline/turn-taking/user-mute.ts';
import type { VadDetectorOptions } from '../pipeline/turn-taking/vad-detector.ts';
import type { EndOfTurnDetector, SttModel, TtsModel, VadModel } from '../providers/types.ts';

export interface VoiceAudioOptions {
  /** Voice activity detection (Silero, energy, or your own). */
  vad?: VadModel;
  /** Streaming speech-to-text; without it there are no spoken user turns. */
  stt?: SttModel;
  /**
   * Streaming text-to-speech (paced PCM to `output`), or an encoded model whose audio files are
   * passed through as `speech.chunk` for the client to play; without it the session answers in text only.
   */
  tts?: TtsModel | EncodedTtsModel;
  /** Semantic end-of-turn detection on top of the silence timeout. */
  endOfTurn?: EndOfTurnDetector;
  /** Where bot audio frames go (can be set or swapped later with `setAudioOutput`). */
  output?: AudioSink;
  /** Rate of audio given to `pushAudio` (default 16000). */
  inputSampleRate?: number;
  /** Rate of frames written to the output (default 24000). */
  outputSampleRate?: number;
  /** Speech output tuning: chunk sizes, parallel TTS requests, timeouts, voice, frame size. */
  speech?: Omit<SpeechOutputOptions, 'bus' | 'sessionId' | 'tts' | 'sink' | 'outputSampleRate'>;
  vadOptions?: Omit<VadDetectorOptions, 'vad'>;
  endpointing?: Omit<EndpointingOptions, 'endOfTurn' | 'clock'>;
  interruption?: Omit<InterruptionOptions, 'clock'>;
  language?: string;
  /** Most microphone audio waiting for the VAD, in ms (default 60000; see `UserAudioInputOptions.maxQueuedMs`). */
  maxQueuedInputMs?: number;
  /** When the server stops listening to the user (e.g. `['first-speech', 'function-call']`); none by default. */
  userMute?: UserMuteStrategy[];
}

/** An AudioSink whose target can be attached, swapped or detached while speech plays. */
export class SwitchableSink implements AudioSink {
  private target: AudioSink | undefined;
  constructor(initial?: AudioSink) {
    this.target = initial;
  }
  set(target: AudioSink | undefined): void {
    this.target = target;
  }
  write(frame: Int16Array, info: { turnId: string; sampleRate: number }): void {
    this.target?.write(frame, info);
  }
  clear(): void {
    this.target?.clear?.();
  }
}

export interface VoicePipelineHooks {
  bus: SessionEventBus;
  sessionId: string;
  interrupt: (reason: InterruptReason) => void;
  onUserTurn: (text: string, info: UserTurnInfo) => void;
  /** The user began speaking (only with an STT: only then can speech become a user turn). */
  onSpeechStart?: () => void;
  /** Speech ended without a transcript. */
  onEmptyTurn?: () => void;
  history: () => ReadonlyArray<{ role: 'user' | 'assistant'; text: string }>;
}

export interface VoicePipeline {
  speech?: SpeechOutput;
  input?: UserAudioInput;
  /** Mute decisions (strategies + the app's `setMuted`); present with `input`. */
  mute?: UserMuteController;
  sink: SwitchableSink;
}

export function createVoicePipeline(audio: VoiceAudioOptions, hooks: VoicePipelineHooks): VoicePipeline {
  const sink = new SwitchableSink(audio.output);
  const outputSampleRate = audio.outputSampleRate ?? 24000;
  const speech = audio.tts
    ? new SpeechOutput({
        ...(audio.speech ?? {}),
        bus: hooks.bus,
        sessionId: hooks.sessionId,
        tts: audio.tts,
        sink,
        outputSampleRate,
      })
    : undefined;
  if (audio.stt && !audio.vad) {
    throw new ConfigError('vad_required', 'Streaming user audio needs a VAD model (audio.vad) to find turns');
  }
  const input = audio.vad
    ? new UserAudioInput({
        bus: hooks.bus,
        sessionId: hooks.sessionId,
        vad: audio.vad,
        ...(audio.stt ? { stt: audio.stt } : {}),
        ...(audio.endOfTurn ? { endOfTurn: audio.endOfTurn } : {}),
        inputSampleRate: audio.inputSampleRate ?? 16000,
        ...(audio.vadOptions ? { vadOptions: audio.vadOptions } : {}),
        ...(audio.endpointing ? { endpointing: audio.endpointing } : {}),
        ...(audio.interruption ? { interruption: audio.interruption } : {}),
        ...(audio.language ? { language: audio.language } : {}),
        ...(audio.maxQueuedInputMs !== undefined ? { maxQueuedMs: audio.maxQueuedInputMs } : {}),
        isBotSpeaking: () => speech?.speaking ?? false,
        speech: {
          pause: () => speech?.pause(),
          resume: () => speech?.resume(),
          interrupt: (reason) => hooks.interrupt(reason),
        },
        onUserTurn: hooks.onUserTurn,
        ...(audio.stt && hooks.onSpeechStart ? { onSpeechStart: hooks.onSpeechStart } : {}),
        ...(audio.stt && hooks.onEmptyTurn ? { onEmptyTurn: hooks.onEmptyTurn } : {}),
        history: hooks.history,
      })
    : undefined;
  const mute = input
    ? new UserMuteController({
        bus: hooks.bus,
        sessionId: hooks.sessionId,
        input,
        strategies: audio.userMute ?? [],
      })
    : undefined;
  return { ...(speech ? { speech } : {}), ...(input ? { input, mute } : {}), sink };
}
