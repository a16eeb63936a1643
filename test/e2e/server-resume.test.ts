/**
 * Resume over the Pipecat WebSocket transport, with a raw `ws` client on loopback: the handle comes
 * in `bot-ready`'s `about`, a dropped client reconnects with it through `POST /connect` and continues
 * the same conversation (same session id, same history); replayed, forged, foreign and expired
 * handles are refused with clear errors; two clients racing for one handle: one wins; a client that
 * does not come back in time ends the session with its transcript stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { connectRaw, openRaw, type RawClient, startTestServer, until } from './helpers.ts';

const userTexts = (r: ChatRequest) =>
  r.messages.filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : ''));

describe('resume over the Pipecat WebSocket transport', () => {
  let llm: FakeOpenAiChat;
  let server: RunningServer;
  const clients: RawClient[] = [];

  const connect = async (requestData: Record<string, unknown>) => {
    const c = await connectRaw(server.url, requestData);
    clients.push(c);
    return c;
  };
  const post = async (requestData: unknown) => {
    const res = await fetch(`${server.url}/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(requestData),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const say = async (c: RawClient, text: string) => {
    const before = c.messages.filter((m) => m.type === 'bot-llm-stopped').length;
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await until('answer', () =>
      c.messages.filter((m) => m.type === 'bot-llm-stopped').length > before ? true : undefined,
    );
  };

  beforeAll(async () => {
    llm = await startFakeOpenAiChat((r) => `Noted: ${userTexts(r).at(-1)}`);
    server = await startTestServer({
      env: { COLLOQUY_RESUME_WINDOW_MS: '800' },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
    await llm?.close();
  });

  it('a dropped client comes back with its handle and continues the same conversation', async () => {
    const resumes: unknown[] = [];
    const create = server.context.createSession;
    server.context.createSession = (transport, profile) => {
      const s = create(transport, profile);
      s.session.eventBus.subscribe('session.resume', (e) => resumes.push(e));
      return s;
    };
    const first = await connect({ user_id: 'ana' });
    const ready = await first.ready();
    const { session_id: id, resume_handle: handle, resume_expires_at: expires } = ready.data.about;
    expect(handle).toMatch(/^[\w-]{43}$/);
    expect(expires).toBeGreaterThan(Date.now());
    await say(first, 'My room is 214');
    first.ws.terminate(); // a killed socket

    const resumed = await connectRaw(server.url, { user_id: 'ana', resume_handle: handle });
    clients.push(resumed);
    const again = await resumed.ready();
    expect(again.data.about.session_id).toBe(id);
    expect(again.data.about.resume_handle).not.toBe(handle); // a fresh handle for the next drop
    expect(resumes).toEqual([{ sessionId: id, handle }]);
    server.context.createSession = create;
    const n = llm.requests.length;
    await say(resumed, 'And breakfast?');
    // Same history: the model sees the turn from before the drop.
    expect(userTexts(llm.requests[n]!)).toEqual(['My room is 214', 'And breakfast?']);
    expect(server.context.registry.activeCount).toBe(1);

    // The used handle is refused (replay), and so are forged ones.
    const replay = await post({ resume_handle: handle });
    expect(replay).toEqual({
      status: 409,
      body: { info: expect.stringMatching(/already used/), code: 'resume_used' },
    });
    const forged = await post({ resume_handle: 'A'.repeat(43) });
    expect(forged).toEqual({ status: 404, body: { info: 'Unknown resume handle', code: 'resume_unknown' } });
    expect((await post({ resume_handle: 'short' })).status).toBe(400);

    // Another user's client cannot take the session.
    const latest = again.data.about.resume_handle as string;
    const foreign = await post({ user_id: 'mallory', resume_handle: latest });
    expect(foreign).toEqual({
      status: 403,
      body: { info: expect.stringMatching(/another user/), code: 'resume_foreign' },
    });
    resumed.ws.terminate();
  });

  it('two clients racing for one handle: one wins, the other is told why', async () => {
    const c = await connect({ user_id: 'bo' });
    const handle = (await c.ready()).data.about.resume_handle as string;
    c.ws.terminate();
    const [a, b] = await Promise.all([post({ resume_handle: handle }), post({ resume_handle: handle })]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const winner = a.status === 200 ? a : b;
    const loser = a.status === 200 ? b : a;
    expect(loser.body.code).toBe('resume_used');
    const w = await openRaw(winner.body.ws_url);
    clients.push(w);
    await w.ready();
    w.ws.terminate();
  });

  it('a client that does not come back within the window: the session closes, its transcript kept; the handle then fails', async () => {
    const c = await connect({ user_id: 'cy' });
    const { session_id: id, resume_handle: handle } = (await c.ready()).data.about;
    await say(c, 'Please wake me at seven');
    c.ws.terminate();
    const record = await until('closed after the window', async () => {
      const res = await fetch(`${server.url}/sessions/${id}/transcript`);
      const body = (await res.json()) as { closeReason?: string; transcript: Array<{ role: string }> };
      return body.closeReason ? body : undefined;
    });
    // Dropped without a closing handshake and not back in time: the connection was lost for good.
    expect(record.closeReason).toBe('fatal:transport_lost');
    expect(record.transcript[0]).toEqual({ role: 'user', content: 'Please wake me at seven' });
    const late = await post({ resume_handle: handle });
    expect(late).toEqual({ status: 410, body: { info: 'The session has ended', code: 'resume_gone' } });
  });
});
