/**
 * The `http` tool's protocol behaviour against a real HTTP server on loopback: what is sent (method,
 * query or JSON body, headers), how redirects change the method, how responses become the result the
 * LLM sees (JSON, text, truncated, errors with their status), and what ends a call (abort, refused
 * connection). The address guard is in http-guard.test.ts.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily,
} from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColloquyError } from '../../errors.ts';
import { AddressPolicy } from '../../net/address-policy.ts';
import { parseDeclarativeTools } from './build.ts';
import { callHttpTool } from './http.ts';
import type { HttpTool } from './schema.ts';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * `/echo` answers JSON with the request; `/status/N?type=T&body=B` answers status N; `/redirect/N?to=U`
 * redirects with status N (no `location` without `to`); `/loop` redirects to itself; `/bytes/N` answers
 * N bytes of text; `/hang` never answers.
 */
const seen: Seen[] = [];
const hanging: ServerResponse[] = [];
const requested: Array<() => void> = [];
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    for (const notify of requested.splice(0)) notify();
    const [, route, arg] = url.pathname.split('/');
    const q = url.searchParams;
    if (route === 'echo') {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ method: req.method, query: Object.fromEntries(q), body }));
    } else if (route === 'status') {
      res.writeHead(Number(arg), { 'content-type': q.get('type') ?? 'text/plain' });
      res.end(q.get('body') ?? '');
    } else if (route === 'redirect') {
      const to = q.get('to');
      res.writeHead(Number(arg), to === null ? {} : { location: to });
      res.end();
    } else if (route === 'bytes') {
      res.setHeader('content-type', 'text/plain');
      res.end('x'.repeat(Number(arg)));
    } else if (route === 'loop') {
      res.writeHead(302, { location: '/loop' }).end();
    } else if (route === 'hang') {
      hanging.push(res);
    } else {
      res.writeHead(404).end();
    }
  });
});
let origin = '';
const policy = new AddressPolicy(['127.0.0.1']);
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const tool = (path: string, config: Partial<HttpTool['config']> = {}): HttpTool =>
  parseDeclarativeTools([
    { name: 't', kind: 'http', description: 'd', config: { url: `${origin}${path}`, ...config } },
  ])[0] as HttpTool;

const call = (path: string, args: Record<string, unknown> = {}, config: Partial<HttpTool['config']> = {}) =>
  callHttpTool(tool(path, config), args, { policy });

async function failure(run: Promise<unknown>): Promise<unknown> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return err;
}

async function toolFailure(run: Promise<unknown>): Promise<ColloquyError> {
  const err = await failure(run);
  expect(err).toBeInstanceOf(ColloquyError);
  return err as ColloquyError;
}

const last = (): Seen => {
  const s = seen.at(-1);
  if (s === undefined) throw new Error('no request reached the server');
  return s;
};

describe('http tool: the request', () => {
  it.each([
    // method, arguments → query string, body
    ['GET', { a: 'x', n: 2 }, { a: 'x', n: '2' }, ''],
    ['DELETE', { a: 'x' }, { a: 'x' }, ''],
    ['POST', { a: 'x', n: 2 }, {}, '{"a":"x","n":2}'],
    ['PUT', { a: 'x' }, {}, '{"a":"x"}'],
    ['PATCH', { a: 'x' }, {}, '{"a":"x"}'],
  ] as const)('%s: arguments go in the query %j, the body is %j', async (method, args, query, body) => {
    expect(await call('/echo', { ...args }, { method })).toEqual({ method, query, body });
  });

  it.each([
    // method, headers the server receives
    ['GET', { accept: 'application/json', 'x-api-key': 'k' }, ['content-type', 'content-length']],
    [
      'POST',
      {
        accept: 'application/json',
        'x-api-key': 'k',
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength('{"name":"Zoë"}')),
      },
      ['transfer-encoding'],
    ],
  ] as const)('%s sends the headers %j and not %j', async (method, headers, absent) => {
    await call('/echo', { name: 'Zoë' }, { method, headers: { 'x-api-key': 'k' } });
    expect(last().headers).toMatchObject(headers);
    for (const name of absent) expect(last().headers[name]).toBeUndefined();
  });
});

