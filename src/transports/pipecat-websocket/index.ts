export * from './frames.ts';
export * from './ws-transport.ts';
