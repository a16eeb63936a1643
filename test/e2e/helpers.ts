/**
 * Shared pieces of the server end-to-end tests: a real server on 127.0.0.1:0 built from the offline
 * demo (or a given config file), a raw `ws` RTVI client speaking Pipecat protobuf frames, and bounded
 * waits.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { silentLogger } from '../../src/logger.ts';
import { DEMO_DIR, loadServerConfig, type ServerConfig } from '../../src/server/config.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../../src/server/server.ts';
import { until as pollUntil } from '../../src/testing/signals.ts';
import { decodeFrame, encodeMessageFrame } from '../../src/transports/pipecat-websocket/index.ts';

export { DEMO_DIR };

export interface TestServerOptions {
  /** Config file contents (written to a temp dir); the bundled demo otherwise. */
  file?: unknown;
  /** More files next to the config file (e.g. a `scripted:` LLM script), by name. */
  files?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Edits the loaded config (e.g. drop the greeting). */
  edit?: (config: ServerConfig) => ServerConfig;
  readyTimeoutMs?: number;
  /** Server limits over the defaults (docs/security.md). */
  limits?: StartServerOptions['limits'];
  registerRoutes?: StartServerOptions['registerRoutes'];
  onConnect?: StartServerOptions['onConnect'];
  connectHookTimeoutMs?: number;
}

/**
 * What the demo grammar lets pocketsphinx hear for the fake microphone's "what time is breakfast":
 * on a loaded machine it can pick the grammar's other breakfast question. Both are the same request
 * to the demo (one script rule answers them), which is what transcript assertions are about.
 */
export const BREAKFAST_QUESTION = /^(what time|when) is breakfast$/;

/** Offline models: scripted LLM, pocketsphinx with the demo grammar, espeak, Silero. */
export const OFFLINE_ENV = {
  COLLOQUY_STT: `pocketsphinx:${join(DEMO_DIR, 'demo.jsgf')}`,
  COLLOQUY_TTS: 'espeak',
  COLLOQUY_VAD: 'silero',
};

export async function startTestServer(options: TestServerOptions = {}): Promise<RunningServer> {
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    COLLOQUY_STORE: 'memory',
    COLLOQUY_RESUME_WINDOW_MS: '0',
    ...OFFLINE_ENV,
    ...options.env,
  };
  if (options.file !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'colloquy-e2e-'));
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify(options.file));
    for (const [name, content] of Object.entries(options.files ?? {})) {
      await writeFile(join(dir, name), JSON.stringify(content));
    }
    env.COLLOQUY_CONFIG = path;
  }
  let config = loadServerConfig(env);
  if (options.edit) config = options.edit(config);
  return startServer({
    config,
    logger: silentLogger,
    limits: {
      ...options.limits,
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    },
    ...(options.registerRoutes ? { registerRoutes: options.registerRoutes } : {}),
    ...(options.onConnect ? { onConnect: options.onConnect } : {}),
    ...(options.connectHookTimeoutMs ? { connectHookTimeoutMs: options.connectHookTimeoutMs } : {}),
  });
}

/** The demo config without its greeting (so a test's first bot words are its own). */
export const withoutGreeting = (config: ServerConfig): ServerConfig => ({
  ...config,
  file: { ...config.file, greeting: undefined },
});

export interface RtviMsg {
  label: string;
  type: string;
  id?: string;
  data?: any;
}

export interface RawClient {
  ws: WebSocket;
  messages: RtviMsg[];
  audioFrames: number;
  /** Resolves with the close code. */
  closed: Promise<number>;
  send(message: unknown): void;
  sendBytes(bytes: Uint8Array): void;
  waitFor(what: string, pred: (m: RtviMsg) => boolean, timeoutMs?: number): Promise<RtviMsg>;
  ready(): Promise<RtviMsg>;
  close(): void;
}

/** POST /connect, then open the returned `ws_url` with a raw `ws` client. */
export async function connectRaw(
  origin: string,
  requestData: unknown = {},
  headers: Record<string, string> = {},
): Promise<RawClient> {
  const res = await fetch(`${origin}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(requestData),
  });
  if (!res.ok) throw new Error(`/connect answered ${res.status}: ${await res.text()}`);
  const { ws_url } = (await res.json()) as { ws_url: string };
  return openRaw(ws_url);
}

export async function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
  const ws = new WebSocket(url, { headers });
  const client: RawClient = {
    ws,
    messages: [],
    audioFrames: 0,
    closed: new Promise<number>((resolve) => ws.on('close', (code) => resolve(code))),
    send: (message) => ws.send(encodeMessageFrame(message)),
    sendBytes: (bytes) => ws.send(bytes),
    waitFor: (what, pred, timeoutMs = 15_000) => until(what, () => client.messages.find(pred), timeoutMs),
    ready: async () => {
      client.send({
        label: 'rtvi-ai',
        type: 'client-ready',
        id: 'ready-01',
        data: { version: '2.1.0', about: { library: 'raw-ws-test' } },
      });
      return client.waitFor('bot-ready', (m) => m.type === 'bot-ready');
    },
    close: () => ws.close(),
  };
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const decoded = decodeFrame(data as Buffer);
    if (!decoded.ok) throw decoded.error;
    if (decoded.frame.type === 'audio') client.audioFrames++;
    if (decoded.frame.type === 'message') client.messages.push(JSON.parse(decoded.frame.data));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** `server-message` payloads (`{type, data}`) received so far. */
export const serverMessages = (client: RawClient) =>
  client.messages
    .filter((m) => m.type === 'server-message')
    .map((m) => m.data as { type: string; data: any });

/** Polls until a value appears (20 s default for browser round trips). */
export const until = <T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
) => pollUntil(what, probe, timeoutMs, 25);
