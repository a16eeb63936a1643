/**
 * A local stand-in for an OpenAI-compatible chat completions server (`POST /v1/chat/completions`),
 * speaking the real wire format: a JSON `chat.completion`, or with `stream: true` server-sent
 * `chat.completion.chunk` events ending in `data: [DONE]`. It records every request body so a test
 * can read the prompts the server sent (instructions, history), and answers with `reply(body)`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content: unknown }>;
}

export interface FakeOpenAiChat {
  /** e.g. http://127.0.0.1:PORT/v1 (COLLOQUY_OPENAI_COMPATIBLE_BASE_URL). */
  baseURL: string;
  requests: ChatRequest[];
  close(): Promise<void>;
}

export async function startFakeOpenAiChat(
  reply: (request: ChatRequest) => string | { status: number; body: string },
): Promise<FakeOpenAiChat> {
  const requests: ChatRequest[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as ChatRequest;
      requests.push(body);
      const answer = reply(body);
      if (typeof answer !== 'string') {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
        return;
      }
      const base = { id: `chatcmpl-${requests.length}`, created: 1_700_000_000, model: body.model };
      const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        res.write(
          `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`,
        );
      chunk({ role: 'assistant', content: '' }, null);
      for (const word of answer.match(/\s*\S+/g) ?? []) chunk({ content: word }, null);
      chunk({}, 'stop', { usage });
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
