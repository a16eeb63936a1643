/**
 * The WebSocket plumbing both realtime adapters share: open a socket with a bounded wait (and an
 * AbortSignal), classify a failed upgrade by its HTTP status, parse provider messages at the edge
 * (size and shape checked before any work), and encode PCM16 as base64 and back.
 *
 * `ws` is used directly rather than the providers' SDKs: it is already a core dependency, works the
 * same for both providers, lets a test point the adapter at a local server, and keeps the
 * per-frame path (one base64 string per audio frame) free of SDK wrappers.
 */
import WebSocket from 'ws';
import { type ColloquyErrorCode, ProviderError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';
import type { RealtimeErrorSeverity } from './types.ts';

/** Largest provider message accepted (audio deltas are base64 PCM; a second is ~64 KB). */
export const MAX_SERVER_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Deepest provider message accepted (the protocols nest a handful of levels). */
export const MAX_SERVER_MESSAGE_DEPTH = 32;
/** Most JSON values in one provider message. */
export const MAX_SERVER_MESSAGE_NODES = 200_000;

export interface OpenSocketOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A failed connect, with how bad it is (401/403: fatal; 429/5xx/network: retryable). */
export class RealtimeConnectError extends ProviderError {
  constructor(
    code: ColloquyErrorCode,
    message: string,
    readonly severity: RealtimeErrorSeverity,
    cause?: unknown,
  ) {
    super(code, message, { retryable: severity === 'retryable', cause });
  }
}

export function openSocket(o: OpenSocketOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new RealtimeConnectError('realtime_aborted', 'Connect aborted', 'fatal', o.signal.reason));
      return;
    }
    const ws = new WebSocket(o.url, { headers: o.headers, maxPayload: MAX_SERVER_MESSAGE_BYTES });
    const fail = (err: RealtimeConnectError) => {
      cleanup();
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new RealtimeConnectError(
            'realtime_connect_timeout',
            `No connection within ${o.timeoutMs} ms`,
            'retryable',
          ),
        ),
      o.timeoutMs,
    );
    const onAbort = () =>
      fail(new RealtimeConnectError('realtime_aborted', 'Connect aborted', 'fatal', o.signal?.reason));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    ws.once('open', () => {
      cleanup();
      ws.removeAllListeners('unexpected-response');
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const fatal = status === 401 || status === 403 || status === 404 || status === 400;
      fail(
        new RealtimeConnectError(
          fatal ? 'realtime_rejected' : 'realtime_unavailable',
          `The provider refused the connection (HTTP ${status})`,
          fatal ? 'fatal' : 'retryable',
        ),
      );
    });
    ws.once('error', (err) =>
      fail(
        new RealtimeConnectError(
          'realtime_connect_failed',
          `Cannot connect: ${err.message}`,
          'retryable',
          err,
        ),
      ),
    );
  });
}

export type ParsedMessage =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; error: ProviderError };

/** One provider message as a JSON object, or a typed error (never throws). */
export function parseServerMessage(data: WebSocket.RawData, isBinary: boolean): ParsedMessage {
  // Gemini sends JSON in binary frames; OpenAI in text frames. Both are UTF-8 JSON.
  void isBinary;
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  if (size > MAX_SERVER_MESSAGE_BYTES) {
    return {
      ok: false,
      error: new ProviderError('realtime_message_too_large', `Provider message of ${size} bytes`),
    };
  }
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as ArrayBuffer).toString('utf8');
  // Bounded like client input: a provider (or whoever answers in its place) is outside too.
  const parsed = parseJsonWithLimits(text, {
    maxBytes: MAX_SERVER_MESSAGE_BYTES,
    maxDepth: MAX_SERVER_MESSAGE_DEPTH,
    maxNodes: MAX_SERVER_MESSAGE_NODES,
  });
  if (!parsed.ok) {
    const malformed = parsed.error.kind === 'malformed';
    return {
      ok: false,
      error: new ProviderError(
        malformed ? 'realtime_malformed_message' : 'realtime_message_refused',
        malformed ? 'Provider message is not JSON' : `Provider message refused: ${parsed.error.message}`,
        { cause: parsed.error },
      ),
    };
  }
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: new ProviderError('realtime_malformed_message', 'Provider message is not a JSON object'),
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export function pcmToBase64(pcm: Int16Array): string {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
}

/** Base64 PCM16 LE → samples (copied into an aligned buffer); an odd trailing byte is dropped. */
export function base64ToPcm(data: string): Int16Array {
  const bytes = Buffer.from(data, 'base64');
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
export const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
