/**
 * How an RTVI session over the Pipecat WebSocket ends, on a real server over loopback with raw
 * clients: what the client is told, whether the server closes its socket, and the close reason the
 * transcript keeps. No resume window: a connection lost is lost for good.
 *
 * | the client                                   | told                                   | close reason           |
 * |----------------------------------------------|----------------------------------------|------------------------|
 * | sends `disconnect-bot`                       | `conversation-end` (client_disconnected), socket closed | `client_disconnected` |
 * | closes its socket                            | —                                      | `client_disconnected`  |
 * | drops its socket (no closing handshake)      | —                                      | `fatal:transport_lost` |
 * | drops its socket before `client-ready`       | —                                      | `transport_error`      |
 * | never sends `client-ready`                   | fatal `error`, `conversation-end`, socket closed | `client_ready_timeout` |
 * | talks to a session whose LLM refuses its key | fatal `error`, `conversation-end`, socket closed | `fatal:llm_auth_failed` |
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRaw,
  type RawClient,
  serverMessages,
  startTestServer,
  until,
  withoutGreeting,
} from '../../test/e2e/helpers.ts';
import type { RunningServer } from './server.ts';

describe('how an RTVI session ends', () => {
  let server: RunningServer;
  let slow: RunningServer;
  let refusing: RunningServer;
  /** An LLM endpoint (OpenAI chat-completions wire format) that refuses every request with 401. */
  let llm: Server;
  const clients: RawClient[] = [];
  /** Ids of the sessions each server created, in order. */
  const created: string[] = [];
  beforeAll(async () => {
    const start = async (readyTimeoutMs: number) => {
      const s = await startTestServer({
        env: { COLLOQUY_VAD: 'energy' },
        edit: withoutGreeting,
        readyTimeoutMs,
      });
      const create = s.context.createSession;
      s.context.createSession = (transport, profile) => {
        const session = create(transport, profile);
        created.push(session.id);
        return session;
      };
      return s;
    };
    llm = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Incorrect API key', code: 'invalid_api_key' } }));
      });
    });
    await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;
    [server, slow, refusing] = await Promise.all([
      start(60_000),
      start(300),
      startTestServer({
        env: { COLLOQUY_VAD: 'energy', COLLOQUY_OPENAI_COMPATIBLE_API_KEY: 'sk-wrong' },
        file: {
          models: { llm: `openai-compatible:gpt-test@${base}` },
          agents: [{ name: 'main', instructions: 'Be brief.' }],
        },
      }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all([server?.close(), slow?.close(), refusing?.close()]);
    await new Promise<void>((r) => llm?.close(() => r()));
  });

  const connect = async (on = server) => {
    const c = await connectRaw(on.url);
    clients.push(c);
    return c;
  };
  const readyId = async (c: RawClient) => (await c.ready()).data.about.session_id as string;
  /** The close reason the transcript of a closed session keeps. */
  const closeReason = (id: string, on = server) =>
    until(`session ${id} closed`, async () => {
      const res = await fetch(`${on.url}/sessions/${id}/transcript`);
      return ((await res.json()) as { closeReason?: string }).closeReason;
    });

  it('disconnect-bot: conversation-end, then the server closes the socket', async () => {
    const c = await connect();
    const id = await readyId(c);
    c.send({ label: 'rtvi-ai', type: 'disconnect-bot', id: 'bye-0001', data: {} });
    expect(await c.closed).toBe(1000);
    expect(serverMessages(c).slice(2)).toEqual([
      { type: 'conversation-end', data: { reason: 'client_disconnected' } },
    ]);
    expect(await closeReason(id)).toBe('client_disconnected');
  });

  it('the client closes its socket: client_disconnected', async () => {
    const c = await connect();
    const id = await readyId(c);
    c.close();
    await c.closed;
    expect(await closeReason(id)).toBe('client_disconnected');
  });

  it('the socket drops without a closing handshake: fatal:transport_lost', async () => {
    const c = await connect();
    const id = await readyId(c);
    c.ws.terminate();
    expect(await closeReason(id)).toBe('fatal:transport_lost');
  });

  it('the socket drops before client-ready: transport_error', async () => {
    const before = created.length;
    const c = await connect();
    const id = await until('the session', () => created[before]);
    c.ws.terminate();
    expect(await closeReason(id)).toBe('transport_error');
  });

  it('no client-ready within the limit: a fatal error, conversation-end, the socket closed', async () => {
    const before = created.length;
    const c = await connect(slow);
    const id = await until('the session', () => created[before]);
    expect(await c.closed).toBe(1000);
    const reason = 'No client-ready within 300 ms';
    expect(c.messages).toEqual([
      { label: 'rtvi-ai', type: 'error', data: { error: reason, message: reason, fatal: true } },
      {
        label: 'rtvi-ai',
        type: 'server-message',
        data: { type: 'conversation-end', data: { reason: 'client_ready_timeout' } },
      },
    ]);
    expect(await closeReason(id, slow)).toBe('client_ready_timeout');
  });

  it('a fatal provider failure: the session ends itself, the client is told and its socket closed', async () => {
    const c = await connect(refusing);
    const id = await readyId(c);
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'hello' } });
    expect(await c.closed).toBe(1000);
    expect(c.messages.filter((m) => m.type === 'error').map((m) => m.data)).toEqual([
      { error: 'llm failed (llm_auth_failed)', message: 'llm failed (llm_auth_failed)', fatal: true },
    ]);
    expect(serverMessages(c).at(-1)).toEqual({
      type: 'conversation-end',
      data: { reason: 'fatal:llm_auth_failed' },
    });
    expect(await closeReason(id, refusing)).toBe('fatal:llm_auth_failed');
  });
});
