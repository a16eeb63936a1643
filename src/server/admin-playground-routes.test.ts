/**
 * The admin and playground routes in process over context stand-ins: a server that cannot drain, a
 * drain that fails (logged), `/admin/cluster` for a cluster node online or not; the playground page
 * and scripts with their headers or the 503 of a missing build (logged), `info.json` (auth, phrases
 * read once from the grammar's first 64 KiB, none without a grammar); `PlaygroundFiles` reading once
 * and retrying after a failure.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { registerAdminRoutes } from './admin-routes.ts';
import type { ServerContext } from './app.ts';
import { requireBearer } from './auth.ts';
import { PLAYGROUND_DIR, type PlaygroundAssets, PlaygroundFiles } from './playground/assets.ts';
import { registerPlaygroundRoutes } from './playground/routes.ts';

const TOKEN = 'admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

function logRecorder() {
  const lines: unknown[][] = [];
  return {
    lines,
    logger: {
      debug() {},
      info() {},
      warn: (...a: unknown[]) => lines.push(['warn', ...a]),
      error: (...a: unknown[]) => lines.push(['error', ...a]),
    },
  };
}

function appOf(register: (app: Hono) => void): Hono {
  const app = new Hono();
  register(app);
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.text('failed', 500)));
  return app;
}

const call = async (app: Hono, method: string, path: string, headers: Record<string, string> = AUTH) => {
  const res = await app.request(path, { method, headers });
  return { status: res.status, body: await res.json() };
};

describe('admin routes', () => {
  const context = (extra: Partial<ServerContext>, log = logRecorder()) =>
    ({
      config: { authToken: TOKEN, limits: { maxSessions: 12 } },
      auth: requireBearer(TOKEN),
      registry: { activeCount: 4 },
      logger: log.logger,
      ...extra,
    }) as unknown as ServerContext;

  it('a server that cannot drain: 501', async () => {
    const app = appOf((a) => registerAdminRoutes(a, context({})));
    expect(await call(app, 'POST', '/admin/drain')).toEqual({
      status: 501,
      body: { info: 'This server cannot drain' },
    });
  });

  it('a drain: started once without a bound, answered 202 with the live sessions; its failure is logged', async () => {
    const log = logRecorder();
    const calls: unknown[][] = [];
    let fail: (err: Error) => void = () => {};
    const failed = new Promise<void>((resolveFailed) => {
      fail = (err) => {
        resolveFailed();
        throw err;
      };
    });
    const drain = (...args: unknown[]) => {
      calls.push(args);
      return Promise.resolve().then(() => fail(new Error('stuck')));
    };
    const app = appOf((a) => registerAdminRoutes(a, context({ drain }, log)));
    expect(await call(app, 'POST', '/admin/drain')).toEqual({
      status: 202,
      body: { status: 'draining', sessions: 4 },
    });
    await failed;
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[]]);
    expect(log.lines).toEqual([['error', 'drain failed', new Error('stuck')]]);
  });

  it('/admin/cluster: this node alone, draining or not', async () => {
    for (const [isDraining, draining] of [
      [undefined, false],
      [() => false, false],
      [() => true, true],
    ] as const) {
      const app = appOf((a) => registerAdminRoutes(a, context(isDraining ? { isDraining } : {})));
      expect(await call(app, 'GET', '/admin/cluster')).toEqual({
        status: 200,
        body: { node: { sessions: 4, capacity: 12, draining }, nodes: [] },
      });
    }
  });

  it('/admin/cluster on a cluster node: the nodes when online (none when their listing fails), none offline', async () => {
    const asked: string[] = [];
    const node = (online: boolean, nodes: () => Promise<unknown[]>) => ({
      node: {
        id: 'n-1',
        url: 'http://n1:8080',
        online,
        stats: { sessions: 4 },
        nodes: () => {
          asked.push(online ? 'online' : 'offline');
          return nodes();
        },
      },
    });
    const ask = (cluster: unknown) =>
      call(
        appOf((a) => registerAdminRoutes(a, context({ cluster: cluster as ServerContext['cluster'] }))),
        'GET',
        '/admin/cluster',
      );
    const self = {
      id: 'n-1',
      url: 'http://n1:8080',
      sessions: 4,
      capacity: 12,
      draining: false,
      stats: { sessions: 4 },
    };
    expect(await ask(node(true, async () => [{ id: 'n-2' }]))).toEqual({
      status: 200,
      body: { node: { ...self, online: true }, nodes: [{ id: 'n-2' }] },
    });
    expect(await ask(node(true, () => Promise.reject(new Error('redis down'))))).toEqual({
      status: 200,
      body: { node: { ...self, online: true }, nodes: [] },
    });
    expect(await ask(node(false, async () => [{ id: 'n-2' }]))).toEqual({
      status: 200,
      body: { node: { ...self, online: false }, nodes: [] },
    });
    expect(asked).toEqual(['online', 'online']);
  });
});

describe('playground routes', () => {
  const ASSETS: PlaygroundAssets = { html: '<p>console</p>', script: 'app();', liveKitScript: 'livekit();' };
  const files = (result: PlaygroundAssets | Error) => ({
    load: () => (result instanceof Error ? Promise.reject(result) : Promise.resolve(result)),
  });
  const context = (
    o: { stt?: string; baseDir?: string; authToken?: string; log?: ReturnType<typeof logRecorder> } = {},
  ) =>
    ({
      config: {
        ...(o.authToken ? { authToken: o.authToken } : {}),
        baseDir: o.baseDir ?? tmpdir(),
        file: {},
        defaults: { llm: 'scripted:x', stt: o.stt ?? 'deepgram:nova-3', tts: 'espeak', vad: 'energy' },
      },
      auth: requireBearer(o.authToken),
      logger: (o.log ?? logRecorder()).logger,
    }) as unknown as ServerContext;
  const get = async (app: Hono, path: string, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { headers });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      cache: res.headers.get('cache-control'),
      body: await res.text(),
    };
  };

  it.each([
    ['/', { status: 200, type: 'text/html; charset=UTF-8', cache: null, body: '<p>console</p>' }],
    [
      '/playground/app.js',
      { status: 200, type: 'text/javascript; charset=utf-8', cache: 'no-cache', body: 'app();' },
    ],
    [
      '/playground/livekit.js',
      { status: 200, type: 'text/javascript; charset=utf-8', cache: 'no-cache', body: 'livekit();' },
    ],
  ])('GET %s → %j', async (path, answer) => {
    const app = appOf((a) => registerPlaygroundRoutes(a, context(), files(ASSETS) as PlaygroundFiles));
    expect(await get(app, path)).toEqual(answer);
  });

  it.each(['/', '/playground/app.js', '/playground/livekit.js'])(
    'GET %s without a build: 503 with the reason, logged',
    async (path) => {
      const log = logRecorder();
      const missing = new Error('The playground page is not built');
      const app = appOf((a) =>
        registerPlaygroundRoutes(a, context({ log }), files(missing) as PlaygroundFiles),
      );
      expect(await get(app, path)).toEqual({
        status: 503,
        type: 'text/plain; charset=UTF-8',
        cache: null,
        body: 'The playground page is not built',
      });
      expect(log.lines).toEqual([['error', 'playground unavailable', missing]]);
    },
  );

  const info = async (app: Hono, headers: Record<string, string> = {}) => {
    const res = await app.request('/playground/info.json', { headers });
    return { status: res.status, body: await res.json() };
  };

  it('info.json: behind the server token, auth true then; the transports are the routes', async () => {
    const app = appOf((a) => {
      registerPlaygroundRoutes(a, context({ authToken: TOKEN }), files(ASSETS) as PlaygroundFiles);
      a.post('/livekit/connection-details', (c) => c.text(''));
    });
    expect((await info(app)).status).toBe(401);
    expect(await info(app, AUTH)).toEqual({
      status: 200,
      body: { transports: { websocket: true, webrtc: false, livekit: true }, phrases: [], auth: true },
    });
  });

  it('info.json: the phrases of a pocketsphinx grammar (relative to the base directory, its first 64 KiB), read once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-playground-'));
    const grammar = [
      '#JSGF V1.0;',
      'grammar g;',
      'public <a> = hello there | good day;',
      `// ${'x'.repeat(70 * 1024)}`,
      'public <b> = too far;',
    ].join('\n');
    writeFileSync(join(dir, 'g.jsgf'), grammar);
    const app = appOf((a) =>
      registerPlaygroundRoutes(
        a,
        context({ stt: 'pocketsphinx:g.jsgf', baseDir: dir }),
        files(ASSETS) as PlaygroundFiles,
      ),
    );
    expect((await info(app)).body).toEqual({
      transports: { websocket: true, webrtc: false, livekit: false },
      phrases: ['hello there', 'good day'],
      auth: false,
    });
    writeFileSync(join(dir, 'g.jsgf'), 'public <a> = changed;');
    expect((await info(app)).body.phrases).toEqual(['hello there', 'good day']);
  });

  it.each([
    ['deepgram:nova-3', []],
    ['pocketsphinx', []],
  ])('info.json with STT %s: no phrases, nothing logged', async (stt, phrases) => {
    const log = logRecorder();
    const app = appOf((a) =>
      registerPlaygroundRoutes(a, context({ stt, log }), files(ASSETS) as PlaygroundFiles),
    );
    expect((await info(app)).body.phrases).toEqual(phrases);
    expect(log.lines).toEqual([]);
  });

  it('info.json with a grammar that cannot be read: no phrases, one warning', async () => {
    const log = logRecorder();
    const app = appOf((a) =>
      registerPlaygroundRoutes(
        a,
        context({ stt: 'pocketsphinx:/no/such.jsgf', log }),
        files(ASSETS) as PlaygroundFiles,
      ),
    );
    expect((await info(app)).body.phrases).toEqual([]);
    expect((await info(app)).body.phrases).toEqual([]);
    expect(log.lines).toEqual([
      ['warn', 'playground: cannot read the grammar for hints', expect.objectContaining({ code: 'ENOENT' })],
    ]);
  });
});

describe('PlaygroundFiles', () => {
  it('the package build directory by default', () => {
    expect(new PlaygroundFiles().dir).toBe(PLAYGROUND_DIR);
    expect(PLAYGROUND_DIR).toBe(resolve(import.meta.dirname, '../../dist/playground'));
  });

  it('reads the three files once; a missing build is a typed error naming the directory, retried on the next call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-playground-'));
    const files = new PlaygroundFiles(dir);
    const failure = await files.load().catch((e: unknown) => e);
    expect(failure).toMatchObject({
      code: 'playground_not_built',
      message: `The playground page is not built (looked in ${dir}): run \`npm run build\``,
      details: { dir },
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
    writeFileSync(join(dir, 'index.html'), '<html>');
    writeFileSync(join(dir, 'app.js'), 'app');
    writeFileSync(join(dir, 'livekit.js'), 'lk');
    const first = files.load();
    expect(await first).toEqual({ html: '<html>', script: 'app', liveKitScript: 'lk' });
    writeFileSync(join(dir, 'app.js'), 'changed');
    expect(files.load()).toBe(first);
  });
});
