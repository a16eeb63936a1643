/**
 * A connection lost for good is fatal (raw `ws` clients speaking Pipecat frames, on loopback): a
 * socket that drops without a closing handshake, with no resume or past the resume window, gives a
 * `fatal` `transport` error (`transport_lost`), the session ends with reason
 * `fatal:transport_lost`, and its transcript stays readable. A client that says goodbye is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap } from '../../src/bus/events.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { connectRaw, type RawClient, startTestServer, until } from './helpers.ts';

type Seen = { errors: Array<EventMap['error']>; closes: Array<EventMap['session.close']> };

describe('transport lost for good → fatal', () => {
  let llm: FakeOpenAiChat;
  const servers: RunningServer[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    llm = await startFakeOpenAiChat(() => 'Noted.');
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const s of servers) await s.close();
    await llm?.close();
  });

  async function start(env: Record<string, string> = {}) {
    const server = await startTestServer({
      env,
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      },
    });
    servers.push(server);
    const seen = new Map<string, Seen>();
    const create = server.context.createSession;
    server.context.createSession = (transport, profile) => {
      const s = create(transport, profile);
      const record: Seen = { errors: [], closes: [] };
      seen.set(s.id, record);
      s.session.eventBus.subscribe('error', (e) => record.errors.push(e));
      s.session.eventBus.subscribe('session.close', (e) => record.closes.push(e));
      return s;
    };
    return { server, seen };
  }

  async function talk(server: RunningServer, text: string) {
    const c = await connectRaw(server.url, { user_id: 'lee' });
    clients.push(c);
    const id = (await c.ready()).data.about.session_id as string;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await c.waitFor('answer spoken', (m) => m.type === 'bot-stopped-speaking');
    return { c, id };
  }

  const closedTranscript = (server: RunningServer, id: string) =>
    until('session closed', async () => {
      const res = await fetch(`${server.url}/sessions/${id}/transcript`);
      const body = (await res.json()) as {
        closeReason?: string;
        transcript: Array<{ role: string; content: unknown }>;
      };
      return body.closeReason ? body : undefined;
    });

  it('a socket dropped without a closing handshake, no resume: fatal transport error, session ends, transcript kept', async () => {
    const { server, seen } = await start();
    const { c, id } = await talk(server, 'Please book the spa at four');
    c.ws.terminate(); // the network is gone: no close frame reaches the server (1006)
    const record = await closedTranscript(server, id);
    expect(record.closeReason).toBe('fatal:transport_lost');
    expect(record.transcript).toEqual([
      { role: 'user', content: 'Please book the spa at four' },
      { role: 'assistant', content: [{ type: 'text', text: 'Noted.' }] },
    ]);
    const fatal = seen.get(id)!.errors.filter((e) => e.severity === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ sessionId: id, component: 'transport', severity: 'fatal' });
    expect(fatal[0]!.error).toMatchObject({
      code: 'transport_lost',
      message: 'The websocket connection to the client was lost and did not come back',
    });
    expect(seen.get(id)!.closes).toEqual([{ sessionId: id, reason: 'fatal:transport_lost' }]);
  });

  it('a client that closes its socket properly ends the session without any fatal error', async () => {
    const { server, seen } = await start();
    const { c, id } = await talk(server, 'Thanks, goodbye');
    c.close();
    const record = await closedTranscript(server, id);
    expect(record.closeReason).toBe('client_disconnected');
    expect(seen.get(id)!.errors.filter((e) => e.severity === 'fatal')).toEqual([]);
  });

  it('with a resume window: lost, not back within the window → fatal; the transcript is kept', async () => {
    const { server, seen } = await start({ COLLOQUY_RESUME_WINDOW_MS: '300' });
    const { c, id } = await talk(server, 'Wake me at seven');
    const lostAt = Date.now();
    c.ws.terminate();
    const record = await closedTranscript(server, id);
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(300);
    expect(record.closeReason).toBe('fatal:transport_lost');
    expect(record.transcript[0]).toEqual({ role: 'user', content: 'Wake me at seven' });
    expect(
      seen
        .get(id)!
        .errors.filter((e) => e.severity === 'fatal')
        .map((e) => e.error.code),
    ).toEqual(['transport_lost']);
  });
});
