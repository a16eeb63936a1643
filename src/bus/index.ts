export * from './event-bus.ts';
export * from './hooks.ts';
export type * from './events.ts';
