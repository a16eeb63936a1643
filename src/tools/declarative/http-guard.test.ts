/**
 * The `http` tool's SSRF guard against real HTTP servers on loopback: refused by default in every
 * spelling of an internal address, reachable with an explicit allowlist, checked on every redirect
 * hop and on resolved (pinned) addresses; arguments only fill the path and query.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColloquyError } from '../../errors.ts';
import { AddressPolicy, forbiddenReason } from '../../net/address-policy.ts';
import { parseDeclarativeTools } from './build.ts';
import { callHttpTool } from './http.ts';
import type { HttpTool } from './schema.ts';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** A server on `host` that records requests; `/go?to=URL` redirects, `/loop` loops, else JSON. */
async function startServer(host: string): Promise<{ server: Server; origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/loop') {
      res.writeHead(307, { location: '/loop' });
      res.end();
      return;
    }
    if (url.pathname === '/go') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: url.pathname, query: Object.fromEntries(url.searchParams) }));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, origin: `http://${host}:${(server.address() as AddressInfo).port}`, seen };
}

let a: Awaited<ReturnType<typeof startServer>>;
let b: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  a = await startServer('127.0.0.1');
  b = await startServer('127.0.0.2'); // another loopback address: "another internal service"
});
afterAll(async () => {
  for (const s of [a, b]) await new Promise<void>((r) => s.server.close(() => r()));
});

const tool = (url: string, config: Partial<HttpTool['config']> = {}): HttpTool =>
  parseDeclarativeTools([
    { name: 't', kind: 'http', description: 'd', config: { url, ...config } },
  ])[0] as HttpTool;

async function failure(run: Promise<unknown>): Promise<ColloquyError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ColloquyError);
  return err as ColloquyError;
}

describe('http tool: internal addresses are refused by default', () => {
  const port = () => new URL(a.origin).port;
  it.each([
    ['127.0.0.1'],
    ['localhost'],
    ['LOCALHOST.'],
    ['[::1]'],
    ['[::ffff:127.0.0.1]'],
    ['2130706433'],
    ['0177.0.0.1'],
    ['0x7f000001'],
    ['127.1'],
    ['0.0.0.0'],
    ['[::]'],
  ])('loopback spelled %s', async (host) => {
    const err = await failure(callHttpTool(tool(`http://${host}:${port()}/json`), {}));
    expect(err.code).toBe('http_forbidden_address');
  });

  it.each([
    ['169.254.169.254', 'link-local'],
    ['[fd00:ec2::254]', 'unique-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['[fe80::1]', 'link-local'],
    ['[64:ff9b::7f00:1]', 'loopback'],
    ['[2002:7f00:1::]', 'loopback'],
  ])('%s (%s) is refused before any connection', async (host, why) => {
    const err = await failure(callHttpTool(tool(`http://${host}/x`), {}));
    expect(err.code).toBe('http_forbidden_address');
    expect(err.message.toLowerCase()).toContain(why.toLowerCase());
  });

  it('public addresses pass the check', () => {
    expect(forbiddenReason('8.8.8.8')).toBeUndefined();
    expect(forbiddenReason('2606:4700:4700::1111')).toBeUndefined();
    expect(forbiddenReason('::ffff:8.8.8.8')).toBeUndefined();
  });

  it('nothing reached the servers', () => {
    expect(a.seen).toEqual([]);
  });
});

describe('http tool: with an allowlist', () => {
  it('reaches an allowlisted internal service (IP, CIDR or host name)', async () => {
    for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['localhost']]) {
      const host = allow[0] === 'localhost' ? 'localhost' : '127.0.0.1';
      const url = `http://${host}:${new URL(a.origin).port}/json`;
      const result = await callHttpTool(tool(url), { q: 'x' }, { policy: new AddressPolicy(allow) });
      expect(result).toEqual({ path: '/json', query: { q: 'x' } });
    }
  });

  it('checks every redirect hop: an allowed service cannot redirect to a refused one', async () => {
    const policy = new AddressPolicy(['127.0.0.1']);
    const err = await failure(
      callHttpTool(tool(`${a.origin}/go?to=${encodeURIComponent(`${b.origin}/json`)}`), {}, { policy }),
    );
    expect(err.code).toBe('http_forbidden_address');
    expect(b.seen).toEqual([]);
    const meta = await failure(
      callHttpTool(
        tool(`${a.origin}/go?to=${encodeURIComponent('http://169.254.169.254/')}`),
        {},
        { policy },
      ),
    );
    expect(meta.code).toBe('http_forbidden_address');
  });

  it('follows allowed redirects (bounded) and never sends the configured headers to another origin', async () => {
    const policy = new AddressPolicy(['127.0.0.1', '127.0.0.2']);
    const def = tool(`${a.origin}/go?to=${encodeURIComponent(`${b.origin}/json`)}`, {
      headers: { authorization: 'Bearer secret-key' },
    });
    expect(await callHttpTool(def, {}, { policy })).toEqual({ path: '/json', query: {} });
    expect(a.seen.at(-1)?.headers.authorization).toBe('Bearer secret-key');
    expect(b.seen.at(-1)?.headers.authorization).toBeUndefined();
    // A redirect loop ends after 5 hops.
    const loop = tool(`${a.origin}/loop`);
    expect((await failure(callHttpTool(loop, {}, { policy }))).code).toBe('http_too_many_redirects');
  });

  it('connects to the address it checked (DNS answered once, pinned: no rebinding window)', async () => {
    const answers: string[] = [];
    const resolver = async (host: string) => {
      answers.push(host);
      return [{ address: '127.0.0.1', family: 4 as const }];
    };
    // A name only this resolver knows: the connection can only have gone to the checked address.
    const allowed = new AddressPolicy(['svc.internal.test'], resolver);
    const url = `http://svc.internal.test:${new URL(a.origin).port}/json`;
    expect(await callHttpTool(tool(url), {}, { policy: allowed })).toEqual({ path: '/json', query: {} });
    expect(answers).toEqual(['svc.internal.test']);
    expect(a.seen.at(-1)?.headers.host).toBe(`svc.internal.test:${new URL(a.origin).port}`);
    // Without the allowlist the same answer is refused.
    const strict = new AddressPolicy([], resolver);
    expect((await failure(callHttpTool(tool(url), {}, { policy: strict }))).code).toBe(
      'http_forbidden_address',
    );
  });
});

