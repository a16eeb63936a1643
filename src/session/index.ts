export * from './client-channels.ts';
export * from './context-compaction.ts';
export * from './history.ts';
export * from './latency.ts';
export * from './session-state.ts';
export type * from './speech-port.ts';
export * from './voice-session.ts';
