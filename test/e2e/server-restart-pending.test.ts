/**
 * Work under way at a restart. A background tool and a background subagent (waiting on the user's
 * answer to its question) run inside the server process and cannot outlive it; the conversation does.
 * After a graceful shutdown the client comes back to a new server over the same SQLite file and:
 * the subagent's question is withdrawn (`subagent-ui-cancel {reason: 'server_restarted'}`), the
 * agent is told in one note what did not finish and tells the user (scripted LLM: it answers only
 * to that note), and the store records the tool call as ended (`error`, interrupted).
 * Real sockets on loopback; the LLM is the scripted model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { interruptedSubagentNote, interruptedToolNote } from '../../src/session/pending-work.ts';
import {
  connectRaw,
  type RawClient,
  type RtviMsg,
  serverMessages,
  startTestServer,
  until,
} from './helpers.ts';
import { ASKED_DESK, LEAVE_LATER, QUESTION, subagentScenario } from './subagent-scenario.ts';

const TOKEN = 'restart-pending-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const SORRY = 'Sorry, the server restarted: I have to start that again.';

describe('work under way at a server restart', () => {
  let dir: string;
  const servers: RunningServer[] = [];
  const clients: RawClient[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-restart-pending-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (db: string) => {
    const server = await startTestServer({
      env: {
        COLLOQUY_STORE: join(dir, db),
        COLLOQUY_RESUME_WINDOW_MS: '20000',
        COLLOQUY_AUTH_TOKEN: TOKEN,
      },
      ...subagentScenario({
        tools: [
          {
            name: 'report',
            kind: 'client_function',
            description: 'Build the weekly report on the client',
            execution: 'background',
            timeout_ms: 120_000,
          },
        ],
        rules: [
          { when: 'did not finish: the server restarted', say: SORRY },
          { when: 'weekly report', call: { name: 'report', args: {} }, say: 'The report is on its way.' },
        ],
        fallback: 'Noted.',
      }),
    });
    servers.push(server);
    return server;
  };
  const connect = async (server: RunningServer, requestData: Record<string, unknown>) => {
    const c = await connectRaw(server.url, requestData, auth);
    clients.push(c);
    return c;
  };
  const say = (c: RawClient, text: string) =>
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
  /** The bot's streamed words so far contain `text`. */
  const botSaid = (c: RawClient, text: string) =>
    until(`bot said "${text}"`, () => {
      const said = c.messages
        .filter((m: RtviMsg) => m.type === 'bot-llm-text')
        .map((m) => m.data.text as string)
        .join('');
      return said.includes(text) ? true : undefined;
    });
  const fromServer = (c: RawClient, type: string) =>
    until(type, () => serverMessages(c).find((m) => m.type === type));
  const stored = async (server: RunningServer, id: string) => {
    const res = await fetch(`${server.url}/sessions/${id}`, { headers: auth });
    return (await res.json()) as {
      toolCalls: Array<{ name: string; status?: string; result?: unknown }>;
    };
  };
  const history = async (server: RunningServer, id: string) => {
    const res = await fetch(`${server.url}/sessions/${id}/transcript`, { headers: auth });
    return ((await res.json()) as { transcript: Array<{ role: string; content: unknown }> }).transcript;
  };

  /** Starts a subagent that waits on a question, and a background tool the client never answers. */
  const startWork = async (c: RawClient) => {
    say(c, LEAVE_LATER);
    const request = await fromServer(c, 'subagent-ui-request');
    expect(request.data).toMatchObject({ subagentName: 'desk', prompt: QUESTION });
    await botSaid(c, ASKED_DESK);
    say(c, 'Please make the weekly report');
    await c.waitFor(
      'the report asked of the client',
      (m) => m.type === 'llm-function-call-in-progress' && m.data?.function_name === 'report',
    );
    await botSaid(c, 'The report is on its way.');
    return request.data.requestId as string;
  };

  const expectAccount = async (server: RunningServer, c: RawClient, id: string, requestId: string) => {
    await c.ready();
    // The question the dead subagent asked is withdrawn on the page …
    const cancel = await fromServer(c, 'subagent-ui-cancel');
    expect(cancel.data).toEqual({ type: 'cancel', requestId, reason: 'server_restarted' });
    // … the agent is told what did not finish, and tells the user.
    await botSaid(c, SORRY);
    const notes = (await history(server, id)).filter(
      (m) => m.role === 'user' && typeof m.content === 'string' && m.content.includes('did not finish'),
    );
    expect(notes).toHaveLength(1);
    const note = notes[0]!.content as string;
    expect(note).toContain(interruptedSubagentNote('desk', [QUESTION]));
    expect(note).toMatch(/\[Background tool "report" \(\S+\) did not finish/);
    const toolCallId = /tool "report" \((\S+)\)/.exec(note)![1]!;
    expect(note).toContain(interruptedToolNote('report', toolCallId));
    // The store records the tool call as ended: interrupted, not left running.
    const record = await until('the tool call ended in the store', async () => {
      const r = await stored(server, id);
      return r.toolCalls.find((t) => t.name === 'report' && t.status !== undefined);
    });
    expect(record).toMatchObject({
      status: 'error',
      result: { error: expect.stringMatching(/interrupted/) },
    });
    // The answer to the withdrawn question is refused with the reason; the session goes on.
    c.send({
      label: 'rtvi-ai',
      type: 'client-message',
      id: 'late-answer',
      data: { t: 'subagent-ui-response', d: { requestId, value: 'yes' } },
    });
    const refusal = await c.waitFor('refusal', (m) => m.type === 'error-response' && m.id === 'late-answer');
    expect(refusal.data.error).toMatch(/^ui_request_unknown: /);
  };

  it('graceful shutdown: the client comes back and hears what did not finish', async () => {
    const first = await start('graceful.db');
    const c = await connect(first, { user_id: 'ana' });
    const id = (await c.ready()).data.about.session_id as string;
    const requestId = await startWork(c);

    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const notice = serverMessages(c).find((m) => m.type === 'server-shutdown');
    const handle = (notice!.data as { resume_handle: string }).resume_handle;

    const second = await start('graceful.db');
    expect(second.context.resume?.pickedUp).toBe(1);
    const back = await connect(second, { user_id: 'ana', resume_handle: handle });
    await expectAccount(second, back, id, requestId);
  });
});
