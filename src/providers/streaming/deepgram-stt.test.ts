import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ProviderError } from '../../errors.ts';
import { describeSttModel } from '../../testing/conformance.ts';
import { FakeDeepgramServer } from '../../testing/fake-deepgram-server.ts';
import { tone } from '../../testing/signals.ts';
import type { SttEvent } from '../types.ts';
import { DeepgramStt } from './deepgram-stt.ts';

const RATE = 16000;
const FRAME = RATE / 50; // 20 ms

async function* frames(pcm: Int16Array): AsyncIterable<Int16Array> {
  for (let i = 0; i < pcm.length; i += FRAME) yield pcm.subarray(i, Math.min(pcm.length, i + FRAME));
}

async function collect(it: AsyncIterable<SttEvent>): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function failure(it: AsyncIterable<SttEvent>): Promise<unknown> {
  try {
    await collect(it);
  } catch (err) {
    return err;
  }
  throw new Error('expected the transcription to fail');
}

const speech = (ms: number) => tone({ hz: 220, sampleRate: RATE, samples: (ms * RATE) / 1000 });

let server: FakeDeepgramServer;
beforeAll(async () => {
  server = await FakeDeepgramServer.start({ transcript: 'turn on the kitchen lights' });
});
afterAll(() => server.close());

describeSttModel(
  'DeepgramStt (fake Deepgram server)',
  () => new DeepgramStt({ apiKey: server.apiKey, url: server.url }),
  {
    utterance: async () => ({ pcm: speech(1200), sampleRate: RATE, text: 'turn on the kitchen lights' }),
  },
);

