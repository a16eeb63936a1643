/**
 * `colloquy start` as users run it, observed from outside: traces exported over OTLP/HTTP to a
 * receiver on loopback (OTEL_EXPORTER_OTLP_ENDPOINT), and logs with COLLOQUY_LOG_FORMAT=json — one
 * JSON object per line, with the session and turn ids, and never the server's token.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRaw, until } from '../e2e/helpers.ts';
import { type Running, startColloquy } from './run.ts';

const TOKEN = 'observability-test-token-0123456789';
const MAX_BODY = 4 * 1024 * 1024;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: OtlpValue }>;
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }>;
  }>;
}

const attr = (list: Array<{ key: string; value: OtlpValue }>, key: string) => {
  const v = list.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v?.doubleValue ?? v?.boolValue;
};

/** An OTLP/HTTP JSON receiver on loopback: what the exporter posts to /v1/traces. */
async function startReceiver(): Promise<{
  server: Server;
  url: string;
  requests: OtlpRequest[];
  paths: string[];
}> {
  const requests: OtlpRequest[] = [];
  const paths: string[] = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) throw new Error('OTLP body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
    read(req).then(
      (body) => {
        requests.push(JSON.parse(body) as OtlpRequest);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => res.writeHead(413).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, paths };
}

describe('colloquy start: OTLP traces and JSON logs', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let run: Running | undefined;

  beforeAll(async () => {
    receiver = await startReceiver();
  });

  afterEach(() => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
  });

  afterAll(() => {
    receiver?.server.close();
  });

  it('a session is one trace (session → turn → LLM and TTS spans, with ids, agent and model), sent before the process exits; every log line is one JSON object with the session and turn ids', async () => {
    // The server starts in the test, so that a retry runs against a server of its own (the first
    // attempt ends its server).
    receiver.requests.length = 0;
    receiver.paths.length = 0;
    const started = await startColloquy({
      COLLOQUY_WORKERS: '1',
      COLLOQUY_STORE: 'memory',
      COLLOQUY_AUTH_TOKEN: TOKEN,
      COLLOQUY_LOG_FORMAT: 'json',
      COLLOQUY_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'front-desk',
    });
    run = started.run;
    const client = await connectRaw(started.url, {}, { authorization: `Bearer ${TOKEN}` });
    const ready = await client.ready();
    const sessionId = (ready.data.about as { session_id: string }).session_id;
    client.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'what time is breakfast' } });
    // The greeting may start speaking before the text cuts it off: its bot-stopped-speaking is not
    // the answer's. Wait for the answer's text, then for the speech that ends after it.
    const answer = await client.waitFor(
      'the answer',
      (m) => m.type === 'bot-output' && /Breakfast is served/.test((m.data as { text: string }).text),
      30_000,
    );
    const after = client.messages.indexOf(answer);
    await until(
      'the answer spoken',
      () =>
        client.messages.findIndex((m, i) => i > after && m.type === 'bot-stopped-speaking') > after
          ? true
          : undefined,
      30_000,
    );
    // SIGTERM ends the session; the batched spans are flushed before the process exits.
    started.run.child.kill('SIGTERM');
    const finished = await started.run.exited;
    expect(finished.code).toBe(0);

    expect(receiver.paths[0]).toBe('POST /v1/traces application/json');
    const resources = receiver.requests.flatMap((r) => r.resourceSpans);
    expect(resources.map((r) => attr(r.resource.attributes, 'service.name'))).toContain('front-desk');
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const root = spans.find(
      (s) => s.name === 'colloquy.session' && attr(s.attributes, 'colloquy.session.id') === sessionId,
    );
    expect(root).toBeDefined();
    expect(root!.parentSpanId ?? '').toBe('');
    expect(attr(root!.attributes, 'colloquy.session.close_reason')).toBe('server_shutdown');
    const inTrace = spans.filter((s) => s.traceId === root!.traceId);
    const turn = inTrace.find((s) => s.name === 'colloquy.turn');
    expect(turn?.parentSpanId).toBe(root!.spanId);
    const turnId = attr(turn!.attributes, 'colloquy.turn.id');
    expect(turnId).toEqual(expect.any(String));
    expect(attr(turn!.attributes, 'colloquy.agent')).toEqual(expect.any(String));
    expect(attr(turn!.attributes, 'gen_ai.request.model')).toEqual(expect.any(String));
    for (const name of ['colloquy.llm', 'colloquy.tts']) {
      const child = inTrace.find((s) => s.name === name);
      // On a failure, the message lists the trace's spans (name, id < parent, turn id).
      const trace = inTrace.map(
        (s) =>
          `${s.name} ${s.spanId}<${s.parentSpanId ?? ''} ${attr(s.attributes, 'colloquy.turn.id') ?? ''}`,
      );
      expect(child?.parentSpanId, `${name} in ${trace.join(', ')}`).toBe(turn!.spanId);
      expect(attr(child!.attributes, 'colloquy.turn.id')).toBe(turnId);
      expect(BigInt(child!.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child!.startTimeUnixNano));
    }

    // Logs: stdout carries the banner lines, then log lines; stderr carries warnings and errors.
    const logLines = [...finished.stdout.split('\n'), ...finished.stderr.split('\n')].filter((l) =>
      l.startsWith('{'),
    );
    expect(logLines.length).toBeGreaterThan(0);
    const entries = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of entries) {
      expect(e).toMatchObject({
        time: expect.any(String),
        level: expect.any(String),
        msg: expect.any(String),
      });
    }
    expect(finished.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))).toEqual([]);
    expect(entries.some((e) => e.sessionId === sessionId)).toBe(true);
    expect(entries.some((e) => e.sessionId === sessionId && e.turnId === turnId)).toBe(true);
    expect(`${finished.stdout}${finished.stderr}`).not.toContain(TOKEN);
    await until('client closed', () => (client.ws.readyState === client.ws.CLOSED ? true : undefined), 5000);
  }, 90_000);
});
