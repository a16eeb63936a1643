/**
 * The data API's routes in process, over a store stand-in that records what it is asked: the 403 of a
 * server without a token, each query and id accepted (and what reaches the store) or refused (the exact
 * `{info}`), the answers, the writes flushed first, and deleting a user (live sessions closed first,
 * resume handles forgotten). `transcriptRecord`: live, stored, or only in the registry.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../store/store-error.ts';
import type { ServerContext } from './app.ts';
import { requireBearer } from './auth.ts';
import { registerStoreRoutes, transcriptRecord } from './store-routes.ts';

const TOKEN = 'data-api-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Fixture {
  calls: unknown[][];
  app: Hono;
  ctx: ServerContext;
}

/** An app with the data API over a recording store; `live` sessions by user, a stored session `s-1`. */
function fixture(
  o: { token?: string; resume?: boolean; listFails?: Error; closeFails?: boolean } = {},
): Fixture {
  const token = 'token' in o ? o.token : TOKEN;
  const calls: unknown[][] = [];
  const log =
    (name: string, result: unknown) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args]);
      if (name === 'listSessions' && o.listFails) throw o.listFails;
      return typeof result === 'function' ? (result as (...a: unknown[]) => unknown)(...args) : result;
    };
  const store = {
    listSessions: log('listSessions', { sessions: [{ id: 's-1' }], nextCursor: 'c2' }),
    getSession: log('getSession', (id: unknown) =>
      id === 's-1'
        ? {
            session: {
              id: 's-1',
              transport: 'websocket',
              mode: 'agent',
              startedAt: 10,
              closedAt: 20,
              closeReason: 'client_left',
            },
            history: [{ role: 'user', content: 'hi' }],
          }
        : id === 's-open'
          ? { session: { id: 's-open', transport: 'webrtc', mode: 'stream', startedAt: 30 }, history: [] }
          : undefined,
    ),
    loadFacts: log('loadFacts', [{ text: 'likes tea' }]),
    deleteFacts: log('deleteFacts', 3),
    deleteUser: log('deleteUser', { sessions: 2, facts: 5 }),
  };
  const live = (id: string) => ({
    id,
    close: async (reason: string) => {
      calls.push(['close', id, reason]);
      if (o.closeFails) throw new Error('close failed');
    },
  });
  const ctx = {
    config: token === undefined ? {} : { authToken: token },
    auth: requireBearer(token),
    data: {
      store,
      writer: {
        flush: async () => {
          calls.push(['flush']);
        },
      },
    },
    registry: {
      isLive: (id: string) => id === 'live-1',
      get: (id: string) => (id === 'live-1' || id === 'gone' ? { id, from: 'registry' } : undefined),
      liveOf: (userId: string) => (userId === 'ana' ? [live('a1'), live('a2')] : []),
    },
    ...(o.resume
      ? {
          resume: {
            forgetUser: (userId: string) => {
              calls.push(['forgetUser', userId]);
            },
          },
        }
      : {}),
  } as unknown as ServerContext;
  const app = new Hono();
  registerStoreRoutes(app, ctx);
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.text('failed', 500)));
  return { calls, app, ctx };
}

const send = async (f: Fixture, method: string, path: string, headers: Record<string, string> = AUTH) => {
  const res = await f.app.request(path, { method, headers });
  return { status: res.status, body: res.status === 500 ? await res.text() : await res.json() };
};

const ROUTES = [
  ['GET', '/sessions'],
  ['GET', '/sessions/s-1'],
  ['GET', '/users/ana/memory'],
  ['DELETE', '/users/ana/memory'],
  ['DELETE', '/users/ana'],
] as const;

