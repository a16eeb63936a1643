/**
 * One utterance streamed to Deepgram: audio goes out as binary PCM while it arrives, `Results`
 * come back as interim transcripts, and after the audio ends `CloseStream` makes Deepgram flush its
 * last finals, send `Metadata` and close; the utterance's final transcript is its finals joined.
 *
 *   connecting ──open──▶ open ──audio ends: CloseStream──▶ closing ──close 1000──▶ done (final)
 *   connecting | open | closing ──retryable failure, attempts left──▶ connecting (audio replayed)
 *   any ──abort | failure──▶ done (error)
 *
 * The utterance's audio is kept (bounded by `maxAudioBytes`) so a dropped connection can be
 * re-opened and the audio replayed: the transcript then starts over. Interim events are coalesced
 * (a slow reader sees the latest, never a growing queue).
 */
import WebSocket from 'ws';
import { ColloquyError, InvalidInputError, ProviderError, TimeoutError } from '../../errors.ts';
import { untilAborted } from '../abortable-iterate.ts';
import type { SttEvent } from '../types.ts';
import {
  closeError,
  type DeepgramControl,
  type DeepgramServerMessage,
  handshakeError,
  parseDeepgramMessage,
} from './deepgram-protocol.ts';

export interface DeepgramStreamConfig {
  /** The full `/v1/listen` URL with its query. */
  url: string;
  apiKey: string;
  language: string | undefined;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  keepAliveMs: number;
  maxReconnects: number;
  maxMessageBytes: number;
  maxAudioBytes: number;
}

type StreamState = 'connecting' | 'open' | 'closing' | 'done';

const NORMAL_CLOSE = 1000;

export class DeepgramStream {
  private state: StreamState = 'connecting';
  private ws: WebSocket | undefined;
  private attempt = 0;
  private attemptError: ColloquyError | undefined;
  private readonly audio: Buffer[] = [];
  private audioBytes = 0;
  private audioEnded = false;
  private closeStreamSent = false;
  private lastSentAt = 0;
  private finals: string[] = [];
  private lastInterim = '';
  private language: string | undefined;
  private readonly queue: SttEvent[] = [];
  private outcome: { error: unknown } | 'ended' | undefined;
  private wake: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(
    private readonly cfg: DeepgramStreamConfig,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.language = cfg.language;
    this.onAbort = () => this.fail(signal?.reason ?? new ProviderError('aborted', 'Transcription aborted'));
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Starts the connection and the audio pump. */
  start(audio: AsyncIterable<Int16Array>): void {
    this.connect();
    void this.pump(audio);
  }

  /** The next event, or `null` once the stream ended; throws the stream's error. */
  async next(): Promise<SttEvent | null> {
    for (;;) {
      const event = this.queue.shift();
      if (event !== undefined) return event;
      if (this.outcome === 'ended') return null;
      if (this.outcome !== undefined) throw this.outcome.error;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Releases the socket and timers (the reader stopped early, or the stream ended). */
  dispose(): void {
    if (this.state !== 'done') this.fail(new ProviderError('aborted', 'Transcription stopped by the reader'));
    this.clearTimers();
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  // ── Audio ────────────────────────────────────────────────────────────────────────

  private async pump(audio: AsyncIterable<Int16Array>): Promise<void> {
    try {
      for await (const pcm of untilAborted(audio, this.signal)) {
        if (this.state === 'done') return;
        if (pcm.length === 0) continue;
        const bytes = Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
        this.audioBytes += bytes.length;
        if (this.audioBytes > this.cfg.maxAudioBytes) {
          this.fail(
            new InvalidInputError(
              'stt_audio_too_long',
              `Utterance exceeds ${this.cfg.maxAudioBytes} bytes of audio`,
            ),
          );
          return;
        }
        this.audio.push(bytes);
        if (this.state === 'open') this.send(bytes);
      }
      if (this.state === 'done') return;
      this.audioEnded = true;
      if (this.state === 'open') this.closeStream();
    } catch (err) {
      this.fail(err);
    }
  }

  private send(data: Buffer | string): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    this.lastSentAt = Date.now();
    ws.send(data);
  }

  private control(message: DeepgramControl): void {
    this.send(JSON.stringify(message));
  }

  private closeStream(): void {
    this.state = 'closing';
    this.closeStreamSent = true;
    this.control({ type: 'CloseStream' });
    this.closeTimer = setTimeout(() => {
      this.fail(new TimeoutError('Deepgram final transcript', this.cfg.closeTimeoutMs));
    }, this.cfg.closeTimeoutMs);
  }

  // ── Connection ───────────────────────────────────────────────────────────────────

  private connect(): void {
    this.state = 'connecting';
    this.attemptError = undefined;
    this.closeStreamSent = false;
    const ws = new WebSocket(this.cfg.url, {
      headers: { Authorization: `Token ${this.cfg.apiKey}` },
      handshakeTimeout: this.cfg.connectTimeoutMs,
      maxPayload: this.cfg.maxMessageBytes,
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const reason = res.headers['dg-error'];
      this.attemptError = handshakeError(
        res.statusCode ?? 0,
        typeof reason === 'string' ? reason : undefined,
      );
      res.resume();
      ws.terminate(); // aborts the handshake: 'error' and 'close' follow
    });
    ws.on('open', () => {
      if (ws !== this.ws || this.state === 'done') return;
      this.state = 'open';
      for (const bytes of this.audio) this.send(bytes);
      if (this.audioEnded) this.closeStream();
      this.startKeepAlive();
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws || this.state === 'done') return;
      if (isBinary) {
        this.fail(
          new ProviderError('stt_bad_message', 'Deepgram sent a binary message', {
            details: { provider: 'deepgram' },
          }),
        );
        return;
      }
      try {
        this.onMessage(parseDeepgramMessage(data.toString(), this.cfg.maxMessageBytes));
      } catch (err) {
        this.fail(err);
      }
    });
    ws.on('error', (err) => {
      if (ws !== this.ws) return;
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.attemptError ??= new ProviderError(
          'stt_bad_message',
          `Deepgram sent a message larger than ${this.cfg.maxMessageBytes} bytes`,
          { retryable: false, cause: err, details: { provider: 'deepgram' } },
        );
        return;
      }
      this.attemptError ??= new ProviderError(
        'stt_connection_failed',
        `Deepgram connection failed: ${err.message}`,
        {
          retryable: true,
          cause: err,
          details: { provider: 'deepgram' },
        },
      );
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.ws || this.state === 'done') return;
      this.stopKeepAlive();
      if (this.closeStreamSent && code === NORMAL_CLOSE && this.attemptError === undefined) {
        this.finish();
        return;
      }
      const error = this.attemptError ?? closeError(code, reason.toString());
      if (error.retryable && this.attempt < this.cfg.maxReconnects) {
        this.attempt++;
        this.finals = [];
        this.lastInterim = '';
        this.state = 'connecting';
        this.retryTimer = setTimeout(() => this.connect(), 100 * 2 ** (this.attempt - 1));
        return;
      }
      this.fail(error);
    });
  }

