/**
 * The primary's HTTP server for `colloquy start --workers N`: one public port in front of N
 * workers on loopback ports. Every request and WebSocket upgrade goes to the worker that owns what
 * it names — the one-time token of `/ws?token=…` or of a SmallWebRTC offer, the offer's `pc_id`
 * (ICE candidates included), the LiveKit room in `/rtc/v1`'s access token, the session of
 * `/sessions/:id…` — and anything new to the least-loaded worker. The primary learns the names
 * from the workers' answers (`/connect`, `/api/offer`, `/livekit/connection-details`) and their
 * session reports. A resume handle at `/connect` is tried on each worker until one knows it.
 * `GET /metrics` and `GET /health` are answered here, for all workers.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseJsonWithLimits } from '../json-limits.ts';
import type { Logger } from '../logger.ts';
import { clientAddress } from '../net/client-address.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../observability/metrics-registry.ts';
import { enableProcessMetrics, processMetrics } from '../observability/process-metrics.ts';
import { bearerMatches } from '../server/auth.ts';
import type { ServerConfig } from '../server/config.ts';
import { DEFAULT_CONNECT_PATHS } from '../server/connect-paths.ts';
import type { RouteKind } from './worker-directory.ts';
import type { WorkerPool } from './worker-pool.ts';

/** LiveKit's paths (livekit-routes.ts; not imported: it loads the WebRTC stack). */
const LIVEKIT_DETAILS = '/livekit/connection-details';
const LIVEKIT_SIGNAL = '/rtc/v1';
const OFFER = '/api/offer';
/** Most bytes of a worker's answer the primary reads to learn a token, peer or room. */
const MAX_ANSWER_BYTES = 256 * 1024;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
]);

export interface PrimaryServerOptions {
  pool: WorkerPool;
  config: Pick<ServerConfig, 'authToken' | 'trustProxy' | 'connectPaths' | 'limits'>;
  logger: Logger;
}

type Learn = (answer: Record<string, unknown>, worker: number) => void;

