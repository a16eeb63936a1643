import { describe, expect, it } from 'vitest';
import { computeSegments } from './latency.ts';

describe('computeSegments: a realtime turn', () => {
  it.each([
    {
      case: 'the transcript of its speech comes before the audio',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1010,
        llmFirstTokenAt: 1050,
        ttsFirstByteAt: 1080,
        firstAudioOutAt: 1085,
      },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 40,
        llmToBackendMs: 30,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'the audio comes first',
      marks: {
        turnStartAt: 1000,
        llmRequestAt: 1010,
        llmFirstTokenAt: 1090,
        ttsFirstByteAt: 1080,
        firstAudioOutAt: 1085,
      },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 70,
        llmToBackendMs: 0,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'audio without a transcript',
      marks: { turnStartAt: 1000, llmRequestAt: 1010, ttsFirstByteAt: 1080, firstAudioOutAt: 1085 },
      segments: {
        backendToLLMMs: 10,
        llmProcessingMs: 70,
        llmToBackendMs: 0,
        backendToClientMs: 5,
        totalE2EMs: 85,
      },
    },
    {
      case: 'spoken: from the end of user speech; no STT or TTS segments (the model hears and speaks)',
      marks: {
        turnStartAt: 900,
        userSpeechEndAt: 1000,
        transcriptFinalAt: 1200,
        llmRequestAt: 1020,
        llmFirstTokenAt: 1100,
        ttsFirstByteAt: 1130,
        firstAudioOutAt: 1140,
      },
      segments: {
        backendToLLMMs: 20,
        llmProcessingMs: 80,
        llmToBackendMs: 30,
        backendToClientMs: 10,
        totalE2EMs: 140,
      },
    },
  ])('$case', ({ marks, segments }) => {
    expect(computeSegments(marks, 'realtime')).toEqual(segments);
  });
});
