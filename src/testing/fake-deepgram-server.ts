/**
 * A local stand-in for Deepgram's live transcription endpoint (`/v1/listen`), speaking its wire
 * protocol on loopback so Deepgram clients (Colloquy's `DeepgramStt`, the official `@deepgram/sdk`)
 * can be tested without the cloud:
 *
 * - Handshake: `Authorization: Token KEY` (or the `token` subprotocol) else HTTP 401 with a
 *   `dg-error` header; raw audio needs `encoding` and `sample_rate`, else HTTP 400.
 * - Binary frames are audio. As audio accumulates, the scripted transcript is revealed word by word
 *   (`msPerWord` of audio per word) in `Results` with `is_final: false` (when `interim_results=true`).
 * - `Finalize` flushes a final `Results` (`from_finalize: true`); `CloseStream` flushes the final,
 *   sends `Metadata` and closes with 1000. `KeepAlive` keeps the stream open; with no audio and no
 *   `KeepAlive` for `idleTimeoutMs` the server closes with 1011 `NET-0001`, as Deepgram does.
 *
 *   const server = await FakeDeepgramServer.start({ transcript: 'hello world' });
 *   new DeepgramStt({ apiKey: server.apiKey, url: server.url });
 *   await server.close();
 *
 * `onConnection` gives each connection to the test to misbehave with (`send` raw text, `close`,
 * `terminate`). Every connection is recorded (`connections`: query, headers, audio bytes, controls).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

export interface FakeDeepgramServerOptions {
  /** The accepted API key (default `fake-deepgram-key`). */
  apiKey?: string;
  /** What the "recognizer" hears, per connection (default `hello world`). */
  transcript?: string | ((connection: FakeDeepgramConnection) => string);
  /** Audio per revealed word (default 200 ms). */
  msPerWord?: number;
  /** Audio between two interim `Results` (default 100 ms). */
  interimEveryMs?: number;
  /** Closes a stream that got no audio or `KeepAlive` for this long (default 10 000 ms, as Deepgram). */
  idleTimeoutMs?: number;
  /** Called for every accepted connection, before any message. */
  onConnection?: (connection: FakeDeepgramConnection) => void;
}

/**
 * One client connection to a `FakeDeepgramServer`: its query, the audio it sent, the control
 * messages (`KeepAlive`, `Finalize`, `CloseStream`).
 *
 * @example
 * ```ts
 * import { DeepgramStt } from 'colloquy';
 * import { FakeDeepgramServer } from 'colloquy/testing';
 *
 * const server = await FakeDeepgramServer.start({ transcript: 'hello world' });
 * const stt = new DeepgramStt({ apiKey: server.apiKey, url: server.url });
 * // … run the STT on some audio, then:
 * const [connection] = await server.waitForConnections(1);
 * console.log(connection?.query.get('model'), connection?.sampleRate, connection?.controls);
 * await server.close();
 * ```
 */
export class FakeDeepgramConnection {
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly requestId = randomUUID();
  /** Audio bytes received. */
  audioBytes = 0;
  /** Control messages received (`KeepAlive`, `Finalize`, `CloseStream`), in order. */
  readonly controls: string[] = [];
  /** Text messages that were not a known control message. */
  readonly invalid: string[] = [];
  /** Set when the stream ended: the close code and reason. */
  closedWith: { code: number; reason: string } | undefined;
  /** When false, no automatic `Results` are sent (the test sends its own). */
  autoRespond = true;
  readonly sampleRate: number;
  readonly closed: Promise<{ code: number; reason: string }>;
  private revealed = 0;
  private sinceInterimBytes = 0;
  private finalizedWords = 0;
  private finalizedSeconds = 0;
  private idle: NodeJS.Timeout | undefined;
  private transcriptWords: string[] | undefined;
  private readonly controlWaiters: Array<{ type: string; count: number; resolve: () => void }> = [];