describe('the data API needs a server token', () => {
  it.each(ROUTES)('%s %s without COLLOQUY_AUTH_TOKEN: 403, the store untouched', async (method, path) => {
    const f = fixture({ token: undefined });
    expect(await send(f, method, path)).toEqual({
      status: 403,
      body: { info: 'The data API needs COLLOQUY_AUTH_TOKEN set on the server (it serves personal data)' },
    });
    expect(f.calls).toEqual([]);
  });

  it.each(ROUTES)('%s %s with a token but no bearer: 401, the store untouched', async (method, path) => {
    const f = fixture();
    expect((await send(f, method, path, {})).status).toBe(401);
    expect(f.calls).toEqual([]);
  });
});

describe('GET /sessions', () => {
  const ID_RULE = 'must be 1-128 characters of A-Z a-z 0-9 _ . : @ -';
  it.each([
    ['', {}],
    ['user_id=ana', { userId: 'ana' }],
    ['from=1700000000000&to=1700000000999', { from: 1700000000000, to: 1700000000999 }],
    ['from=2024-01-02T03:04:05.000Z', { from: Date.UTC(2024, 0, 2, 3, 4, 5) }],
    ['to=0', { to: 0 }],
    ['limit=1', { limit: 1 }],
    ['limit=100', { limit: 100 }],
    ['limit=007', { limit: 7 }],
    [`cursor=${'c'.repeat(512)}`, { cursor: 'c'.repeat(512) }],
  ])('?%s → the store is asked for %j', async (query, asked) => {
    const f = fixture();
    expect(await send(f, 'GET', `/sessions?${query}`)).toEqual({
      status: 200,
      body: { sessions: [{ id: 's-1' }], nextCursor: 'c2' },
    });
    expect(f.calls).toStrictEqual([['flush'], ['listSessions', asked]]);
  });

  it.each([
    ['limit=0', 'limit: must be 1-100'],
    ['limit=101', 'limit: must be 1-100'],
    ['limit=1000', 'limit: must be 1-100'],
    ['limit=-1', 'limit: must be 1-100'],
    ['limit=ten', 'limit: must be 1-100'],
    ['from=yesterday', 'from: must be epoch milliseconds or an ISO date'],
    ['to=1234567890123456', 'to: must be epoch milliseconds or an ISO date'],
    [`from=${'1'.repeat(41)}`, 'from: '],
    ['user_id=a%20b', `user_id: ${ID_RULE}`],
    [`user_id=${'u'.repeat(129)}`, `user_id: ${ID_RULE}`],
    [`cursor=${'c'.repeat(513)}`, 'cursor: '],
    ['page=2', ''],
    ['limit=0&from=yesterday', 'from: must be epoch milliseconds or an ISO date'],
  ])('?%s → 400 naming the first problem', async (query, problem) => {
    const f = fixture();
    const { status, body } = await send(f, 'GET', `/sessions?${query}`);
    expect(status).toBe(400);
    const info = (body as { info: string }).info;
    expect(info.startsWith(`Invalid query: ${problem}`)).toBe(true);
    expect(info).not.toContain(';');
    expect(f.calls).toEqual([]);
  });

  it("a cursor the store refuses: 400 with the store's message; any other store failure is not answered as 400", async () => {
    const bad = fixture({
      listFails: new StoreError('store_invalid_cursor', 'The cursor is not one of ours'),
    });
    expect(await send(bad, 'GET', '/sessions?cursor=x')).toEqual({
      status: 400,
      body: { info: 'The cursor is not one of ours' },
    });
    const broken = fixture({ listFails: new StoreError('store_unavailable' as never, 'down') });
    expect((await send(broken, 'GET', '/sessions')).status).toBe(500);
  });
});

