export * from './facts.ts';
export * from './memory-store.ts';
export * from './open-store.ts';
export * from './sqlite-store.ts';
export * from './store-error.ts';
export * from './store-memory.ts';
export * from './store-recorder.ts';
export * from './store-writer.ts';
export type * from './types.ts';
