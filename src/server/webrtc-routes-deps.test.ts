/**
 * What `registerWebRtcRoutes` takes from its dependencies when it starts sessions itself: the server's
 * shared model cache (not a private one), and a configuration without `limits` (the defaults apply).
 * Through `app.request` with a fixed offer (one server peer connection, no client), closed in teardown.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { loadServerConfig, type ServerConfig } from './config.ts';
import { ModelCache } from './session-factory.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from './webrtc-routes.ts';

const OFFER_SDP = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:v7N6',
  'a=ice-pwd:ykdf/YlU30l7SCOaMa2yKopo',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 01:D7:A4:C1:9C:EB:83:33:8B:4A:6E:FF:99:91:26:D1:04:FC:72:36:1E:71:69:FD:25:DB:1A:C4:C5:71:23:E3',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:v7N6',
  'a=ice-pwd:ykdf/YlU30l7SCOaMa2yKopo',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 01:D7:A4:C1:9C:EB:83:33:8B:4A:6E:FF:99:91:26:D1:04:FC:72:36:1E:71:69:FD:25:DB:1A:C4:C5:71:23:E3',
  'a=setup:actpass',
  'a=mid:1',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n');

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
