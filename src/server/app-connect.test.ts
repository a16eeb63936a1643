/**
 * `createApp` built inside each test (so a mutation run sees which test runs which route's code),
 * through `app.request` over a server's context: what `/connect` refuses (text-only over WebRTC, a
 * session profile whose models cannot be built, the bearer), the grant its one-time token carries (the
 * profile, the requestData, a redeemed resume handle), a connect hook with its bound, the origin
 * policy and proxy trust of the config, the body bound of other routes, the transcript of a live
 * session and the error answers.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ResumeError } from '../session/resume-handles.ts';
import { type CreateAppOptions, createApp, type ServerContext } from './app.ts';
import { UNAUTHORIZED_INFO } from './auth.ts';
import { loadServerConfig } from './config.ts';
import { type RunningServer, startServer } from './server.ts';

type Env = Record<string, string>;

/** A server on loopback (in-memory store, energy VAD, no resume), closed after `run`. */
async function withServer(env: Env, run: (server: RunningServer, logged: unknown[][]) => Promise<void>) {
  const logged: unknown[][] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (...a: unknown[]) => logged.push(a) };
  const server = await startServer({
    config: loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_RESUME_WINDOW_MS: '0',
      COLLOQUY_VAD: 'energy',
      ...env,
    }),
    logger,
  });
  try {
    await run(server, logged);
  } finally {
    await server.close();
  }
}

