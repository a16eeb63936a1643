export * from './access-token.ts';
export { LiveKitRoom } from './room.ts';
export type * from './room-options.ts';
