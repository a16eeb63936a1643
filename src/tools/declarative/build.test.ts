/** Declarative definitions become AI SDK tools: what each kind does when called outside a session. */
import type { ToolExecutionOptions, ToolSet } from 'ai';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { ClientChannels } from '../../session/client-channels.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { buildDeclarativeTools, parseDeclarativeTools } from './build.ts';

function build(defs: unknown[], extra: { channels?: ClientChannels } = {}) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const tools = buildDeclarativeTools(parseDeclarativeTools(defs), { bus, sessionId: 's1', ...extra });
  return { tools, rec: new EventRecorder(bus) };
}

function run(
  tools: ToolSet,
  name: string,
  args: Record<string, unknown>,
  extra: Partial<ToolExecutionOptions> = {},
) {
  const execute = tools[name]?.execute;
  if (!execute) throw new Error(`${name} has no execute`);
  // A tool may throw before it returns a promise: both are the call failing.
  return Promise.resolve().then(() => execute(args as never, { toolCallId: 'c1', messages: [], ...extra }));
}

/** The JSON schema a tool shows the LLM. */
function advertised(tools: ToolSet, name: string): unknown {
  const schema = tools[name]?.inputSchema as { jsonSchema: unknown } | undefined;
  if (!schema) throw new Error(`${name} has no input schema`);
  return schema.jsonSchema;
}

const faq = {
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
};

describe('declarative tools outside a session', () => {
  it('client_event publishes on its topic with the call id, and tells whether a client took it', async () => {
    const channels = new ClientChannels();
    const { tools, rec } = build(
      [
        {
          name: 'open_map',
          kind: 'client_event',
          description: 'Open the map',
          config: { topic: 'map.open' },
        },
      ],
      { channels },
    );
    expect(await run(tools, 'open_map', { city: 'Oslo' })).toEqual({
      delivered: false,
      reason: 'No connected client can receive client events',
      topic: 'map.open',
    });
    channels.register({ name: 'page', kinds: ['client.event'] });
    expect(await run(tools, 'open_map', { city: 'Bergen' })).toEqual({ delivered: true, topic: 'map.open' });
    expect(rec.payloads('client.event')).toEqual([
      { sessionId: 's1', topic: 'map.open', payload: { city: 'Oslo' }, toolCallId: 'c1' },
      { sessionId: 's1', topic: 'map.open', payload: { city: 'Bergen' }, toolCallId: 'c1' },
    ]);
  });

  it('a tool advertises its own input_schema to the LLM, and an open object without one', async () => {
    const own = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const { tools } = build([
      { name: 'a', kind: 'client_event', description: 'A', input_schema: own, config: { topic: 'a' } },
      { name: 'b', kind: 'client_event', description: 'B', config: { topic: 'b' } },
    ]);
    expect(await advertised(tools, 'a')).toEqual(own);
    expect(await advertised(tools, 'b')).toEqual({
      type: 'object',
      properties: {},
      additionalProperties: true,
    });
  });

  it('client_event without any client channels is never delivered', async () => {
    const { tools } = build([
      { name: 'ping', kind: 'client_event', description: 'Ping', config: { topic: 'p' } },
    ]);
    expect(await run(tools, 'ping', {})).toMatchObject({ delivered: false, topic: 'p' });
  });

  it('kb asks for a "query" string by default, and searches with it', async () => {
    const { tools } = build([faq]);
    const schema = await advertised(tools, 'faq');
    expect(schema).toEqual({
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look up' } },
      required: ['query'],
    });
    const found = (await run(tools, 'faq', { query: 'refunds days' })) as { results: Array<{ id: string }> };
    expect(found.results.map((r) => r.id)).toEqual(['refunds']);
  });

  it('kb with its own input schema searches the first string argument', async () => {
    const { tools } = build([
      {
        ...faq,
        input_schema: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
      },
    ]);
    const found = (await run(tools, 'faq', { limit: 3, topic: 'worldwide couriers' })) as {
      results: Array<{ id: string }>;
    };
    expect(found.results.map((r) => r.id)).toEqual(['shipping']);
  });

  it('kb refuses a missing or blank query with invalid_tool_args', async () => {
    const { tools } = build([faq]);
    for (const args of [{}, { query: '   ' }, { query: 42 }]) {
      await expect(run(tools, 'faq', args)).rejects.toMatchObject({
        code: 'invalid_tool_args',
        message: 'kb search needs a non-empty "query" string',
      });
    }
  });

  it('a kb tool whose documents file was never loaded is refused when built', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    const defs = parseDeclarativeTools([
      { name: 'docs', kind: 'kb', description: 'd', config: { file: 'kb.json' } },
    ]);
    expect(() => buildDeclarativeTools(defs, { bus, sessionId: 's1' })).toThrowError(
      expect.objectContaining({
        code: 'kb_without_documents',
        message: 'kb tool "docs" has no documents loaded',
      }),
    );
  });

  it('client_function without a client fails with client_functions_unavailable naming the tool', async () => {
    const { tools } = build([{ name: 'read_page', kind: 'client_function', description: 'Read the page' }]);
    await expect(run(tools, 'read_page', {})).rejects.toMatchObject({
      code: 'client_functions_unavailable',
      message: 'Tool "read_page" runs on the client, and no client can run it',
    });
  });

  it('an http call gets the caller’s abort signal: an aborted call never sends', async () => {
    const { tools } = build([
      { name: 'h', kind: 'http', description: 'd', config: { url: 'https://api.example.com/x' } },
    ]);
    const abort = new AbortController();
    const reason = new Error('turn over');
    abort.abort(reason);
    await expect(run(tools, 'h', {}, { abortSignal: abort.signal })).rejects.toBe(reason);
  });
});

describe('parseDeclarativeTools', () => {
  it('names the bad tool by index, and by name when it has one', () => {
    expect(() => parseDeclarativeTools([{ kind: 'nope' }])).toThrowError(
      expect.objectContaining({ code: 'invalid_tool', message: expect.stringMatching(/^tool #0: /) }),
    );
    expect(() =>
      parseDeclarativeTools([faq, { name: 'x', kind: 'nope', description: 'd', config: {} }]),
    ).toThrowError(
      expect.objectContaining({ code: 'invalid_tool', message: expect.stringMatching(/^tool #1 "x": /) }),
    );
    expect(() => parseDeclarativeTools([null])).toThrowError(
      expect.objectContaining({ message: expect.stringMatching(/^tool #0: /) }),
    );
    expect(() => parseDeclarativeTools('x')).toThrowError(
      expect.objectContaining({ code: 'invalid_tools', message: 'tools must be an array' }),
    );
  });
});
