/**
 * The server with its SQLite session store, over real sockets: conversations are stored and served
 * by the authenticated data API; a user's long-term memory survives a server restart and reaches the
 * next session's instructions; deleting a user's data deletes it; bad queries are refused.
 * The LLM is a local OpenAI-compatible server speaking the real wire format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { type ChatRequest, type FakeOpenAiChat, startFakeOpenAiChat } from './fake-openai-chat.ts';
import { connectRaw, type RawClient, startTestServer, until } from './helpers.ts';

const TOKEN = 'store-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

const lastUser = (r: ChatRequest) => {
  const m = [...r.messages].reverse().find((x) => x.role === 'user');
  return typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content);
};
const systemOf = (r: ChatRequest) => String(r.messages.find((m) => m.role === 'system')?.content ?? '');

describe('server session store (SQLite) and data API', () => {
  let dir: string;
  let llm: FakeOpenAiChat;
  let server: RunningServer | undefined;
  const clients: RawClient[] = [];

  const start = async () => {
    server = await startTestServer({
      env: { COLLOQUY_STORE: join(dir, 'colloquy.db'), COLLOQUY_AUTH_TOKEN: TOKEN, COLLOQUY_MEMORY: 'on' },
      file: {
        models: { llm: `openai-compatible:chat-model@${llm.baseURL}` },
        agents: [{ name: 'concierge', instructions: 'You are the hotel concierge.' }],
      },
    });
    return server;
  };
  const talk = async (s: RunningServer, userId: string, text: string) => {
    const c = await connectRaw(s.url, { user_id: userId }, auth);
    clients.push(c);
    const botReady = await c.ready();
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
    await c.waitFor('bot answer', (m) => m.type === 'bot-llm-stopped');
    return { c, id: botReady.data.about.session_id as string };
  };
  const get = async (s: RunningServer, path: string, headers: Record<string, string> = auth) => {
    const res = await fetch(`${s.url}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-server-store-'));
    llm = await startFakeOpenAiChat((r) => {
      // The memory extractor asks for a JSON array; the conversation gets plain answers.
      if (/Extract durable facts/.test(systemOf(r))) {
        return /Ana/.test(lastUser(r)) ? '["Name is Ana", "Prefers the sea view"]' : '[]';
      }
      return `You said: ${lastUser(r)}`;
    });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await server?.close();
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores the conversation; the user's memory survives a restart and reaches the next session's instructions", async () => {
    const first = await start();
    const { c, id } = await talk(first, 'ana', 'I am Ana and I like the sea view');
    c.close();
    await until('memory extracted', async () => {
      const { body } = await get(first, '/users/ana/memory');
      return body.facts.length === 2 ? body : undefined;
    });
    await first.close();

    // A new server process state over the same file.
    const second = await start();
    const list = await get(second, '/sessions?user_id=ana');
    expect(list.status).toBe(200);
    expect(list.body.sessions).toEqual([
      expect.objectContaining({ id, userId: 'ana', transport: 'websocket', state: 'closed', turnCount: 2 }),
    ]);
    const detail = await get(second, `/sessions/${id}`);
    expect(detail.body.transcript.map((t: any) => [t.role, t.text])).toEqual([
      ['user', 'I am Ana and I like the sea view'],
      ['assistant', 'You said: I am Ana and I like the sea view'],
    ]);
    expect(detail.body.session.closeReason).toBe('client_disconnected');
    // The old transcript route reads the stored conversation too.
    const transcript = await get(second, `/sessions/${id}/transcript`);
    expect(transcript.body.transcript[0]).toEqual({
      role: 'user',
      content: 'I am Ana and I like the sea view',
    });

    const before = llm.requests.length;
    await talk(second, 'ana', 'What do you know about me?');
    const chat = llm.requests.slice(before).find((r) => !/Extract durable facts/.test(systemOf(r)))!;
    expect(systemOf(chat)).toContain('You are the hotel concierge.');
    expect(systemOf(chat)).toContain('- Name is Ana');
    expect(systemOf(chat)).toContain('- Prefers the sea view');
    // Another user's session does not get Ana's facts.
    const n = llm.requests.length;
    await talk(second, 'bo', 'Hello');
    expect(systemOf(llm.requests.slice(n).find((r) => !/Extract/.test(systemOf(r)))!)).not.toContain('Ana');
  });

  it("deletes one fact, then all of a user's data (memory and transcripts); others stay", async () => {
    const s = server!;
    let res = await fetch(`${s.url}/users/ana/memory?fact=${encodeURIComponent('prefers THE sea view')}`, {
      method: 'DELETE',
      headers: auth,
    });
    expect(await res.json()).toEqual({ userId: 'ana', deleted: 1 });
    expect((await get(s, '/users/ana/memory')).body.facts.map((f: any) => f.fact)).toEqual(['Name is Ana']);
    res = await fetch(`${s.url}/users/ana`, { method: 'DELETE', headers: auth });
    expect(res.status).toBe(200);
    // Ana's second session was still live: it ends first (its memory extraction re-states both facts).
    expect(await res.json()).toEqual({ userId: 'ana', deletedSessions: 2, deletedFacts: 2 });
    expect((await get(s, '/sessions?user_id=ana')).body.sessions).toEqual([]);
    expect((await get(s, '/users/ana/memory')).body.facts).toEqual([]);
    expect((await get(s, '/sessions?user_id=bo')).body.sessions).toHaveLength(1);
  });

  it('refuses requests without the token, bad ids and bad queries with clear errors', async () => {
    const s = server!;
    expect((await get(s, '/sessions', {})).status).toBe(401);
    expect((await get(s, '/users/bo/memory', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await fetch(`${s.url}/users/bo`, { method: 'DELETE' })).status).toBe(401);
    const cases: Array<[string, number, RegExp]> = [
      ['/sessions?limit=0', 400, /limit: must be 1-100/],
      ['/sessions?limit=5000', 400, /limit/],
      ['/sessions?from=yesterday', 400, /from: must be epoch milliseconds or an ISO date/],
      ['/sessions?cursor=not-a-cursor', 400, /cursor is not one this server gave out/],
      ['/sessions?user_id=' + 'x'.repeat(200), 400, /user_id/],
      ['/sessions?surprise=1', 400, /Invalid query/],
      ['/sessions/no%20such', 400, /Invalid session id/],
      ['/sessions/unknown-session', 404, /No such session/],
      ['/users/bad%2Fid/memory', 400, /Invalid user id/],
    ];
    for (const [path, status, info] of cases) {
      const r = await get(s, path);
      expect([path, r.status]).toEqual([path, status]);
      expect(r.body.info).toMatch(info);
    }
    const from = new Date(Date.now() - 60_000).toISOString();
    expect((await get(s, `/sessions?from=${encodeURIComponent(from)}&limit=1`)).body.sessions).toHaveLength(
      1,
    );
  });
});

describe('server data API without COLLOQUY_AUTH_TOKEN', () => {
  it('is closed (403): it serves personal data', async () => {
    const s = await startTestServer({});
    try {
      const res = await fetch(`${s.url}/sessions`);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { info: string }).info).toMatch(/needs COLLOQUY_AUTH_TOKEN/);
    } finally {
      await s.close();
    }
  });
});

describe('server start with an unusable store file', () => {
  it('fails at start with a clear StoreError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-bad-store-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'c.db'), 'not a database at all'.repeat(300));
    try {
      await expect(startTestServer({ env: { COLLOQUY_STORE: join(dir, 'c.db') } })).rejects.toMatchObject({
        code: 'store_corrupt',
        message: expect.stringContaining(join(dir, 'c.db')),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
