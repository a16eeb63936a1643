/**
 * The server token as tables: the Bearer header forms read (anchored, case, spacing), whole-token
 * comparison, the tokens a Bearer header can carry (refused at start with the exact message), and the
 * 401 answer of each refusal.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bearerMatches, bearerToken, requireBearer, tokenMatches, UNAUTHORIZED_INFO } from './auth.ts';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['  Bearer abc  ', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer\tabc', 'abc'],
    ['Bearer   a.b~c+d/e-f==', 'a.b~c+d/e-f=='],
    ['xBearer abc', undefined],
    ['Bearer abc def', undefined],
    ['Bearerabc', undefined],
    ['Bearer ', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('tokenMatches and bearerMatches', () => {
  it.each([
    ['abc', 'abc', true],
    ['', 'abc', false],
    ['ABC', 'abc', false],
    [undefined, '', true],
    ['anything', '', true],
    ['anything', undefined, true],
  ])('tokenMatches(%j, %j) → %s', (given, expected, answer) => {
    expect(tokenMatches(given, expected)).toBe(answer);
  });

  it.each([
    [undefined, '', true],
    ['Basic abc', '', true],
    ['Bearer abc', 'abc', true],
    ['Bearer abd', 'abc', false],
    [undefined, 'abc', false],
  ])('bearerMatches(%j, %j) → %s', (header, expected, answer) => {
    expect(bearerMatches(header, expected)).toBe(answer);
  });
});

describe('requireBearer', () => {
  const status = async (token: string | undefined, authorization?: string) => {
    const app = new Hono();
    app.get('/g', requireBearer(token), (c) => c.json({ ok: true }));
    const res = await app.request('/g', authorization === undefined ? {} : { headers: { authorization } });
    return [res.status, await res.json()];
  };
  const REFUSED = [401, { info: UNAUTHORIZED_INFO }];

  it('the refusal text', () => {
    expect(UNAUTHORIZED_INFO).toBe('Unauthorized: send Authorization: Bearer <COLLOQUY_AUTH_TOKEN>');
  });

  it.each([
    ['', undefined, [200, { ok: true }]],
    ['abc==', 'Bearer abc==', [200, { ok: true }]],
    ['a.b~c+d/e-f', 'Bearer a.b~c+d/e-f', [200, { ok: true }]],
    ['abc==', undefined, REFUSED],
    ['abc==', 'Token abc==', REFUSED],
    ['abc==', 'Bearer abc=', REFUSED],
  ])('token %j, header %j → %j', async (token, header, answer) => {
    expect(await status(token, header)).toEqual(answer);
  });

  it.each(['a=b', 'a b', 'tök', '=abc', 'abc\n'])(
    '%j cannot be a Bearer token: refused at start',
    (token) => {
      expect(() => requireBearer(token)).toThrow(
        expect.objectContaining({
          code: 'invalid_auth_token',
          message:
            'COLLOQUY_AUTH_TOKEN may use only letters, digits and . _ ~ + / - (then = padding), as a Bearer token',
        }),
      );
    },
  );
});