export function createPrimaryServer({ pool, config, logger }: PrimaryServerOptions): Server {
  const metrics = enableProcessMetrics();
  const ready = metrics.gauge('colloquy_workers_ready', 'Workers listening (primary)');
  metrics.onCollect(() => ready.set(pool.ready().length));
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  const connectPaths = new Set(config.connectPaths ?? DEFAULT_CONNECT_PATHS);
  const maxBody = Math.max(config.limits.maxBodyBytes, config.limits.connectBodyBytes);
  const directory = pool.directory;

  const learnToken: Learn = (answer, worker) => {
    const wsUrl = answer.ws_url;
    if (typeof wsUrl === 'string') {
      try {
        const token = new URL(wsUrl).searchParams.get('token');
        if (token) directory.remember('token', token, worker);
      } catch {
        // not a URL: nothing to learn
      }
    }
    const params = answer.webrtcRequestParams as { requestData?: { token?: unknown } } | undefined;
    const token = params?.requestData?.token;
    if (typeof token === 'string') directory.remember('token', token, worker);
  };
  const learnKey =
    (kind: RouteKind, field: string): Learn =>
    (answer, worker) => {
      const value = answer[field];
      if (typeof value === 'string') directory.remember(kind, value, worker);
    };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('primary: cannot route a request', err);
      if (!res.headersSent) json(res, 502, { info: 'The worker did not answer' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/metrics') return sendMetrics(req, res);
    if (method === 'GET' && path === '/health') {
      return json(res, 200, { status: 'ok', sessions: pool.liveSessions, workers: pool.ready().length });
    }
    const buffered =
      (method === 'POST' || method === 'PATCH') &&
      (path === OFFER || path === LIVEKIT_DETAILS || connectPaths.has(path));
    let body: Buffer | undefined;
    let parsed: Record<string, unknown> = {};
    if (buffered) {
      body = await readBody(req, maxBody);
      if (!body) return json(res, 413, { info: 'Request body too large' });
      const result = parseJsonWithLimits(body.toString('utf8'), { maxBytes: maxBody, maxDepth: 16 });
      // Malformed bodies still go to a worker, which answers the typed refusal.
      if (result.ok && result.value !== null && typeof result.value === 'object') {
        parsed = result.value as Record<string, unknown>;
      }
    }
    if (path === OFFER && body) {
      const pcId = typeof parsed.pc_id === 'string' ? parsed.pc_id : undefined;
      const token = (parsed.requestData as { token?: unknown } | undefined)?.token;
      const owner =
        directory.lookup('pc', pcId) ??
        directory.lookup('token', typeof token === 'string' ? token : undefined);
      if (method === 'PATCH' || pcId !== undefined) {
        // Candidates and renegotiation belong to the peer's worker (unknown: any worker answers 404).
        return forward(req, res, owner, body, method === 'POST' ? learnKey('pc', 'pc_id') : undefined);
      }
      return forward(req, res, owner, body, learnKey('pc', 'pc_id'));
    }
    if (path === LIVEKIT_DETAILS && body)
      return forward(req, res, undefined, body, learnKey('room', 'roomName'));
    if (connectPaths.has(path) && body) {
      if (typeof parsed.resume_handle === 'string') return resumeConnect(req, res, body);
      return forward(req, res, undefined, body, learnToken);
    }
    const session = /^\/sessions\/([^/]+)(?:\/transcript)?$/.exec(path)?.[1];
    const owner = session ? directory.lookup('session', decodeURIComponentSafe(session)) : undefined;
    return forward(req, res, owner, undefined, undefined);
  }

  /** A resume handle lives on one worker: ask each until one knows it. */
  async function resumeConnect(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const workers = pool.ready();
    if (workers.length === 0) return unavailable(res);
    for (const [i, w] of workers.entries()) {
      const answer = await exchange(req, w.port, body);
      const last = i === workers.length - 1;
      const value = answer.json;
      if (!last && answer.status === 404 && value?.code === 'resume_unknown') continue;
      if (value && answer.status < 300) learnToken(value, w.id);
      return reply(res, answer);
    }
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    owner: number | undefined,
    body: Buffer | undefined,
    learn: Learn | undefined,
  ): Promise<void> {
    const port = owner !== undefined ? pool.portOf(owner) : undefined;
    const target = port !== undefined && owner !== undefined ? { id: owner, port } : pool.pick();
    if (!target) return unavailable(res);
    if (learn && body) {
      const answer = await exchange(req, target.port, body);
      if (answer.json && answer.status < 300) learn(answer.json, target.id);
      return reply(res, answer);
    }
    await new Promise<void>((resolve, reject) => {
      const upstream = request(
        {
          host: '127.0.0.1',
          port: target.port,
          method: req.method,
          path: req.url,
          headers: forwardHeaders(req, body),
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers));
          answer.pipe(res);
          answer.once('end', resolve);
          answer.once('error', reject);
        },
      );
      upstream.once('error', reject);
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
        resolve();
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    });
  }

  /** One buffered request/answer with a worker (answers read up to MAX_ANSWER_BYTES). */
  function exchange(req: IncomingMessage, port: number, body: Buffer): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const upstream = request(
        {
          host: '127.0.0.1',
          port,
          method: req.method,
          path: req.url,
          headers: forwardHeaders(req, body),
          agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              answer.destroy();
              reject(new Error('a worker answer is too large'));
              return;
            }
            chunks.push(chunk);
          });
          answer.once('error', reject);
          answer.once('end', () => {
            const data = Buffer.concat(chunks);
            let value: Record<string, unknown> | undefined;
            if (String(answer.headers['content-type'] ?? '').includes('json')) {
              const parsed = parseJsonWithLimits(data.toString('utf8'), {
                maxBytes: MAX_ANSWER_BYTES,
                maxDepth: 16,
              });
              if (parsed.ok && parsed.value !== null && typeof parsed.value === 'object')
                value = parsed.value as Record<string, unknown>;
            }
            resolve({ status: answer.statusCode ?? 502, headers: answer.headers, data, json: value });
          });
        },
      );
      upstream.once('error', reject);
      upstream.end(body);
    });
  }

  function forwardHeaders(req: IncomingMessage, body: Buffer | undefined): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (!config.trustProxy && name.startsWith('x-forwarded-')) continue;
      out[name] = value;
    }
    if (body) out['content-length'] = String(body.length);
    else if (req.headers['content-length']) out['content-length'] = req.headers['content-length'];
    else if (req.headers['transfer-encoding']) out['transfer-encoding'] = req.headers['transfer-encoding'];
    out['x-forwarded-for'] = forwardedFor(req);
    return out;
  }

  /** The client as the worker must see it: the peer, or (behind a trusted proxy) what that proxy said. */
  function forwardedFor(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? 'unknown';
    if (!config.trustProxy) return peer;
    return clientAddress(peer, req.headers['x-forwarded-for'], true);
  }

  async function sendMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (config.authToken && !bearerMatches(req.headers.authorization, config.authToken)) {
      return json(res, 401, { info: 'Unauthorized' });
    }
    const workers = await pool.metrics();
    const text = renderPrometheus([
      { labels: { worker: 'primary' }, metrics: processMetrics.snapshot() },
      ...workers.map((w) => ({ labels: { worker: String(w.worker) }, metrics: w.metrics })),
    ]);
    res.writeHead(200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let owner: number | undefined;
    if (url.pathname === '/ws') owner = directory.lookup('token', url.searchParams.get('token'));
    else if (url.pathname === LIVEKIT_SIGNAL)
      owner = directory.lookup('room', roomOf(url.searchParams.get('access_token')));
    const port = owner !== undefined ? pool.portOf(owner) : undefined;
    const target = port ?? pool.pick()?.port;
    if (target === undefined) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    pipeUpgrade(req, socket, head, target);
  });

  function pipeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-for' || (!config.trustProxy && lower.startsWith('x-forwarded-'))) continue;
      lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
    }
    lines.push(`x-forwarded-for: ${forwardedFor(req)}`);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.once('error', close);
    upstream.once('close', close);
    socket.once('error', close);
    socket.once('close', close);
  }

  return server;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  data: Buffer;
  json: Record<string, unknown> | undefined;
}

function reply(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { ...responseHeaders(answer.headers), 'content-length': answer.data.length });
  res.end(answer.data);
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !(HOP_BY_HOP.has(name) && name !== 'content-length')) out[name] = value;
  }
  return out;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function unavailable(res: ServerResponse): void {
  res.setHeader('retry-after', '1');
  json(res, 503, { info: 'No worker is available; retry shortly' });
}

/** The body, or `undefined` when it is larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** The room claim of a LiveKit access token (unverified: the worker verifies it). */
export function roomOf(token: string | null): string | undefined {
  if (!token || token.length > 8192) return undefined;
  const body = token.split('.')[1];
  if (!body) return undefined;
  const parsed = parseJsonWithLimits(Buffer.from(body, 'base64url').toString('utf8'), { maxDepth: 8 });
  if (!parsed.ok) return undefined;
  const room = (parsed.value as { video?: { room?: unknown } } | null)?.video?.room;
  return typeof room === 'string' ? room : undefined;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
