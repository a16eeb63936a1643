/**
 * RTVI client messages a server session answers over the Pipecat WebSocket (a real server on
 * loopback, a raw client): `append-to-context` adds to the conversation, or is refused to its id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, type RawClient, startTestServer, withoutGreeting } from '../../test/e2e/helpers.ts';
import type { RunningServer } from './server.ts';

describe('append-to-context', () => {
  let server: RunningServer;
  let c: RawClient;
  let id: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { COLLOQUY_VAD: 'energy' }, edit: withoutGreeting });
    c = await connectRaw(server.url);
    id = (await c.ready()).data.about.session_id as string;
  });
  afterAll(async () => {
    c?.ws.terminate();
    await server?.close();
  });

  it.each([
    ['content that is not text', 42],
    ['blank content', '   '],
  ])('%s is refused to its id, the conversation unchanged', async (_what, content) => {
    const msgId = `ctx-${String(content).trim() || 'blank'}`;
    c.send({ label: 'rtvi-ai', type: 'append-to-context', id: msgId, data: { role: 'user', content } });
    const answer = await c.waitFor('the answer', (m) => m.id === msgId);
    expect(answer).toEqual({
      label: 'rtvi-ai',
      type: 'error-response',
      id: msgId,
      data: { error: 'append-to-context needs string content' },
    });
    const transcript = await (await fetch(`${server.url}/sessions/${id}/transcript`)).json();
    expect(transcript.transcript).toEqual([]);
  });

  it('send-text that only adds to the conversation (run_immediately false) with blank content: "Text is empty"', async () => {
    c.send({
      label: 'rtvi-ai',
      type: 'send-text',
      id: 'st-blank',
      data: { content: ' \n ', options: { run_immediately: false } },
    });
    expect(await c.waitFor('the answer', (m) => m.id === 'st-blank')).toEqual({
      label: 'rtvi-ai',
      type: 'error-response',
      id: 'st-blank',
      data: { error: 'Text is empty' },
    });
    const transcript = await (await fetch(`${server.url}/sessions/${id}/transcript`)).json();
    expect(transcript.transcript).toEqual([]);
  });
});
