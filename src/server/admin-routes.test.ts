/**
 * The admin routes on a real server over loopback (no cluster): closed (403) on a server without
 * `COLLOQUY_AUTH_TOKEN`, whatever the caller sends; with a token, the bearer is required, and
 * `/admin/cluster` and `/admin/drain` answer for this node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, withoutGreeting } from '../../test/e2e/helpers.ts';
import type { RunningServer } from './server.ts';

const TOKEN = 'admin-routes-token';

describe('admin routes', () => {
  let open: RunningServer;
  let locked: RunningServer;
  beforeAll(async () => {
    [open, locked] = await Promise.all([
      startTestServer({ env: { COLLOQUY_VAD: 'energy' }, edit: withoutGreeting }),
      startTestServer({ env: { COLLOQUY_VAD: 'energy', COLLOQUY_AUTH_TOKEN: TOKEN }, edit: withoutGreeting }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), locked?.close()]);
  });

  const call = async (
    server: RunningServer,
    method: string,
    path: string,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${server.url}${path}`, { method, headers });
    return { status: res.status, body: await res.json() };
  };

  it('without COLLOQUY_AUTH_TOKEN on the server: 403 for everyone, and nothing drains', async () => {
    const closed = {
      status: 403,
      body: { info: 'The admin routes need COLLOQUY_AUTH_TOKEN set on the server' },
    };
    const any = { authorization: 'Bearer anything' };
    expect(await call(open, 'POST', '/admin/drain', any)).toEqual(closed);
    expect(await call(open, 'GET', '/admin/cluster', any)).toEqual(closed);
    expect(open.context.isDraining?.()).toBe(false);
    expect((await fetch(`${open.url}/health`)).status).toBe(200);
  });

  it('with a token: the bearer is required; /admin/cluster describes this node, /admin/drain drains it', async () => {
    expect((await call(locked, 'GET', '/admin/cluster')).status).toBe(401);
    expect((await call(locked, 'POST', '/admin/drain', { authorization: 'Bearer wrong' })).status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const capacity = locked.context.config.limits.maxSessions;
    expect(await call(locked, 'GET', '/admin/cluster', auth)).toEqual({
      status: 200,
      body: { node: { sessions: 0, capacity, draining: false }, nodes: [] },
    });
    expect(await call(locked, 'POST', '/admin/drain', auth)).toEqual({
      status: 202,
      body: { status: 'draining', sessions: 0 },
    });
    expect((await call(locked, 'GET', '/admin/cluster', auth)).body.node.draining).toBe(true);
  });
});
