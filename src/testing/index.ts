// What an application tests its agents with: a double for every model interface (the AI SDK's own
// mock models re-exported where they fit), local fakes speaking the cloud providers' wire protocols,
// an event recorder and test signals. Helpers the doubles are built from stay internal.
export { MockLanguageModelV3, MockSpeechModelV3, MockTranscriptionModelV3 } from 'ai/test';
export { sleep } from './abortable.ts';
export {
  type FakeDeepgramConnection,
  FakeDeepgramServer,
  type FakeDeepgramServerOptions,
} from './fake-deepgram-server.ts';
export { FakeGeminiLiveServer } from './fake-gemini-live-server.ts';
export { FakeOpenAIRealtimeServer } from './fake-openai-realtime-server.ts';
export type {
  FakeRealtimeReply,
  FakeRealtimeServer,
  FakeRealtimeServerOptions,
  FakeReceived,
} from './fake-realtime-server.ts';
export {
  lastUserText,
  type MockPart,
  type MockResponse,
  type MockResponseInput,
  mockLanguageModel,
  type ScriptedModel,
} from './mock-llm.ts';
export { MockStt, type MockSttCall, type MockSttOptions, type MockSttStep } from './mock-stt.ts';
export { MockTts, type MockTtsMatcher, type MockTtsOptions } from './mock-tts.ts';
export { MockVad, type MockVadOptions, type MockVadScript, type MockVadStream } from './mock-vad.ts';
export { EventRecorder } from './recorder.ts';
export { peak, synthesizeAll, type ToneOptions, tone, until } from './signals.ts';
