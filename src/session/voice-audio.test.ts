import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { EndOfTurnContext, EndOfTurnDetector } from '../providers/types.ts';
import { lastUserText, mockLanguageModel } from '../testing/mock-llm.ts';
import { MockStt } from '../testing/mock-stt.ts';
import { MockTts } from '../testing/mock-tts.ts';
import { MockVad } from '../testing/mock-vad.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { VoiceSession } from './voice-session.ts';

const RATE = 16000;
const FRAME = 320; // 20 ms
const tone = (): Int16Array => {
  const f = new Int16Array(FRAME);
  for (let i = 0; i < FRAME; i++) f[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  return f;
};
const silence = (): Int16Array => new Int16Array(FRAME);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Written {
  at: number;
  turnId: string;
}

function voiceSession(opts: {
  answer: string;
  stt?: string[];
  mode?: 'agent' | 'stream';
  endpointingMs?: number;
  maxTextLength?: number;
  language?: string;
  endOfTurn?: EndOfTurnDetector;
}) {
  const written: Written[] = [];
  const stt = new MockStt({ script: opts.stt ?? ['hello there'] });
  const frameWaiters: Array<{ n: number; resolve: () => void }> = [];
  let clears = 0;
  const vad = new MockVad();
  const session = new VoiceSession({
    sessionId: 'v',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'x' }],
    model: mockLanguageModel([opts.answer === 'echo' ? (o) => `${lastUserText(o).length}` : opts.answer]),
    logger: silentLogger,
    mode: opts.mode ?? 'agent',
    ...(opts.maxTextLength !== undefined ? { maxTextLength: opts.maxTextLength } : {}),
    audio: {
      vad,
      stt,
      ...(opts.language !== undefined ? { language: opts.language } : {}),
      ...(opts.endOfTurn ? { endOfTurn: opts.endOfTurn } : {}),
      tts: new MockTts({ sampleRate: 24000, msPerChar: 40 }),
      inputSampleRate: RATE,
      outputSampleRate: 24000,
      vadOptions: { minSpeechMs: 60, minSilenceMs: 100 },
      endpointing: {
        endpointingMs: opts.endpointingMs ?? 100,
        maxEndpointingMs: Math.max(2000, opts.endpointingMs ?? 0),
      },
      interruption: { minInterruptionMs: 300, falseInterruptionTimeoutMs: 300 },
      output: {
        write: (_f, info) => {
          written.push({ at: performance.now(), turnId: info.turnId });
          for (const w of frameWaiters.filter((x) => written.length >= x.n)) {
            frameWaiters.splice(frameWaiters.indexOf(w), 1);
            w.resolve();
          }
        },
        clear: () => {
          clears++;
        },
      },
    },
  });
  const rec = new EventRecorder(session.eventBus);
  /** Resolves once `n` bot frames were written in all. */
  const frames = (n: number) =>
    new Promise<void>((resolve) => {
      if (written.length >= n) resolve();
      else frameWaiters.push({ n, resolve });
    });
  return { session, rec, written, vad, stt, frames, clears: () => clears };
}

/** Push `ms` of audio as 20 ms frames; in real time when `paced`. */
async function push(session: VoiceSession, make: () => Int16Array, ms: number, paced = false) {
  for (let t = 0; t < ms; t += 20) {
    session.pushAudio(make(), RATE);
    if (paced) await sleep(20);
  }
}