/** A new app over the server's context (with `override` in it), asked `path`. */
async function ask(
  server: RunningServer,
  path: string,
  init: RequestInit = {},
  options: Omit<CreateAppOptions, 'context'> & { override?: Partial<ServerContext> } = {},
) {
  const { override, ...rest } = options;
  const app = createApp({ context: { ...server.context, ...override }, ...rest });
  const res = await app.request(`http://127.0.0.1:${server.port}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    headers: res.headers,
  };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** The one-time token of a SmallWebRTC answer. */
const rtcTokenOf = (json: Record<string, unknown> | undefined) =>
  (json as { webrtcRequestParams: { requestData: { token: string } } }).webrtcRequestParams.requestData.token;

/** The token of a `ws_url`. */
const tokenOf = (json: Record<string, unknown> | undefined) =>
  new URL(String(json?.ws_url)).searchParams.get('token') as string;

describe('POST /connect refusals', () => {
  it.each([[{ transport: 'webrtc', text_only: true }], [{ transport: 'SmallWebRTC', text_only: true }]])(
    '%j → 400: text-only is for the WebSocket transport',
    async (body) => {
      await withServer({}, async (server) => {
        expect(await ask(server, '/connect', post(body))).toMatchObject({
          status: 400,
          json: { info: 'Invalid requestData: text_only is for the WebSocket transport' },
        });
      });
    },
  );

  it('a transport that is not a string is the WebSocket', async () => {
    await withServer({}, async (server) => {
      const { status, json } = await ask(server, '/connect', post({ transport: 5 }));
      expect(status).toBe(200);
      expect(String(json?.ws_url)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\?token=[\w-]{32}$/);
    });
  });

  it('a profile whose models cannot be built: 500 with the reason, logged, no token issued', async () => {
    await withServer({ COLLOQUY_TTS: 'openai-compatible:kokoro' }, async (server, logged) => {
      expect(await ask(server, '/connect', post({}))).toMatchObject({
        status: 500,
        json: { info: 'TTS: openai-compatible needs COLLOQUY_OPENAI_COMPATIBLE_BASE_URL' },
      });
      expect(logged).toEqual([
        [
          'connect: cannot build the session profile',
          expect.objectContaining({ code: 'invalid_model_spec' }),
        ],
      ]);
    });
  });

  it('with a server token: the bearer is required on /connect and on transcripts (401 {info})', async () => {
    await withServer({ COLLOQUY_AUTH_TOKEN: 'app-token' }, async (server) => {
      const refused = { status: 401, json: { info: UNAUTHORIZED_INFO } };
      expect(await ask(server, '/connect', post({}))).toMatchObject(refused);
      expect(await ask(server, '/sessions/x/transcript')).toMatchObject(refused);
      expect((await ask(server, '/connect', post({}, { authorization: 'Bearer app-token' }))).status).toBe(
        200,
      );
    });
  });
});

describe('the grant a /connect token carries', () => {
  it('the profile and the requestData, for the WebSocket and for SmallWebRTC, and no resume', async () => {
    await withServer({}, async (server) => {
      const ws = await ask(server, '/connect', post({ mode: 'stream', user_id: 'u-7' }));
      const grant = server.context.tokens.consume(tokenOf(ws.json));
      expect(grant).toMatchObject({
        profile: { mode: 'stream', userId: 'u-7' },
        requestData: { mode: 'stream', user_id: 'u-7' },
      });
      expect(grant && 'resume' in grant).toBe(false);
      const rtc = await ask(server, '/connect', post({ transport: 'webrtc', agent: 'spa' }));
      expect(server.context.tokens.consume(rtcTokenOf(rtc.json))).toMatchObject({
        profile: { initialAgent: 'spa' },
        requestData: { transport: 'webrtc', agent: 'spa' },
      });
    });
  });

  it('a resume handle: redeemed for the user, and the grant resumes that session', async () => {
    await withServer({}, async (server) => {
      const asked: unknown[][] = [];
      const resume = {
        redeem: (handle: string, userId?: string) => {
          asked.push([handle, userId]);
          return 'session-9';
        },
      } as unknown as ServerContext['resume'];
      const handle = 'h'.repeat(20);
      const answer = await ask(server, '/connect', post({ resume_handle: handle, user_id: 'u-1' }), {
        override: { resume },
      });
      expect(answer.status).toBe(200);
      expect(asked).toEqual([[handle, 'u-1']]);
      expect(server.context.tokens.consume(tokenOf(answer.json))?.resume).toEqual({
        sessionId: 'session-9',
        handle,
      });
      const rtc = await ask(server, '/connect', post({ resume_handle: handle, transport: 'webrtc' }), {
        override: { resume },
      });
      const token = rtcTokenOf(rtc.json);
      expect(server.context.tokens.consume(token)?.resume).toEqual({ sessionId: 'session-9', handle });
    });
  });

  it("a handle refused: the ResumeError's status, message and code; any other failure is a 500", async () => {
    await withServer({}, async (server, logged) => {
      const refusing = (err: Error) =>
        ({
          redeem: () => {
            throw err;
          },
        }) as unknown as ServerContext['resume'];
      const body = post({ resume_handle: 'h'.repeat(20) });
      expect(
        await ask(server, '/connect', body, {
          override: { resume: refusing(new ResumeError('resume_used', 'This handle was used already')) },
        }),
      ).toMatchObject({ status: 409, json: { info: 'This handle was used already', code: 'resume_used' } });
      expect(
        await ask(server, '/connect', body, { override: { resume: refusing(new Error('db gone')) } }),
      ).toMatchObject({ status: 500, json: { info: 'Internal server error' } });
      expect(logged).toEqual([['http handler failed', new Error('db gone')]]);
    });
  });
});

describe('a connect hook through the app', () => {
  it('is given the path and headers; its decision shapes the grant; connectHookTimeoutMs bounds it', async () => {
    await withServer({}, async (server) => {
      const seen: unknown[] = [];
      const answer = await ask(server, '/connect', post({ lead: 1 }, { 'x-tenant': 't1' }), {
        onConnect: ({ path, headers, requestData }) => {
          seen.push({ path, tenant: headers['x-tenant'], requestData });
          return { agent: 'spa', userId: 'lead-1' };
        },
      });
      expect(seen).toEqual([{ path: '/connect', tenant: 't1', requestData: { lead: 1 } }]);
      expect(server.context.tokens.consume(tokenOf(answer.json))?.profile).toMatchObject({
        initialAgent: 'spa',
        userId: 'lead-1',
      });
      expect(
        await ask(server, '/connect', post({}), {
          onConnect: () => new Promise(() => {}),
          connectHookTimeoutMs: 20,
        }),
      ).toMatchObject({ status: 503, json: { info: 'Connect hook timed out' } });
      expect(
        await ask(server, '/connect', post({}), { onConnect: () => ({ agent: 'nobody' }) }),
      ).toMatchObject({ status: 500, json: { info: 'Server misconfigured' } });
    });
  });
});

describe('the origin policy and proxy trust of the config', () => {
  it('COLLOQUY_ALLOWED_ORIGINS lets a listed page in; others are refused', async () => {
    await withServer({ COLLOQUY_ALLOWED_ORIGINS: 'https://app.example' }, async (server) => {
      const listed = await ask(server, '/health', { headers: { origin: 'https://app.example' } });
      expect(listed.status).toBe(200);
      expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await ask(server, '/health', { headers: { origin: 'https://other.example' } })).status).toBe(
        403,
      );
    });
    await withServer({}, async (server) => {
      expect((await ask(server, '/health', { headers: { origin: 'https://app.example' } })).status).toBe(403);
    });
  });

  it('COLLOQUY_TRUST_PROXY: the ws_url and the WebRTC endpoint follow the forwarded host and proto', async () => {
    const forwarded = { 'x-forwarded-host': 'voice.example.com', 'x-forwarded-proto': 'https' };
    await withServer({ COLLOQUY_TRUST_PROXY: 'true' }, async (server) => {
      expect(String((await ask(server, '/connect', post({}, forwarded))).json?.ws_url)).toMatch(
        /^wss:\/\/voice\.example\.com\/ws\?token=/,
      );
      expect(
        (await ask(server, '/connect', post({ transport: 'webrtc' }, forwarded))).json?.webrtcRequestParams,
      ).toMatchObject({ endpoint: 'https://voice.example.com/api/offer' });
    });
    await withServer({}, async (server) => {
      expect(String((await ask(server, '/connect', post({}, forwarded))).json?.ws_url)).toMatch(
        /^ws:\/\/127\.0\.0\.1:\d+\/ws\?token=/,
      );
    });
  });
});

describe('other routes', () => {
  it('a body over maxBodyBytes on any route: 413', async () => {
    await withServer({ COLLOQUY_MAX_BODY_BYTES: '1024' }, async (server) => {
      expect(await ask(server, '/nope', { method: 'POST', body: 'x'.repeat(2048) })).toMatchObject({
        status: 413,
        json: { info: 'Request body too large' },
      });
      expect(await ask(server, '/nope', { method: 'POST', body: 'x'.repeat(1000) })).toMatchObject({
        status: 404,
        json: { info: 'Not found' },
      });
    });
  });

  it('the transcript of a live session; /health counts live sessions', async () => {
    await withServer({}, async (server) => {
      const record = { id: 'live-1', transport: 'websocket', mode: 'agent', startedAt: 1, transcript: [] };
      const registry = Object.create(server.context.registry, {
        isLive: { value: (id: string) => id === 'live-1' },
        get: { value: (id: string) => (id === 'live-1' ? record : undefined) },
        activeCount: { value: 3 },
      });
      expect(await ask(server, '/sessions/live-1/transcript', {}, { override: { registry } })).toMatchObject({
        status: 200,
        json: record,
      });
      expect(await ask(server, '/health', {}, { override: { registry } })).toMatchObject({
        status: 200,
        json: { status: 'ok', sessions: 3 },
      });
    });
  });

  it('a route that throws a Colloquy error answers its message, logged once', async () => {
    await withServer({}, async (server, logged) => {
      const err = new ColloquyError('boom' as never, 'A typed failure');
      const answer = await ask(
        server,
        '/fails',
        {},
        {
          registerRoutes: (app, context) => {
            expect(context.config).toBe(server.context.config);
            app.get('/fails', () => {
              throw err;
            });
          },
        },
      );
      expect(answer).toMatchObject({ status: 500, json: { info: 'A typed failure' } });
      expect(logged).toEqual([['http handler failed', err]]);
    });
  });
});

describe('a cluster node', () => {
  /** A host whose hand-overs are accepted when `accept`, whose sessions live on `peer`. */
  const clusterOf = (server: RunningServer, o: { accept: boolean; peer?: string }) =>
    ({
      node: {
        id: 'node-a',
        url: 'http://node-a.example:8080',
        online: true,
        stats: {},
        acceptForward: async () => (o.accept ? {} : undefined),
        whereIs: async () => (o.peer ? { nodeId: 'node-b', url: o.peer } : undefined),
      },
      logger: server.context.logger,
      maxBodyBytes: 65536,
      auth: server.context.auth,
      admit: () => undefined,
      markAdmitted: () => {},
      liveCount: () => 0,
      capacity: 10,
      isLive: () => false,
      adopt: async () => undefined,
      isDraining: () => false,
    }) as unknown as ServerContext['cluster'];

  it('connects through the cluster middleware and answers with the node URL, even while draining', async () => {
    await withServer({}, async (server) => {
      const handOver = { 'x-colloquy-forward': 'hand-over-1' };
      const accepted = await ask(server, '/connect', post({}, handOver), {
        override: { cluster: clusterOf(server, { accept: true }), isDraining: () => true },
      });
      expect(accepted.status).toBe(200);
      expect(String(accepted.json?.ws_url)).toMatch(/^ws:\/\/node-a\.example:8080\/ws\?token=[\w-]{32}$/);
      expect(
        await ask(server, '/connect', post({}, handOver), {
          override: { cluster: clusterOf(server, { accept: false }) },
        }),
      ).toMatchObject({
        status: 403,
        json: { info: 'Unknown or expired hand-over from another node', code: 'connect_refused' },
      });
    });
  });

  it("answers a session's transcript and detail from the node it lives on", async () => {
    const peer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'node-b', path: req.url }));
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    try {
      const url = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`;
      await withServer({ COLLOQUY_AUTH_TOKEN: 'c-token' }, async (server) => {
        const override = { cluster: clusterOf(server, { accept: true, peer: url }) };
        const auth = { headers: { authorization: 'Bearer c-token' } };
        for (const path of ['/sessions/s-9/transcript', '/sessions/s-9']) {
          expect(await ask(server, path, auth, { override })).toMatchObject({
            status: 200,
            json: { from: 'node-b', path },
          });
        }
        expect(await ask(server, '/sessions/s-9/transcript', auth)).toMatchObject({ status: 404 });
      });
    } finally {
      peer.close();
    }
  });
});
