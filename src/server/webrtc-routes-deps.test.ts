/**
 * What `registerWebRtcRoutes` takes from its dependencies when it starts sessions itself: the server's
 * shared model cache (not a private one), and a configuration without `limits` (the defaults apply).
 * Through `app.request` with a fixed offer (one server peer connection, no client), closed in teardown.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OFFER_SDP } from '../../test/support/fixed-offer.ts';
import { silentLogger } from '../logger.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import { ModelCache } from './session-factory.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from './webrtc-routes.ts';

const opened: WebRtcRoutes[] = [];
afterEach(async () => {
  for (const routes of opened.splice(0)) await routes.closeAll();
});

const offerTo = (app: Hono, body: unknown) =>
  app.request('http://localhost/api/offer', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('registerWebRtcRoutes dependencies', () => {
  it("a session it starts takes its models from the server's cache", async () => {
    const config = loadServerConfig({ COLLOQUY_VAD: 'energy' });
    const models = new ModelCache(config.baseDir);
    const asked = vi.spyOn(models, 'models');
    const app = new Hono();
    const routes = registerWebRtcRoutes(app, { config, logger: silentLogger, models });
    opened.push(routes);
    const res = await offerTo(app, { sdp: OFFER_SDP, type: 'offer' });
    expect(res.status).toBe(200);
    expect(asked).toHaveBeenCalledTimes(1);
  });

  it('a configuration without limits: the default bounds apply (an offer is answered)', async () => {
    const { limits: _limits, ...rest } = loadServerConfig({ COLLOQUY_VAD: 'energy' });
    const app = new Hono();
    const routes = registerWebRtcRoutes(app, {
      config: rest as ServerConfig,
      logger: silentLogger,
      createSession: () => ({ close: async () => {} }) as never,
    });
    opened.push(routes);
    const res = await offerTo(app, { sdp: OFFER_SDP, type: 'offer' });
    expect(res.status).toBe(200);
    expect(routes.size).toBe(1);
  });
});
