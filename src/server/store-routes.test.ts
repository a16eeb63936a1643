/**
 * The data API's session list and fact deletion on a real server over loopback (in-memory store,
 * bearer token): `from` and `to` bound the list by start time; a fact to delete is 1-1000 characters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, type RawClient, startTestServer, withoutGreeting } from '../../test/e2e/helpers.ts';
import type { RunningServer } from './server.ts';

const TOKEN = 'store-routes-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('data API', () => {
  let server: RunningServer;
  let client: RawClient;
  let id: string;
  let before: number;
  beforeAll(async () => {
    server = await startTestServer({
      env: { COLLOQUY_VAD: 'energy', COLLOQUY_AUTH_TOKEN: TOKEN },
      edit: withoutGreeting,
    });
    before = Date.now() - 1;
    client = await connectRaw(server.url, { user_id: 'ana' }, auth);
    id = (await client.ready()).data.about.session_id as string;
  });
  afterAll(async () => {
    client?.ws.terminate();
    await server?.close();
  });

  const listed = async (query: string) => {
    const res = await fetch(`${server.url}/sessions?${query}`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { sessions: Array<{ id: string }> };
    return body.sessions.map((s) => s.id);
  };

  it('GET /sessions: from and to bound the list by start time', async () => {
    expect(await listed('user_id=ana')).toEqual([id]);
    expect(await listed(`from=${before}`)).toEqual([id]);
    expect(await listed(`to=${before}`)).toEqual([]);
    expect(await listed(`from=${Date.now() + 60_000}`)).toEqual([]);
  });

  it.each([
    ['an empty fact', '', 400, { info: 'Invalid fact: 1-1000 characters' }],
    ['a fact of 1001 characters', 'x'.repeat(1001), 400, { info: 'Invalid fact: 1-1000 characters' }],
    ['a fact', 'likes tea', 200, { userId: 'ana', deleted: 0 }],
  ])('DELETE /users/ana/memory with %s → %i', async (_what, fact, status, body) => {
    const res = await fetch(`${server.url}/users/ana/memory?fact=${encodeURIComponent(fact)}`, {
      method: 'DELETE',
      headers: auth,
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(body);
  });
});