describe('DeepgramStt against the fake Deepgram server', () => {
  const extra: FakeDeepgramServer[] = [];
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
  });
  async function fake(options: Parameters<typeof FakeDeepgramServer.start>[0]): Promise<FakeDeepgramServer> {
    const s = await FakeDeepgramServer.start(options);
    extra.push(s);
    return s;
  }

  it('streams interim hypotheses while audio arrives, then one final after CloseStream', async () => {
    const s = await fake({ transcript: 'hello there general kenobi', msPerWord: 200 });
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url, model: 'nova-3', language: 'en' });
    const events: SttEvent[] = [];
    let sawInterim: () => void = () => {};
    const firstInterim = new Promise<void>((r) => {
      sawInterim = r;
    });
    async function* audio() {
      yield* frames(speech(400)); // two words' worth
      await firstInterim;
      yield* frames(speech(600));
    }
    for await (const e of stt.transcribe(audio(), { sampleRate: RATE })) {
      events.push(e);
      if (e.type === 'interim') sawInterim();
    }
    const interims = events.filter((e) => e.type === 'interim').map((e) => e.text);
    expect(interims.length).toBeGreaterThanOrEqual(2);
    expect(interims[0]).toBe('hello there');
    expect(interims.at(-1)).toBe('hello there general kenobi');
    expect(events.at(-1)).toEqual({ type: 'final', text: 'hello there general kenobi', language: 'en' });
    expect(events.filter((e) => e.type === 'final')).toHaveLength(1);
    const [c] = s.connections;
    expect(c!.headers.authorization).toBe(`Token ${s.apiKey}`);
    expect(Object.fromEntries(c!.query)).toMatchObject({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: '16000',
      channels: '1',
      interim_results: 'true',
      language: 'en',
    });
    expect(c!.audioBytes).toBe(1000 * 32);
    expect(c!.controls).toEqual(['CloseStream']);
    expect(c!.invalid).toEqual([]);
    expect((await c!.closed).code).toBe(1000);
  });

  it('joins the finals Deepgram sends during the utterance', async () => {
    const s = await fake({
      onConnection: (c) => {
        c.autoRespond = false;
        c.closed.then(() => {});
      },
    });
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url });
    const events: SttEvent[] = [];
    const run = (async () => {
      async function* audio() {
        yield speech(100);
        const [c] = await s.waitForConnections(1);
        c!.sendResults('first part', { isFinal: false });
        c!.sendResults('first part.', { isFinal: true });
        c!.sendResults('second', { isFinal: false });
        c!.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 1.2 }));
        c!.send(JSON.stringify({ type: 'SpeechStarted', channel: [0, 1], timestamp: 1.3 }));
        c!.sendResults('second part', { isFinal: true, speechFinal: true });
        c!.send(JSON.stringify({ type: 'SomethingNew', x: 1 }));
        // CloseStream: Deepgram answers with Metadata then closes normally.
      }
      for await (const e of stt.transcribe(audio(), { sampleRate: RATE })) events.push(e);
    })();
    await run;
    // Interims arriving in one burst are coalesced; the last one and the final hold both finals.
    const interims = events.filter((e) => e.type === 'interim').map((e) => e.text);
    expect(interims.length).toBeGreaterThanOrEqual(1);
    expect(interims.at(-1)).toBe('first part. second part');
    for (const t of interims) expect(t.startsWith('first part')).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'final', text: 'first part. second part' });
    expect(events.filter((e) => e.type === 'final')).toHaveLength(1);
  });

  it('refused credentials: a typed, non-retryable error naming the HTTP status, no reconnect', async () => {
    const stt = new DeepgramStt({ apiKey: 'wrong', url: server.url });
    const before = server.refused.length;
    const err = await failure(stt.transcribe(frames(speech(200)), { sampleRate: RATE }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'stt_auth_failed', retryable: false });
    expect((err as Error).message).toContain('401');
    expect((err as Error).message).toContain('Invalid credentials');
    expect(server.refused.length - before).toBe(1);
  });

  it.each([
    ['not JSON', '{"type": "Results", '],
    ['not an object', '[1,2,3]'],
    ['no type', '{"channel": {}}'],
    ['Results without channel', '{"type":"Results","start":0,"duration":1}'],
    [
      'transcript not a string',
      '{"type":"Results","start":0,"duration":1,"channel":{"alternatives":[{"transcript":42}]}}',
    ],
    [
      'is_final not a boolean',
      '{"type":"Results","start":0,"duration":1,"is_final":"yes","channel":{"alternatives":[]}}',
    ],
    [
      'huge transcript',
      JSON.stringify({
        type: 'Results',
        start: 0,
        duration: 1,
        channel: { alternatives: [{ transcript: 'a'.repeat(30_000), confidence: 1 }] },
      }),
    ],
    ['start not finite', '{"type":"Results","start":"0","duration":1,"channel":{"alternatives":[]}}'],
  ])(
    'malformed provider message (%s): typed stt_bad_message error, no crash, socket closed',
    async (_name, raw) => {
      const s = await fake({ onConnection: (c) => c.send(raw) });
      const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url });
      const err = await failure(stt.transcribe(frames(speech(2000)), { sampleRate: RATE }));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'stt_bad_message', retryable: false });
      const [c] = s.connections;
      await c!.closed;
      expect(s.connections).toHaveLength(1);
    },
  );

  it('a binary message or one over maxMessageBytes is refused with a typed error', async () => {
    const s = await fake({ onConnection: (c) => c.send(Buffer.from([1, 2, 3])) });
    const err = await failure(
      new DeepgramStt({ apiKey: s.apiKey, url: s.url }).transcribe(frames(speech(500)), { sampleRate: RATE }),
    );
    expect(err).toMatchObject({ code: 'stt_bad_message' });

    const big = await fake({
      onConnection: (c) => c.send(`{"type":"Metadata","pad":"${'x'.repeat(5000)}"}`),
    });
    const err2 = await failure(
      new DeepgramStt({
        apiKey: big.apiKey,
        url: big.url,
        maxMessageBytes: 1000,
        maxReconnects: 0,
      }).transcribe(frames(speech(500)), { sampleRate: RATE }),
    );
    expect(err2).toBeInstanceOf(ProviderError);
    expect((err2 as ProviderError).retryable).toBe(false);
  });

  it('a dropped connection is re-opened and the utterance audio replayed; the final is whole', async () => {
    let dropped = false;
    const s = await fake({
      transcript: 'replayed words',
      onConnection: (c) => {
        if (dropped) return;
        dropped = true;
        c.autoRespond = false;
        setImmediate(() => c.terminate());
      },
    });
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url });
    async function* audio() {
      yield* frames(speech(300));
      await s.waitForConnections(2);
      yield* frames(speech(300));
    }
    const events = await collect(stt.transcribe(audio(), { sampleRate: RATE }));
    expect(events.at(-1)).toEqual({ type: 'final', text: 'replayed words' });
    expect(s.connections).toHaveLength(2);
    expect(s.connections[1]!.audioBytes).toBe(600 * 32);
  });

  it('gives up after maxReconnects with a retryable stt_connection_lost error', async () => {
    const s = await fake({ onConnection: (c) => c.close(1011, 'NET-0000') });
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url, maxReconnects: 1 });
    const err = await failure(stt.transcribe(frames(speech(2000)), { sampleRate: RATE }));
    expect(err).toMatchObject({ code: 'stt_connection_lost', retryable: true });
    expect((err as Error).message).toContain('NET-0000');
    expect(s.connections).toHaveLength(2);
  });

  it('close 1008 (undecodable audio) is not retried', async () => {
    const s = await fake({ onConnection: (c) => c.close(1008, 'DATA-0000') });
    const err = await failure(
      new DeepgramStt({ apiKey: s.apiKey, url: s.url }).transcribe(frames(speech(500)), { sampleRate: RATE }),
    );
    expect(err).toMatchObject({ code: 'stt_bad_audio', retryable: false });
    expect(s.connections).toHaveLength(1);
  });

  it('an unreachable endpoint fails with a typed connection error after the retries', async () => {
    const s = await fake({});
    const url = s.url;
    await s.close();
    extra.length = 0;
    const err = await failure(
      new DeepgramStt({ apiKey: 'k', url, maxReconnects: 1 }).transcribe(frames(speech(100)), {
        sampleRate: RATE,
      }),
    );
    expect(err).toMatchObject({ code: 'stt_connection_failed', retryable: true });
  });

  it('sends KeepAlive while the audio pauses, so Deepgram does not close the stream (NET-0001)', async () => {
    const s = await fake({ idleTimeoutMs: 300, transcript: 'still here' });
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url, keepAliveMs: 100 });
    // The pause must outlast the fake's idle timeout: wait for enough KeepAlives to cover it.
    async function* paused() {
      yield speech(100);
      const [c] = await s.waitForConnections(1);
      await c!.waitForControls('KeepAlive', 4);
      yield speech(100);
    }
    const events = await collect(stt.transcribe(paused(), { sampleRate: RATE }));
    expect(events.at(-1)).toEqual({ type: 'final', text: 'still here' });
    expect((await s.connections[0]!.closed).code).toBe(1000);
    expect(s.connections).toHaveLength(1);
  });

  it('abort closes the socket at once and ends the stream', async () => {
    const s = await fake({});
    const controller = new AbortController();
    const stt = new DeepgramStt({ apiKey: s.apiKey, url: s.url });
    async function* audio() {
      yield speech(600);
      await new Promise(() => {}); // the microphone hangs
    }
    let err: unknown;
    try {
      for await (const e of stt.transcribe(audio(), { sampleRate: RATE, abortSignal: controller.signal })) {
        if (e.type === 'interim') controller.abort(new Error('stop'));
      }
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toBe('stop');
    const closed = await s.connections[0]!.closed;
    expect(closed.code).toBe(1000);
  });

  it('configuration: a key is required; the URL must be ws(s); env supplies key and URL', () => {
    expect(() => new DeepgramStt({ env: {} })).toThrow(ConfigError);
    expect(() => new DeepgramStt({ apiKey: 'k', url: 'https://x' })).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => new DeepgramStt({ apiKey: 'k', model: 'bad model?' })).toThrow(ConfigError);
    const stt = new DeepgramStt({
      env: { DEEPGRAM_API_KEY: 'k', COLLOQUY_DEEPGRAM_URL: 'ws://127.0.0.1:1/v1/listen' },
    });
    expect(stt.modelId).toBe('nova-3');
    expect(stt.provider).toBe('deepgram');
  });
});
