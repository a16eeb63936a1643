export * from './livekit-projection.ts';
