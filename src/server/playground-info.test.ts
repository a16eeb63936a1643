/**
 * The playground's `/playground/info.json` on a real server over loopback (the bundled demo): the
 * transports it offers are the routes the server has, and the phrase hints come from the demo's
 * pocketsphinx grammar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { silentLogger } from '../logger.ts';
import type { RunningServer } from './server.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from './webrtc-routes.ts';

describe('/playground/info.json', () => {
  let server: RunningServer;
  let bare: RunningServer;
  let webrtc: WebRtcRoutes | undefined;
  beforeAll(async () => {
    // One server with the SmallWebRTC routes (as the `colloquy` command registers them), one without.
    [server, bare] = await Promise.all([
      startTestServer({
        env: { COLLOQUY_VAD: 'energy' },
        registerRoutes: (app, ctx) => {
          webrtc = registerWebRtcRoutes(app, {
            config: ctx.config,
            logger: silentLogger,
            models: ctx.models,
            registry: ctx.registry,
          });
        },
      }),
      startTestServer({ env: { COLLOQUY_VAD: 'energy' } }),
    ]);
  });
  afterAll(async () => {
    await webrtc?.closeAll();
    await Promise.all([server?.close(), bare?.close()]);
  });

  const infoOf = async (on: RunningServer) => {
    const res = await fetch(`${on.url}/playground/info.json`);
    expect(res.status).toBe(200);
    const info = (await res.json()) as {
      transports: Record<string, boolean>;
      phrases: string[];
      auth: boolean;
    };
    return info;
  };

  it('offers the transports whose routes exist, with the grammar phrases as hints', async () => {
    const info = await infoOf(server);
    expect(info.transports).toEqual({ websocket: true, webrtc: true, livekit: false });
    expect(info.phrases).toContain('what time is breakfast');
    expect(info.auth).toBe(false);
    expect((await infoOf(bare)).transports).toEqual({ websocket: true, webrtc: false, livekit: false });
  });
});