describe('http tool: the arguments are bounded before anything is sent', () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 20; i++) deep = { k: deep };
  it.each([
    ['nested 20 deep', { deep }],
    ['over 256 KiB', { text: 'x'.repeat(300 * 1024) }],
    ['over 10,000 values', { list: Array.from({ length: 10_001 }, () => 1) }],
  ])('%s: invalid_tool_args, nothing sent', async (_, args) => {
    const before = seen.length;
    const err = await toolFailure(call('/echo', args, { method: 'POST' }));
    expect(err.code).toBe('invalid_tool_args');
    expect(err.message).toMatch(/^Tool arguments: ./);
    expect(seen.length).toBe(before);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('http tool: redirects', () => {
  it.each([
    // status, method → method and body at the target
    [301, 'POST', 'GET', ''],
    [302, 'POST', 'GET', ''],
    [303, 'POST', 'GET', ''],
    [303, 'PUT', 'GET', ''],
    [307, 'POST', 'POST', '{"a":1}'],
    [308, 'POST', 'POST', '{"a":1}'],
    [301, 'PUT', 'PUT', '{"a":1}'],
    [302, 'PATCH', 'PATCH', '{"a":1}'],
    [308, 'GET', 'GET', ''],
  ] as const)('%i after %s: the target gets %s with body %j', async (status, method, then, body) => {
    const to = encodeURIComponent('/echo');
    const result = await call(`/redirect/${status}?to=${to}`, { a: 1 }, { method });
    expect(result).toMatchObject({ method: then, body });
    if (body === '') expect(last().headers['content-type']).toBeUndefined();
    else expect(last().headers['content-type']).toBe('application/json');
  });

  it('follows at most 5 redirects: 6 requests, then http_too_many_redirects', async () => {
    const start = seen.length;
    const looped = await toolFailure(call('/loop'));
    expect(looped).toMatchObject({ code: 'http_too_many_redirects', message: 'More than 5 redirects' });
    expect(seen.length - start).toBe(6);
  });

  it('follows exactly 5 redirects to the answer', async () => {
    let path = '/echo';
    for (let i = 0; i < 5; i++) path = `/redirect/302?to=${encodeURIComponent(path)}`;
    expect(await call(path)).toEqual({ method: 'GET', query: {}, body: '' });
  });

  it('a redirect status without a location is the answer (an HTTP error for the LLM)', async () => {
    const err = await toolFailure(call('/redirect/302'));
    expect(err.code).toBe('http_status');
    expect(err.details).toEqual({ status: 302 });
    expect(last().path).toBe('/redirect/302');
  });

  it('an http URL may redirect to https (the next hop speaks TLS)', async () => {
    // The target is the plain-text server: the TLS handshake fails there, so the hop was tried.
    const to = `https://127.0.0.1:${new URL(origin).port}/echo`;
    const err = await toolFailure(call(`/redirect/302?to=${encodeURIComponent(to)}`));
    expect(err.code).toBe('http_unreachable');
    expect(err.message).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/echo failed: /);
  });

  it('a failure after a 303 names the method the hop used (GET)', async () => {
    const to = `http://127.0.0.1:${await closedPort()}/next`;
    const err = await toolFailure(
      call(`/redirect/303?to=${encodeURIComponent(to)}`, { a: 1 }, { method: 'POST' }),
    );
    expect(err.code).toBe('http_unreachable');
    expect(err.message.startsWith(`GET ${to} failed: `)).toBe(true);
  });

  it.each([
    ['file:///etc/passwd', 'http_forbidden_address', 'Redirect to a file: URL is refused'],
    ['ftp://127.0.0.1/x', 'http_forbidden_address', 'Redirect to a ftp: URL is refused'],
    ['http://[oops/', 'http_bad_response', 'Redirect to an invalid URL'],
  ])('a redirect to %s is refused (%s)', async (to, code, message) => {
    const err = await toolFailure(call(`/redirect/302?to=${encodeURIComponent(to)}`));
    expect(err).toMatchObject({ code, message });
  });
});

describe('http tool: the response', () => {
  it.each([
    // path, result the LLM sees
    ['/echo', '', { method: 'GET', query: {}, body: '' }],
    ['/status/200?type=text/plain&body=', 'hello', 'hello'],
    ['/status/201?type=application/json&body=', '[1,2]', [1, 2]],
    ['/status/204?body=', '', ''],
    ['/status/299?type=application/problem%2Bjson&body=', '{"ok":true}', { ok: true }],
  ])('%s%s → %j', async (path, body, result) => {
    expect(await call(`${path}${encodeURIComponent(body)}`)).toEqual(result);
  });

  it.each([
    // status, retryable
    [300, false],
    [404, false],
    [499, false],
    [500, true],
    [503, true],
  ])(
    'HTTP %i is an http_status error (retryable: %s) with the status and the start of the body',
    async (status, retryable) => {
      const body = `${'e'.repeat(300)}TAIL`;
      // Not parsed as JSON although it says so: an error status is reported as text.
      const err = await toolFailure(call(`/status/${status}?type=application/json&body=${body}`));
      expect(err).toMatchObject({ code: 'http_status', retryable, details: { status } });
      expect(err.message).toBe(`HTTP ${status} from /status/${status}: ${'e'.repeat(300)}`);
    },
  );

  it.each([
    // body, cause, message
    ['{"a":', 'malformed', '/status/200 said it returned JSON but the body is not valid JSON'],
    [`${'['.repeat(33)}${']'.repeat(33)}`, 'too_deep', '/status/200 returned JSON over the limits:'],
  ])('a JSON body %s is refused (http_bad_response, caused by %s)', async (body, kind, message) => {
    const err = await toolFailure(call(`/status/200?type=application/json&body=${encodeURIComponent(body)}`));
    expect(err.code).toBe('http_bad_response');
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.cause).toMatchObject({ code: `json_${kind}`, kind });
  });

  it('JSON 32 levels deep is passed on', async () => {
    const body = `${'['.repeat(32)}${']'.repeat(32)}`;
    const result = await call(`/status/200?type=application/json&body=${encodeURIComponent(body)}`);
    expect(JSON.stringify(result)).toBe(body);
  });

  it.each([
    // bytes sent, max_response_bytes, result
    [100, 100, 'x'.repeat(100)],
    [101, 100, { truncated: true, body: 'x'.repeat(100) }],
    [65_536, undefined, 'x'.repeat(65_536)],
    [65_537, undefined, { truncated: true, body: 'x'.repeat(65_536) }],
    // larger than one read: truncated across chunks at exactly the limit
    [300_000, 200_000, { truncated: true, body: 'x'.repeat(200_000) }],
  ])('%i bytes with max_response_bytes %s', async (n, max, result) => {
    const config = max === undefined ? {} : { max_response_bytes: max };
    expect(await call(`/bytes/${n}`, {}, config)).toEqual(result);
  });

  it('a truncated JSON body is passed on as text, not parsed', async () => {
    const body = JSON.stringify({ items: ['a', 'b', 'c'] });
    expect(
      await call(
        `/status/200?type=application/json&body=${encodeURIComponent(body)}`,
        {},
        { max_response_bytes: 10 },
      ),
    ).toEqual({ truncated: true, body: body.slice(0, 10) });
  });
});

