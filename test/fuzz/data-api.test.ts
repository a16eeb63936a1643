/**
 * Fuzz (fast-check, seeded) of the data API over HTTP on loopback: hostile ids, user ids, query
 * strings and cursors on `GET /sessions`, `GET /sessions/:id`, `GET /sessions/:id/transcript`,
 * `GET`/`DELETE /users/:userId/memory` and `DELETE /users/:userId`. Every answer is below 500 and a
 * refusal is JSON `{info}`; the server goes on answering, and its heap stays bounded.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { startTestServer } from '../e2e/helpers.ts';

const SEED = 20261130;
const TOKEN = 'fuzz-token-0123456789';

const segment = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('..', '.', '%2e%2e', '%00', 'a'.repeat(5000), 'ana', '🙂', '%', '%zz', '\u0000'),
);
const query = fc.dictionary(
  fc.oneof(fc.constantFrom('user_id', 'from', 'to', 'limit', 'cursor'), fc.string({ maxLength: 10 })),
  fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.integer().map(String),
    fc.constantFrom('-1', '1e309', 'NaN', ''),
  ),
  { maxKeys: 5 },
);
const request = fc.oneof(
  query.map((q) => ({ method: 'GET', path: `/sessions?${new URLSearchParams(q)}` })),
  segment.map((id) => ({ method: 'GET', path: `/sessions/${encodeURIComponent(id)}` })),
  segment.map((id) => ({ method: 'GET', path: `/sessions/${encodeURIComponent(id)}/transcript` })),
  fc
    .tuple(fc.constantFrom('GET', 'DELETE'), segment)
    .map(([method, id]) => ({ method, path: `/users/${encodeURIComponent(id)}/memory` })),
  segment.map((id) => ({ method: 'DELETE', path: `/users/${encodeURIComponent(id)}` })),
);

describe('fuzz: data API routes', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { COLLOQUY_AUTH_TOKEN: TOKEN, COLLOQUY_MEMORY: 'on' } });
  });
  afterAll(async () => server?.close());

  it('hostile ids, queries and cursors: below 500, a refusal is JSON {info}; the server goes on', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    for (const r of fc.sample(request, { seed: SEED, numRuns: 400 })) {
      const res = await fetch(`${server.url}${r.path}`, {
        method: r.method,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const text = await res.text();
      expect(res.status, `${r.method} ${r.path}`).toBeLessThan(500);
      if (res.status >= 400 && res.status !== 404) {
        expect(JSON.parse(text), `${r.method} ${r.path}`).toMatchObject({ info: expect.any(String) });
      }
    }
    const list = await fetch(`${server.url}/sessions`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(list.status).toBe(200);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
