export * as rtvi from '../surfaces/rtvi/index.ts';
export * from './app.ts';
export { bearerMatches, requireBearer } from './auth.ts';
export * from './client-calls.ts';
export * from './config.ts';
export * from './connect-hook.ts';
export * from './connect-paths.ts';
export * from './connect-tokens.ts';
// LiveKit routes are registered by `colloquy start` (they need optional packages; not a public export yet).
export * from './model-spec.ts';
export * from './rtvi-client-messages.ts';
export * from './rtvi-session.ts';
export * from './rtvi-transport.ts';
export * from './server.ts';
export * from './session-factory.ts';
export * from './session-registry.ts';
