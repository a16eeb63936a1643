import { APICallError, type LanguageModelV3StreamPart } from '@ai-sdk/provider';
import type { LanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { RtviServerMessage } from '../surfaces/rtvi/messages.ts';
import { RtviProjection } from '../surfaces/rtvi/rtvi-projection.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { MockStt } from '../testing/mock-stt.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { VoiceSession } from './voice-session.ts';

/** What an AI SDK provider throws when the API key is rejected. */
const unauthorized = () =>
  new APICallError({
    message: 'Incorrect API key provided',
    url: 'https://api.example.test/v1/chat/completions',
    requestBodyValues: {},
    statusCode: 401,
    responseBody: '{"error":{"code":"invalid_api_key"}}',
    isRetryable: false,
  });

function observed(session: VoiceSession) {
  const rtvi: RtviServerMessage[] = [];
  const projection = new RtviProjection(session.eventBus, { send: (m) => rtvi.push(m) });
  return { rtvi, projection, rec: new EventRecorder(session.eventBus) };
}

/** A text-only session recording `onError` as [component, severity, code]. */
function textSession(model: LanguageModel) {
  const errors: Array<[string, string, string]> = [];
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'x' }],
    model,
    logger: silentLogger,
    hooks: { onError: (e) => void errors.push([e.component, e.severity, e.error.code]) },
  });
  return { session, errors };
}

describe('fatal failures end the session', () => {
  it('the LLM rejecting the credentials (401) is fatal: published, session ends with a clear reason, RTVI pipeline-error then conversation-end, transcript kept', async () => {
    const model = new MockLanguageModelV3({
      doStream: async () => {
        throw unauthorized();
      },
    });
    const { session, errors } = textSession(model);
    const { rtvi, rec } = observed(session);
    const result = await session.sendText('hello?');
    expect(result.error?.code).toBe('llm_auth_failed');
    const closed = await rec.waitFor('session.close');
    expect(closed.reason).toBe('fatal:llm_auth_failed');
    expect(session.state).toBe('closed');
    expect(errors).toEqual([['llm', 'fatal', 'llm_auth_failed']]);
    const custom = rtvi.map((m) =>
      m.type === 'server-message' ? `server-message:${(m.data as { type: string }).type}` : m.type,
    );
    expect(custom.filter((t) => t.includes('error') || t.includes('conversation-end'))).toEqual([
      'server-message:pipeline-error',
      'server-message:conversation-end',
      'error',
    ]);
    expect(rtvi.at(-1)).toMatchObject({ type: 'error', data: { fatal: true } });
    expect(session.history).toEqual([{ role: 'user', content: 'hello?' }]);
  });

  it('an LLM that fails three turns in a row is considered gone (fatal llm_unavailable)', async () => {
    const boom = { parts: [{ error: new Error('502 Bad Gateway') }] };
    const { session } = textSession(mockLanguageModel([boom, boom, boom]));
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('one');
    await session.sendText('two');
    expect(session.state).toBe('active');
    await session.sendText('three');
    expect((await rec.waitFor('session.close')).reason).toBe('fatal:llm_unavailable');
    expect(rec.payloads('error').map((e) => [e.severity, e.error.code])).toEqual([
      ['error', 'llm_stream_failed'],
      ['error', 'llm_stream_failed'],
      ['error', 'llm_stream_failed'],
      ['fatal', 'llm_unavailable'],
    ]);
  });
});

describe('a model stream that breaks off', () => {
  /** Streams `Partial`, then the stream itself errors with `error` (a dropped connection, a 401 mid-way); then answers `Back.`. */
  function breaking(error: Error) {
    let calls = 0;
    return new MockLanguageModelV3({
      doStream: async () => ({
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(c) {
            c.enqueue({ type: 'stream-start', warnings: [] });
            c.enqueue({ type: 'text-start', id: 't' });
            if (++calls > 1) {
              c.enqueue({ type: 'text-delta', id: 't', delta: 'Back.' });
              c.enqueue({ type: 'text-end', id: 't' });
              c.enqueue({
                type: 'finish',
                finishReason: { unified: 'stop', raw: 'stop' },
                usage: {
                  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
                  outputTokens: { total: 1, text: 1, reasoning: 0 },
                },
              });
              c.close();
              return;
            }
            c.enqueue({ type: 'text-delta', id: 't', delta: 'Partial' });
            c.error(error);
          },
        }),
      }),
    });
  }

  it('the stream erroring (not an error part) fails the turn with llm_stream_failed and its cause; the session goes on', async () => {
    const { session, errors } = textSession(breaking(new Error('socket hang up')));
    const { rec } = observed(session);
    const result = await session.sendText('hello?');
    expect(result.error).toMatchObject({
      code: 'llm_stream_failed',
      message: 'LLM stream failed: socket hang up',
    });
    expect(rec.first('llm.end')).toMatchObject({ outcome: 'error' });
    expect(errors).toEqual([['llm', 'error', 'llm_stream_failed']]);
    expect((await session.sendText('again')).text).toBe('Back.');
    await session.close();
  });

  it('a 401 that breaks the stream off is fatal (llm_auth_failed), as one refused at the start is', async () => {
    const { session, errors } = textSession(breaking(unauthorized()));
    const { rec } = observed(session);
    const result = await session.sendText('hello?');
    expect(result.error?.code).toBe('llm_auth_failed');
    expect((await rec.waitFor('session.close')).reason).toBe('fatal:llm_auth_failed');
    expect(errors).toEqual([['llm', 'fatal', 'llm_auth_failed']]);
  });
});

