export * from './voice-session.ts';
export * from './session-state.ts';
export * from './history.ts';
export * from './latency.ts';
export type * from './speech-port.ts';
