export * from './errors.ts';
export * from './logger.ts';
export * from './bus/index.ts';
export type * from './providers/types.ts';
