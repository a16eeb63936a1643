/**
 * Builds the `VoiceSession` under a `VoiceAgent` from the seed's options: one agent from
 * `instructions`, the AI SDK speech model in encoded pass-through mode, the transcription model
 * (plus a VAD) for streamed microphone audio, and the reference's defaults. With `realtime`, the
 * session runs on the realtime model instead (the speech model only serves
 * `generateAndSendSpeechFull`).
 */
import { stepCountIs, type ToolSet } from 'ai';
import type { Logger } from '../../logger.ts';
import { TranscriptionStt } from '../../providers/ai-sdk/transcription-stt.ts';
import { EnergyVad } from '../../providers/local/energy-vad.ts';
import type { VoiceAudioOptions } from '../../session/voice-pipeline.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { SpeechModelTts } from './encoded-speech.ts';
import {
  DEFAULT_INSTRUCTIONS,
  DEFAULT_OUTPUT_FORMAT,
  DEFAULT_VOICE,
  type VoiceAgentOptions,
} from './options.ts';

export interface AgentSessionDefaults {
  instructions?: string;
  sessionId?: string;
  maxTextLength: number;
  logger: Logger;
}

export function createAgentSession(
  options: VoiceAgentOptions,
  defaults: AgentSessionDefaults,
): { session: VoiceSession; speechTts: SpeechModelTts | undefined; tools: ToolSet } {
  const speech = options.streamingSpeech ?? {};
  const speechTts = options.speechModel
    ? new SpeechModelTts({
        model: options.speechModel,
        outputFormat: options.outputFormat ?? DEFAULT_OUTPUT_FORMAT,
        voice: options.voice ?? DEFAULT_VOICE,
        ...(options.speechInstructions ? { instructions: options.speechInstructions } : {}),
      })
    : undefined;
  const stt =
    options.sttModel ??
    (options.transcriptionModel ? new TranscriptionStt({ model: options.transcriptionModel }) : undefined);
  const history = options.history ?? {};
  const tools: ToolSet = { ...(options.tools ?? {}) };
  const session = new VoiceSession({
    ...(defaults.sessionId ? { sessionId: defaults.sessionId } : {}),
    userId: options.userId ?? 'voice-agent',
    agents: [
      {
        name: 'assistant',
        instructions: options.instructions ?? defaults.instructions ?? DEFAULT_INSTRUCTIONS,
        ...(options.subagents?.length
          ? { subagents: options.subagents.map((a) => a.name), transfers: [] }
          : {}),
      },
      ...(options.subagents ?? []).map((a) => ({ transfers: [], ...a })),
    ],
    ...(options.subagentUi ? { subagentUi: options.subagentUi } : {}),
    model: options.model,
    // The agent's own copy: `registerTools` adds to it, and each turn reads it.
    tools,
    stopWhen: options.stopWhen ?? stepCountIs(5),
    maxTextLength: defaults.maxTextLength,
    history: {
      // The reference's 0 means unlimited.
      maxMessages: history.maxMessages === 0 ? Number.POSITIVE_INFINITY : (history.maxMessages ?? 100),
      maxTotalChars: history.maxTotalChars ? history.maxTotalChars : Number.POSITIVE_INFINITY,
    },
    logger: defaults.logger,
    ...(options.realtime
      ? { realtime: options.realtime, audio: realtimeAudio(options) }
      : speechTts || stt
        ? {
            audio: {
              ...(speechTts ? { tts: speechTts } : {}),
              ...(stt ? { stt, vad: options.vad ?? new EnergyVad() } : {}),
              speech: {
                minChunkSize: speech.minChunkSize ?? 50,
                maxChunkSize: speech.maxChunkSize ?? 200,
                maxParallelRequests:
                  speech.parallelGeneration === false ? 1 : Math.max(1, speech.maxParallelRequests ?? 3),
                fastFirstChunk: speech.fastFirstChunk ?? true,
              },
            },
          }
        : {}),
  });
  return { session, speechTts, tools };
}

/**
 * The audio of an agent on a realtime model: streamed microphone audio goes to the model, its
 * audio plays (paced, so barge-in knows what was heard) at the model's own rate; the VAD only
 * when it drives the model (`turnDetection: 'local'`).
 */
function realtimeAudio(options: VoiceAgentOptions): VoiceAudioOptions {
  const realtime = options.realtime!;
  return {
    outputSampleRate: realtime.model?.outputSampleRate ?? 24000,
    ...(realtime.turnDetection === 'local' ? { vad: options.vad ?? new EnergyVad() } : {}),
  };
}
