/**
 * The HTTP guards through Hono apps in process: which origins are allowed (loopback, case, ports,
 * listed origins written loosely), what CORS answers (refusal body, echoed origin, preflight headers),
 * the proxy headers taken, the client a request counts for, and the per-client rate answer (429 with
 * `Retry-After`, counted once per request).
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ClientGate } from './client-gate.ts';
import {
  admitRequest,
  corsFor,
  limitResponse,
  markAdmitted,
  originAllowed,
  parseOrigins,
  publicOrigin,
  requestClient,
} from './http-guards.ts';

describe('originAllowed', () => {
  it.each([
    // origin, host, allowed origins, answer
    ['http://[::1]:8080', 'voice.example.com', [], true],
    ['http://localhost', undefined, [], true],
    ['http://localhost.evil.example', 'voice.example.com', [], false],
    ['https://voice.example.com', 'Voice.Example.COM', [], true],
    ['https://VOICE.example.com', 'voice.example.com', [], true],
    ['https://voice.example.com', undefined, [], false],
    ['https://voice.example.com', '', [], false],
    ['https://voice.example.com:8443', 'voice.example.com', [], false],
    ['https://voice.example.com:8443', 'voice.example.com:8443', [], true],
    ['https://app.example.com', 'voice.example.com', ['https://app.example.com/'], true],
    ['https://app.example.com', 'voice.example.com', ['HTTPS://APP.example.com'], true],
    ['https://app.example.com', 'voice.example.com', ['not a url', 'https://app.example.com'], true],
    ['https://app.example.com', 'voice.example.com', ['http://app.example.com'], false],
    ['https://app.example.com', 'voice.example.com', ['https://app.example.com:444'], false],
    ['not a url', 'voice.example.com', ['not a url'], false],
    ['javascript:alert(1)', 'voice.example.com', [], false],
    ['file:///etc', 'voice.example.com', ['file:///etc'], false],
    ['anything', 'voice.example.com', ['https://x.example', '*'], true],
  ] as const)('%s at %s with %j → %s', (origin, host, allowedOrigins, answer) => {
    expect(originAllowed(origin, host, { allowedOrigins })).toBe(answer);
  });

  it('no policy list: same origin and loopback only', () => {
    expect(originAllowed('https://app.example.com', 'voice.example.com', {})).toBe(false);
    expect(originAllowed('http://127.0.0.1:1', 'voice.example.com', {})).toBe(true);
    expect(originAllowed(undefined, undefined, {})).toBe(true);
  });
});

describe('corsFor', () => {
  const app = () => {
    const a = new Hono();
    a.use('*', corsFor({ allowedOrigins: ['https://app.example.com'] }));
    a.all('/x', (c) => c.json({ ok: true }));
    return a;
  };
  const call = async (init: RequestInit) => {
    const res = await app().request('http://voice.example.com/x', init);
    const h = (name: string) => res.headers.get(name);
    return {
      status: res.status,
      body: res.status === 204 ? null : await res.json(),
      origin: h('access-control-allow-origin'),
      methods: h('access-control-allow-methods'),
      headers: h('access-control-allow-headers'),
      maxAge: h('access-control-max-age'),
    };
  };
  const NO_CORS = { origin: null, methods: null, headers: null, maxAge: null };

  it.each([
    ['no Origin', {}, { status: 200, body: { ok: true }, ...NO_CORS }],
    [
      'a listed origin',
      { origin: 'https://app.example.com' },
      { status: 200, body: { ok: true }, ...NO_CORS, origin: 'https://app.example.com' },
    ],
    [
      'another origin',
      { origin: 'https://evil.example' },
      { status: 403, body: { info: 'Origin not allowed (COLLOQUY_ALLOWED_ORIGINS)' }, ...NO_CORS },
    ],
  ])('GET with %s', async (_what, headers, answer) => {
    expect(await call({ headers })).toEqual(answer);
  });

  it('a preflight of a listed origin: the methods, headers and max age', async () => {
    expect(
      await call({
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      }),
    ).toEqual({
      status: 204,
      body: null,
      origin: 'https://app.example.com',
      methods: 'GET,POST,PATCH,DELETE,OPTIONS',
      headers: 'content-type,authorization',
      maxAge: '600',
    });
  });
});

describe('publicOrigin behind a trusted proxy', () => {
  const originOf = async (headers: Record<string, string>, trustProxy = true) => {
    const app = new Hono();
    app.get('/', (c) => c.text(publicOrigin(c, { trustProxy })));
    return (await app.request('http://10.0.0.5:3000/', { headers })).text();
  };
  it.each([
    [{ 'x-forwarded-proto': 'https, http' }, 'https://10.0.0.5:3000'],
    [{ 'x-forwarded-proto': 'https , http' }, 'https://10.0.0.5:3000'],
    [{ 'x-forwarded-proto': '' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': ' voice.example.com , other' }, 'http://voice.example.com'],
    [{ 'x-forwarded-host': 'a'.repeat(253) }, `http://${'a'.repeat(253)}`],
    [{ 'x-forwarded-host': 'a'.repeat(254) }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': 'voice.example.com:123456' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': 'voice.example.com:' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': 'x.example/path' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': 'evil example' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': '[::1]x' }, 'http://10.0.0.5:3000'],
    [{ 'x-forwarded-host': '' }, 'http://10.0.0.5:3000'],
  ])('%j → %s', async (headers, origin) => {
    expect(await originOf(headers)).toBe(origin);
  });
});

describe('parseOrigins', () => {
  it.each([
    [undefined, []],
    ['', []],
    [' , ', []],
    ['https://a.example', ['https://a.example']],
    [
      ' https://a.example,https://b.example  https://c.example\n*',
      ['https://a.example', 'https://b.example', 'https://c.example', '*'],
    ],
  ])('%j → %j', (text, origins) => {
    expect(parseOrigins(text)).toEqual(origins);
  });
});

describe('requestClient and admitRequest', () => {
  /** An app whose route reports its client, and admits the request through `gate` (twice when asked). */
  const appWith = (
    gate: ClientGate,
    trustProxy: boolean,
    opts: { twice?: boolean; premarked?: boolean } = {},
  ) => {
    const app = new Hono();
    app.post('/connect', (c) => {
      if (opts.premarked) markAdmitted(c);
      const limited =
        admitRequest(c, gate, trustProxy) ?? (opts.twice ? admitRequest(c, gate, trustProxy) : undefined);
      return limited ?? c.json({ client: requestClient(c, trustProxy) });
    });
    return app;
  };
  const post = async (app: Hono, remoteAddress: string, headers: Record<string, string> = {}) => {
    const res = await app.request(
      '/connect',
      { method: 'POST', headers },
      { incoming: { socket: { remoteAddress } } },
    );
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };
  const gate = (burst: number) =>
    new ClientGate({ connectsPerMinute: 6, connectBurst: burst, maxSessionsPerClient: 10 }, () => 1_000_000);

  it.each([
    ['10.1.1.1', {}, false, '10.1.1.1'],
    ['10.1.1.1', { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }, false, '10.1.1.1'],
    ['10.1.1.1', { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }, true, '5.6.7.8'],
  ] as const)('socket %s with %j (trustProxy %s) counts for %s', async (address, headers, trust, client) => {
    expect(await post(appWith(gate(5), trust), address, headers)).toEqual({
      status: 200,
      retryAfter: null,
      body: { client },
    });
  });

  it('a client over its rate: 429 with Retry-After and the code; other clients go on', async () => {
    const app = appWith(gate(1), false);
    expect((await post(app, '10.0.0.1')).status).toBe(200);
    expect(await post(app, '10.0.0.1')).toEqual({
      status: 429,
      retryAfter: '10',
      body: {
        info: 'Too many session starts from your address (6 per minute); try again in 10 s',
        code: 'rate_limited',
      },
    });
    expect((await post(app, '10.0.0.2')).status).toBe(200);
  });

  it('a request is counted once, however often it is admitted; one marked admitted is not counted', async () => {
    const g = gate(1);
    expect((await post(appWith(g, false, { twice: true }), '10.0.0.3')).status).toBe(200);
    expect((await post(appWith(g, false, { premarked: true }), '10.0.0.3')).status).toBe(200);
    expect((await post(appWith(g, false), '10.0.0.3')).status).toBe(429);
  });

  it('limitResponse rethrows anything but a client limit', async () => {
    const app = new Hono();
    const boom = new Error('boom');
    app.get('/', (c) => limitResponse(c, boom));
    app.onError((err, c) => c.text(err === boom ? 'rethrown' : 'other', 500));
    expect(await (await app.request('/')).text()).toBe('rethrown');
  });
});
