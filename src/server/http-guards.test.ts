import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { originAllowed, publicOrigin } from './http-guards.ts';

const HOST = 'voice.example.com';

describe('originAllowed: may a page of this origin use the server?', () => {
  it.each([
    // origin, allowed origins, answer
    [undefined, [], true], // no Origin header: not a browser page
    ['https://voice.example.com', [], true], // same origin
    ['http://localhost:5173', [], true], // loopback
    ['http://127.0.0.1:3000', [], true],
    ['https://app.example.com', [], false],
    ['https://app.example.com', ['https://app.example.com'], true],
    ['https://app.example.com', ['https://other.example.com'], false],
    ['https://app.example.com', ['*'], true], // any origin
    ['null', ['https://app.example.com'], false], // an opaque origin
    ['ftp://app.example.com', ['https://app.example.com'], false],
  ] as const)('%s with %j → %s', (origin, allowedOrigins, answer) => {
    expect(originAllowed(origin, HOST, { allowedOrigins })).toBe(answer);
  });
});

describe('publicOrigin: the origin a client reached the server at', () => {
  /** The origin a request to `url` with `headers` gets, through a real Hono app. */
  const originOf = async (url: string, headers: Record<string, string>, trustProxy: boolean) => {
    const app = new Hono();
    app.get('/', (c) => c.text(publicOrigin(c, { trustProxy })));
    return (await app.request(url, { headers })).text();
  };
  it.each([
    // url, headers, trustProxy, origin
    ['http://10.0.0.5:3000/', {}, false, 'http://10.0.0.5:3000'],
    ['https://app.example.com/', {}, false, 'https://app.example.com'],
    [
      'http://10.0.0.5:3000/',
      { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      false,
      'http://10.0.0.5:3000',
    ],
    [
      'http://10.0.0.5:3000/',
      { 'x-forwarded-host': 'voice.example.com', 'x-forwarded-proto': 'https' },
      true,
      'https://voice.example.com',
    ],
    [
      'http://10.0.0.5:3000/',
      { 'x-forwarded-host': 'voice.example.com:8443, proxy.internal' },
      true,
      'http://voice.example.com:8443',
    ],
    ['http://10.0.0.5:3000/', { 'x-forwarded-host': '[2001:db8::1]' }, true, 'http://[2001:db8::1]'],
    [
      'http://10.0.0.5:3000/',
      { 'x-forwarded-host': '[2001:db8::1]:8443' },
      true,
      'http://[2001:db8::1]:8443',
    ],
    // Not a host: the request's own host stays.
    ['http://10.0.0.5:3000/', { 'x-forwarded-host': 'a b/c' }, true, 'http://10.0.0.5:3000'],
    ['http://10.0.0.5:3000/', { 'x-forwarded-host': '[]' }, true, 'http://10.0.0.5:3000'],
    // Anything but https is http.
    ['http://10.0.0.5:3000/', { 'x-forwarded-proto': 'gopher' }, true, 'http://10.0.0.5:3000'],
  ])('%s with %j (trustProxy %s) → %s', async (url, headers, trustProxy, origin) => {
    expect(await originOf(url, headers, trustProxy)).toBe(origin);
  });
});