  constructor(
    private readonly ws: WebSocket,
    request: IncomingMessage,
    private readonly o: Required<Omit<FakeDeepgramServerOptions, 'onConnection'>>,
  ) {
    const url = new URL(request.url ?? '/', 'http://localhost');
    this.query = url.searchParams;
    this.headers = request.headers;
    this.sampleRate = Number(this.query.get('sample_rate'));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        clearTimeout(this.idle);
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
      });
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.touch();
  }

  /** The words this connection will recognise. */
  get words(): string[] {
    if (this.transcriptWords === undefined) {
      const t = this.o.transcript;
      const text = typeof t === 'function' ? t(this) : t;
      this.transcriptWords = text.split(/\s+/).filter(Boolean);
    }
    return this.transcriptWords;
  }

  /** Resolves once `count` control messages of `type` arrived. */
  waitForControls(type: string, count: number): Promise<void> {
    if (this.controls.filter((c) => c === type).length >= count) return Promise.resolve();
    return new Promise((resolve) => this.controlWaiters.push({ type, count, resolve }));
  }

  private recordControl(type: string): void {
    this.controls.push(type);
    for (const w of [...this.controlWaiters]) {
      if (this.controls.filter((c) => c === w.type).length < w.count) continue;
      this.controlWaiters.splice(this.controlWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Sends raw text (any content: tests use it for malformed messages). */
  send(text: string | Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Sends one `Results` message as Deepgram shapes it. */
  sendResults(
    transcript: string,
    opts: { isFinal: boolean; speechFinal?: boolean; fromFinalize?: boolean },
  ): void {
    const words = transcript.split(/\s+/).filter(Boolean);
    const start = this.finalizedSeconds;
    const duration = Math.max(0, this.audioSeconds() - start);
    const per = words.length > 0 ? duration / words.length : 0;
    this.send(
      JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration,
        start,
        is_final: opts.isFinal,
        speech_final: opts.speechFinal ?? false,
        from_finalize: opts.fromFinalize ?? false,
        channel: {
          alternatives: [
            {
              transcript,
              confidence: 0.99,
              words: words.map((w, i) => ({
                word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
                start: start + i * per,
                end: start + (i + 1) * per,
                confidence: 0.99,
                punctuated_word: w,
              })),
            },
          ],
        },
        metadata: {
          request_id: this.requestId,
          model_info: { name: this.query.get('model') ?? 'general', version: 'fake', arch: 'fake' },
          model_uuid: '00000000-0000-0000-0000-000000000000',
        },
      }),
    );
  }

  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.ws.terminate();
  }

  private audioSeconds(): number {
    return this.sampleRate > 0 ? this.audioBytes / 2 / this.sampleRate : 0;
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(1011, 'NET-0001'), this.o.idleTimeoutMs);
    this.idle.unref?.();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const bytes = Array.isArray(data)
        ? data.reduce((n, b) => n + b.length, 0)
        : data instanceof ArrayBuffer
          ? data.byteLength
          : data.length;
      this.audioBytes += bytes;
      this.sinceInterimBytes += bytes;
      this.touch();
      this.onAudio();
      return;
    }
    const text = data.toString();
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      type = undefined;
    }
    switch (type) {
      case 'KeepAlive':
        this.recordControl(type);
        this.touch();
        return;
      case 'Finalize':
        this.recordControl(type);
        this.flushFinal(true);
        return;
      case 'CloseStream':
        this.recordControl(type);
        this.flushFinal(false);
        this.send(
          JSON.stringify({
            type: 'Metadata',
            transaction_key: 'deprecated',
            request_id: this.requestId,
            sha256: '0'.repeat(64),
            created: new Date().toISOString(),
            duration: this.audioSeconds(),
            channels: 1,
          }),
        );
        this.close(1000, '');
        return;
      default:
        this.invalid.push(text.slice(0, 200));
    }
  }

  private onAudio(): void {
    if (!this.autoRespond || this.sampleRate <= 0) return;
    const audioMs = this.audioSeconds() * 1000;
    this.revealed = Math.min(this.words.length, Math.floor(audioMs / this.o.msPerWord));
    const everyBytes = (this.o.interimEveryMs / 1000) * this.sampleRate * 2;
    if (this.sinceInterimBytes < everyBytes) return;
    this.sinceInterimBytes = 0;
    if (this.query.get('interim_results') !== 'true') return;
    const pending = this.words.slice(this.finalizedWords, this.revealed);
    if (pending.length > 0) this.sendResults(pending.join(' '), { isFinal: false });
  }

  private flushFinal(fromFinalize: boolean): void {
    if (!this.autoRespond) return;
    // The recognizer "heard" the whole transcript once the audio ended.
    const pending = this.words.slice(this.finalizedWords);
    if (this.audioBytes === 0 && pending.length > 0) return;
    this.sendResults(pending.join(' '), { isFinal: true, speechFinal: true, fromFinalize });
    this.finalizedWords = this.words.length;
    this.finalizedSeconds = this.audioSeconds();
  }
}