let current: VoiceSession | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('a spoken turn (mock VAD/STT/TTS, real timers)', () => {
  it('audio.language goes to the STT with the utterance and comes back on transcription.final', async () => {
    const { session, rec, stt } = voiceSession({ answer: 'Bonjour.', stt: ['salut'], language: 'fr' });
    current = session;
    await push(session, tone, 400);
    await push(session, silence, 400);
    expect(await rec.waitFor('transcription.final')).toMatchObject({ text: 'salut', language: 'fr' });
    expect(stt.calls.map((c) => c.language)).toEqual(['fr']);
    await rec.waitFor('turn.end');
  });

  it('audio.endpointing reaches the turn: the end-of-turn detector is asked after endpointingMs of silence, with the last 10 messages of the conversation', async () => {
    const asked: EndOfTurnContext[] = [];
    const endOfTurn: EndOfTurnDetector = {
      provider: 'test',
      predict: async (context) => {
        asked.push(context);
        return 1;
      },
    };
    // 'echo': each answer is the length of the user's text. endpointingMs 50, against the default 500.
    const { session, rec } = voiceSession({
      answer: 'echo',
      stt: ['and one more'],
      endpointingMs: 50,
      endOfTurn,
    });
    current = session;
    for (let i = 1; i <= 6; i++) await session.sendText(`typed ${i}`);
    // When the user stops speaking, a timer of 300 ms is set just before the endpointing timer: Node
    // runs timers by due time, so the detector has been asked by then only if the silence asked for is
    // under 300 ms.
    const askedBy300 = new Promise<number>((resolve) => {
      const off = session.eventBus.subscribe('user.speech.stop', () => {
        off();
        setTimeout(() => resolve(asked.length), 300);
      });
    });
    await push(session, tone, 300);
    await push(session, silence, 400);
    expect(await askedBy300).toBe(1);
    expect(asked[0]!.transcript).toBe('and one more');
    // The 12 messages of the typed turns: the detector gets the newest 10, user and assistant text.
    expect(asked[0]!.history).toEqual(
      [2, 3, 4, 5, 6].flatMap((i) => [
        { role: 'user', text: `typed ${i}` },
        { role: 'assistant', text: '7' },
      ]),
    );
    await rec.waitFor('turn.end', (p) => p.turnId === rec.payloads('user.text')[6]?.turnId);
  });

  it('speech → VAD → STT → LLM → TTS → paced 20 ms frames, with the seed 001 speech events in order', async () => {
    const { session, rec, written } = voiceSession({ answer: 'Hi! Nice to meet you.' });
    current = session;
    await push(session, tone, 400);
    await push(session, silence, 400);
    await rec.waitFor('turn.end');
    // Each of these happens once, in this order. (The second chunk may be queued before or after
    // playout starts, as the LLM streams meanwhile, so only the first `speech.chunk.queued` counts.)
    const spokenTurn = [
      'user.speech.start',
      'turn.start', // the turn begins when the user begins speaking
      'user.speech.stop',
      'transcription.final',
      'user.text',
      'speech.chunk.queued',
      'speech.start',
      'bot.speaking.start',
      'speech.complete',
      'bot.speaking.stop',
      'assistant.text',
      'turn.end',
    ];
    const firstQueued = rec.types().indexOf('speech.chunk.queued');
    const order = rec
      .types()
      .filter((t, i) => spokenTurn.includes(t) && (t !== 'speech.chunk.queued' || i === firstQueued));
    expect(order).toEqual(spokenTurn);
    const turnId = rec.first('turn.start')!.turnId;
    expect(rec.first('user.text')).toMatchObject({ text: 'hello there', source: 'speech', turnId });
    // Every later event of the turn carries the id it got at speech start, latency included.
    for (const type of ['llm.start', 'speech.start', 'assistant.text', 'turn.latency', 'turn.end'] as const) {
      expect(rec.first(type)?.turnId, type).toBe(turnId);
    }
    expect(rec.payloads('turn.start')).toHaveLength(1);
    expect(rec.payloads('speech.chunk.queued').map((c) => c.text)).toEqual(['Hi!', 'Nice to meet you.']);
    expect(rec.payloads('speech.chunk').map((c) => [c.chunkId, c.text, c.format])).toEqual([
      [0, 'Hi!', 'pcm16'],
      [1, 'Nice to meet you.', 'pcm16'],
    ]);
    // 20 chars × 40 ms = 800 ms of audio → 40 frames of 20 ms, paced in real time
    expect(written.length).toBe(40);
    const span = written.at(-1)!.at - written[0].at;
    expect(span).toBeGreaterThan(39 * 20 * 0.8);
    const latency = rec.first('turn.latency')!;
    expect(latency.kind).toBe('cascade');
    expect(Object.keys(latency.segments)).toEqual(
      expect.arrayContaining([
        'sttMs',
        'backendToLLMMs',
        'llmProcessingMs',
        'llmToBackendMs',
        'ttsMs',
        'backendToClientMs',
        'totalE2EMs',
      ]),
    );
  });

  it('barge-in: user speech while the bot speaks interrupts once it passes minInterruptionMs; no frame leaves after', async () => {
    const { session, rec, written, vad, frames, clears } = voiceSession({
      answer: 'This is a long answer that keeps going for quite a while so you can interrupt me.',
      stt: ['tell me something', 'stop'],
    });
    current = session;
    await push(session, tone, 300);
    await push(session, silence, 300);
    await rec.waitFor('bot.speaking.start');
    // 15 frames (300 ms of the 3.3 s sentence): more than one of its 16 words was heard, however
    // late a loaded machine runs the playout timers
    await frames(15);
    // Audio time the VAD has scored (32 ms frames), when the user starts and when the bot is cut.
    const scoredMs = () => vad.streams[0]!.frameIndex * 32;
    const userStartsAtMs = scoredMs();
    let interruptedAtMs = -1;
    session.eventBus.once('speech.interrupted', () => {
      interruptedAtMs = scoredMs();
    });
    const pushing = push(session, tone, 600, true);
    const interrupted = await rec.waitFor('speech.interrupted');
    const framesAtInterrupt = written.length;
    await pushing;
    await sleep(100);
    expect(interrupted).toMatchObject({ reason: 'user_speaking' });
    expect(rec.first('turn.interrupted')).toMatchObject({ reason: 'user_speaking' });
    // Decided on the VAD frame that completes 300 ms of user speech, in audio time (32 ms VAD frames;
    // the 20 ms pushes do not line up with them, so allow one frame either side).
    const speechMs = interruptedAtMs - userStartsAtMs;
    expect(speechMs).toBeGreaterThanOrEqual(300 - 32);
    expect(speechMs).toBeLessThanOrEqual(300 + 32);
    expect(written.length).toBe(framesAtInterrupt);
    expect(clears()).toBeGreaterThan(0);
    // history keeps only what was heard
    const heard = rec.payloads('assistant.text')[0];
    expect(heard.interrupted).toBe(true);
    expect(heard.text.length).toBeGreaterThan(0);
    expect(
      'This is a long answer that keeps going for quite a while so you can interrupt me.'.startsWith(
        heard.text,
      ),
    ).toBe(true);
    expect(session.history[1]).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: heard.text }],
    });
    expect(rec.types(['speech.interrupted', 'bot.speaking.stop', 'turn.interrupted'])).toEqual([
      'speech.interrupted',
      'bot.speaking.stop',
      'turn.interrupted',
    ]);
    // The user's new turn started when they began speaking, and (turns never overlap) right after
    // the cut turn's last event.
    const [first, second] = rec.payloads('turn.start');
    expect(rec.first('turn.interrupted')?.turnId).toBe(first?.turnId);
    const types = rec.types(['turn.start', 'turn.interrupted']);
    expect(types).toEqual(['turn.start', 'turn.interrupted', 'turn.start']);
    expect(second?.turnId).not.toBe(first?.turnId);
  });

  it('a cough that gives no transcript starts a turn and ends it as abandoned; the next utterance is its own turn', async () => {
    const { session, rec } = voiceSession({ answer: 'Hello!', stt: ['', 'hello there'] });
    current = session;
    await push(session, tone, 150);
    await push(session, silence, 400);
    const abandoned = await rec.waitFor('turn.end');
    const coughTurn = rec.first('turn.start')!.turnId;
    expect(abandoned).toEqual({ sessionId: 'v', turnId: coughTurn, abandoned: true });
    expect(rec.types(['turn.start', 'user.text', 'llm.start', 'turn.latency', 'turn.end'])).toEqual([
      'turn.start',
      'turn.end',
    ]);
    expect(session.currentTurnId).toBeUndefined();
    // The next utterance is a normal spoken turn with a new id.
    await push(session, tone, 300);
    await push(session, silence, 300);
    await rec.waitFor('turn.latency');
    const next = rec.payloads('turn.start')[1]!.turnId;
    expect(next).not.toBe(coughTurn);
    expect(rec.first('user.text')).toMatchObject({ turnId: next, text: 'hello there' });
    expect(rec.first('turn.latency')).toMatchObject({ turnId: next, kind: 'cascade' });
  });

  it('a 150 ms cough pauses the bot, then it resumes after the false-interruption timeout and finishes', async () => {
    const { session, rec } = voiceSession({ answer: 'Here is a fairly long answer for you to hear.' });
    current = session;
    await push(session, tone, 300);
    await push(session, silence, 300);
    await rec.waitFor('bot.speaking.start');
    await sleep(100);
    await push(session, tone, 150, true);
    await push(session, silence, 200, true);
    await rec.waitFor('speech.resumed');
    await rec.waitFor('turn.end');
    expect(rec.types(['speech.paused', 'speech.resumed', 'turn.interrupted'])).toEqual([
      'speech.paused',
      'speech.resumed',
    ]);
    expect(rec.first('assistant.text')).toMatchObject({
      interrupted: false,
      text: 'Here is a fairly long answer for you to hear.',
    });
  });

  it('stream mode: no LLM; speak() queues utterances FIFO without interrupting and publishes the speech events', async () => {
    const { session, rec } = voiceSession({ answer: 'unused', mode: 'stream' });
    current = session;
    const a = session.speak('First thing.');
    const b = session.speak('Second thing.');
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.interrupted, rb.interrupted]).toEqual([false, false]);
    expect(rec.payloads('bot.tts.text').map((t) => t.text)).toEqual(['First thing.', 'Second thing.']);
    expect(rec.types(['bot.speaking.start', 'bot.speaking.stop'])).toEqual([
      'bot.speaking.start',
      'bot.speaking.stop',
      'bot.speaking.start',
      'bot.speaking.stop',
    ]);
    // a user utterance in stream mode is transcribed and recorded, but no LLM runs
    await push(session, tone, 300);
    await push(session, silence, 300);
    await rec.waitFor('turn.end');
    expect(rec.types(['llm.start'])).toEqual([]);
    expect(rec.first('user.text')).toMatchObject({ text: 'hello there' });
  });

  it('a transcript over maxTextLength is refused (warn, text_too_long): that spoken turn ends unanswered, the next one is answered', async () => {
    const { session, rec } = voiceSession({
      answer: 'Fine.',
      stt: ['please tell me everything about the hotel', 'pool hours'],
      maxTextLength: 20,
    });
    current = session;
    await push(session, tone, 400);
    await push(session, silence, 400);
    const refused = await rec.waitFor('error');
    expect(refused).toMatchObject({ component: 'session', severity: 'warn' });
    expect(refused.error.code).toBe('text_too_long');
    const first = await rec.waitFor('turn.end');
    expect(first.abandoned).toBe(true);
    await push(session, tone, 400);
    await push(session, silence, 400);
    const answered = await rec.waitFor('turn.end', (e) => e.turnId !== first.turnId);
    expect(answered.abandoned).toBeUndefined();
    expect(rec.payloads('user.text').map((t) => t.text)).toEqual(['pool hours']);
    expect(rec.first('assistant.text')).toMatchObject({ turnId: answered.turnId, text: 'Fine.' });
  });

  it('a dozen queued speak() utterances add no listener to the session signal (no MaxListenersExceededWarning)', async () => {
    const { session, rec } = voiceSession({ answer: 'unused', mode: 'stream' });
    current = session;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const said = Array.from({ length: 12 }, (_, i) => session.speak(`Number ${i}.`));
      const results = await Promise.all(said);
      expect(results.every((r) => !r.interrupted)).toBe(true);
      expect(rec.payloads('bot.tts.text')).toHaveLength(12);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('typed text cuts off the greeting; history keeps the heard part of it before the typed text', async () => {
    const { session, rec } = voiceSession({ answer: 'Breakfast is at seven.' });
    current = session;
    const said = 'Hello! I am the demo concierge. Ask me about breakfast, the pool or the wifi.';
    const greeting = session.speak(said);
    await rec.waitFor('bot.tts.text', (t) => t.text.startsWith('I am')); // "Hello!" was heard
    const answer = await session.sendText('when is breakfast');
    const g = await greeting;
    expect(g.interrupted).toBe(true);
    expect(rec.first('speech.interrupted')).toMatchObject({ turnId: g.turnId });
    expect(answer).toMatchObject({ interrupted: false, text: 'Breakfast is at seven.' });
    // The rest of the greeting is never said after the answer started.
    const spoken = rec.payloads('bot.tts.text').map((t) => t.text);
    expect(spoken.indexOf('Breakfast is at seven.')).toBe(spoken.length - 1);
    const text = (c: unknown) =>
      typeof c === 'string' ? c : (c as { text?: string }[]).map((p) => p.text ?? '').join('');
    const history = session.history.map((m) => [m.role, text(m.content)]);
    expect(history.map(([role]) => role)).toEqual(['assistant', 'user', 'assistant']);
    expect(history[0][1]).toBe(g.text);
    expect(said.startsWith(g.text) && g.text.length > 0).toBe(true);
    expect(history.slice(1)).toEqual([
      ['user', 'when is breakfast'],
      ['assistant', 'Breakfast is at seven.'],
    ]);
  });

  it('commitAudioTurn ends the spoken turn at once instead of waiting for the silence timeout', async () => {
    const { session, rec } = voiceSession({ answer: 'Committed.', endpointingMs: 60_000 });
    current = session;
    await push(session, tone, 300);
    await push(session, silence, 60);
    await session.commitAudioTurn();
    const result = await rec.waitFor('turn.end', () => true, 3000);
    expect(result).toBeDefined();
    expect(rec.first('user.text')).toMatchObject({ text: 'hello there', source: 'speech' });
    expect(rec.first('assistant.text')).toMatchObject({ text: 'Committed.' });
  });

  it('bad audio frames get typed errors and the session goes on', async () => {
    const { session } = voiceSession({ answer: 'ok' });
    current = session;
    expect(() => session.pushAudio(new Int16Array(320), 12345)).toThrowError(
      expect.objectContaining({ code: 'unsupported_sample_rate' }),
    );
    expect(() => session.pushAudio(new Int16Array(0), RATE)).toThrowError(
      expect.objectContaining({ code: 'empty_audio_frame' }),
    );
    expect(() => session.pushAudio(new Int16Array(RATE * 2), RATE)).toThrowError(
      expect.objectContaining({ code: 'audio_frame_too_large' }),
    );
    await expect(session.sendText('still here')).resolves.toMatchObject({ text: 'ok' });
  });

  it('audio that arrives faster than the VAD scores it is bounded by audio.maxQueuedInputMs: a warning, and the session goes on', async () => {
    const session = new VoiceSession({
      sessionId: 'v',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['ok']),
      logger: silentLogger,
      audio: {
        vad: new MockVad({ frameSamples: FRAME, sampleRate: RATE, async: true }),
        maxQueuedInputMs: 100,
      },
    });
    current = session;
    const rec = new EventRecorder(session.eventBus);
    for (let i = 0; i < 20; i++) session.pushAudio(silence(), RATE);
    expect(rec.payloads('error').map((e) => [e.error.code, e.severity, e.error.details])).toEqual([
      ['audio_input_behind', 'warn', { maxQueuedMs: 100, droppedFrames: 1 }],
    ]);
    await expect(session.sendText('still here')).resolves.toMatchObject({ text: 'ok' });
  });
});
