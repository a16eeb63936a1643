/**
 * Stream-mode `tts-speak` is bounded per session: beyond 8 queued texts a request is refused with
 * `error-response` (the documented overflow behaviour), the session goes on, and the queue drains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { connectRaw, startTestServer, until, withoutGreeting } from './helpers.ts';

describe('tts-speak queue bound', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ edit: withoutGreeting });
  });
  afterAll(async () => server?.close());

  it('refuses the 9th queued text with error-response, then accepts again once spoken', async () => {
    const c = await connectRaw(server.url, { config: 'stream' });
    await c.ready();
    const speak = (id: string, text: string) =>
      c.send({ label: 'rtvi-ai', type: 'client-message', id, data: { t: 'tts-speak', d: { text } } });
    for (let i = 0; i < 12; i++) speak(`tts-${String(i).padStart(4, '0')}`, `Number ${i}.`);
    const answers = await until('12 answers', () => {
      const a = c.messages.filter((m) => m.id?.startsWith('tts-'));
      return a.length === 12 ? a : undefined;
    });
    expect(answers.filter((m) => m.type === 'server-response').map((m) => m.id)).toEqual(
      Array.from({ length: 8 }, (_, i) => `tts-000${i}`),
    );
    const refused = answers.filter((m) => m.type === 'error-response');
    expect(refused.map((m) => m.id)).toEqual(['tts-0008', 'tts-0009', 'tts-0010', 'tts-0011']);
    expect(refused[0].data).toEqual({
      error: 'tts-speak queue is full (8 texts); try again once earlier texts were spoken',
    });
    // The session goes on; once the queue has drained a new text is accepted.
    await until(
      'all eight synthesized',
      () => (c.messages.filter((m) => m.type === 'bot-tts-stopped').length >= 8 ? true : undefined),
      60_000,
    );
    // (A text counts until its audio has played: ask until the answer is a yes.)
    let attempt = 0;
    const later = await until(
      'accepted again',
      async () => {
        const id = `later-${attempt++}`;
        speak(id, 'Again.');
        const answer = await c.waitFor(id, (m) => m.id === id);
        return answer.type === 'server-response' ? answer : undefined;
      },
      60_000,
    );
    expect(later.data).toEqual({ t: 'tts-speak', d: { queued: true, length: 6 } });
    c.ws.terminate();
  }, 90_000);
});
