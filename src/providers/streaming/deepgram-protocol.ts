/**
 * Deepgram's live transcription protocol (`/v1/listen` over WebSocket), the parts Colloquy speaks:
 * the connection URL, the control messages a client sends, and a validating parser for the
 * messages the server sends. Every server message is checked (size, JSON shape, field types and
 * bounds) before it is used; anything else is a typed `ProviderError`, never an exception from
 * deep inside a handler.
 *
 * Server → client (JSON text): `Results` (interim or final transcript of a span of audio),
 * `Metadata` (summary sent after `CloseStream`), `UtteranceEnd`, `SpeechStarted`.
 * Client → server: binary PCM (`encoding=linear16`), and JSON `KeepAlive`, `Finalize`, `CloseStream`.
 */
import { ProviderError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';

export const DEEPGRAM_LISTEN_URL = 'wss://api.deepgram.com/v1/listen';

/** Control messages a client sends as JSON text. */
export type DeepgramControl = { type: 'KeepAlive' } | { type: 'Finalize' } | { type: 'CloseStream' };

export interface DeepgramWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}

export type DeepgramServerMessage =
  | {
      type: 'Results';
      /** Seconds into the stream where the span starts, and its length. */
      start: number;
      duration: number;
      isFinal: boolean;
      speechFinal: boolean;
      fromFinalize: boolean;
      transcript: string;
      confidence: number;
      words: DeepgramWord[];
      /** First detected language of the best alternative (multilingual models), if any. */
      language?: string;
    }
  | { type: 'Metadata'; requestId: string; duration: number }
  | { type: 'UtteranceEnd'; lastWordEnd: number }
  | { type: 'SpeechStarted'; timestamp: number }
  /** A message type this client does not know (Deepgram may add some): ignored. */
  | { type: 'unknown'; name: string };

export interface DeepgramUrlOptions {
  url: string;
  model: string;
  sampleRate: number;
  language?: string;
  interimResults: boolean;
  punctuate: boolean;
  smartFormat: boolean;
  /** Extra query parameters (e.g. `endpointing`, `keyterm`), passed as they are. */
  params?: Record<string, string>;
}

/** The `/v1/listen` URL for raw mono PCM16 at `sampleRate`. */
export function deepgramListenUrl(o: DeepgramUrlOptions): string {
  const url = new URL(o.url);
  const q = url.searchParams;
  q.set('model', o.model);
  q.set('encoding', 'linear16');
  q.set('sample_rate', String(o.sampleRate));
  q.set('channels', '1');
  q.set('interim_results', String(o.interimResults));
  q.set('punctuate', String(o.punctuate));
  q.set('smart_format', String(o.smartFormat));
  if (o.language !== undefined) q.set('language', o.language);
  for (const [k, v] of Object.entries(o.params ?? {})) q.set(k, v);
  return url.toString();
}

/** Longest transcript accepted in one message (characters). */
const MAX_TRANSCRIPT = 20_000;
/** Most words accepted in one message. */
const MAX_WORDS = 5_000;

