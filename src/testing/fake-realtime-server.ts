/**
 * The common part of the local fake realtime servers (`FakeOpenAIRealtimeServer`,
 * `FakeGeminiLiveServer`): a WebSocket server on loopback (port 0), a queue of scripted replies,
 * an energy "VAD" over the user's audio measured in audio time (so tests are deterministic), the
 * model's speech as a tone of a known length, and controls to break things (close, raw messages).
 * Each subclass speaks its provider's wire protocol.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** One scripted model reply. */
export interface FakeRealtimeReply {
  /** What the fake transcribes the user's turn as (input transcription). */
  userTranscript?: string;
  /** What the model says (output transcription); its audio is a tone. */
  text?: string;
  /** Length of the spoken audio (default 50 ms per character of `text`, at least 200 ms). */
  audioMs?: number;
  /** Call this tool first; the reply's text is spoken after the tool result comes back. */
  toolCall?: { name: string; args: Record<string, unknown> };
  /**
   * With `toolCall`: what the model says before it calls the tool, in the same response ("Let me
   * check that."), its audio a tone of `audioMs` (default as for `text`).
   */
  preamble?: { text: string; audioMs?: number };
}

export interface FakeRealtimeServerOptions {
  /** The key clients must present (default 'test-key'). */
  apiKey?: string;
  /** Replies, in order; more can be queued with `reply()`. */
  replies?: FakeRealtimeReply[];
  /** How much faster than real time audio is sent (default 8). */
  speed?: number;
  /** Audio per delta message (default 100 ms). */
  chunkMs?: number;
  /** User audio louder than this RMS counts as speech (default 300). */
  speechThreshold?: number;
  /** Audio-time silence that ends the user's turn (default 300 ms). */
  silenceMs?: number;
}

export interface FakeReceived {
  connection: number;
  message: Record<string, unknown>;
}

/** Per-connection state both fakes keep. */
export interface FakeConnectionState {
  id: number;
  ws: WebSocket;
  speaking: boolean;
  silenceSamples: number;
  heardSpeech: boolean;
}

/**
 * @example
 * ```ts
 * import { FakeOpenAIRealtimeServer, type FakeRealtimeServer } from 'colloquy/testing';
 *
 * // what both fakes share: scripted replies, what they received, connections
 * async function withFake(fake: FakeRealtimeServer, run: () => Promise<void>): Promise<void> {
 *   await fake.listen();
 *   fake.reply({ userTranscript: 'book a table', text: 'For how many people?' });
 *   try {
 *     await run();
 *   } finally {
 *     await fake.close();
 *   }
 * }
 * await withFake(new FakeOpenAIRealtimeServer(), async () => {});
 * ```
 */
export abstract class FakeRealtimeServer {
  readonly apiKey: string;
  readonly received: FakeReceived[] = [];
  protected readonly replies: FakeRealtimeReply[];
  protected readonly opts: Required<Omit<FakeRealtimeServerOptions, 'replies' | 'apiKey'>>;
  protected readonly sockets = new Map<number, FakeConnectionState>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private nextId = 0;
  private waiters: Array<{ test: (r: FakeReceived) => boolean; resolve: (r: FakeReceived) => void }> = [];
  private baseUrl = '';
  /** Upgrades refused (bad key, bad path). */
  rejected = 0;

