/**
 * `colloquy/server`: the HTTP + WebSocket server (`startServer`), its configuration, the model-spec
 * resolvers, RTVI sessions on your own transports, and the pieces to build a server of your own
 * (`createApp` with its context).
 */

// Metrics (`GET /metrics`): the process's registry, to add metrics of your own; OpenTelemetry traces.
export type { Labels, MetricKind, MetricSnapshot } from '../observability/index.ts';
export {
  Counter,
  enableTracing,
  Gauge,
  Histogram,
  MetricsRegistry,
  processMetrics,
  renderPrometheus,
} from '../observability/index.ts';
export * as rtvi from '../surfaces/rtvi/index.ts';
// Types a user meets in the signatures above (types of the core are exported by 'colloquy')
export type { CreateAppOptions, ServerContext, UpgradeHandler } from './app.ts';
export { createApp } from './app.ts';
export { bearerMatches, requireBearer } from './auth.ts';
export type { ClientLimitCode, GateLimits, SessionSlot } from './client-gate.ts';
export { ClientGate, ClientLimitError } from './client-gate.ts';
export type { AgentConfig, ConfigFile, RequestData, ServerConfig, SessionProfile } from './config.ts';
export { ConfigFileSchema, loadServerConfig, parseConfigFile, RequestDataSchema } from './config.ts';
export type { ConnectDecision, ConnectHook, ConnectRequest } from './connect-hook.ts';
export { ConnectRefusal } from './connect-hook.ts';
export { DEFAULT_CONNECT_PATHS } from './connect-paths.ts';
export type { ConnectGrant } from './connect-tokens.ts';
export { ConnectTokens } from './connect-tokens.ts';
export type { LimitsInput, ServerLimits } from './limits.ts';
export {
  DEFAULT_LIMITS,
  LIMIT_ENV,
  LimitsFileSchema,
  LimitsSchema,
  limitsFromEnv,
  resolveLimits,
} from './limits.ts';
export type { ParsedSpec } from './model-spec.ts';
export {
  parseSpec,
  resolveLanguageModel,
  resolveRealtimeModel,
  resolveStt,
  resolveTts,
  resolveVad,
} from './model-spec.ts';
export {
  RTVI_CLIENT_MESSAGE_NAMES,
  TTS_SPEAK_MAX_CHARS,
} from './rtvi-client-messages.ts';
export type { RtviSession, RtviSessionOptions, RtviSessionState } from './rtvi-session.ts';
export { createRtviSession } from './rtvi-session.ts';
export type { RtviTransport } from './rtvi-transport.ts';
export type { RunningServer, StartServerOptions } from './server.ts';
export { startServer } from './server.ts';
export type { ServerStore } from './server-store.ts';
export type { SessionModels } from './session-factory.ts';
export { ModelCache } from './session-factory.ts';
export type { RegisteredSession, SessionRecord } from './session-registry.ts';
export { SessionRegistry } from './session-registry.ts';
export type { ResumeSettings } from './session-resume.ts';
