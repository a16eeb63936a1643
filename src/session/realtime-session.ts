/**
 * How a `VoiceSession` runs on a realtime model: its audio options (speech output without TTS, the
 * VAD only when it drives the model) and the runner that owns the provider connection.
 */
import { ConfigError, SessionStateError } from '../errors.ts';
import type { TtsModel } from '../providers/types.ts';
import { checkSpecificationVersion, SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { RealtimeOptions, RealtimeRunnerHost } from './realtime-config.ts';
import { RealtimeRunner } from './realtime-runner.ts';
import type { VoiceSessionOptions } from './session-options.ts';
import type { VoiceAudioOptions } from './voice-pipeline.ts';

export { RealtimeRunner };

/**
 * The speech output of a realtime session plays the model's own audio; it never synthesises text
 * (`session.speak()` asks the model to say it). A text reaching it anyway fails with a clear error
 * instead of speaking in another voice.
 */
const modelSpeaksItself: TtsModel = {
  specificationVersion: SPECIFICATION_VERSIONS.tts,
  provider: 'realtime',
  modelId: 'model-audio',
  sampleRate: 24000,
  synthesize() {
    throw new SessionStateError(
      'speak_unsupported',
      'A realtime session speaks through its model; it has no text-to-speech',
    );
  },
};

/** The audio options of a realtime session (undefined: text in, no audio out). */
export function realtimeAudio(options: VoiceSessionOptions): VoiceAudioOptions | undefined {
  const audio = options.audio;
  const local = options.realtime?.turnDetection === 'local';
  if (local && !audio?.vad) {
    throw new ConfigError('vad_required', "realtime.turnDetection 'local' needs a VAD model (audio.vad)");
  }
  if (!audio) return undefined;
  const { stt: _stt, endOfTurn: _eot, vad, ...rest } = audio;
  return { ...rest, tts: modelSpeaksItself, ...(local && vad ? { vad } : {}) };
}

export function createRealtimeRunner(
  options: RealtimeOptions,
  host: Omit<RealtimeRunnerHost, 'realtime'>,
): RealtimeRunner {
  if (!options?.model || typeof options.model.connect !== 'function') {
    throw new ConfigError(
      'invalid_options',
      'realtime.model must be a realtime model (OpenAIRealtimeModel, GeminiLiveModel)',
    );
  }
  checkSpecificationVersion('realtime', options.model);
  const ahead = options.maxAudioAheadMs;
  if (ahead !== undefined && !(typeof ahead === 'number' && ahead > 0 && Number.isFinite(ahead))) {
    throw new ConfigError(
      'invalid_options',
      `realtime.maxAudioAheadMs must be a positive number of ms, got ${String(ahead)}`,
    );
  }
  // An agent's own realtime model is checked the same way, when the session is made.
  for (const agent of host.agents.values()) {
    if (agent.realtime === undefined) continue;
    if (typeof agent.realtime?.connect !== 'function') {
      throw new ConfigError('invalid_agent', `Agent "${agent.name}": realtime must be a realtime model`);
    }
    checkSpecificationVersion('realtime', agent.realtime);
  }
  return new RealtimeRunner({ ...host, realtime: options });
}