describe('http tool: arguments fill the path and query only', () => {
  const policy = () => new AddressPolicy(['127.0.0.1']);

  it('refuses a definition whose host is a placeholder', () => {
    for (const url of ['http://{{host}}/x', 'http://api.{{region}}.example.com/x', 'http://h:{{port}}/x']) {
      expect(() => tool(url)).toThrow(/not in the host/);
    }
    expect(() => tool('http://user:pw@example.com/x')).toThrow(/credentials/);
  });

  it('percent-encodes values and refuses . and .. as a path segment', async () => {
    const def = tool(`${a.origin}/users/{{id}}/profile`);
    expect(await callHttpTool(def, { id: '../admin' }, { policy: policy() })).toEqual({
      path: '/users/..%2Fadmin/profile',
      query: {},
    });
    for (const id of ['..', '.', '']) {
      const err = await failure(callHttpTool(def, { id }, { policy: policy() }));
      expect(err.code).toBe('invalid_tool_args');
    }
  });

  it('keeps fixed query parameters fixed', async () => {
    const def = tool(`${a.origin}/search?api_key=fixed&q={{q}}`, { headers: { authorization: 'Bearer k' } });
    expect(await callHttpTool(def, { q: 'a&api_key=evil', page: 2 }, { policy: policy() })).toEqual({
      path: '/search',
      query: { api_key: 'fixed', q: 'a&api_key=evil', page: '2' },
    });
    const before = a.seen.length;
    const err = await failure(callHttpTool(def, { q: 'x', api_key: 'evil' }, { policy: policy() }));
    expect(err.code).toBe('invalid_tool_args');
    expect(err.message).toMatch(/override a fixed query parameter/);
    expect(a.seen.length).toBe(before);
  });

  it('bounds the arguments (depth) before building anything', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = { k: deep };
    const err = await failure(callHttpTool(tool(`${a.origin}/json`), { deep }, { policy: policy() }));
    expect(err.code).toBe('invalid_tool_args');
  });
});
