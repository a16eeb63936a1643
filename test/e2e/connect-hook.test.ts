/**
 * Connect paths and the connect hook over real HTTP and WebSocket on loopback: a deployment's own
 * connect path, `requestData` mapped to the session (agent, mode, greeting, `{{variables}}`, user
 * id), refusals as 4xx, a misbehaving hook as 5xx without details, no way around the hook.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { loadServerConfig } from '../../src/server/config.ts';
import { type ConnectHook, ConnectRefusal, fillTemplate } from '../../src/server/connect-hook.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { registerWebRtcRoutes, type WebRtcRoutes } from '../../src/server/webrtc-routes.ts';
import { openRaw, serverMessages, startTestServer, withoutGreeting } from './helpers.ts';

const PATH = '/agent/voice/breeze-buddy/connect';

const FILE = {
  agents: [
    { name: 'front-desk', instructions: 'You greet guests.' },
    { name: 'sales', instructions: 'You call {{ name }} about order {{order}}. Unknown: {{missing}}.' },
  ],
  configurations: { quiet: { mode: 'stream' } },
  connectPaths: ['/connect', PATH],
};

const LEADS: Record<string, { name: string; order: number }> = { L42: { name: 'Asha', order: 1017 } };

const hook: ConnectHook = ({ requestData }) => {
  const lead = LEADS[String(requestData.lead_id)];
  if (!lead) throw new ConnectRefusal(404, `Unknown lead ${String(requestData.lead_id).slice(0, 20)}`);
  return {
    agent: 'sales',
    variables: { name: lead.name, order: lead.order },
    greeting: 'Hello {{name}}, this is about order {{order}}.',
    userId: `lead-${requestData.lead_id}`,
  };
};

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const tokenOf = (wsUrl: string) => new URL(wsUrl).searchParams.get('token')!;

describe('connect paths', () => {
  it("COLLOQUY_CONNECT_PATHS replaces /connect; the file's connectPaths apply without it", async () => {
    server = await startTestServer({ env: { COLLOQUY_CONNECT_PATHS: `${PATH},/v2/start` } });
    expect((await post('/connect', {})).status).toBe(404);
    expect((await post(PATH, {})).json.ws_url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\?token=/);
    expect((await post('/v2/start', {})).status).toBe(200);
    await server.close();
    server = await startTestServer({ file: FILE });
    expect((await post('/connect', {})).status).toBe(200);
    expect((await post(PATH, {})).status).toBe(200);
  });

  it.each([
    ['not absolute', 'connect'],
    ['traversal', '/a/../b'],
    ['query', '/connect?x=1'],
    ['reserved', '/ws'],
    ['reserved prefix', '/sessions/x'],
    ['empty', ' , '],
  ])('a bad path (%s) fails at start with a typed error', (_name, value) => {
    expect(() => loadServerConfig({ COLLOQUY_CONNECT_PATHS: value })).toThrow(ConfigError);
  });
});

describe('connect hook', () => {
  it('maps requestData {lead_id} to the agent, greeting, {{variables}} and user id of the session', async () => {
    const seen: unknown[] = [];
    server = await startTestServer({
      file: FILE,
      edit: withoutGreeting,
      onConnect: (req) => {
        seen.push({ path: req.path, requestData: req.requestData, ua: req.headers['content-type'] });
        return hook(req);
      },
    });
    const { status, json } = await post(PATH, { lead_id: 'L42' });
    expect(status).toBe(200);
    expect(seen).toEqual([{ path: PATH, requestData: { lead_id: 'L42' }, ua: 'application/json' }]);
    const grant = server.context.tokens.peek(tokenOf(json.ws_url));
    expect(grant?.profile).toMatchObject({
      initialAgent: 'sales',
      greeting: 'Hello Asha, this is about order 1017.',
      userId: 'lead-L42',
    });
    expect(grant?.profile.agents.find((a) => a.name === 'sales')?.instructions).toBe(
      'You call Asha about order 1017. Unknown: {{missing}}.',
    );

    // The session it starts speaks the greeting and carries the user id.
    const client = await openRaw(json.ws_url);
    await client.ready();
    await client.waitFor('greeting', (m) => m.type === 'bot-tts-text');
    const tts = client.messages
      .filter((m) => m.type === 'bot-tts-text')
      .map((m) => m.data.text)
      .join(' ');
    expect(tts).toContain('Hello Asha');
    expect(serverMessages(client).map((m) => m.type)).toContain('conversation-start');
    client.close();
  });

  it("a ConnectRefusal is the client's 4xx with the message as {info}", async () => {
    server = await startTestServer({ file: FILE, onConnect: hook });
    expect(await post(PATH, { lead_id: 'nobody' })).toEqual({
      status: 404,
      json: { info: 'Unknown lead nobody' },
    });
    expect(() => new ConnectRefusal(500, 'no')).toThrow(ConfigError);
  });

  it('a hook that throws, returns an invalid decision, names an unknown agent or hangs gives a 5xx without details', async () => {
    const cases: Array<[ConnectHook, number, string]> = [
      [
        () => {
          throw new Error('db password is hunter2');
        },
        500,
        'Connect hook failed',
      ],
      [() => ({ mode: 'chat' }) as never, 500, 'Connect hook returned an invalid decision'],
      [() => ({ variables: { 'bad name': 'x' } }), 500, 'Connect hook returned an invalid decision'],
      [() => ({ greeting: 'x'.repeat(3000) }), 500, 'Connect hook returned an invalid decision'],
      [() => ({ extra: 1 }) as never, 500, 'Connect hook returned an invalid decision'],
      [() => ({ agent: 'ghost' }), 500, 'Server misconfigured'],
      [
        ({ signal }) => new Promise((r) => signal.addEventListener('abort', () => r(undefined))),
        503,
        'Connect hook timed out',
      ],
      // Answers after 1 s: the server's own 50 ms bound ends it first (the default bound is 5 s).
      [
        ({ signal }) =>
          new Promise((r) => {
            const late = setTimeout(() => r(undefined), 1000);
            signal.addEventListener('abort', () => {
              clearTimeout(late);
              r(undefined);
            });
          }),
        503,
        'Connect hook timed out',
      ],
    ];
    for (const [onConnect, status, info] of cases) {
      server = await startTestServer({ file: FILE, onConnect, connectHookTimeoutMs: 50 });
      expect(await post(PATH, {}), info).toEqual({ status, json: { info } });
      await server.close();
      server = undefined;
    }
  }, 30_000);

  it("null greeting removes the greeting; nothing returned keeps the request's own choices", async () => {
    server = await startTestServer({
      file: { ...FILE, greeting: 'Hi there' },
      onConnect: ({ requestData }) => (requestData.silent ? { greeting: null } : undefined),
    });
    const silent = await post(PATH, { silent: true });
    expect(server.context.tokens.peek(tokenOf(silent.json.ws_url))?.profile.greeting).toBeUndefined();
    const plain = await post(PATH, { config: 'quiet' });
    expect(server.context.tokens.peek(tokenOf(plain.json.ws_url))?.profile).toMatchObject({
      greeting: 'Hi there',
      mode: 'stream',
    });
  });

  it('with a hook there is no way around it: /ws without a connect token is refused', async () => {
    server = await startTestServer({ file: FILE, onConnect: hook });
    await expect(openRaw(`${server.url.replace('http', 'ws')}/ws`)).rejects.toThrow(/403/);
  });

  it('SmallWebRTC: the offer needs the one-time grant the connect answer carries', async () => {
    let routes: WebRtcRoutes | undefined;
    server = await startTestServer({
      file: FILE,
      onConnect: hook,
      registerRoutes: (app, ctx) => {
        routes = registerWebRtcRoutes(app, {
          config: ctx.config,
          logger: silentLogger,
          models: ctx.models,
          registry: ctx.registry,
          tokens: ctx.tokens,
          connectRequired: ctx.connectRequired ?? false,
        });
      },
    });
    const { json } = await post(PATH, { lead_id: 'L42', transport: 'webrtc' });
    const requestData = json.webrtcRequestParams.requestData as Record<string, unknown>;
    expect(requestData).toMatchObject({ lead_id: 'L42', transport: 'webrtc', token: expect.any(String) });
    expect(server.context.tokens.peek(requestData.token as string)?.profile.greeting).toBe(
      'Hello Asha, this is about order 1017.',
    );
    // A bad SDP (but past the grant check) proves the grant was accepted; it is then used up.
    const sdp = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
    const offer = (data: unknown) => post('/api/offer', { sdp, type: 'offer', requestData: data });
    expect((await offer({ lead_id: 'L42' })).status).toBe(403);
    expect((await offer(requestData)).status).toBe(400);
    expect(await offer(requestData)).toEqual({
      status: 403,
      json: { info: 'Start the session through a connect path' },
    });
    await routes?.closeAll();
  });

  it('fillTemplate fills known names only', () => {
    expect(fillTemplate('{{a}}-{{ b }}-{{c}}-{{a}}', { a: 1, b: true })).toBe('1-true-{{c}}-1');
  });
});