/**
 * A local server speaking Deepgram's `/v1/listen` WebSocket protocol, for testing `DeepgramStt`
 * (or your own client) without the cloud.
 *
 * @example
 * ```ts
 * import { DeepgramStt, VoiceSession } from 'colloquy';
 * import { FakeDeepgramServer, mockLanguageModel } from 'colloquy/testing';
 *
 * const server = await FakeDeepgramServer.start({ transcript: 'turn on the kitchen lights', msPerWord: 100 });
 * const session = new VoiceSession({
 *   userId: 'u1',
 *   model: mockLanguageModel(['Done.']),
 *   agents: [{ name: 'main', instructions: 'Control the lights.' }],
 *   audio: { stt: new DeepgramStt({ apiKey: server.apiKey, url: server.url }) },
 * });
 * // … push audio, await the turn …
 * await session.close();
 * await server.close();
 * ```
 */
export class FakeDeepgramServer {
  readonly connections: FakeDeepgramConnection[] = [];
  /** Handshakes refused (status and why). */
  readonly refused: Array<{ status: number; reason: string }> = [];
  private readonly waiters: Array<{ count: number; resolve: (c: FakeDeepgramConnection[]) => void }> = [];

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly apiKey: string,
    readonly url: string,
  ) {}

  static async start(options: FakeDeepgramServerOptions = {}): Promise<FakeDeepgramServer> {
    const o = {
      apiKey: options.apiKey ?? 'fake-deepgram-key',
      transcript: options.transcript ?? 'hello world',
      msPerWord: options.msPerWord ?? 200,
      interimEveryMs: options.interimEveryMs ?? 100,
      idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    };
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const server = new FakeDeepgramServer(http, wss, o.apiKey, `ws://127.0.0.1:${port}/v1/listen`);
    http.on('upgrade', (request, socket, head) => {
      const refusal = server.check(request);
      if (refusal !== undefined) {
        server.refuse(socket, refusal.status, refusal.reason);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = new FakeDeepgramConnection(ws, request, o);
        options.onConnection?.(connection);
        server.accepted(connection);
      });
    });
    return server;
  }

  /** Resolves when `count` connections were accepted. */
  waitForConnections(count: number): Promise<FakeDeepgramConnection[]> {
    if (this.connections.length >= count) return Promise.resolve(this.connections);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private accepted(connection: FakeDeepgramConnection): void {
    this.connections.push(connection);
    for (const w of [...this.waiters]) {
      if (this.connections.length < w.count) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(this.connections);
    }
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private check(request: IncomingMessage): { status: number; reason: string } | undefined {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/listen') return { status: 404, reason: 'Not found' };
    const auth = request.headers.authorization;
    const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const viaProtocol = protocols[0] === 'token' && protocols[1] === this.apiKey;
    if (auth !== `Token ${this.apiKey}` && !viaProtocol) {
      return { status: 401, reason: 'Invalid credentials.' };
    }
    const q = url.searchParams;
    const encoding = q.get('encoding');
    if (encoding !== null && encoding !== 'linear16')
      return { status: 400, reason: `Unsupported encoding ${encoding}` };
    const rate = Number(q.get('sample_rate'));
    if (encoding === null || !Number.isInteger(rate) || rate < 8000 || rate > 48000) {
      return { status: 400, reason: 'Raw audio needs encoding=linear16 and a sample_rate' };
    }
    return undefined;
  }

  private refuse(socket: Duplex, status: number, reason: string): void {
    this.refused.push({ status, reason });
    const body = JSON.stringify({
      err_code: status === 401 ? 'INVALID_AUTH' : 'Bad Request',
      err_msg: reason,
    });
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Bad Request'}\r\n` +
        `content-type: application/json\r\ndg-error: ${reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }
}
