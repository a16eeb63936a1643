export * from './bundle.ts';
export * from './chromium.ts';
export * from './fake-mic.ts';
export type * from './page/index.ts';
