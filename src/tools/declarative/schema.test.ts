/**
 * What a declarative tool definition may say: every field's bounds, the defaults filled in, and the
 * message naming the field of a refused definition.
 */
import { describe, expect, it } from 'vitest';
import { DeclarativeToolSchema } from './schema.ts';

const http = (config: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  name: 'h',
  kind: 'http',
  description: 'd',
  config: { url: 'https://api.example.com/x', ...config },
  ...more,
});
const kb = (config: Record<string, unknown>) => ({ name: 'k', kind: 'kb', description: 'd', config });
const event = (more: Record<string, unknown>) => ({
  name: 'e',
  kind: 'client_event',
  description: 'd',
  config: { topic: 't' },
  ...more,
});

/** `path: message` of each issue, or 'ok'. */
function verdict(def: unknown): string[] | 'ok' {
  const r = DeclarativeToolSchema.safeParse(def);
  return r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('declarative tool definitions', () => {
  it.each([
    // definition, accepted or the issues (path: message)
    [event({ name: 'a'.repeat(64) }), 'ok'],
    [event({ name: 'get-user_2' }), 'ok'],
    [event({ name: 'a'.repeat(65) }), ['name: tool names are 1-64 letters, digits, _ or -']],
    [event({ name: '' }), ['name: tool names are 1-64 letters, digits, _ or -']],
    [event({ name: 'get.user' }), ['name: tool names are 1-64 letters, digits, _ or -']],
    [event({ description: '' }), [expect.stringMatching(/^description: /)]],
    [event({ description: 'd'.repeat(2000) }), 'ok'],
    [event({ description: 'd'.repeat(2001) }), [expect.stringMatching(/^description: /)]],
    [event({ timeout_ms: 300_000, execution: 'background' }), 'ok'],
    [event({ timeout_ms: 300_001 }), [expect.stringMatching(/^timeout_ms: /)]],
    [event({ timeout_ms: 0 }), [expect.stringMatching(/^timeout_ms: /)]],
    [event({ timeout_ms: 1.5 }), [expect.stringMatching(/^timeout_ms: /)]],
    [event({ execution: 'later' }), [expect.stringMatching(/^execution: /)]],
    [event({ input_schema: { type: 'object', properties: {} } }), 'ok'],
    [event({ input_schema: { type: 'string' } }), [expect.stringMatching(/^input_schema\.type: /)]],
    [event({ config: { topic: '' } }), [expect.stringMatching(/^config\.topic: /)]],
    [event({ config: { topic: 't'.repeat(257) } }), [expect.stringMatching(/^config\.topic: /)]],
    [http({ method: 'PATCH', headers: { authorization: 'Bearer k' }, max_response_bytes: 10_000_000 }), 'ok'],
    [http({ method: 'HEAD' }), [expect.stringMatching(/^config\.method: /)]],
    [http({ max_response_bytes: 10_000_001 }), [expect.stringMatching(/^config\.max_response_bytes: /)]],
    [http({ headers: { n: 1 } }), [expect.stringMatching(/^config\.headers\.n: /)]],
    [http({ allow: ['10.0.0.0/8', 'billing.internal'] }), 'ok'],
    [http({ allow: [''] }), [expect.stringMatching(/^config\.allow\.0: /)]],
    [http({ allow: Array.from({ length: 101 }, () => 'h') }), [expect.stringMatching(/^config\.allow: /)]],
    [
      http({ url: 'not a url' }),
      ['config.url: Invalid URL', 'config.url: must be an http(s)://host/... URL'],
    ],
    [http({ url: 'ftp://example.com/x' }), ['config.url: must be an http(s)://host/... URL']],
    [http({ url: 'https://{{host}}/x' }), [expect.stringMatching(/^config\.url: .*not in the host/)]],
    [kb({ documents: [{ text: 'a' }] }), 'ok'],
    [kb({ file: 'kb.json' }), 'ok'],
    [kb({}), ['config: kb tools need documents or a file']],
    [kb({ documents: [{ text: '' }] }), [expect.stringMatching(/^config\.documents\.0\.text: /)]],
    [kb({ documents: [{ id: '', text: 'a' }] }), [expect.stringMatching(/^config\.documents\.0\.id: /)]],
    [kb({ file: 'f', top_k: 20 }), 'ok'],
    [kb({ file: 'f', top_k: 21 }), [expect.stringMatching(/^config\.top_k: /)]],
    [kb({ file: 'f', top_k: 0 }), [expect.stringMatching(/^config\.top_k: /)]],
    [{ name: 'c', kind: 'client_function', description: 'd' }, 'ok'],
    [
      { name: 'c', kind: 'client_function', description: 'd', config: { x: 1 } },
      [expect.stringMatching(/^config: /)],
    ],
  ])('%j', (def, expected) => {
    expect(verdict(def)).toEqual(expected);
  });

  it('fills in the defaults: GET for http, 3 results for kb', () => {
    expect(DeclarativeToolSchema.parse(http({}))).toMatchObject({ config: { method: 'GET' } });
    expect(DeclarativeToolSchema.parse(kb({ file: 'kb.json' }))).toMatchObject({ config: { top_k: 3 } });
  });
});
