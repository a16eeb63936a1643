/** An http tool's URL template: placeholders in the path and query only, values percent-encoded. */
import { describe, expect, it } from 'vitest';
import { ToolError } from '../../errors.ts';
import { expandUrlTemplate, parseUrlTemplate, urlTemplateProblem } from './url-template.ts';

function expand(template: string, args: Record<string, unknown>, extraInQuery = false) {
  const { url, rest } = expandUrlTemplate(parseUrlTemplate(template), args, extraInQuery);
  return { url: url.href, rest };
}

function refusal(fn: () => unknown): ToolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ToolError) return err;
    throw err;
  }
  throw new Error('expected a ToolError, nothing was thrown');
}

describe('urlTemplateProblem', () => {
  it.each([
    ['https://api.example.com/users/{{id}}', undefined],
    ['HTTP://api.example.com:8080/a?b={{b}}#frag', undefined],
    ['http://api.example.com', undefined],
    ['ftp://api.example.com/x', 'must be an http(s)://host/... URL'],
    ['api.example.com/x', 'must be an http(s)://host/... URL'],
    [' https://api.example.com/x', 'must be an http(s)://host/... URL'],
    ['https://{{host}}/x', 'placeholders may only stand in the path or the query, not in the host'],
    [
      'https://api.{{env}}.example.com/x',
      'placeholders may only stand in the path or the query, not in the host',
    ],
    ['https://api.example.com}}/x', 'placeholders may only stand in the path or the query, not in the host'],
    [
      'https://api.example.com:{{port}}/x',
      'placeholders may only stand in the path or the query, not in the host',
    ],
    ['https://user:pw@api.example.com/x', 'must not carry credentials (use headers)'],
    ['https://user@api.example.com/x', 'must not carry credentials (use headers)'],
    ['https://:pw@api.example.com/x', 'must not carry credentials (use headers)'],
    ['https://api.example.com:99999/x', 'has an invalid host'],
    ['https:///x', 'has an invalid host'],
  ])('%s → %s', (template, problem) => {
    expect(urlTemplateProblem(template)).toBe(problem);
  });
});

describe('parseUrlTemplate', () => {
  it('splits the fixed origin from the path and query (an empty path is "/")', () => {
    expect(parseUrlTemplate('https://API.example.com:8443/v1/{{id}}?lang={{lang}}#x')).toEqual({
      origin: 'https://api.example.com:8443',
      path: '/v1/{{id}}',
      query: '?lang={{lang}}',
    });
    expect(parseUrlTemplate('http://example.com')).toEqual({
      origin: 'http://example.com',
      path: '/',
      query: '',
    });
  });

  it('refuses a bad template with invalid_http_url and the reason', () => {
    const err = refusal(() => parseUrlTemplate('https://{{host}}/x'));
    expect(err.code).toBe('invalid_http_url');
    expect(err.message).toBe(
      'http tool URL placeholders may only stand in the path or the query, not in the host',
    );
    expect(refusal(() => parseUrlTemplate('nope')).message).toBe(
      'http tool URL must be an http(s)://host/... URL',
    );
  });
});

describe('expandUrlTemplate', () => {
  it('percent-encodes each value into its component and reports the arguments no placeholder used', () => {
    expect(
      expand('https://api.example.com/users/{{ id }}/files/{{name}}?q={{q}}', {
        id: 'a/b?c#d',
        name: 'x y&z',
        q: 'é & =',
        limit: 5,
      }),
    ).toEqual({
      url: 'https://api.example.com/users/a%2Fb%3Fc%23d/files/x%20y%26z?q=%C3%A9%20%26%20%3D',
      rest: { limit: 5 },
    });
  });

  it('numbers and booleans become text; a missing value in the query is empty', () => {
    expect(expand('https://api.example.com/p/{{n}}?flag={{f}}&opt={{o}}', { n: 42, f: false }).url).toBe(
      'https://api.example.com/p/42?flag=false&opt=',
    );
  });

  it.each([
    ['.', 'a "." segment'],
    ['..', 'a ".." segment'],
    ['', 'an empty segment'],
    [undefined, 'a missing value'],
    [null, 'a null value'],
  ])('refuses %j as a path value (%s): it could climb or collapse the path', (value, _why) => {
    const err = refusal(() => expand('https://api.example.com/users/{{id}}/profile', { id: value }));
    expect(err.code).toBe('invalid_tool_args');
    expect(err.message).toBe('Argument "id" must be a non-empty path segment');
  });

  it('"." and ".." are fine as query values, and encoded dots are plain text in a path', () => {
    expect(expand('https://api.example.com/x?dir={{d}}', { d: '..' }).url).toBe(
      'https://api.example.com/x?dir=..',
    );
    expect(expand('https://api.example.com/users/{{id}}', { id: '...' }).url).toBe(
      'https://api.example.com/users/...',
    );
  });

  it('refuses an object or array as a placeholder value', () => {
    for (const value of [{ a: 1 }, [1, 2]]) {
      const err = refusal(() => expand('https://api.example.com/x?q={{q}}', { q: value }));
      expect(err.code).toBe('invalid_tool_args');
      expect(err.message).toBe('Argument "q" must be a string or number for the URL');
    }
  });

  it('an argument cannot change the host, even where the template path starts with "//"', () => {
    const err = refusal(() => expand('https://api.example.com//{{h}}/x', { h: 'evil.example.com' }));
    expect(err.code).toBe('invalid_tool_args');
    expect(err.message).toBe('Arguments may not change the host of an http tool');
    // In an ordinary path the value is encoded, slashes included: the host stays.
    expect(expand('https://api.example.com/{{p}}', { p: '//evil.example.com' }).url).toBe(
      'https://api.example.com/%2F%2Fevil.example.com',
    );
  });

  it('with extraInQuery, leftover arguments go in the query (objects as JSON, null and undefined skipped)', () => {
    const { url, rest } = expand(
      'https://api.example.com/search?lang=en',
      { q: 'a b', page: 2, filter: { tag: 'x' }, none: null, gone: undefined },
      true,
    );
    expect(url).toBe('https://api.example.com/search?lang=en&q=a+b&page=2&filter=%7B%22tag%22%3A%22x%22%7D');
    expect(rest).toEqual({ q: 'a b', page: 2, filter: { tag: 'x' }, none: null, gone: undefined });
  });

  it('without extraInQuery, leftover arguments stay out of the URL', () => {
    expect(expand('https://api.example.com/search?lang=en', { q: 'a' }).url).toBe(
      'https://api.example.com/search?lang=en',
    );
  });

  it('a leftover argument may not replace a query parameter the template fixes', () => {
    const err = refusal(() => expand('https://api.example.com/search?lang=en', { lang: 'de' }, true));
    expect(err.code).toBe('invalid_tool_args');
    expect(err.message).toBe('Argument "lang" would override a fixed query parameter');
    // A fixed parameter filled by a placeholder is fine, and the value is not added twice.
    expect(expand('https://api.example.com/search?lang={{lang}}', { lang: 'de' }, true).url).toBe(
      'https://api.example.com/search?lang=de',
    );
  });
});
