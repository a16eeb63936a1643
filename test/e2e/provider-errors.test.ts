/**
 * A provider failure as a client and an operator see it: an LLM endpoint (a local fake speaking the
 * OpenAI chat-completions wire format) answers 401 with an error text that echoes the API key and
 * the system prompt. The client gets a redacted error; the server log gets the full line.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleLogger, type Logger } from '../../src/logger.ts';
import { loadServerConfig } from '../../src/server/config.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { connectRaw, OFFLINE_ENV, withoutGreeting } from './helpers.ts';

const KEY = 'sk-test-0123456789abcdefSECRET';
const PROMPT = 'You are the vault keeper; the code is 4471.';

describe('provider errors', () => {
  let fake: Server;
  let server: RunningServer;
  // What an operator reads: the server's own console logger, its lines captured.
  const lines: string[] = [];
  const logger: Logger = createConsoleLogger({
    level: 'warn',
    format: 'human',
    write: (line, level) => lines.push(`${level} ${line}`),
  });
  beforeAll(async () => {
    fake = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const system = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]?.content;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: `Incorrect API key provided: ${KEY}. Prompt was: ${system}`,
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          }),
        );
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v1`;
    const config = withoutGreeting(
      loadServerConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        ...OFFLINE_ENV,
        COLLOQUY_LLM: `openai-compatible:gpt-test@${base}`,
        COLLOQUY_OPENAI_COMPATIBLE_API_KEY: KEY,
      }),
    );
    config.file = { ...config.file, agents: [{ name: 'vault', instructions: PROMPT }] };
    server = await startServer({ config, logger });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise<void>((r) => fake.close(() => r()));
  });

  it('a 401 reaches the client redacted and the server log in full', async () => {
    const c = await connectRaw(server.url);
    await c.ready();
    c.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'open the vault' } });
    const error = await c.waitFor('error', (m) => m.type === 'error');
    expect(error.data).toEqual({
      error: 'llm failed (llm_auth_failed)',
      message: 'llm failed (llm_auth_failed)',
      fatal: true,
    });
    const everything = JSON.stringify(c.messages);
    expect(everything).not.toContain('SECRET');
    expect(everything).not.toContain('4471');
    const logged = lines.find((l) => l.startsWith('error ') && l.includes('llm failed'));
    expect(logged).toMatch(/401|Incorrect API key/);
    c.ws.terminate();
  });
});
