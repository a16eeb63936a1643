import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { buildDeclarativeTools, parseDeclarativeTools } from './build.ts';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/users/42') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 42, name: 'Alice', fields: url.searchParams.get('fields') }));
    } else if (url.pathname === '/big') {
      res.setHeader('content-type', 'text/plain');
      res.end('x'.repeat(5000));
    } else if (url.pathname === '/orders' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ received: JSON.parse(body) }));
      });
    } else {
      res.statusCode = 503;
      res.end('maintenance');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function sessionWith(defs: unknown, calls: Array<{ name: string; args: unknown }>) {
  const model = mockLanguageModel([calls.map((c, i) => ({ toolCall: { ...c, id: `c${i}` } })), 'Done.']);
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  // The test server is on loopback, which http tools only reach when allowlisted.
  const tools = buildDeclarativeTools(parseDeclarativeTools(defs), {
    bus,
    sessionId: 's',
    httpAllow: ['127.0.0.1'],
  });
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'm', instructions: 'x', tools }],
    model,
    logger: silentLogger,
    eventBus: bus,
  });
  return { session, rec: new EventRecorder(bus), model };
}

describe('declarative tools (seed 000)', () => {
  const pricingTool = [
    {
      name: 'open_pricing_page',
      kind: 'client_event',
      description: 'Navigate the user to the pricing page.',
      input_schema: { type: 'object', properties: { highlight_plan: { type: 'string' } }, required: [] },
      config: { topic: 'custom.open_pricing' },
    },
  ];

  it('client_event publishes the raw arguments object on its topic, no envelope', async () => {
    const { session, rec } = sessionWith(pricingTool, [
      { name: 'open_pricing_page', args: { highlight_plan: 'pro' } },
    ]);
    session.clientChannels.register({ name: 'test', kinds: ['client.event'] });
    await session.sendText('show me pricing');
    expect(rec.payloads('client.event')).toEqual([
      {
        sessionId: 's',
        topic: 'custom.open_pricing',
        payload: { highlight_plan: 'pro' },
        toolCallId: 'c0',
        turnId: rec.first('turn.start')?.turnId,
      },
    ]);
    expect(rec.first('tool.result')).toMatchObject({
      status: 'success',
      result: { delivered: true, topic: 'custom.open_pricing' },
    });
  });

  it('client_event tells the LLM delivered:false with a reason when no connected client takes client events', async () => {
    const { session, rec } = sessionWith(pricingTool, [
      { name: 'open_pricing_page', args: { highlight_plan: 'pro' } },
    ]);
    // A channel that takes only GUI events does not count.
    session.clientChannels.register({ name: 'gui-only', kinds: ['gui'] });
    await session.sendText('show me pricing');
    expect(rec.first('tool.result')).toMatchObject({
      status: 'success',
      result: {
        delivered: false,
        reason: 'No connected client can receive client events',
        topic: 'custom.open_pricing',
      },
    });
  });

  it('http fills URL placeholders, puts the rest in the query, parses JSON; POST sends a JSON body', async () => {
    const { session, rec } = sessionWith(
      [
        {
          name: 'get_user',
          kind: 'http',
          description: 'Look up a user',
          config: { url: `${base}/users/{{id}}` },
        },
        {
          name: 'order',
          kind: 'http',
          description: 'Place an order',
          config: { url: `${base}/orders`, method: 'POST' },
        },
      ],
      [
        { name: 'get_user', args: { id: 42, fields: 'name' } },
        { name: 'order', args: { sku: 'A1', qty: 2 } },
      ],
    );
    await session.sendText('go');
    const results = rec.payloads('tool.result');
    expect(results.find((r) => r.toolCallId === 'c0')?.result).toEqual({
      id: 42,
      name: 'Alice',
      fields: 'name',
    });
    expect(results.find((r) => r.toolCallId === 'c1')?.result).toEqual({ received: { sku: 'A1', qty: 2 } });
  });

  it('http errors (non-2xx, oversized bodies) are bounded and reported to the LLM', async () => {
    const { session, rec, model } = sessionWith(
      [
        { name: 'down', kind: 'http', description: 'A broken API', config: { url: `${base}/nope` } },
        {
          name: 'big',
          kind: 'http',
          description: 'A large body',
          config: { url: `${base}/big`, max_response_bytes: 100 },
        },
      ],
      [
        { name: 'down', args: {} },
        { name: 'big', args: {} },
      ],
    );
    await session.sendText('go');
    const results = rec.payloads('tool.result');
    expect(results.find((r) => r.toolCallId === 'c0')).toMatchObject({ status: 'error' });
    expect(results.find((r) => r.toolCallId === 'c0')?.error?.cause).toMatchObject({ code: 'http_status' });
    expect(results.find((r) => r.toolCallId === 'c1')?.result).toEqual({
      truncated: true,
      body: 'x'.repeat(100),
    });
    expect(JSON.stringify(model.calls[1].prompt)).toContain('HTTP 503');
  });

  it('kb searches its documents and returns the best passages', async () => {
    const { session, rec } = sessionWith(
      [
        {
          name: 'faq',
          kind: 'kb',
          description: 'Search the FAQ',
          config: {
            documents: [
              { id: 'refunds', title: 'Refunds', text: 'Refunds are issued within 14 days of a return.' },
              { id: 'shipping', title: 'Shipping', text: 'We ship worldwide with tracked couriers.' },
            ],
            top_k: 1,
          },
        },
      ],
      [{ name: 'faq', args: { query: 'how long do refunds take' } }],
    );
    await session.sendText('refund?');
    expect(rec.first('tool.result')?.result).toEqual({
      results: [
        {
          id: 'refunds',
          title: 'Refunds',
          text: 'Refunds are issued within 14 days of a return.',
          score: expect.any(Number),
        },
      ],
    });
  });

  it.each([
    [{}, 'tools must be an array'],
    [[{ name: 'x', kind: 'ftp', description: 'd', config: {} }], 'tool #0 "x"'],
    [[{ name: 'bad name!', kind: 'client_event', description: 'd', config: { topic: 't' } }], 'tool names'],
    [[{ name: 'h', kind: 'http', description: 'd', config: { url: 'not a url' } }], 'config.url'],
    [[{ name: 'k', kind: 'kb', description: 'd', config: {} }], 'documents or a file'],
  ])('rejects invalid definitions with a ConfigError naming the problem (%#)', (raw, message) => {
    expect(() => parseDeclarativeTools(raw)).toThrowError(
      expect.objectContaining({ message: expect.stringContaining(message) }),
    );
  });
});