describe('LLM failures count only in a row', () => {
  it('a turn answered between failures starts the count again: three failures spread out end nothing', async () => {
    const boom = { parts: [{ error: new Error('502 Bad Gateway') }] };
    const { session } = textSession(mockLanguageModel([boom, boom, 'Fine.', boom, boom]));
    const rec = new EventRecorder(session.eventBus);
    for (const text of ['one', 'two', 'three', 'four', 'five']) await session.sendText(text);
    expect(session.state).toBe('active');
    expect(rec.payloads('error').map((e) => [e.severity, e.error.code])).toEqual([
      ['error', 'llm_stream_failed'],
      ['error', 'llm_stream_failed'],
      ['error', 'llm_stream_failed'],
      ['error', 'llm_stream_failed'],
    ]);
    await session.close();
  });
});

describe('STT and TTS failures reach onError and RTVI pipeline-error', () => {
  const RATE = 16000;
  const tone = () => {
    const f = new Int16Array(320);
    for (let i = 0; i < f.length; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
    return f;
  };
  const push = (s: VoiceSession, make: () => Int16Array, ms: number) => {
    for (let t = 0; t < ms; t += 20) s.pushAudio(make(), RATE);
  };

  function voice(stt: MockStt, tts: MockTts) {
    const errors: Array<[string, string, string]> = [];
    const session = new VoiceSession({
      sessionId: 'v',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['First sentence here. Second sentence here.', 'Ok.', 'Ok.']),
      logger: silentLogger,
      hooks: { onError: (e) => void errors.push([e.component, e.severity, e.error.code]) },
      audio: {
        vad: new MockVad(),
        stt,
        tts,
        vadOptions: { minSpeechMs: 60, minSilenceMs: 100 },
        endpointing: { endpointingMs: 50, maxEndpointingMs: 2000 },
        speech: { minChunkSize: 5 },
      },
    });
    return { session, errors, ...observed(session) };
  }

  it('a failed TTS sentence is skipped: warn to onError and pipeline-error {processor: tts}; the turn goes on', async () => {
    const { session, errors, rtvi, rec } = voice(
      new MockStt({ script: [] }),
      new MockTts({ sampleRate: 24000, msPerChar: 1, failOn: 'First' }),
    );
    const result = await session.sendText('talk');
    expect(result.interrupted).toBe(false);
    expect(errors).toEqual([['tts', 'warn', 'tts_failed']]);
    expect(rtvi.filter((m) => m.type === 'server-message').map((m) => m.data)).toContainEqual({
      type: 'pipeline-error',
      data: { processor: 'tts', error: 'tts failed (tts_failed)' },
    });
    expect(rtvi.some((m) => m.type === 'error')).toBe(false);
    expect(rec.payloads('speech.chunk').map((c) => c.text)).toEqual(['Second sentence here.']);
    await session.close();
  });

  it('an STT stream failure is an error; three in a row (it cannot restart) is fatal and ends the session', async () => {
    const fail = { text: '', mode: 'fail' as const };
    const { session, errors, rec } = voice(
      new MockStt({ script: [fail, fail, fail] }),
      new MockTts({ sampleRate: 24000, msPerChar: 1 }),
    );
    for (let i = 0; i < 3; i++) {
      push(session, tone, 200);
      push(session, () => new Int16Array(320), 300);
      await session.audioIdle();
      await rec.waitFor('transcription.error', () => rec.payloads('transcription.error').length > i);
    }
    expect((await rec.waitFor('session.close')).reason).toBe('fatal:stt_unavailable');
    expect(errors).toEqual([
      ['stt', 'error', 'stt_failed'],
      ['stt', 'error', 'stt_failed'],
      ['stt', 'error', 'stt_failed'],
      ['stt', 'fatal', 'stt_unavailable'],
    ]);
    // The fatal error carries the last failure as its cause.
    expect(rec.payloads('error').at(-1)?.error.cause).toBe(rec.payloads('transcription.error').at(-1)?.error);
  });
});
