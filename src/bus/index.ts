export * from './event-bus.ts';
export type * from './events.ts';
export * from './hooks.ts';
