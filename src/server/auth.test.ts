import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bearerMatches, bearerToken, requireBearer, tokenMatches, UNAUTHORIZED_INFO } from './auth.ts';

function app(token: string | undefined): Hono {
  const a = new Hono();
  a.get('/guarded', requireBearer(token), (c) => c.json({ ok: true }));
  return a;
}

async function status(a: Hono, authorization?: string): Promise<[number, unknown]> {
  const res = await a.request('/guarded', authorization ? { headers: { authorization } } : {});
  return [res.status, await res.json()];
}

describe('requireBearer (Hono bearerAuth)', () => {
  it('with a token: the right Bearer passes; missing, malformed or wrong ones get 401 {info}', async () => {
    const a = app('s3cret-token');
    const refused = [401, { info: UNAUTHORIZED_INFO }];
    expect(await status(a, 'Bearer s3cret-token')).toEqual([200, { ok: true }]);
    expect(await status(a, 'bearer s3cret-token')).toEqual([200, { ok: true }]);
    expect(await status(a)).toEqual(refused);
    expect(await status(a, 'Bearer')).toEqual(refused);
    expect(await status(a, 'Basic czNjcmV0')).toEqual(refused);
    expect(await status(a, 'Bearer s3cret-tokenX')).toEqual(refused);
    expect(await status(a, 'Bearer s3cret-toke')).toEqual(refused);
    expect(await status(a, 'Bearer bad token!')).toEqual(refused);
  });

  it('without a token: everything passes', async () => {
    expect(await status(app(undefined))).toEqual([200, { ok: true }]);
  });

  it('refuses a token a Bearer header cannot carry, at startup', () => {
    expect(() => requireBearer('two words')).toThrow(expect.objectContaining({ code: 'invalid_auth_token' }));
  });
});

describe('tokenMatches / bearerMatches (WebSocket upgrades, WebRTC offers)', () => {
  it('compares whole tokens', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abcd', 'abc')).toBe(false);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    expect(tokenMatches(undefined, undefined)).toBe(true);
    expect(bearerMatches('Bearer abc', 'abc')).toBe(true);
    expect(bearerMatches('Bearer  abc ', 'abc')).toBe(true);
    expect(bearerMatches('Bearer abc def', 'abc')).toBe(false);
    expect(bearerMatches('abc', 'abc')).toBe(false);
    expect(bearerMatches(undefined, undefined)).toBe(true);
    expect(bearerToken('Token abc')).toBeUndefined();
  });
});
