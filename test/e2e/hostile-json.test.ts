/**
 * Deep JSON from a client over the real Pipecat WebSocket endpoint: a 6000-level
 * `llm-function-call-result` (which used to end the process with a stack overflow) and a 6000-level
 * `client-ready.about` (which used to leave the session stuck, with no timeout firing) are refused
 * with a typed error to their id; the session, the server and the timeouts go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { encodeFrame } from '../../src/transports/pipecat-websocket/index.ts';
import { connectRaw, type RawClient, startTestServer, until } from './helpers.ts';

/** `{"k":{"k":…{"k":1}…}}`, `depth` objects deep, built as text (no recursion on this side either). */
const deepObject = (depth: number) => `${'{"k":'.repeat(depth)}1${'}'.repeat(depth)}`;

const sendRaw = (c: RawClient, json: string) => c.sendBytes(encodeFrame({ type: 'message', data: json }));

describe('deep JSON from a client is refused at the edge', () => {
  let server: RunningServer;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({
      readyTimeoutMs: 1500,
      // The flood below stands for many clients; here they all come from 127.0.0.1.
      limits: { maxSessionsPerClient: 100 },
      file: {
        mode: 'agent',
        models: { llm: 'scripted:script.json' },
        agents: [{ name: 'main', instructions: 'Be brief.', tools: ['pick_color'] }],
        tools: [
          {
            name: 'pick_color',
            kind: 'client_function',
            description: 'Ask the app which color the user picked',
            input_schema: { type: 'object', properties: {} },
            timeout_ms: 10_000,
          },
        ],
      },
      files: {
        'script.json': {
          rules: [
            { when: 'color', call: { name: 'pick_color', args: {} }, say: 'You picked {{result.color}}.' },
          ],
          fallback: 'Ask me about your color.',
        },
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
  });
  const connect = async () => {
    const c = await connectRaw(server.url);
    clients.push(c);
    return c;
  };

  it('a 6000-level llm-function-call-result gets error-response; the call then completes', async () => {
    const c = await connect();
    await c.ready();
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'which color did I pick' } });
    const call = await c.waitFor('in-progress', (m) => m.type === 'llm-function-call-in-progress');
    const id = call.data.tool_call_id as string;
    sendRaw(
      c,
      `{"label":"rtvi-ai","type":"llm-function-call-result","id":"deep-0001","data":{"function_name":"pick_color","tool_call_id":"${id}","arguments":{},"result":${deepObject(6000)}}}`,
    );
    const refused = await c.waitFor('refused', (m) => m.id === 'deep-0001');
    expect(refused).toEqual({
      label: 'rtvi-ai',
      type: 'error-response',
      id: 'deep-0001',
      data: { error: 'RTVI message is too deep: JSON is nested deeper than 32 levels' },
    });
    // The call is still pending: a proper result finishes the turn.
    c.send({
      label: 'rtvi-ai',
      type: 'llm-function-call-result',
      data: { function_name: 'pick_color', tool_call_id: id, arguments: {}, result: { color: 'teal' } },
    });
    const text = await until('llm text', () => {
      const t = c.messages
        .filter((m) => m.type === 'bot-llm-text')
        .map((m) => m.data.text)
        .join('');
      return t.includes('teal') ? t : undefined;
    });
    expect(text.replace(/\s+/g, ' ').trim()).toBe('You picked teal.');
  });

  it('a 6000-level client-ready.about is refused at once; the ready timeout still fires', async () => {
    const c = await connect();
    const sentAt = Date.now();
    sendRaw(
      c,
      `{"label":"rtvi-ai","type":"client-ready","id":"deep-0002","data":{"version":"2.1.0","about":{"library":"x","platform_details":${deepObject(6000)}}}}`,
    );
    const refused = await c.waitFor('refused', (m) => m.id === 'deep-0002');
    expect(refused.type).toBe('error-response');
    expect(refused.data.error).toMatch(/too deep/);
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(await c.closed).toBe(1000);
    const end = c.messages.at(-1);
    expect(end).toMatchObject({
      data: { type: 'conversation-end', data: { reason: 'client_ready_timeout' } },
    });
  });

  it('a nested but bounded about gets bot-ready promptly', async () => {
    const c = await connect();
    const sentAt = Date.now();
    sendRaw(
      c,
      `{"label":"rtvi-ai","type":"client-ready","id":"nest-0003","data":{"version":"2.1.0","about":{"library":"x","platform_details":${deepObject(20)}}}}`,
    );
    const ready = await c.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    expect(ready.id).toBe('nest-0003');
    expect(Date.now() - sentAt).toBeLessThan(1000);
  });

  it('a flood of deep client-ready messages does not lock others out', async () => {
    const flood = await Promise.all(Array.from({ length: 20 }, () => connect()));
    for (const [i, c] of flood.entries()) {
      sendRaw(
        c,
        `{"label":"rtvi-ai","type":"client-ready","id":"flood-${i}","data":{"version":"2.1.0","about":{"library":"x","platform_details":${deepObject(6000)}}}}`,
      );
    }
    const other = await connect();
    const ready = await other.ready();
    expect(ready.type).toBe('bot-ready');
    // Every flooding session is closed by the ready timeout.
    const codes = await Promise.all(flood.map((c) => c.closed));
    expect(codes.every((code) => code === 1000)).toBe(true);
  });
});