describe('http tool: what ends a call', () => {
  it('an abort during the request rejects with the abort reason', async () => {
    const controller = new AbortController();
    const reached = new Promise<void>((r) => requested.push(r));
    const run = callHttpTool(tool('/hang'), {}, { policy, signal: controller.signal });
    await reached;
    const reason = new Error('user interrupted');
    controller.abort(reason);
    expect(await failure(run)).toBe(reason);
  });

  it('an already aborted signal rejects before any request', async () => {
    const before = seen.length;
    const reason = new Error('already');
    expect(
      await failure(callHttpTool(tool('/echo'), {}, { policy, signal: AbortSignal.abort(reason) })),
    ).toBe(reason);
    expect(seen.length).toBe(before);
  });

  it('a refused connection is a retryable http_unreachable naming the method and URL', async () => {
    const port = await closedPort();
    const def = parseDeclarativeTools([
      {
        name: 't',
        kind: 'http',
        description: 'd',
        config: { url: `http://127.0.0.1:${port}/x?y=1`, method: 'PUT' },
      },
    ])[0] as HttpTool;
    const err = await toolFailure(callHttpTool(def, {}, { policy }));
    expect(err).toMatchObject({ code: 'http_unreachable', retryable: true });
    expect(err.message).toMatch(new RegExp(`^PUT http://127\\.0\\.0\\.1:${port}/x failed: .*ECONNREFUSED`));
  });

  it('an https URL speaks TLS (a plain-text server fails the handshake: http_unreachable)', async () => {
    const https = `https://127.0.0.1:${new URL(origin).port}/echo`;
    const def = parseDeclarativeTools([
      { name: 't', kind: 'http', description: 'd', config: { url: https } },
    ])[0] as HttpTool;
    const err = await toolFailure(callHttpTool(def, {}, { policy }));
    expect(err.code).toBe('http_unreachable');
  });
});

describe('http tool: the pinned address', () => {
  it.each([[true], [false]])(
    'connects to the checked address whether the socket asks for all addresses or one (family autoselection %s)',
    async (autoselect) => {
      const resolver = async () => [{ address: '127.0.0.1', family: 4 as const }];
      // A host name per row: a new connection (not a kept-alive one), so the socket looks the name up.
      const host = `svc-${autoselect}.internal.test`;
      const pinned = new AddressPolicy([host], resolver);
      const def = parseDeclarativeTools([
        {
          name: 't',
          kind: 'http',
          description: 'd',
          config: { url: `http://${host}:${new URL(origin).port}/echo` },
        },
      ])[0] as HttpTool;
      const before = getDefaultAutoSelectFamily();
      setDefaultAutoSelectFamily(autoselect);
      try {
        expect(await callHttpTool(def, {}, { policy: pinned })).toEqual({
          method: 'GET',
          query: {},
          body: '',
        });
      } finally {
        setDefaultAutoSelectFamily(before);
      }
    },
  );
});
