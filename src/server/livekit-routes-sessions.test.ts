/**
 * A LiveKit join when the server holds its most sessions (`maxSessions`, all transports together):
 * refused 503 before a room opens. The server and routes are built in the test and closed in teardown.
 */
import * as proto from '@livekit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/e2e/helpers.ts';
import { joinParam, openSignal } from '../../test/e2e/livekit-signal.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from './livekit-routes.ts';

const keys = { apiKey: 'APIsessions', apiSecret: 'sessions-secret-0123456789-0123456789' };
const teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

describe('LiveKit joins and maxSessions', () => {
  it('a join while the server holds maxSessions sessions: 503, no room opened', async () => {
    let routes!: LiveKitRoutes;
    const server = await startTestServer({
      limits: { maxSessions: 1 },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, { keys, room: { iceTimeoutMs: 60_000 } });
      },
    });
    teardown.push(async () => {
      await routes.closeAll();
      await server.close();
    });
    const join = (room: string) => ({
      access_token: mintLiveKitToken(keys, { identity: 'alice', room }),
      join_request: joinParam(new proto.JoinRequest({})),
    });
    const first = await openSignal(server.url, join('room-1'));
    if (typeof first === 'number') throw new Error(`join refused: ${first}`);
    teardown.push(() => first.ws.terminate());
    await first.next('join');
    expect(server.context.registry.activeCount).toBe(1);
    expect(await openSignal(server.url, join('room-2'))).toBe(503);
    expect(routes.size).toBe(1);
  });
});
