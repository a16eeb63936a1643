/**
 * Whole-recording transcription with an AI SDK `TranscriptionModel` (the `audio` message,
 * `sendAudio`, `transcribeAudio`, push-to-talk commits). The outcome is published on the bus:
 * `transcription.final` (→ `transcription` event, `transcription_result` message), or
 * `transcription.error` on failure; a recording without words is a `warning`.
 */
import type { TranscriptionModel } from 'ai';
import type { SessionEventBus } from '../../bus/event-bus.ts';
import { type ColloquyError, InvalidInputError, isAbortError, ProviderError } from '../../errors.ts';
import { transcribeAudioBytes } from '../../providers/ai-sdk/transcription-stt.ts';
import { base64DecodedLength, protocolError, stripDataUrl } from '../native-protocol/index.ts';

export interface TranscribeRecordingOptions {
  model: TranscriptionModel;
  audio: Uint8Array;
  bus: SessionEventBus;
  sessionId: string;
  signal: AbortSignal;
  /** Bound on the request, retries included (default 60 000 ms). */
  timeoutMs?: number;
  /** The recording held no words (the socket gets `transcription_error`). */
  onEmpty: (error: ColloquyError) => void;
}

/** Resolves with the transcript ('' when empty); rejects on failure (already published). */
export async function transcribeRecording(o: TranscribeRecordingOptions): Promise<string> {
  const model = o.model;
  let text: string;
  let language: string | undefined;
  try {
    const result = await transcribeAudioBytes(model, o.audio, {
      abortSignal: o.signal,
      timeoutMs: o.timeoutMs ?? 60_000,
    });
    text = result.text.trim();
    language = result.language;
  } catch (err) {
    if (o.signal.aborted || isAbortError(err)) throw err;
    const error =
      err instanceof ProviderError
        ? err
        : new ProviderError('stt_failed', `Transcription failed: ${(err as Error)?.message ?? String(err)}`, {
            cause: err,
          });
    o.bus.publish('transcription.error', { sessionId: o.sessionId, error });
    throw error;
  }
  if (text.length === 0) {
    const error = new ProviderError('empty_transcript', 'The recording contained no speech');
    o.bus.publish('warning', {
      sessionId: o.sessionId,
      component: 'stt',
      code: error.code,
      message: error.message,
    });
    o.onEmpty(error);
    return '';
  }
  o.bus.publish('transcription.final', {
    sessionId: o.sessionId,
    text,
    at: Date.now(),
    ...(language ? { language } : {}),
  });
  return text;
}

/** Audio given as base64 (a data: URL is fine) or bytes, validated: not empty, at most `maxBytes`. */
export function decodeAudioInput(audio: string | Uint8Array, method: string, maxBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof audio === 'string') {
    const body = stripDataUrl(audio);
    if (base64DecodedLength(body) < 0)
      throw protocolError('invalid_base64', `${method}: audio is not valid base64`);
    bytes = Buffer.from(body, 'base64');
  } else if (audio instanceof Uint8Array) {
    bytes = audio;
  } else {
    throw new InvalidInputError('invalid_audio', `${method}: audio must be a base64 string or bytes`);
  }
  if (bytes.byteLength === 0) throw protocolError('empty_audio', `${method}: audio is empty`);
  if (bytes.byteLength > maxBytes) {
    throw protocolError(
      'audio_too_large',
      `${method}: audio is too large (${bytes.byteLength} bytes; the limit is ${maxBytes} bytes)`,
    );
  }
  return bytes;
}
