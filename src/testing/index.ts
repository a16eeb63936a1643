// Test doubles for every model interface. The AI SDK's own mock models are re-exported where they fit.
export {
  MockLanguageModelV3,
  MockSpeechModelV3,
  MockTranscriptionModelV3,
  simulateReadableStream,
} from 'ai/test';
export * from './abortable.ts';
export * from './fake-deepgram-server.ts';
export * from './fake-gemini-live-server.ts';
export * from './fake-openai-realtime-server.ts';
export {
  type FakeRealtimeReply,
  FakeRealtimeServer,
  type FakeRealtimeServerOptions,
} from './fake-realtime-server.ts';
export * from './mock-llm.ts';
export * from './mock-stt.ts';
export * from './mock-tts.ts';
export * from './mock-vad.ts';
export * from './realtime-events.ts';
export * from './recorder.ts';
export * from './signals.ts';
