import { MockTranscriptionModelV3 } from 'ai/test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../../bus/events.ts';
import { type ColloquyError, ProviderError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import { decodeAudioInput, transcribeRecording } from './transcribe.ts';

const response = { timestamp: new Date(0), modelId: 'mock' };

function model(answer: () => Promise<{ text: string; language?: string }>) {
  return new MockTranscriptionModelV3({
    provider: 'mock-stt',
    modelId: 'whisper-mock',
    doGenerate: async () => {
      const { text, language } = await answer();
      return { text, segments: [], language, durationInSeconds: 1, warnings: [], response };
    },
  });
}

function setup(answer: () => Promise<{ text: string; language?: string }>, timeoutMs?: number) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const empty: ColloquyError[] = [];
  const controller = new AbortController();
  const run = () =>
    transcribeRecording({
      model: model(answer),
      audio: Uint8Array.of(1, 2, 3),
      bus,
      sessionId: 's1',
      signal: controller.signal,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      onEmpty: (error) => empty.push(error),
    });
  return { run, events, empty, controller };
}

describe('transcribeRecording', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes the trimmed transcript with its language and resolves with it', async () => {
    const { run, events, empty } = setup(async () => ({ text: '  hello there ', language: 'en' }));
    expect(await run()).toBe('hello there');
    expect(events).toEqual([
      {
        type: 'transcription.final',
        payload: { sessionId: 's1', text: 'hello there', at: expect.any(Number), language: 'en' },
      },
    ]);
    expect(empty).toEqual([]);
  });

  it('a transcript without a language has no language field', async () => {
    const { run, events } = setup(async () => ({ text: 'hi' }));
    await run();
    expect(events[0]!.payload).not.toHaveProperty('language');
  });

  it('a recording without words is a warning and onEmpty, and resolves with ""', async () => {
    const { run, events, empty } = setup(async () => ({ text: '   ' }));
    expect(await run()).toBe('');
    expect(events).toEqual([
      {
        type: 'warning',
        payload: {
          sessionId: 's1',
          component: 'stt',
          code: 'empty_transcript',
          message: 'The recording contained no speech',
        },
      },
    ]);
    expect(empty.map((e) => [e.code, e.message])).toEqual([
      ['empty_transcript', 'The recording contained no speech'],
    ]);
  });

  it('a provider failure is published as transcription.error and rejects with it', async () => {
    const { run, events } = setup(() => Promise.reject(new Error('quota exceeded')));
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'stt_failed' });
    expect(events).toEqual([{ type: 'transcription.error', payload: { sessionId: 's1', error } }]);
  });

  it("a provider failure is passed on as the provider's own error, not wrapped again", async () => {
    const { run, events } = setup(() => Promise.reject(new Error('quota exceeded')));
    const error = (await run().then(
      () => undefined,
      (e: unknown) => e,
    )) as ProviderError;
    expect([error.code, error.message]).toEqual([
      'stt_failed',
      'mock-stt transcription failed: quota exceeded',
    ]);
    expect((error.cause as Error).message).toBe('quota exceeded');
    expect(events).toEqual([{ type: 'transcription.error', payload: { sessionId: 's1', error } }]);
  });

  it('the request is bounded at 60 s by default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { run, events } = setup(() => new Promise(() => {}));
    const settled: unknown[] = [];
    void run().catch((e: unknown) => settled.push(e));
    await vi.advanceTimersByTimeAsync(59_999);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toHaveLength(1);
    expect((settled[0] as Error).message).toMatch(/^Transcription failed: .*timed out after 60000 ms$/);
    expect(events.map((e) => e.type)).toEqual(['transcription.error']);
  });

  it("the provider's own abort is passed on as it came, and publishes nothing", async () => {
    const abort = new DOMException('The provider gave up', 'AbortError');
    const { run, events, controller } = setup(() => Promise.reject(abort));
    await expect(run()).rejects.toBe(abort);
    expect(controller.signal.aborted).toBe(false);
    expect(events).toEqual([]);
  });

  it('a timeout is published as a stt_failed error naming it', async () => {
    const { run, events } = setup(() => new Promise(() => {}), 20);
    const error = (await run().then(
      () => undefined,
      (e: unknown) => e,
    )) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.code).toBe('stt_failed');
    expect(error.message).toMatch(/^Transcription failed: .*timed out after 20 ms$/);
    expect((error.cause as ColloquyError).code).toBe('timeout');
    expect(events).toEqual([{ type: 'transcription.error', payload: { sessionId: 's1', error } }]);
  });

  it('an aborted transcription rejects with the abort and publishes nothing', async () => {
    const { run, events, controller } = setup(() => new Promise(() => {}));
    const pending = run();
    const reason = new Error('closed');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(events).toEqual([]);
  });
});

describe('decodeAudioInput', () => {
  it('takes bytes, base64 or a data: URL', () => {
    expect(decodeAudioInput(Uint8Array.of(1, 2), 'sendAudio', 10)).toEqual(Uint8Array.of(1, 2));
    expect([...decodeAudioInput(Buffer.from([7, 8, 9]).toString('base64'), 'sendAudio', 10)]).toEqual([
      7, 8, 9,
    ]);
    expect([
      ...decodeAudioInput(`data:audio/wav;base64,${Buffer.from([5]).toString('base64')}`, 'sendAudio', 10),
    ]).toEqual([5]);
  });

  it('refuses what is not audio, empty audio and audio over the limit, naming the method', () => {
    const cases: Array<[unknown, string, string]> = [
      ['not base64!', 'invalid_base64', 'sendAudio: audio is not valid base64'],
      [42, 'invalid_audio', 'sendAudio: audio must be a base64 string or bytes'],
      [new Uint8Array(0), 'empty_audio', 'sendAudio: audio is empty'],
      ['', 'empty_audio', 'sendAudio: audio is empty'],
      [
        new Uint8Array(11),
        'audio_too_large',
        'sendAudio: audio is too large (11 bytes; the limit is 10 bytes)',
      ],
    ];
    for (const [audio, code, message] of cases) {
      expect(() => decodeAudioInput(audio as string, 'sendAudio', 10), code).toThrow(
        expect.objectContaining({ code, message }),
      );
    }
    expect(decodeAudioInput(new Uint8Array(10), 'sendAudio', 10)).toHaveLength(10);
  });
});
