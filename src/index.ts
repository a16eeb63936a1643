export * from './agents/index.ts';
export * from './bus/index.ts';
export * from './errors.ts';
export * from './logger.ts';
export type * from './providers/types.ts';
export * from './session/index.ts';
export * from './tools/index.ts';
export * from './surfaces/voice-agent/index.ts';
export * from './surfaces/native-protocol/index.ts';
