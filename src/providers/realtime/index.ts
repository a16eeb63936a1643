export { GeminiLiveModel, type GeminiLiveOptions, GOOGLE_LIVE_URL } from './gemini-live.ts';
export { OPENAI_REALTIME_URL, OpenAIRealtimeModel, type OpenAIRealtimeOptions } from './openai-realtime.ts';
export { RealtimeConnectError } from './realtime-socket.ts';
export * from './types.ts';