  private startKeepAlive(): void {
    this.stopKeepAlive();
    const every = this.cfg.keepAliveMs;
    if (every <= 0) return;
    this.keepAlive = setInterval(() => {
      if (this.state === 'open' && Date.now() - this.lastSentAt >= every) this.control({ type: 'KeepAlive' });
    }, every);
    this.keepAlive.unref?.();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  // ── Messages ─────────────────────────────────────────────────────────────────────

  private onMessage(message: DeepgramServerMessage): void {
    switch (message.type) {
      case 'Results': {
        if (message.language !== undefined) this.language = message.language;
        const text = message.transcript.trim();
        if (message.isFinal) {
          if (text.length > 0) this.finals.push(text);
          this.interim(this.finals.join(' '));
        } else {
          this.interim(text.length > 0 ? [...this.finals, text].join(' ') : this.finals.join(' '));
        }
        return;
      }
      case 'Metadata':
      case 'UtteranceEnd':
      case 'SpeechStarted':
      case 'unknown':
        return;
      default: {
        const never: never = message;
        throw new ColloquyError('unreachable', `Unexpected Deepgram message ${JSON.stringify(never)}`);
      }
    }
  }

  private interim(text: string): void {
    if (text.length === 0 || text === this.lastInterim) return;
    this.lastInterim = text;
    const last = this.queue.at(-1);
    if (last?.type === 'interim') last.text = text;
    else this.queue.push({ type: 'interim', text });
    this.notify();
  }

  // ── End ──────────────────────────────────────────────────────────────────────────

  private finish(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    const final: SttEvent = { type: 'final', text: this.finals.join(' ') };
    if (this.language !== undefined) final.language = this.language;
    this.queue.push(final);
    this.outcome = 'ended';
    this.clearTimers();
    this.notify();
  }

  private fail(error: unknown): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.outcome = { error };
    this.clearTimers();
    const ws = this.ws;
    if (ws !== undefined) {
      if (ws.readyState === WebSocket.OPEN) ws.close(NORMAL_CLOSE);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    }
    this.notify();
  }

  private clearTimers(): void {
    this.stopKeepAlive();
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.closeTimer = undefined;
    this.retryTimer = undefined;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
