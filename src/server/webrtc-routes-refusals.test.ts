/**
 * SmallWebRTC signalling refusals that need no peer connection: the routes on a Hono app called
 * through `app.request` (how they run on a Fetch runtime), so no native WebRTC object is created here.
 * `webrtc-routes.test.ts` covers offers, candidates and sessions over a real server and wrtc peers.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { loadServerConfig } from './config.ts';
import { registerWebRtcRoutes } from './webrtc-routes.ts';

/** A body that breaks off after a few bytes (the client's connection dropped mid-upload). */
const brokenBody = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"pc_id":'));
      controller.error(new Error('connection reset by peer'));
    },
  });

describe('SmallWebRTC signalling: a body that cannot be read', () => {
  it.each(['POST', 'PATCH'])(
    '%s answers 400 "Unreadable body", before anything else is judged',
    async (method) => {
      const app = new Hono();
      const routes = registerWebRtcRoutes(app, {
        config: loadServerConfig({ COLLOQUY_VAD: 'energy' }),
        logger: silentLogger,
      });
      const res = await app.request(
        new Request('http://localhost/api/offer', {
          method,
          body: brokenBody(),
          // A declared length within the limit: the body limit lets it through to be read.
          headers: { 'content-type': 'application/json', 'content-length': '64' },
          duplex: 'half',
        } as RequestInit),
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ info: 'Unreadable body' });
      expect(routes.size).toBe(0);
    },
  );
});
