/**
 * The Pipecat WebSocket endpoint against a raw `ws` client on loopback: bad input is answered and
 * the session goes on; a client that never sends `client-ready` is closed; a disconnect mid-utterance
 * keeps the transcript; stream-mode `tts-speak` limits; client-side function calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { encodeFrame } from '../../src/transports/pipecat-websocket/index.ts';
import {
  connectRaw,
  type RawClient,
  serverMessages,
  startTestServer,
  until,
  withoutGreeting,
} from './helpers.ts';

const ready = (id: string | undefined, version = '2.1.0') => ({
  label: 'rtvi-ai',
  type: 'client-ready',
  ...(id === undefined ? {} : { id }),
  data: { version, about: { library: 'raw-ws-test' } },
});

describe('Pipecat WebSocket endpoint: bad input never ends the session', () => {
  let server: RunningServer;
  const clients: RawClient[] = [];
  const connect = async (requestData: unknown = {}) => {
    const c = await connectRaw(server.url, requestData);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer({ edit: withoutGreeting, readyTimeoutMs: 600 });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
  });

  it('answers malformed JSON, bad protobuf, unknown types, missing ids, and goes on', async () => {
    const c = await connect();
    // Malformed JSON inside a MessageFrame: a non-fatal error (no id to answer).
    c.sendBytes(encodeFrame({ type: 'message', data: '{"label":"rtvi-ai",' }));
    const bad = await c.waitFor('error', (m) => m.type === 'error');
    expect(bad.data).toEqual({
      error: expect.stringMatching(/not valid JSON/),
      message: expect.any(String),
      fatal: false,
    });
    // Bytes that are no protobuf frame.
    c.sendBytes(Uint8Array.from([0x22, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await c.waitFor(
      'protobuf error',
      (m) => m.type === 'error' && /Malformed Pipecat frame/.test(m.data.error),
    );
    // client-ready without an id; then with a wrong major version.
    c.send(ready(undefined));
    await c.waitFor('missing id', (m) => m.type === 'error' && /needs an id/.test(m.data.error));
    c.send(ready('v1-ready', '1.0.0'));
    const version = await c.waitFor(
      'version refused',
      (m) => m.type === 'error-response' && m.id === 'v1-ready',
    );
    expect(version.data.error).toMatch(/1\.0\.0 is not supported/);
    // Still alive: the real handshake works.
    c.send(ready('good-001'));
    const botReady = await c.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    expect(botReady).toMatchObject({
      id: 'good-001',
      data: { version: '2.1.0', about: { library: 'colloquy' } },
    });
    expect(serverMessages(c).map((m) => m.type)).toEqual(['bot-ready', 'conversation-start']);
    // Unknown type with an id → error-response to that id.
    c.send({ label: 'rtvi-ai', type: 'launch-rockets', id: 'unk-0001', data: {} });
    const unknown = await c.waitFor('unknown', (m) => m.type === 'error-response' && m.id === 'unk-0001');
    expect(unknown.data.error).toMatch(/Unsupported RTVI message type "launch-rockets"/);
    // Unknown client-message t; tts-speak in agent mode; a request that works.
    c.send({ label: 'rtvi-ai', type: 'client-message', id: 'cm-00001', data: { t: 'nope', d: {} } });
    c.send({
      label: 'rtvi-ai',
      type: 'client-message',
      id: 'cm-00002',
      data: { t: 'tts-speak', d: { text: 'hi' } },
    });
    c.send({ label: 'rtvi-ai', type: 'client-message', id: 'cm-00003', data: { t: 'ping' } });
    expect((await c.waitFor('cm1', (m) => m.id === 'cm-00001')).data.error).toMatch(
      /Unknown client message "nope"/,
    );
    expect((await c.waitFor('cm2', (m) => m.id === 'cm-00002')).data.error).toMatch(
      /only available in stream mode/,
    );
    expect(await c.waitFor('cm3', (m) => m.id === 'cm-00003')).toMatchObject({
      type: 'server-response',
      data: { t: 'ping', d: { pong: true } },
    });
    // DTMF and invalid send-text data.
    c.send({ label: 'rtvi-ai', type: 'dtmf', id: 'dtmf-001', data: { buttons: ['1', '#'] } });
    c.send({ label: 'rtvi-ai', type: 'send-text', id: 'txt-0001', data: { content: 42 } });
    expect((await c.waitFor('send-text', (m) => m.id === 'txt-0001')).type).toBe('error-response');
    // Oversized frame (over the 1 MiB message limit): refused, socket stays open.
    c.sendBytes(encodeFrame({ type: 'message', data: `"${'x'.repeat(1_200_000)}"` }));
    await c.waitFor('oversized', (m) => m.type === 'error' && /exceeds/.test(m.data.error));
    c.send({ label: 'rtvi-ai', type: 'client-message', id: 'cm-00004', data: { t: 'ping' } });
    await c.waitFor('alive', (m) => m.id === 'cm-00004' && m.type === 'server-response');
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(c.messages.filter((m) => m.type === 'error').every((m) => m.data.fatal === false)).toBe(true);
  });

  it('closes a client that never sends client-ready, after a bounded wait', async () => {
    const c = await connect();
    const code = await c.closed;
    expect(code).toBe(1000);
    const reason = 'No client-ready within 600 ms';
    expect(c.messages).toEqual([
      { label: 'rtvi-ai', type: 'error', data: { error: reason, message: reason, fatal: true } },
      {
        label: 'rtvi-ai',
        type: 'server-message',
        data: { type: 'conversation-end', data: { reason: 'client_ready_timeout' } },
      },
    ]);
  });

  it('keeps the transcript when the client disconnects mid-utterance', async () => {
    const c = await connect();
    c.send(ready('ready-02'));
    const botReady = await c.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    const id = botReady.data.about.session_id as string;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'what time is breakfast' } });
    await c.waitFor('bot speaking', (m) => m.type === 'bot-started-speaking');
    c.ws.terminate();
    const record = await until('closed session', async () => {
      const res = await fetch(`${server.url}/sessions/${id}/transcript`);
      const body = (await res.json()) as {
        closeReason?: string;
        transcript: Array<{ role: string; content: unknown }>;
      };
      return body.closeReason ? body : undefined;
    });
    // A socket dropped without a closing handshake is a connection lost for good.
    expect(record.closeReason).toBe('fatal:transport_lost');
    expect(record.transcript[0]).toEqual({ role: 'user', content: 'what time is breakfast' });
    // The tool call and its result stay; the spoken answer is cut to what was heard (a prefix at most).
    expect(record.transcript.slice(1, 3).map((m) => m.role)).toEqual(['assistant', 'tool']);
    expect(JSON.stringify(record.transcript[1])).toContain('"toolName":"hotel_faq"');
    const spoken = record.transcript
      .slice(3)
      .filter((m) => m.role === 'assistant')
      .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
      .join(' ');
    expect('Breakfast is served from seven to ten in the garden room.'.startsWith(spoken.trim())).toBe(true);
    expect((await fetch(`${server.url}/sessions/nope/transcript`)).status).toBe(404);
  });

  it('stream mode: tts-speak truncates long texts, ignores empty ones, queues the rest', async () => {
    const c = await connect({ config: 'stream' });
    c.send(ready('ready-03'));
    await c.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    const speak = (id: string, d: unknown) =>
      c.send({ label: 'rtvi-ai', type: 'client-message', id, data: { t: 'tts-speak', d } });
    speak('tts-0001', { text: `${'word '.repeat(500)}tail` });
    speak('tts-0002', { text: '   ' });
    speak('tts-0003', {});
    expect((await c.waitFor('long', (m) => m.id === 'tts-0001')).data).toEqual({
      t: 'tts-speak',
      d: { queued: true, length: 2000 },
    });
    expect((await c.waitFor('empty', (m) => m.id === 'tts-0002')).data.d).toEqual({ queued: false });
    expect((await c.waitFor('missing', (m) => m.id === 'tts-0003')).data.d).toEqual({ queued: false });
    const first = await c.waitFor('tts text', (m) => m.type === 'bot-tts-text');
    expect(first.data.text.startsWith('word word')).toBe(true);
    c.send({ label: 'rtvi-ai', type: 'disconnect-bot', id: 'bye-0001', data: {} });
    expect(await c.closed).toBe(1000);
    expect(serverMessages(c).at(-1)).toEqual({
      type: 'conversation-end',
      data: { reason: 'client_disconnected' },
    });
    expect(c.audioFrames).toBeGreaterThan(0);
  });
});

describe('client_function tools run on the client', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      file: {
        mode: 'agent',
        models: { llm: 'scripted:script.json' },
        agents: [{ name: 'main', instructions: 'Be brief.', tools: ['pick_color'] }],
        tools: [
          {
            name: 'pick_color',
            kind: 'client_function',
            description: 'Ask the app which color the user picked',
            input_schema: { type: 'object', properties: { hint: { type: 'string' } } },
            timeout_ms: 5000,
          },
        ],
      },
      files: {
        'script.json': {
          rules: [
            {
              when: 'color',
              call: { name: 'pick_color', args: { hint: 'favourite' } },
              say: 'You picked {{result.color}}.',
            },
          ],
          fallback: 'Ask me about your color.',
        },
      },
    });
  });
  afterAll(async () => server?.close());

  it('sends llm-function-call-in-progress and uses llm-function-call-result', async () => {
    const c = await connectRaw(server.url);
    c.send(ready('ready-04'));
    await c.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'which color did I pick' } });
    const call = await c.waitFor('in-progress', (m) => m.type === 'llm-function-call-in-progress');
    expect(call.data).toEqual({
      tool_call_id: expect.any(String),
      function_name: 'pick_color',
      arguments: { hint: 'favourite' },
    });
    c.send({
      label: 'rtvi-ai',
      type: 'llm-function-call-result',
      data: {
        function_name: 'pick_color',
        tool_call_id: call.data.tool_call_id,
        arguments: call.data.arguments,
        result: { color: 'teal' },
      },
    });
    const stopped = await c.waitFor('stopped', (m) => m.type === 'llm-function-call-stopped');
    expect(stopped.data).toMatchObject({
      function_name: 'pick_color',
      cancelled: false,
      result: { color: 'teal' },
    });
    const text = await until('llm text', () => {
      const t = c.messages
        .filter((m) => m.type === 'bot-llm-text')
        .map((m) => m.data.text)
        .join('');
      return t.includes('teal') ? t : undefined;
    });
    expect(text.replace(/\s+/g, ' ').trim()).toBe('You picked teal.');
    c.ws.terminate();
  });
});