function bad(message: string, details?: Record<string, unknown>): ProviderError {
  return new ProviderError('stt_bad_message', `Deepgram sent an invalid message: ${message}`, {
    retryable: false,
    details: { provider: 'deepgram', ...details },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}.${key} is not a finite number`);
  return v;
}

function optBool(o: Record<string, unknown>, key: string, where: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(`${where}.${key} is not a boolean`);
  return v;
}

function str(o: Record<string, unknown>, key: string, where: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(`${where}.${key} is not a string`);
  if (v.length > max) throw bad(`${where}.${key} is longer than ${max} characters`);
  return v;
}

function parseWords(value: unknown): DeepgramWord[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad('words is not an array');
  if (value.length > MAX_WORDS) throw bad(`more than ${MAX_WORDS} words`);
  const words: DeepgramWord[] = [];
  for (const w of value) {
    if (!isRecord(w)) throw bad('a word is not an object');
    const word: DeepgramWord = {
      word: str(w, 'word', 'word', 1000),
      start: num(w, 'start', 'word'),
      end: num(w, 'end', 'word'),
      confidence: num(w, 'confidence', 'word'),
    };
    if (w.punctuated_word !== undefined) word.punctuated_word = str(w, 'punctuated_word', 'word', 1000);
    words.push(word);
  }
  return words;
}

function parseResults(o: Record<string, unknown>): DeepgramServerMessage {
  const channel = o.channel;
  if (!isRecord(channel)) throw bad('Results.channel is not an object');
  const alternatives = channel.alternatives;
  if (!Array.isArray(alternatives)) throw bad('Results.channel.alternatives is not an array');
  const best = alternatives[0];
  // No alternative at all is a span without speech.
  if (best !== undefined && !isRecord(best)) throw bad('an alternative is not an object');
  const transcript = best ? str(best, 'transcript', 'alternative', MAX_TRANSCRIPT) : '';
  const confidence = best && best.confidence !== undefined ? num(best, 'confidence', 'alternative') : 0;
  const words = best ? parseWords(best.words) : [];
  const message: Extract<DeepgramServerMessage, { type: 'Results' }> = {
    type: 'Results',
    start: num(o, 'start', 'Results'),
    duration: num(o, 'duration', 'Results'),
    isFinal: optBool(o, 'is_final', 'Results'),
    speechFinal: optBool(o, 'speech_final', 'Results'),
    fromFinalize: optBool(o, 'from_finalize', 'Results'),
    transcript,
    confidence,
    words,
  };
  const languages = best?.languages;
  if (Array.isArray(languages) && typeof languages[0] === 'string' && languages[0].length <= 32) {
    message.language = languages[0];
  }
  return message;
}

/**
 * Parses one server message. `data` is what the socket delivered; `isBinary` says whether it was
 * a binary frame (Deepgram sends none on `/v1/listen`). Throws `ProviderError('stt_bad_message')`.
 */
export function parseDeepgramMessage(data: string, maxBytes: number): DeepgramServerMessage {
  if (data.length > maxBytes) throw bad(`message of ${data.length} characters exceeds ${maxBytes}`);
  const parsed = parseJsonWithLimits(data, { maxBytes, maxDepth: 16, maxNodes: 100_000 });
  if (!parsed.ok) {
    if (parsed.error.kind === 'malformed') throw bad('not JSON', { sample: data.slice(0, 80) });
    throw bad(parsed.error.message, { kind: parsed.error.kind });
  }
  const value = parsed.value;
  if (!isRecord(value)) throw bad('not a JSON object');
  const type = value.type;
  if (typeof type !== 'string') throw bad('missing "type"');
  switch (type) {
    case 'Results':
      return parseResults(value);
    case 'Metadata':
      return {
        type: 'Metadata',
        requestId: typeof value.request_id === 'string' ? value.request_id.slice(0, 100) : '',
        duration: typeof value.duration === 'number' && Number.isFinite(value.duration) ? value.duration : 0,
      };
    case 'UtteranceEnd':
      return { type: 'UtteranceEnd', lastWordEnd: num(value, 'last_word_end', 'UtteranceEnd') };
    case 'SpeechStarted':
      return { type: 'SpeechStarted', timestamp: num(value, 'timestamp', 'SpeechStarted') };
    default:
      return { type: 'unknown', name: type.slice(0, 40) };
  }
}

/** The error for a handshake refused with an HTTP status (`dg-error` header carries Deepgram's reason). */
export function handshakeError(status: number, reason: string | undefined): ProviderError {
  const details = { provider: 'deepgram', status, ...(reason ? { reason: reason.slice(0, 200) } : {}) };
  const suffix = reason ? `: ${reason.slice(0, 200)}` : '';
  if (status === 401 || status === 403) {
    return new ProviderError(
      'stt_auth_failed',
      `Deepgram refused the credentials (HTTP ${status})${suffix}`,
      {
        retryable: false,
        details,
      },
    );
  }
  if (status === 429 || status >= 500) {
    return new ProviderError('stt_unavailable', `Deepgram is unavailable (HTTP ${status})${suffix}`, {
      retryable: true,
      details,
    });
  }
  return new ProviderError('stt_bad_request', `Deepgram rejected the request (HTTP ${status})${suffix}`, {
    retryable: false,
    details,
  });
}

/**
 * The error for a close the client did not ask for. Deepgram closes with 1008 for audio it cannot
 * decode (`DATA-…`), 1011 for its own failures or a stream with no audio for ~10 s (`NET-…`).
 */
export function closeError(code: number, reason: string): ProviderError {
  const details = { provider: 'deepgram', closeCode: code, reason: reason.slice(0, 200) };
  if (code === 1008) {
    return new ProviderError(
      'stt_bad_audio',
      `Deepgram could not decode the audio: ${reason.slice(0, 200)}`,
      {
        retryable: false,
        details,
      },
    );
  }
  return new ProviderError(
    'stt_connection_lost',
    `Deepgram closed the stream (${code}${reason ? ` ${reason.slice(0, 200)}` : ''})`,
    { retryable: true, details },
  );
}
