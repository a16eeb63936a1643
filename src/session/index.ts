export * from './client-channels.ts';
export * from './client-clock.ts';
export * from './context-compaction.ts';
export * from './history.ts';
export * from './latency.ts';
export type { RealtimeOptions } from './realtime-config.ts';
export * from './session-state.ts';
export type * from './speech-port.ts';
export * from './voice-session.ts';
