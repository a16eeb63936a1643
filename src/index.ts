/**
 * The `colloquy` package: what an application builds with. Sessions and agents, tools, the event
 * bus and hooks, model providers, audio helpers, the session store, typed errors, and the types
 * their signatures use. Internals stay internal. The server is `colloquy/server`; mocks and
 * conformance suites are `colloquy/testing`. The public surface is recorded in api/ (`npm run api`
 * rewrites it after a deliberate change).
 */

// Types a user meets in the signatures above (api/colloquy.api.md lists them all)
export type { AgentDefinition } from './agents/agent.ts';
export { defineAgent, InMemoryMemoryStore } from './agents/index.ts';
export type { FactUpdate, MemoryOptions, MemoryStore } from './agents/memory.ts';
// Audio
export {
  bytesToInt16,
  createOpusDecoder,
  createOpusEncoder,
  decodeMuLaw,
  decodeWav,
  downmixToMono,
  encodeMuLaw,
  encodeWav,
  float32ToInt16,
  int16ToBytes,
  int16ToFloat32,
  isSupportedSampleRate,
  isWav,
  pcmDurationMs,
  resample,
  StreamingResampler,
  SUPPORTED_SAMPLE_RATES,
  WavStreamDecoder,
} from './audio/index.ts';
export type { OpusApplication, OpusCodecOptions } from './audio/opus.ts';
export type { SupportedSampleRate } from './audio/resample.ts';
export type { DecodedWav, DecodeWavOptions, WavFormat } from './audio/wav.ts';
export type {
  AnyHandler,
  EventBusOptions,
  EventTable,
  Handler,
  SessionEventBus,
  TableMapper,
  Unsubscribe,
} from './bus/event-bus.ts';
export type {
  ChatMessageSummary,
  EventMap,
  FrameTriggerReason,
  InterruptReason,
  LatencyMarks,
  LatencySegments,
  SessionState,
  TokenUsage,
  ToolExecution,
  ToolStatus,
} from './bus/events.ts';
export type {
  AgentTransferHookEvent,
  ErrorHookEvent,
  MemoryExtractionHookEvent,
  SessionEndHookEvent,
  SessionHooks,
  SessionStartHookEvent,
  SubagentStepHookEvent,
  ToolCallHookEvent,
  ToolResultHookEvent,
  TurnLatencyHookEvent,
} from './bus/hooks.ts';
export { attachHooks, EventBus, INTERRUPT_REASONS, isInterruptReason } from './bus/index.ts';
export { DIAGNOSTICS_CHANNELS } from './diagnostics.ts';
export type { ColloquyErrorCode } from './error-codes.ts';
export type { ColloquyErrorOptions, ErrorSeverity } from './errors.ts';
// Errors (docs/errors.md)
export {
  AgentError,
  AudioFormatError,
  ColloquyError,
  ConfigError,
  ERROR_CODES,
  InvalidInputError,
  isAbortError,
  isColloquyError,
  isErrorCode,
  ProviderError,
  SessionStateError,
  TimeoutError,
  ToolError,
  TransportError,
} from './errors.ts';
export type { JsonLimitKind, JsonLimits, JsonResult } from './json-limits.ts';
export { checkJsonLimits, DEFAULT_JSON_LIMITS, JsonLimitError, parseJsonWithLimits } from './json-limits.ts';
export type {
  ConsoleLogger,
  ConsoleLoggerOptions,
  LogFormat,
  Logger,
  LogLevel,
  LogMessage,
} from './logger.ts';
// Logging
export { consoleLogger, createConsoleLogger, silentLogger } from './logger.ts';
export { ForbiddenAddressError } from './net/index.ts';
export { MissingDependencyError } from './optional-dependency.ts';
export type { Clock, TimerHandle } from './pipeline/clock.ts';
// The speech pipeline's building blocks (custom transports)
export { Endpointing, SpeechOutput, UserAudioInput, VadDetector } from './pipeline/index.ts';
export type { AudioResponse } from './pipeline/speech-audio-response.ts';
export type { AudioSink, EncodedTtsModel, SpeechOutputOptions } from './pipeline/speech-response.ts';
export type {
  EndOfTurnReason,
  EndpointingCallbacks,
  EndpointingOptions,
  EndpointingState,
} from './pipeline/turn-taking/endpointing.ts';
export type { InterruptionOptions, SpeechControl } from './pipeline/turn-taking/interruption.ts';
export type { UserAudioInputOptions, UserTurnInfo } from './pipeline/turn-taking/user-input.ts';
export type {
  UserMuteState,
  UserMuteStrategy,
  UserMuteStrategyName,
} from './pipeline/turn-taking/user-mute.ts';
export type { VadDetectorOptions, VadState, VadTransition } from './pipeline/turn-taking/vad-detector.ts';
export { SpeechTts, TranscriptionStt } from './providers/ai-sdk/index.ts';
export type { SpeechTtsOptions } from './providers/ai-sdk/speech-tts.ts';
export type { TranscriptionSttOptions } from './providers/ai-sdk/transcription-stt.ts';
export type { EnergyVadOptions } from './providers/local/energy-vad.ts';
export type { EspeakBackend, EspeakPool, EspeakTtsOptions } from './providers/local/espeak-tts.ts';
// Model providers
export {
  defaultSileroModelPath,
  EnergyVad,
  EspeakTts,
  PocketsphinxStt,
  SileroVad,
} from './providers/local/index.ts';
export type { PocketsphinxSttOptions } from './providers/local/pocketsphinx-stt.ts';
export type { SileroVadOptions } from './providers/local/silero-vad.ts';
export type { GeminiLiveOptions } from './providers/realtime/gemini-live.ts';
export {
  GeminiLiveModel,
  OpenAIRealtimeModel,
  REALTIME_SPECIFICATION_VERSION,
} from './providers/realtime/index.ts';
export type { OpenAIContextBudget, OpenAIRealtimeOptions } from './providers/realtime/openai-realtime.ts';
export type {
  RealtimeCapabilities,
  RealtimeConnection,
  RealtimeConnectOptions,
  RealtimeErrorSeverity,
  RealtimeEvent,
  RealtimeHistoryItem,
  RealtimeModel,
  RealtimeSessionConfig,
  RealtimeToolDeclaration,
  RealtimeTurnDetection,
  RealtimeUsage,
} from './providers/realtime/types.ts';
export { createScriptedModel, loadScript, parseScript } from './providers/scripted/index.ts';
export type { DeepgramSttOptions } from './providers/streaming/deepgram-stt.ts';
export { DeepgramStt } from './providers/streaming/index.ts';
export type {
  EndOfTurnContext,
  EndOfTurnDetector,
  SttEvent,
  SttModel,
  SttStreamOptions,
  TtsModel,
  TtsRequest,
  VadModel,
  VadStream,
} from './providers/types.ts';
export type { ClientChannel, ClientChannelKind } from './session/client-channels.ts';
export type { CompactionOptions } from './session/context-compaction.ts';
export type { HistoryLimits } from './session/history.ts';
// Sessions, agents, events
export { ClientChannels, DEFAULT_COMPACTION_PROMPT, VoiceSession } from './session/index.ts';
export type { RealtimeOptions } from './session/realtime-config.ts';
export type { TurnResult, UserImage, VoiceSessionOptions } from './session/session-options.ts';
export type { SpeechOutcome, SpeechPort, SpeechResponse } from './session/speech-port.ts';
export type { VoiceAudioOptions } from './session/voice-pipeline.ts';
export { SPECIFICATION_VERSIONS } from './specification-version.ts';
// Session store
export {
  InMemorySessionStore,
  openSessionStore,
  PostgresSessionStore,
  recordSession,
  SessionStoreMemory,
  SqliteSessionStore,
  StoreError,
  StoreWriter,
} from './store/index.ts';
export type { InMemorySessionStoreOptions } from './store/memory-store.ts';
export type { StoreSpec } from './store/open-store.ts';
export type { PostgresSessionStoreOptions } from './store/postgres-store.ts';
export type { SqliteSessionStoreOptions } from './store/sqlite-store.ts';
export type { StoreErrorCode } from './store/store-error.ts';
export type { RecordSessionOptions } from './store/store-recorder.ts';
export type { StoreWriterOptions } from './store/store-writer.ts';
export type {
  CompactionSummary,
  DeletedUserData,
  FactChange,
  MemoryFact,
  PendingWork,
  ResumeSnapshot,
  SessionDetail,
  SessionPage,
  SessionQuery,
  SessionRecordFields,
  SessionStore,
  SnapshotCarrier,
  StoredSession,
  StoredSessionState,
  StoreWrite,
  ToolCallRecord,
  TranscriptEntry,
} from './store/types.ts';
export type { ProtocolLimits, VideoFrameMessage } from './surfaces/native-protocol/client-messages.ts';
export type {
  ResponseCompleteFields,
  ServerCapabilities,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
} from './surfaces/native-protocol/server-messages.ts';
export type {
  AgentResumeAcceptOptions,
  AgentResumeOptions,
  CreateAgent,
  RestoredAgent,
} from './surfaces/voice-agent/agent-resume.ts';
export type { SpeechModelTtsOptions } from './surfaces/voice-agent/encoded-speech.ts';
export {
  AgentDestroyedError,
  AgentResume,
  ConnectionClosedError,
  InputQueueFullError,
  SpeechModelTts,
  VideoAgent,
  VoiceAgent,
} from './surfaces/voice-agent/index.ts';
export type {
  AgentEventMap,
  AudioChunkEvent,
  FrameReceivedEvent,
  StreamingSpeechOptions,
  TextEvent,
  VideoAgentConfig,
  VideoAgentOptions,
  VoiceAgentOptions,
} from './surfaces/voice-agent/options.ts';
export type { ClientFunctionCall, DeclarativeToolContext } from './tools/declarative/build.ts';
export type { KbHit } from './tools/declarative/kb.ts';
export type { DeclarativeTool, KbDocument } from './tools/declarative/schema.ts';
export type { ToolSettings } from './tools/define-tool.ts';
// Tools
export {
  buildDeclarativeTools,
  DeclarativeToolSchema,
  defineTool,
  findToolContext,
  KnowledgeBase,
  parseDeclarativeTools,
  toolContext,
  toolSettings,
  withToolSettings,
} from './tools/index.ts';
export type { Delivery, GuiPublisher, ToolContext } from './tools/tool-context.ts';
