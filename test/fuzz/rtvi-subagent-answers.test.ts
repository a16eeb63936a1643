/**
 * Fuzz (fast-check, seeded) over a real server on loopback: hostile answers to subagent questions
 * over RTVI, as `ui-event` `subagent-ui-response` and as `client-message` `subagent-ui-response`.
 * With no question pending, every answer gets a typed `error-response` naming its code, the session
 * goes on (a ping is answered after each batch) and the server's heap stays bounded.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { connectRaw, startTestServer, withoutGreeting } from '../e2e/helpers.ts';

const SEED = 20261130;

const payload = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }),
  fc.record({
    request_id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.constant('req_1')),
    answer: fc.jsonValue({ maxDepth: 4 }),
    cancelled: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 })),
  }),
);

describe('fuzz: RTVI answers to subagent questions', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The per-session message budget is tested elsewhere; here every case must reach the handler.
    server = await startTestServer({ edit: withoutGreeting, limits: { rtviMessagesPerSecond: 100_000 } });
  });
  afterAll(async () => server?.close());

  it('every hostile answer gets a typed error-response; the session goes on', async () => {
    const c = await connectRaw(server.url);
    await c.ready();
    const heapBefore = process.memoryUsage().heapUsed;
    const cases = fc.sample(fc.tuple(fc.boolean(), payload), { seed: SEED, numRuns: 300 });
    for (let batch = 0; batch < cases.length; batch += 40) {
      const ids: string[] = [];
      cases.slice(batch, batch + 40).forEach(([asUiEvent, d], i) => {
        const id = `f-${batch + i}`;
        ids.push(id);
        c.send(
          asUiEvent
            ? { label: 'rtvi-ai', type: 'ui-event', id, data: { event: 'subagent-ui-response', payload: d } }
            : { label: 'rtvi-ai', type: 'client-message', id, data: { t: 'subagent-ui-response', d } },
        );
      });
      const pingId = `ping-${batch}`;
      c.send({ label: 'rtvi-ai', type: 'client-message', id: pingId, data: { t: 'ping' } });
      await c.waitFor(`ping ${batch}`, (m) => m.id === pingId, 20_000);
      for (const id of ids) {
        const reply = c.messages.find((m) => m.id === id);
        expect(reply?.type, id).toBe('error-response');
        expect(reply?.data.error).toMatch(/^ui_[a-z_]+: /);
      }
    }
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    c.ws.terminate();
  }, 60_000);
});
