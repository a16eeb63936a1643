/**
 * Fuzz (fast-check, seeded) of the primary of `colloquy start --workers 2` over real sockets: hostile
 * methods, paths, one-time tokens, `pc_id`s, LiveKit access tokens, session ids, headers and bodies
 * on every route it routes (`/connect`, `/api/offer`, `/ws`, `/rtc/v1`, `/sessions/…`,
 * `/livekit/connection-details`, `/metrics`, `/health`), as HTTP requests and as WebSocket upgrades.
 * Every answer is below 500 (or a JSON 502/503 saying why), the primary and both workers stay up, and
 * a real session still connects and talks afterwards. Its logs (`COLLOQUY_LOG_FORMAT=json`) are one
 * JSON object per line, with the worker and session ids, and never the token.
 */
import { connect as netConnect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, launch, type Running } from '../cli/run.ts';
import { connectRaw } from '../e2e/helpers.ts';

const SEED = 20261130;
const TOKEN = 'primary-fuzz-token-0123456789';

const junk = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '..', '%2e%2e', '%00', '%zz', 'a'.repeat(3000), '🙂', '\u0000', 'null', '{}'),
);
const idSegment = junk.map((s) => encodeURIComponent(s));
const path = fc.oneof(
  fc.constant('/connect'),
  fc.constant('/api/offer'),
  fc.constant('/livekit/connection-details'),
  fc.constant('/metrics'),
  fc.constant('/health'),
  idSegment.map((t) => `/ws?token=${t}`),
  idSegment.map((t) => `/rtc/v1?access_token=${t}`),
  idSegment.map((id) => `/sessions/${id}`),
  idSegment.map((id) => `/sessions/${id}/transcript`),
  fc.tuple(idSegment, idSegment).map(([t, p]) => `/api/offer?token=${t}&pc_id=${p}`),
  idSegment.map((p) => `/${p}`),
);
const body = fc.oneof(
  fc.constant(undefined),
  junk,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      resume_handle: junk,
      pc_id: junk,
      sdp: junk,
      type: fc.constantFrom('offer', 'answer', 'x'),
      candidates: fc.array(fc.record({ candidate: junk, sdpMid: junk }), { maxLength: 3 }),
    })
    .map((v) => JSON.stringify(v)),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
  path,
  body,
  authorized: fc.boolean(),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
});
const upgrade = fc.record({ path, authorized: fc.boolean(), key: junk });

/** A raw WebSocket upgrade request: the status line the primary answers (or '' when it closes). */
function rawUpgrade(origin: string, path: string, key: string, authorization?: string): Promise<string> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = netConnect(Number(port), hostname);
    let head = '';
    const done = () => {
      socket.destroy();
      resolve(head.split('\r\n')[0] ?? '');
    };
    socket.setTimeout(10_000, done);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      head += d;
      if (head.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    const safePath = /^[\x21-\x7e]*$/.test(path) ? path : encodeURI(path);
    socket.write(
      `GET ${safePath} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from(key.slice(0, 16).padEnd(16, 'k')).toString('base64')}\r\n` +
        (authorization ? `Authorization: ${authorization}\r\n` : '') +
        '\r\n',
    );
  });
}

describe('fuzz: the primary of --workers 2', () => {
  let run: Running;
  let url: string;

  beforeAll(async () => {
    run = launch(process.execPath, [BIN, 'start', '--workers', '2'], {
      env: cleanEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        COLLOQUY_STORE: 'memory',
        COLLOQUY_AUTH_TOKEN: TOKEN,
        COLLOQUY_MAX_SESSIONS_PER_CLIENT: '1000',
        COLLOQUY_CONNECTS_PER_MINUTE: '100000',
        COLLOQUY_CONNECT_BURST: '100000',
        COLLOQUY_LOG_FORMAT: 'json',
      }),
    });
    const [, found] = await run.waitFor(/Colloquy listening on (http:\/\/\S+)/, 90_000);
    url = found!;
    await run.waitFor(/workers: 2 processes/);
  }, 120_000);

  afterAll(async () => {
    if (run && run.child.exitCode === null) {
      run.child.kill('SIGTERM');
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('hostile requests and upgrades on every routed path: below 500 (or a JSON 502/503), nothing goes down, a real session still talks', async () => {
    for (const r of fc.sample(request, { seed: SEED, numRuns: 200 })) {
      const headers: Record<string, string> = {};
      if (r.authorized) headers.authorization = `Bearer ${TOKEN}`;
      if (r.contentType) headers['content-type'] = r.contentType;
      const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'OPTIONS';
      const res = await fetch(`${url}${r.path}`, {
        method: r.method,
        headers,
        ...(withBody ? { body: r.body } : {}),
        redirect: 'manual',
      });
      const text = await res.text();
      const what = `${r.method} ${r.path.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`;
      if (res.status >= 500) {
        expect([502, 503], what).toContain(res.status);
        expect(JSON.parse(text), what).toMatchObject({ info: expect.any(String) });
      }
    }
    for (const u of fc.sample(upgrade, { seed: SEED + 1, numRuns: 60 })) {
      const status = await rawUpgrade(url, u.path, u.key, u.authorized ? `Bearer ${TOKEN}` : undefined);
      const code = Number(status.split(' ')[1]);
      if (status !== '')
        expect(code === 101 || (code >= 400 && code < 500) || code === 503, status).toBe(true);
    }
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', workers: 2 });
    expect(run.child.exitCode).toBeNull();
    // No worker went down on the way (the pool would have said so, and restarted it).
    expect(`${run.stdout()}${run.stderr()}`).not.toMatch(/worker \d+ exited/);
    // A real session, after all that: connects through the primary and answers.
    const client = await connectRaw(url, {}, { authorization: `Bearer ${TOKEN}` });
    const ready = await client.ready();
    client.send({ label: 'rtvi-ai', type: 'send-text', data: { content: 'what time is breakfast' } });
    await client.waitFor('the answer', (m) => m.type === 'bot-stopped-speaking', 30_000);
    const sessionId = (ready.data.about as { session_id: string }).session_id;
    client.ws.terminate();
    // The turn's log line leaves the worker when its turn ends, which may be after the client heard
    // the bot stop; it reaches this process through the primary: wait for it before reading the logs.
    await run.waitFor(new RegExp(`"sessionId":"${sessionId.replace(/[^\w-]/g, '\\$&')}"`), 30_000);
    // COLLOQUY_LOG_FORMAT=json through the primary: every log line of a worker is one JSON object
    // with its worker id, and the session's lines carry the session id.
    const lines = `${run.stdout()}\n${run.stderr()}`.split('\n').filter((l) => l.startsWith('{'));
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.filter((e) => e.worker === '0' || e.worker === '1').length).toBeGreaterThan(0);
    const mine = entries.filter((e) => e.sessionId === sessionId);
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect(['0', '1']).toContain(e.worker);
    expect(`${run.stdout()}${run.stderr()}`).not.toContain(TOKEN);
  }, 180_000);
});
