export * from './client-messages.ts';
export * from './native-projection.ts';
export * from './server-messages.ts';
export * from './socket-link.ts';
