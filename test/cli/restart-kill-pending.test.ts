/**
 * Work under way when the server process is killed without warning (SIGKILL): `colloquy start` as a
 * child process over a SQLite file, a session with a background subagent waiting on the user's
 * answer and a background tool the client never answered, then a turn still running (its inline
 * tool waits on the client). `kill -9`; a new process over the same file; the client comes back with
 * the handle it got in `bot-ready`. What the last snapshot promises holds: the history as of the last
 * finished turn, the subagent's question withdrawn, the tool ended as interrupted, the agent telling
 * the user. What it does not keep (docs/storage.md) is checked too: the running turn's words are in
 * the stored transcript but not in the resumed history, and its inline tool call has no result.
 * Real sockets; the LLM is the scripted model of the shared subagent scenario.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interruptedSubagentNote, interruptedToolNote } from '../../src/session/pending-work.ts';
import { SqliteSessionStore } from '../../src/store/sqlite-store.ts';
import type { ResumeSnapshot } from '../../src/store/types.ts';
import { connectRaw, type RawClient, type RtviMsg, serverMessages, until } from '../e2e/helpers.ts';
import { ASKED_DESK, LEAVE_LATER, QUESTION, subagentScenario } from '../e2e/subagent-scenario.ts';
import { type Running, startColloquy } from './run.ts';

const TOKEN = 'restart-kill-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const SORRY = 'Sorry, the server restarted: I have to start that again.';
const MINIBAR = 'Please check the minibar';

describe('SIGKILL with work under way, then resume on a new process', () => {
  let dir: string;
  const runs: Running[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-restart-kill-'));
    const clientTool = (name: string, execution: 'inline' | 'background') => ({
      name,
      kind: 'client_function',
      description: `${name} on the client`,
      execution,
      timeout_ms: 120_000,
    });
    const { file, files } = subagentScenario({
      tools: [clientTool('report', 'background'), clientTool('minibar', 'inline')],
      rules: [
        { when: 'did not finish: the server restarted', say: SORRY },
        { when: 'weekly report', call: { name: 'report', args: {} }, say: 'The report is on its way.' },
        { when: 'minibar', call: { name: 'minibar', args: {} }, say: 'The minibar is full.' },
      ],
      fallback: 'Noted.',
    });
    await writeFile(join(dir, 'config.json'), JSON.stringify(file));
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), JSON.stringify(content));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const r of runs) r.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const db = () => join(dir, 'colloquy.db');
  const start = async () => {
    const started = await startColloquy({
      COLLOQUY_CONFIG: join(dir, 'config.json'),
      COLLOQUY_STORE: db(),
      COLLOQUY_RESUME_WINDOW_MS: '60000',
      COLLOQUY_AUTH_TOKEN: TOKEN,
      COLLOQUY_WORKERS: '1',
    });
    runs.push(started.run);
    return started;
  };
  const connect = async (url: string, requestData: Record<string, unknown>) => {
    const c = await connectRaw(url, requestData, auth);
    clients.push(c);
    return c;
  };
  const say = (c: RawClient, text: string) =>
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: text } });
  const botSaid = (c: RawClient, text: string) =>
    until(
      `bot said "${text}"`,
      () =>
        c.messages
          .filter((m: RtviMsg) => m.type === 'bot-llm-text')
          .map((m) => m.data.text as string)
          .join('')
          .includes(text) || undefined,
      30_000,
    );
  const asked = (c: RawClient, name: string) =>
    c.waitFor(
      `${name} asked of the client`,
      (m) => m.type === 'llm-function-call-in-progress' && m.data?.function_name === name,
    );
  const get = async <T>(url: string, path: string) =>
    (await (await fetch(`${url}${path}`, { headers: auth })).json()) as T;
  type Stored = {
    transcript: Array<{ role: string; text: string }>;
    toolCalls: Array<{ name: string; status?: string; result?: unknown }>;
  };
  type Message = { role: string; content: unknown };
  /** A message's text (its text parts joined). */
  const textOf = (m: Message) =>
    typeof m.content === 'string'
      ? m.content
      : (m.content as Array<{ type: string; text?: string }>).map((p) => p.text ?? '').join('');

  it('the resumed session keeps the history of its last snapshot and reports the work that died', async () => {
    const first = await start();
    const c1 = await connect(first.url, { user_id: 'ana' });
    const about = (await c1.ready()).data.about as Record<string, string>;
    const id = about.session_id!;
    say(c1, 'My room is 214');
    await botSaid(c1, 'Noted.');
    say(c1, LEAVE_LATER);
    const request = await until('the question', () =>
      serverMessages(c1).find((m) => m.type === 'subagent-ui-request'),
    );
    expect(request.data).toMatchObject({ subagentName: 'desk', prompt: QUESTION });
    const requestId = request.data.requestId as string;
    await botSaid(c1, ASKED_DESK);
    say(c1, 'Please make the weekly report');
    await asked(c1, 'report');
    await botSaid(c1, 'The report is on its way.');

    // The last snapshot on disk holds the work under way (written after the turn, off its path).
    const store = SqliteSessionStore.open(db());
    let snapshot: ResumeSnapshot;
    try {
      snapshot = await until(
        'a snapshot with the work under way',
        async () => {
          const s = await store.loadSnapshot(id);
          const reportDone = s?.history.some((m) => textOf(m).includes('The report is on its way.'));
          return s?.pending?.tools.length === 1 && reportDone ? s : undefined;
        },
        30_000,
      );
    } finally {
      await store.close();
    }
    expect(snapshot.pending).toMatchObject({
      tools: [{ name: 'report' }],
      subagents: [{ subagentName: 'desk', questions: [{ requestId, prompt: QUESTION }] }],
    });
    // A turn still running at the kill: its inline tool waits on the client.
    say(c1, MINIBAR);
    await asked(c1, 'minibar');
    await until(
      "the running turn's words and tool call stored",
      async () => {
        const r = await get<Stored>(first.url, `/sessions/${id}`);
        const said = r.transcript.some((e) => e.text === MINIBAR);
        return said && r.toolCalls.some((t) => t.name === 'minibar') ? true : undefined;
      },
      30_000,
    );

    first.run.child.kill('SIGKILL');
    expect((await first.run.exited).signal).toBe('SIGKILL');
    await c1.closed;

    const second = await start();
    const c2 = await connect(second.url, { user_id: 'ana', resume_handle: about.resume_handle });
    expect((await c2.ready()).data.about.session_id).toBe(id);
    const cancel = await until('the withdrawn question', () =>
      serverMessages(c2).find((m) => m.type === 'subagent-ui-cancel'),
    );
    expect(cancel.data).toEqual({ type: 'cancel', requestId, reason: 'server_restarted' });
    await botSaid(c2, SORRY);

    // History as of the last snapshot, then the one note of what did not finish, then the apology.
    const history = await until('the apology in the history', async () => {
      const h = (await get<{ transcript: Message[] }>(second.url, `/sessions/${id}/transcript`)).transcript;
      return h.some((m) => m.role === 'assistant' && textOf(m) === SORRY) ? h : undefined;
    });
    expect(history.slice(0, snapshot.history.length)).toEqual(snapshot.history);
    const after = history.slice(snapshot.history.length).map(textOf);
    expect(after).toHaveLength(2);
    expect(after[0]).toContain(interruptedSubagentNote('desk', [QUESTION]));
    const toolCallId = /tool "report" \((\S+)\)/.exec(after[0]!)![1]!;
    expect(after[0]).toContain(interruptedToolNote('report', toolCallId));
    expect(after[1]).toBe(SORRY);
    // Lost with the process: the running turn. Its words are in the stored transcript, not in the
    // history the session resumed with; its inline tool call never got a result.
    expect(history.map(textOf).join('\n')).not.toContain(MINIBAR);
    const stored = await until(
      'the report ended in the store',
      async () => {
        const r = await get<Stored>(second.url, `/sessions/${id}`);
        return r.toolCalls.find((t) => t.name === 'report')?.status ? r : undefined;
      },
      30_000,
    );
    expect(stored.toolCalls.find((t) => t.name === 'report')).toMatchObject({
      status: 'error',
      result: { error: expect.stringMatching(/interrupted/) },
    });
    expect(stored.transcript.map((e) => e.text)).toContain(MINIBAR);
    const minibar = stored.toolCalls.find((t) => t.name === 'minibar');
    expect(minibar).toBeDefined();
    expect(minibar?.status).toBeUndefined();

    // The late answer to the withdrawn question is refused; the conversation goes on.
    c2.send({
      label: 'rtvi-ai',
      type: 'client-message',
      id: 'late-answer',
      data: { t: 'subagent-ui-response', d: { requestId, value: 'yes' } },
    });
    const refusal = await c2.waitFor('refusal', (m) => m.type === 'error-response' && m.id === 'late-answer');
    expect(refusal.data.error).toMatch(/^ui_request_unknown: /);
    second.run.child.kill('SIGTERM');
    expect((await second.run.exited).code).toBe(0);
  }, 120_000);
});
