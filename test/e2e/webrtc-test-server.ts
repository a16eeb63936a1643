/**
 * A test server with the SmallWebRTC signalling routes, wired as `colloquy start` wires them (the
 * server's one-time connect tokens included). Shared by the SmallWebRTC end-to-end and console tests.
 */
import { silentLogger } from '../../src/logger.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
import { startTestServer, type TestServerOptions } from './helpers.ts';

/** Starts the server with `/api/offer`; close `routes` before the server. */
export async function startWebRtcTestServer(
  options: Omit<TestServerOptions, 'registerRoutes'> = {},
): Promise<{ server: RunningServer; routes: WebRtcRoutes }> {
  let routes: WebRtcRoutes | undefined;
  const server = await startTestServer({
    ...options,
    registerRoutes: (app, ctx) => {
      routes = registerWebRtcRoutes(app, {
        config: ctx.config,
        logger: silentLogger,
        models: ctx.models,
        registry: ctx.registry,
        tokens: ctx.tokens,
      });
    },
  });
  if (!routes) throw new Error('the SmallWebRTC routes were not registered');
  return { server, routes };
}