  constructor(options: FakeRealtimeServerOptions = {}) {
    this.apiKey = options.apiKey ?? 'test-key';
    this.replies = [...(options.replies ?? [])];
    this.opts = {
      speed: options.speed ?? 8,
      chunkMs: options.chunkMs ?? 100,
      speechThreshold: options.speechThreshold ?? 300,
      silenceMs: options.silenceMs ?? 300,
    };
    this.http = createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
    this.http.on('upgrade', (req, socket, head) => {
      const status = this.authorize(req);
      if (status !== 200) {
        this.rejected++;
        socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    });
  }

  /** Starts listening on a free loopback port. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  /** The endpoint URL to give the adapter (or the provider SDK). */
  abstract get url(): string;

  protected get base(): string {
    return this.baseUrl;
  }

  /** Queues a reply. */
  reply(...replies: FakeRealtimeReply[]): void {
    this.replies.push(...replies);
  }

  /** Connections currently open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.nextId;
  }

  /** Client messages whose key (`type` for OpenAI, top-level field for Gemini) is `kind`. */
  messages(kind: string): Record<string, unknown>[] {
    return this.received.filter((r) => this.kindOf(r.message) === kind).map((r) => r.message);
  }

  /** Resolves with the first client message (already received or next) of `kind` passing `test`. */
  waitFor(
    kind: string,
    test: (m: Record<string, unknown>) => boolean = () => true,
    after = 0,
  ): Promise<Record<string, unknown>> {
    const match = (r: FakeReceived) => this.kindOf(r.message) === kind && test(r.message);
    const found = this.received.slice(after).find(match);
    if (found) return Promise.resolve(found.message);
    return new Promise((resolve) => this.waiters.push({ test: match, resolve: (r) => resolve(r.message) }));
  }

  /** Sends raw text to the newest connection (malformed-message tests). */
  sendRaw(data: string): void {
    this.latest()?.ws.send(data);
  }

  /** Closes every connection with `code`. */
  closeConnections(code = 1011, reason = 'fake server closed'): void {
    for (const s of this.sockets.values()) s.ws.close(code, reason);
  }

  async close(): Promise<void> {
    for (const s of this.sockets.values()) s.ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  protected latest(): FakeConnectionState | undefined {
    let last: FakeConnectionState | undefined;
    for (const s of this.sockets.values()) last = s;
    return last;
  }

  protected abstract authorize(req: IncomingMessage): number;
  protected abstract kindOf(message: Record<string, unknown>): string;
  protected abstract onOpen(state: FakeConnectionState, req: IncomingMessage): void;
  protected abstract onMessage(state: FakeConnectionState, message: Record<string, unknown>): void;
  protected abstract onClose(state: FakeConnectionState): void;

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const state: FakeConnectionState = {
      id: ++this.nextId,
      ws,
      speaking: false,
      silenceSamples: 0,
      heardSpeech: false,
    };
    this.sockets.set(state.id, state);
    ws.on('message', (data) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data.toString());
      } catch {
        ws.close(1007, 'invalid JSON');
        return;
      }
      const received = { connection: state.id, message };
      this.received.push(received);
      this.onMessage(state, message);
      const ready = this.waiters.filter((w) => w.test(received));
      this.waiters = this.waiters.filter((w) => !w.test(received));
      for (const w of ready) w.resolve(received);
    });
    ws.on('close', () => {
      this.sockets.delete(state.id);
      this.onClose(state);
    });
    this.onOpen(state, req);
  }

  /**
   * Feeds user audio to the energy detector. Returns 'start' when speech begins and 'stop' once
   * `silenceMs` of audio-time silence follows it.
   */
  protected detect(
    state: FakeConnectionState,
    pcm: Int16Array,
    sampleRate: number,
  ): 'start' | 'stop' | undefined {
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
    const loud = pcm.length > 0 && Math.sqrt(sum / pcm.length) > this.opts.speechThreshold;
    if (loud) {
      state.silenceSamples = 0;
      if (!state.speaking) {
        state.speaking = true;
        return 'start';
      }
      return undefined;
    }
    if (!state.speaking) return undefined;
    state.silenceSamples += pcm.length;
    if ((state.silenceSamples * 1000) / sampleRate >= this.opts.silenceMs) {
      state.speaking = false;
      state.silenceSamples = 0;
      return 'stop';
    }
    return undefined;
  }

  /** The next reply (an empty one when the script ran out, so the model says nothing). */
  protected nextReply(): FakeRealtimeReply {
    return this.replies.shift() ?? {};
  }
}

/** The fakes' token count of a text: one token per four characters (at least one). */
export function fakeTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Audio length of a reply in ms. */
export function replyAudioMs(reply: FakeRealtimeReply): number {
  if (!reply.text) return 0;
  return reply.audioMs ?? Math.max(200, reply.text.length * 50);
}

/** A 440 Hz tone of `samples` at `sampleRate`, starting at sample `offset` (continuous across chunks). */
export function toneChunk(samples: number, sampleRate: number, offset: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++)
    out[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (offset + i)) / sampleRate));
  return out;
}

export function decodePcm(b64: string): Int16Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

export function encodePcm(pcm: Int16Array): string {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
}

/** Splits `text` into word deltas spread over `parts` pieces (transcript deltas beside audio deltas). */
export function splitText(text: string, parts: number): string[] {
  const words = text.split(/(?<=\s)/);
  const out: string[] = [];
  const per = Math.max(1, Math.ceil(words.length / Math.max(1, parts)));
  for (let i = 0; i < words.length; i += per) out.push(words.slice(i, i + per).join(''));
  return out;
}
