/**
 * The server's HTTP routes on a real server over loopback, as a table of request → status and JSON
 * answer: `/health`, `POST /connect` (requestData checked, a one-time token in `ws_url`, SmallWebRTC
 * answered with `webrtcRequestParams`), transcripts, the plain `GET /ws`, unknown routes. The bounds
 * are in server-admission.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { loadServerConfig } from './config.ts';
import { type RunningServer, startServer } from './server.ts';

/** A server on loopback with an in-memory store, no resume window and the energy VAD. */
const startTestServer = (registerRoutes?: Parameters<typeof startServer>[0]['registerRoutes']) =>
  startServer({
    config: loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_RESUME_WINDOW_MS: '0',
      COLLOQUY_VAD: 'energy',
    }),
    logger: silentLogger,
    ...(registerRoutes ? { registerRoutes } : {}),
  });

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const TOKEN = expect.stringMatching(/^[\w-]{32}$/);
const NOT_JSON = { info: 'Request body must be JSON (the client requestData)' };

async function connect(body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: await res.json() };
}

describe('POST /connect', () => {
  const ws = () => ({
    ws_url: expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${server.port}/ws\\?token=[\\w-]{32}$`)),
  });
  const webrtc = (requestData: Record<string, unknown>) => ({
    webrtcRequestParams: {
      endpoint: `http://127.0.0.1:${server.port}/api/offer`,
      requestData: { ...requestData, token: TOKEN },
    },
  });
  it.each([
    // body, status, answer
    ['', 200, ws],
    ['  \n', 200, ws],
    ['null', 200, ws],
    ['{}', 200, ws],
    ['{"mode":"stream","user_id":"u-1"}', 200, ws],
    ['{"transport":"websocket"}', 200, ws],
    ['{"transport":"webrtc"}', 200, () => webrtc({ transport: 'webrtc' })],
    [
      '{"transport":"SmallWebRTC","mode":"stream"}',
      200,
      () => webrtc({ transport: 'SmallWebRTC', mode: 'stream' }),
    ],
    ['{"transport":"small-webrtc"}', 200, () => webrtc({ transport: 'small-webrtc' })],
    ['{', 400, () => NOT_JSON],
    [`${'['.repeat(17)}${']'.repeat(17)}`, 400, () => NOT_JSON],
    [`{"a":${'['.repeat(15)}${']'.repeat(15)}}`, 200, ws],
    ['[1,2]', 400, () => ({ info: expect.stringMatching(/^Invalid requestData: /) })],
    ['{"mode":"shouting"}', 400, () => ({ info: expect.stringMatching(/^Invalid requestData: mode: /) })],
    ['{"user_id":"a b"}', 400, () => ({ info: expect.stringMatching(/^Invalid requestData: user_id: /) })],
    // Only the first problem is named.
    [
      '{"mode":"shouting","user_id":"a b"}',
      400,
      () => ({ info: expect.stringMatching(/^Invalid requestData: mode: [^;]+$/) }),
    ],
    [
      '{"config":"missing"}',
      400,
      () => ({ info: expect.stringMatching(/No configuration named "missing"/) }),
    ],
    [
      `{"resume_handle":"${'h'.repeat(20)}"}`,
      400,
      () => ({ info: 'Resume is off on this server', code: 'resume_unsupported' }),
    ],
  ])('%s → %i', async (body, status, answer) => {
    expect(await connect(body)).toEqual({ status, json: answer() });
  });

  it('each answer carries a new one-time token', async () => {
    const a = (await connect('{}')).json as { ws_url: string };
    const b = (await connect('{}')).json as { ws_url: string };
    expect(a.ws_url).not.toBe(b.ws_url);
  });
});

describe('other routes', () => {
  it.each([
    // method, path, status, answer
    ['GET', '/health', 200, { status: 'ok', sessions: 0 }],
    ['GET', '/ws', 426, { info: 'Upgrade to WebSocket (Pipecat protobuf frames)' }],
    ['GET', '/sessions/nobody/transcript', 404, { info: 'No such session' }],
    ['GET', '/nope', 404, { info: 'Not found' }],
    ['GET', '/connect', 404, { info: 'Not found' }],
  ])('%s %s → %i %j', async (method, path, status, answer) => {
    const res = await fetch(`${server.url}${path}`, { method });
    expect({ status: res.status, json: await res.json() }).toEqual({ status, json: answer });
  });
});

describe('a failing route, and a draining node outside a cluster', () => {
  let node: RunningServer;
  beforeAll(async () => {
    node = await startTestServer((app) => {
      app.get('/fails/plain', () => {
        throw new Error('db password is hunter2');
      });
      app.get('/fails/typed', () => {
        throw new InvalidInputError('invalid_argument', 'The widget id is not a number');
      });
    });
  });
  afterAll(() => node?.close());
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${node.url}${path}`, init);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
  };

  it('a handler that throws answers 500: a Colloquy error with its message, anything else without details', async () => {
    expect(await get('/fails/plain')).toEqual({
      status: 500,
      retryAfter: null,
      json: { info: 'Internal server error' },
    });
    expect(await get('/fails/typed')).toEqual({
      status: 500,
      retryAfter: null,
      json: { info: 'The widget id is not a number' },
    });
  });

  it('once draining: /health answers 503 "draining" and /connect 503 node_draining with Retry-After', async () => {
    expect(await get('/connect', { method: 'POST', body: '{}' })).toMatchObject({ status: 200 });
    await node.drain(0);
    expect(await get('/health')).toEqual({
      status: 503,
      retryAfter: null,
      json: { status: 'draining', sessions: 0 },
    });
    expect(await get('/connect', { method: 'POST', body: '{}' })).toEqual({
      status: 503,
      retryAfter: '1',
      json: { info: 'This server is draining and starts no new session', code: 'node_draining' },
    });
  });
});