describe('GET /sessions/:id and the user routes', () => {
  it.each([
    [
      'GET',
      '/sessions/s-1',
      200,
      {
        session: {
          id: 's-1',
          transport: 'websocket',
          mode: 'agent',
          startedAt: 10,
          closedAt: 20,
          closeReason: 'client_left',
        },
        history: [{ role: 'user', content: 'hi' }],
      },
      [['flush'], ['getSession', 's-1']],
    ],
    ['GET', '/sessions/s-2', 404, { info: 'No such session' }, [['flush'], ['getSession', 's-2']]],
    [
      'GET',
      '/sessions/a%20b',
      400,
      { info: 'Invalid session id: must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
      [],
    ],
    [
      'GET',
      '/users/ana/memory',
      200,
      { userId: 'ana', facts: [{ text: 'likes tea' }] },
      [['loadFacts', 'ana']],
    ],
    [
      'GET',
      `/users/${'u'.repeat(129)}/memory`,
      400,
      { info: 'Invalid user id: must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
      [],
    ],
    ['DELETE', '/users/ana/memory', 200, { userId: 'ana', deleted: 3 }, [['deleteFacts', 'ana', undefined]]],
    [
      'DELETE',
      `/users/ana/memory?fact=${'x'.repeat(1000)}`,
      200,
      { userId: 'ana', deleted: 3 },
      [['deleteFacts', 'ana', 'x'.repeat(1000)]],
    ],
    ['DELETE', '/users/ana/memory?fact=', 400, { info: 'Invalid fact: 1-1000 characters' }, []],
    [
      'DELETE',
      `/users/ana/memory?fact=${'x'.repeat(1001)}`,
      400,
      { info: 'Invalid fact: 1-1000 characters' },
      [],
    ],
    [
      'DELETE',
      '/users/a%2Fb/memory',
      400,
      { info: 'Invalid user id: must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
      [],
    ],
    [
      'DELETE',
      '/users/a%2Fb',
      400,
      { info: 'Invalid user id: must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
      [],
    ],
  ])('%s %s → %i %j', async (method, path, status, body, calls) => {
    const f = fixture();
    expect(await send(f, method, path)).toEqual({ status, body });
    expect(f.calls).toEqual(calls);
  });

  it("DELETE /users/:id: forgets the user's resume handles, closes their live sessions, flushes, then deletes", async () => {
    const f = fixture({ resume: true });
    expect(await send(f, 'DELETE', '/users/ana')).toEqual({
      status: 200,
      body: { userId: 'ana', deletedSessions: 2, deletedFacts: 5 },
    });
    expect(f.calls).toEqual([
      ['forgetUser', 'ana'],
      ['close', 'a1', 'user_data_deleted'],
      ['close', 'a2', 'user_data_deleted'],
      ['flush'],
      ['deleteUser', 'ana'],
    ]);
  });

  it('DELETE /users/:id without resume, and with sessions whose close fails: the delete still happens', async () => {
    const f = fixture({ closeFails: true });
    expect(await send(f, 'DELETE', '/users/ana')).toEqual({
      status: 200,
      body: { userId: 'ana', deletedSessions: 2, deletedFacts: 5 },
    });
    expect(f.calls.map((c) => c[0])).toEqual(['close', 'close', 'flush', 'deleteUser']);
  });
});

describe('transcriptRecord', () => {
  it.each([
    ['live-1', { id: 'live-1', from: 'registry' }, []],
    [
      's-1',
      {
        id: 's-1',
        transport: 'websocket',
        mode: 'agent',
        startedAt: 10,
        closedAt: 20,
        closeReason: 'client_left',
        transcript: [{ role: 'user', content: 'hi' }],
      },
      [['flush'], ['getSession', 's-1']],
    ],
    [
      's-open',
      { id: 's-open', transport: 'webrtc', mode: 'stream', startedAt: 30, transcript: [] },
      [['flush'], ['getSession', 's-open']],
    ],
    ['gone', { id: 'gone', from: 'registry' }, [['flush'], ['getSession', 'gone']]],
    ['nobody', undefined, [['flush'], ['getSession', 'nobody']]],
    ['a b', undefined, []],
  ])('%s → %j', async (id, record, calls) => {
    const f = fixture();
    const got = await transcriptRecord(f.ctx, id);
    expect(got).toEqual(record);
    if (got && 'transcript' in got && record && !('closedAt' in record)) {
      expect(Object.keys(got)).toEqual(['id', 'transport', 'mode', 'startedAt', 'transcript']);
    }
    expect(f.calls).toEqual(calls);
  });
});
