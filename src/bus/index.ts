export * from './event-bus.ts';
export * from './events.ts';
export * from './hooks.ts';
