/**
 * `VoiceAgent` as a unit: its refusals (exact code and message), the limits it derives from its
 * options, the reasons it interrupts with, its counters, the events of its own methods, and what it
 * sends on a socket (an in-memory socket, `FakeWebSocket`). Every agent is made inside its test and
 * destroyed after it.
 */
import { jsonSchema, tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWebSocket } from '../../../test/support/fake-ws.ts';
import { recordingLogger } from '../../../test/support/recording-logger.ts';
import { whenTrue } from '../../../test/support/when-true.ts';
import { mockSpeechModel, mockTranscriptionModel } from '../../../test/voice-agent/helpers.ts';
import type { EventMap, InterruptReason } from '../../bus/events.ts';
import { SessionStateError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import type { SttModel } from '../../providers/types.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { DEFAULT_PROTOCOL_LIMITS, type ProtocolLimits } from '../native-protocol/client-messages.ts';
import { AgentDestroyedError } from './errors.ts';
import type { VoiceAgentOptions } from './options.ts';
import { VoiceAgent } from './voice-agent.ts';

const agents: VoiceAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.destroy();
});

/** A VoiceAgent that shows the protocol limits it derived from its options. */
class LimitsProbe extends VoiceAgent {
  get derivedLimits(): ProtocolLimits {
    return this.limits;
  }
}

function make(options: Partial<VoiceAgentOptions> = {}): VoiceAgent {
  const agent = new VoiceAgent({ model: mockLanguageModel(['Fine.']), logger: silentLogger, ...options });
  agents.push(agent);
  return agent;
}

/** A streaming STT that is never fed (the agent only needs to have one). */
const idleStt: SttModel = {
  specificationVersion: 'colloquy-stt-v1',
  provider: 'idle',
  modelId: 'idle',
  sampleRate: 16000,
  transcribe: async function* () {},
};

describe('after destroy(), each method names itself in AgentDestroyedError', () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const calls: Array<[string, (a: VoiceAgent) => unknown]> = [
    ['sendText', (a) => a.sendText('hi')],
    ['sendAudio', (a) => a.sendAudio(bytes)],
    ['sendAudio', (a) => a.sendAudioBuffer(bytes)],
    ['transcribeAudio', (a) => a.transcribeAudio(bytes)],
    ['generateAndSendSpeechFull', (a) => a.generateAndSendSpeechFull('hi')],
    ['generateSpeechFromText', (a) => a.generateSpeechFromText('hi')],
    ['interruptSpeech', (a) => a.interruptSpeech()],
    ['interruptSpeech', (a) => a.interruptCurrentResponse()],
    ['clearHistory', (a) => a.clearHistory()],
    ['registerTools', (a) => a.registerTools({})],
    ['setHistory', (a) => a.setHistory([])],
    ['startListening', (a) => a.startListening()],
    ['stopListening', (a) => a.stopListening()],
    ['answerSubagent', (a) => a.answerSubagent({ requestId: 'r1', value: 'x' })],
    ['connect', (a) => a.connect('ws://127.0.0.1:1')],
    ['handleSocket', (a) => a.handleSocket(new FakeWebSocket().asSocket)],
  ];

  it.each(calls.map(([name, call], i) => [i, name, call] as const))('%i: %s', async (_i, name, call) => {
    const agent = make({
      transcriptionModel: mockTranscriptionModel(['x']).model,
      speechModel: mockSpeechModel().model,
    });
    agent.destroy();
    let thrown: unknown;
    try {
      await call(agent);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AgentDestroyedError);
    expect(thrown).toMatchObject({
      code: 'agent_destroyed',
      message: `${name}() was called after destroy(); create a new agent`,
    });
  });

  it('disconnect() and a second destroy() after destroy() do nothing and throw nothing', () => {
    const agent = make();
    agent.destroy();
    expect(() => agent.disconnect()).not.toThrow();
    expect(() => agent.destroy()).not.toThrow();
    expect(agent.destroyed).toBe(true);
  });
});

describe('protocol limits derived from the options', () => {
  const MiB = 1024 * 1024;
  const rows: Array<[string, Partial<VoiceAgentOptions>, Partial<ProtocolLimits>]> = [
    ['defaults', {}, {}],
    ['maxTextLength', { maxTextLength: 120 }, { maxTextChars: 120 }],
    [
      'a small audio limit keeps the 16 MiB message limit',
      { maxAudioInputSize: 1000 },
      { maxAudioBytes: 1000 },
    ],
    [
      'a large audio limit raises the message limit to its base64 size plus 4 KiB',
      { maxAudioInputSize: 30 * MiB },
      { maxAudioBytes: 30 * MiB, maxMessageBytes: 40 * MiB + 4096 },
    ],
    [
      'the base64 size is rounded up',
      { maxAudioInputSize: 12 * MiB + 1 },
      { maxAudioBytes: 12 * MiB + 1, maxMessageBytes: 16 * MiB + 2 + 4096 },
    ],
  ];
  it.each(rows)('%s', (_name, options, changed) => {
    const agent = new LimitsProbe({ model: mockLanguageModel(['x']), logger: silentLogger, ...options });
    agents.push(agent);
    expect(agent.derivedLimits).toEqual({ ...DEFAULT_PROTOCOL_LIMITS, ...changed });
  });

  it('a VideoAgent-style default frame limit is taken from the constructor defaults', () => {
    const agent = new LimitsProbe(
      { model: mockLanguageModel(['x']), logger: silentLogger },
      { maxFrameBytes: 777 },
    );
    agents.push(agent);
    expect(agent.derivedLimits).toEqual({ ...DEFAULT_PROTOCOL_LIMITS, maxFrameBytes: 777 });
  });

  it('a text message longer than maxTextLength is refused on the socket with its limit', () => {
    const agent = make({ maxTextLength: 5 });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    socket.receive({ type: 'transcript', text: 'abcdef' });
    expect(socket.of('error')).toEqual([
      expect.objectContaining({ code: 'text_too_long', messageType: 'transcript' }),
    ]);
  });
});

describe('the session id', () => {
  it('is the sessionId option when given, a UUID otherwise', () => {
    expect(make({ sessionId: 'my-session' }).session.sessionId).toBe('my-session');
    expect(make().session.sessionId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('the sessionId option wins over the constructor default', () => {
    const agent = new VoiceAgent(
      { model: mockLanguageModel(['x']), logger: silentLogger, sessionId: 'opt' },
      { sessionId: 'dflt' },
    );
    agents.push(agent);
    expect(agent.session.sessionId).toBe('opt');
    const other = new VoiceAgent(
      { model: mockLanguageModel(['x']), logger: silentLogger },
      { sessionId: 'dflt' },
    );
    agents.push(other);
    expect(other.session.sessionId).toBe('dflt');
  });
});

describe('what the agent takes (hasTranscription, onRealtimeModel, takesStreamedAudio)', () => {
  const transcription = () => mockTranscriptionModel(['x']).model;
  const rows: Array<[string, () => Partial<VoiceAgentOptions>, [boolean, boolean, boolean]]> = [
    ['a text-only agent', () => ({}), [false, false, false]],
    ['a transcription model', () => ({ transcriptionModel: transcription() }), [true, false, true]],
    ['a streaming STT', () => ({ sttModel: idleStt }), [true, false, true]],
  ];
  it.each(rows)('%s', (_name, options, [has, realtime, streamed]) => {
    const agent = make(options());
    expect([agent.hasTranscription, agent.onRealtimeModel, agent.takesStreamedAudio]).toEqual([
      has,
      realtime,
      streamed,
    ]);
  });
});

describe('text input refusals', () => {
  it.each([[''], ['   '], ['\n\t'], [42], [undefined]])(
    'sendText(%j) is refused as empty_text',
    async (text) => {
      const agent = make();
      await expect(agent.sendText(text as string)).rejects.toMatchObject({
        name: 'InvalidInputError',
        code: 'empty_text',
        message: 'Text input cannot be empty',
      });
    },
  );
});

describe('the interruption reason: the session gets a bus reason, the agent words it as given', () => {
  /** Records each `session.interrupt` with how the agent words a reason at that moment. */
  function spyInterrupts(agent: VoiceAgent) {
    const seen: Array<[InterruptReason | undefined, string]> = [];
    const session = agent.session as unknown as { interrupt: (r?: InterruptReason) => void };
    session.interrupt = (r) => {
      seen.push([r, agent.reasonFor('user_speaking')]);
    };
    return seen;
  }
  const rows: Array<[string, (a: VoiceAgent) => void, [InterruptReason, string]]> = [
    ['interruptSpeech()', (a) => a.interruptSpeech(), ['interrupted', 'interrupted']],
    [
      'interruptSpeech("client_request")',
      (a) => a.interruptSpeech('client_request'),
      ['client_request', 'client_request'],
    ],
    ['interruptSpeech("boss")', (a) => a.interruptSpeech('boss'), ['client_request', 'boss']],
    ['interruptCurrentResponse()', (a) => a.interruptCurrentResponse(), ['interrupted', 'interrupted']],
    [
      'interruptCurrentResponse("boss")',
      (a) => a.interruptCurrentResponse('boss'),
      ['client_request', 'boss'],
    ],
    ['clientInterrupt(undefined)', (a) => a.clientInterrupt(undefined), ['client_request', 'client_request']],
    ['clientInterrupt("stop")', (a) => a.clientInterrupt('stop'), ['client_request', 'stop']],
    [
      'clientInterrupt("user_speaking")',
      (a) => a.clientInterrupt('user_speaking'),
      ['user_speaking', 'user_speaking'],
    ],
  ];
  it.each(rows)('%s', (_name, call, expected) => {
    const agent = make();
    const seen = spyInterrupts(agent);
    call(agent);
    expect(seen).toEqual([expected]);
    expect(agent.reasonFor('user_speaking')).toBe('user_speaking');
  });

  it('a client transcript interrupts with user_speaking', () => {
    const agent = make();
    const seen = spyInterrupts(agent);
    agent.clientTranscript('hello');
    expect(seen).toEqual([['user_speaking', 'user_speaking']]);
  });

  it('a client recording interrupts with user_speaking (with a transcription model), not at all without', () => {
    const agent = make({ transcriptionModel: mockTranscriptionModel(['']).model });
    const seen = spyInterrupts(agent);
    agent.clientRecording(new Uint8Array([1, 2]), 'audio');
    expect(seen).toEqual([['user_speaking', 'user_speaking']]);
    const textOnly = make();
    const none = spyInterrupts(textOnly);
    textOnly.clientRecording(new Uint8Array([1, 2]), 'audio');
    expect(none).toEqual([]);
  });

  it('a closed connection interrupts with disconnected and rejects the waiting inputs with its error', async () => {
    const agent = make();
    const seen = spyInterrupts(agent);
    const error = new SessionStateError('connection_closed', 'gone');
    agent.connectionClosed(error);
    expect(seen).toEqual([['disconnected', 'disconnected']]);
  });

  it('the worded reason is reset even when the session throws', () => {
    const agent = make();
    const session = agent.session as unknown as { interrupt: (r?: InterruptReason) => void };
    session.interrupt = () => {
      throw new Error('broken');
    };
    expect(() => agent.interruptSpeech('boss')).toThrow('broken');
    expect(agent.reasonFor('user_speaking')).toBe('user_speaking');
  });
});

describe('pendingSpeechChunks counts queued chunks whose audio was not released', () => {
  const turn = { sessionId: 's', turnId: 't1' };
  const queued = { ...turn, chunkId: 0, text: 'Hi.' };
  const released = { ...queued, audio: new Uint8Array([1]), format: 'mp3' };
  const failed = { ...queued, error: new SessionStateError('tts_failed', 'y') };
  const rows: Array<[string, Array<[keyof EventMap, unknown]>, number]> = [
    [
      'three queued',
      [
        ['speech.chunk.queued', queued],
        ['speech.chunk.queued', queued],
        ['speech.chunk.queued', queued],
      ],
      3,
    ],
    [
      'two queued, one released',
      [
        ['speech.chunk.queued', queued],
        ['speech.chunk.queued', queued],
        ['speech.chunk', released],
      ],
      1,
    ],
    [
      'two queued, one failed',
      [
        ['speech.chunk.queued', queued],
        ['speech.chunk.queued', queued],
        ['speech.chunk.error', failed],
      ],
      1,
    ],
    [
      'a release with none queued stays at 0',
      [
        ['speech.chunk', released],
        ['speech.chunk.queued', queued],
      ],
      1,
    ],
    [
      'a failure with none queued stays at 0',
      [
        ['speech.chunk.error', failed],
        ['speech.chunk.queued', queued],
      ],
      1,
    ],
    [
      'an interruption drops them all',
      [
        ['speech.chunk.queued', queued],
        ['speech.chunk.queued', queued],
        ['speech.interrupted', { ...turn, reason: 'interrupted', heardText: '' }],
      ],
      0,
    ],
  ];
  it.each(rows)('%s', (_name, events, count) => {
    const agent = make();
    for (const [name, payload] of events) agent.bus.publish(name, payload as never);
    expect(agent.pendingSpeechChunks).toBe(count);
  });

  it('stops counting once destroyed', () => {
    const agent = make();
    agent.bus.publish('speech.chunk.queued', queued);
    agent.destroy();
    agent.bus.publish('speech.chunk.queued', queued);
    expect(agent.pendingSpeechChunks).toBe(1);
  });
});

describe('an error event nobody listens to is logged, not thrown', () => {
  const error = {
    sessionId: 's',
    component: 'input',
    error: new SessionStateError('internal_error', 'it broke'),
    severity: 'warn',
  } as const;

  it('without an error listener: one warning in the log', () => {
    const { logger, lines } = recordingLogger();
    const agent = make({ logger });
    agent.bus.publish('error', error);
    expect(lines).toEqual([['warn', 'VoiceAgent error (no "error" listener): it broke']]);
  });

  it('with an error listener: the error is emitted and nothing is logged', () => {
    const { logger, lines } = recordingLogger();
    const agent = make({ logger });
    const seen: Error[] = [];
    agent.on('error', (e) => seen.push(e));
    agent.bus.publish('error', error);
    expect(seen).toEqual([error.error]);
    expect(lines).toEqual([]);
  });

  it('other events without listeners are not logged', () => {
    const { logger, lines } = recordingLogger();
    const agent = make({ logger });
    agent.bus.publish('warning', { sessionId: 's', component: 'input', code: 'c', message: 'm' });
    agent.bus.publish('history.cleared', { sessionId: 's' });
    expect(lines).toEqual([]);
  });
});

describe('destroy()', () => {
  it('removes every listener and stops projecting bus events', () => {
    const agent = make();
    const seen: string[] = [];
    agent.on('history_cleared', () => seen.push('history_cleared'));
    agent.destroy();
    expect(agent.listenerCount('history_cleared')).toBe(0);
    agent.on('history_cleared', () => seen.push('late'));
    agent.bus.publish('history.cleared', { sessionId: 's' });
    expect(seen).toEqual([]);
  });

  it('closes the session with the reason destroyed, and logs a close that fails', async () => {
    const { logger, lines } = recordingLogger();
    const agent = make({ logger });
    const failure = new Error('close broke');
    (agent.session as unknown as { close: () => Promise<void> }).close = () => Promise.reject(failure);
    agent.destroy();
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([['error', 'session close failed', failure]]);
  });

  it('closes its socket with 1000 disconnect: waiting inputs are rejected as connection_closed', async () => {
    const agent = make({ model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]) });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const started = new Promise<void>((resolve) => agent.bus.once('user.text', () => resolve()));
    const first = agent.sendText('one');
    const waiting = agent.sendText('two');
    const outcome = waiting.catch((e: unknown) => e);
    await started;
    agent.destroy();
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'disconnect' });
    expect(await outcome).toMatchObject({ code: 'connection_closed', message: 'Connection closed' });
    await expect(first).resolves.toBe('');
  });

  it('without a socket, waiting inputs are rejected with agent_destroyed naming a queued input', async () => {
    const agent = make({ model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]) });
    const started = new Promise<void>((resolve) => agent.bus.once('user.text', () => resolve()));
    const first = agent.sendText('one');
    const waiting = agent.sendText('two');
    const outcome = waiting.catch((e: unknown) => e);
    await started;
    agent.destroy();
    expect(await outcome).toMatchObject({
      code: 'agent_destroyed',
      message: 'a queued input() was called after destroy(); create a new agent',
    });
    await expect(first).resolves.toBe('');
  });
});

describe('generateAndSendSpeechFull and generateSpeechFromText', () => {
  it('without a speech model: no_speech_model; empty text: empty_text (each method its own message)', async () => {
    const textOnly = make();
    for (const call of [
      () => textOnly.generateAndSendSpeechFull('hi'),
      () => textOnly.generateSpeechFromText('hi'),
    ]) {
      await expect(call()).rejects.toMatchObject({
        name: 'SessionStateError',
        code: 'no_speech_model',
        message: 'This agent has no speechModel',
      });
    }
    const speaking = make({ speechModel: mockSpeechModel().model });
    for (const text of ['', '  ', 7]) {
      for (const call of [
        () => speaking.generateAndSendSpeechFull(text as string),
        () => speaking.generateSpeechFromText(text as string),
      ]) {
        await expect(call()).rejects.toMatchObject({
          name: 'InvalidInputError',
          code: 'empty_text',
          message: 'Speech text cannot be empty',
        });
      }
    }
  });

  it('publishes speech.start, speech.full, speech.complete with a turn id counted per call', async () => {
    const agent = make({ speechModel: mockSpeechModel().model, outputFormat: 'mp3', sessionId: 'sf' });
    const seen: Array<[string, unknown]> = [];
    for (const name of ['speech.start', 'speech.full', 'speech.complete'] as const) {
      agent.bus.subscribe(name, (p) => seen.push([name, p]));
    }
    await agent.generateAndSendSpeechFull('One.');
    await agent.generateAndSendSpeechFull('Two.');
    const audio = (t: string) => new TextEncoder().encode(`AUDIO<${t}>`);
    expect(seen).toEqual([
      ['speech.start', { sessionId: 'sf', turnId: 'speech_full_1', streaming: false }],
      ['speech.full', { sessionId: 'sf', text: 'One.', audio: audio('One.'), format: 'mp3' }],
      ['speech.complete', { sessionId: 'sf', turnId: 'speech_full_1', streaming: false }],
      ['speech.start', { sessionId: 'sf', turnId: 'speech_full_2', streaming: false }],
      ['speech.full', { sessionId: 'sf', text: 'Two.', audio: audio('Two.'), format: 'mp3' }],
      ['speech.complete', { sessionId: 'sf', turnId: 'speech_full_2', streaming: false }],
    ]);
  });

  it('generateSpeechFromText returns the audio and publishes nothing', async () => {
    const speech = mockSpeechModel();
    const agent = make({ speechModel: speech.model, voice: 'nova' });
    const published: string[] = [];
    agent.bus.subscribeAll((e) => published.push(e.type));
    const audio = await agent.generateSpeechFromText('Hello.');
    expect(new TextDecoder().decode(audio)).toBe('AUDIO<Hello.>');
    expect(speech.calls.map((c) => [c.text, c.voice])).toEqual([['Hello.', 'nova']]);
    expect(published.filter((t) => t.startsWith('speech'))).toEqual([]);
  });

  it('generateSpeechFromText stops when its own signal aborts', async () => {
    const speech = mockSpeechModel({ delayFor: () => 10_000 });
    const agent = make({ speechModel: speech.model });
    const controller = new AbortController();
    const pending = agent.generateSpeechFromText('Hello.', controller.signal);
    const outcome = pending.catch((e: unknown) => e);
    await new Promise<void>((resolve) => {
      const check = () => (speech.calls.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    controller.abort(new Error('caller gave up'));
    expect(await outcome).toBeInstanceOf(Error);
    expect(speech.aborted).toEqual(['Hello.']);
  });

  it.each([
    [
      'generateSpeechFromText',
      (a: VoiceAgent) => a.generateSpeechFromText('Hello.', new AbortController().signal),
    ],
    ['generateSpeechFromText without a signal', (a: VoiceAgent) => a.generateSpeechFromText('Hello.')],
    ['generateAndSendSpeechFull', (a: VoiceAgent) => a.generateAndSendSpeechFull('Hello.')],
  ])('%s in flight is aborted by destroy()', async (_name, call) => {
    const speech = mockSpeechModel({ delayFor: () => 10_000 });
    const agent = make({ speechModel: speech.model });
    const outcome = call(agent).catch((e: unknown) => e);
    await new Promise<void>((resolve) => {
      const check = () => (speech.calls.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    agent.destroy();
    expect(await outcome).toBeInstanceOf(Error);
    expect(speech.aborted).toEqual(['Hello.']);
    expect(speech.calls[0]?.abortSignal?.reason).toMatchObject({
      code: 'agent_destroyed',
      message: 'an in-flight call() was called after destroy(); create a new agent',
    });
  });
});

describe('recordings (sendAudio, transcribeAudio, a client audio message)', () => {
  const wav = new Uint8Array([1, 2, 3, 4, 5]);

  it('sendAudio without any transcription is refused before anything is published', async () => {
    const agent = make();
    const published: string[] = [];
    agent.bus.subscribeAll((e) => published.push(e.type));
    for (const call of [() => agent.sendAudio(wav), () => agent.transcribeAudio(wav)]) {
      await expect(call()).rejects.toMatchObject({
        code: 'no_transcription_model',
        message: 'This agent has no transcriptionModel',
      });
    }
    expect(published).toEqual([]);
  });

  it('with only a streaming STT, a whole recording is refused: no transcription model to send it to', async () => {
    const agent = make({ sttModel: idleStt });
    for (const call of [() => agent.sendAudio(wav), () => agent.transcribeAudio(wav)]) {
      await expect(call()).rejects.toMatchObject({
        code: 'no_transcription_model',
        message: 'This agent has no transcriptionModel',
      });
    }
  });

  it('sendAudio publishes audio.received with the decoded size, then answers the transcript', async () => {
    const stt = mockTranscriptionModel(['What time is it?']);
    const agent = make({ transcriptionModel: stt.model, sessionId: 'rec' });
    const received: unknown[] = [];
    agent.bus.subscribe('audio.received', (p) => received.push(p));
    const user: string[] = [];
    agent.bus.subscribe('user.text', (p) => user.push(`${p.source}:${p.text}`));
    await expect(agent.sendAudio(Buffer.from(wav).toString('base64'))).resolves.toBe('Fine.');
    expect(received).toEqual([{ sessionId: 'rec', size: 5 }]);
    expect(user).toEqual(['speech:What time is it?']);
  });

  it('a recording with no words resolves with "" and starts no turn; the socket gets transcription_error', async () => {
    const agent = make({ transcriptionModel: mockTranscriptionModel(['']).model });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const turns: string[] = [];
    agent.bus.subscribe('turn.start', (p) => turns.push(p.turnId));
    await expect(agent.sendAudio(wav)).resolves.toBe('');
    expect(turns).toEqual([]);
    expect(socket.of('transcription_error')).toEqual([
      { type: 'transcription_error', error: 'The recording contained no speech', code: 'empty_transcript' },
    ]);
  });

  it('transcribeAudio returns the text without a turn', async () => {
    const agent = make({ transcriptionModel: mockTranscriptionModel(['Just words'], 'de').model });
    const seen: unknown[] = [];
    agent.on('transcription', (t) => seen.push(t));
    const turns: string[] = [];
    agent.bus.subscribe('turn.start', (p) => turns.push(p.turnId));
    await expect(agent.transcribeAudio(wav)).resolves.toBe('Just words');
    expect(seen).toEqual([{ text: 'Just words', language: 'de' }]);
    expect(turns).toEqual([]);
  });

  it.each([
    ['destroy() (no socket)', false, (a: VoiceAgent) => a.destroy(), 'agent_destroyed'],
    [
      'the socket closing',
      true,
      (_a: VoiceAgent, s: FakeWebSocket) => s.peerClose(1001, 'bye'),
      'connection_closed',
    ],
  ])('a transcription in flight is aborted by %s', async (_name, attached, end, code) => {
    const stt = mockTranscriptionModel(['never'], 'en', 10_000);
    const agent = make({ transcriptionModel: stt.model });
    const socket = new FakeWebSocket();
    if (attached) agent.handleSocket(socket.asSocket);
    const outcome = agent.transcribeAudio(wav).catch((e: unknown) => e);
    await whenTrue(() => stt.calls.length > 0);
    end(agent, socket);
    expect(await outcome).toBeInstanceOf(Error);
    expect(stt.calls[0]?.abortSignal?.aborted).toBe(true);
    expect(stt.calls[0]?.abortSignal?.reason).toMatchObject({ code });
  });

  it('a new socket gets a fresh transcription signal: the closed one does not abort its recordings', async () => {
    const stt = mockTranscriptionModel(['one', 'two']);
    const agent = make({ transcriptionModel: stt.model });
    const first = new FakeWebSocket();
    agent.handleSocket(first.asSocket);
    await agent.transcribeAudio(wav);
    first.peerClose();
    agent.handleSocket(new FakeWebSocket().asSocket);
    await expect(agent.transcribeAudio(wav)).resolves.toBe('two');
  });

  it('a client audio message without a transcription model: an error naming messageType audio, nothing received', () => {
    const agent = make({ sessionId: 'na' });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const bus: Array<[string, unknown]> = [];
    agent.bus.subscribe('error', (p) => bus.push(['error', { ...p, error: p.error.code }]));
    agent.bus.subscribe('warning', (p) => bus.push(['warning', p]));
    agent.bus.subscribe('audio.received', (p) => bus.push(['audio.received', p]));
    socket.receive({ type: 'audio', data: Buffer.from(wav).toString('base64') });
    expect(socket.of('error')).toEqual([
      {
        type: 'error',
        error: 'This agent has no transcriptionModel',
        code: 'no_transcription_model',
        retryable: false,
        messageType: 'audio',
      },
    ]);
    expect(bus).toEqual([
      ['error', { sessionId: 'na', component: 'input', error: 'no_transcription_model', severity: 'warn' }],
    ]);
  });

  it('a client recording publishes audio.received with its size and is answered', async () => {
    const agent = make({ transcriptionModel: mockTranscriptionModel(['Hello']).model, sessionId: 'cr' });
    const received: unknown[] = [];
    agent.bus.subscribe('audio.received', (p) => received.push(p));
    const done = new Promise<void>((resolve) => agent.bus.once('turn.end', () => resolve()));
    agent.clientRecording(wav, 'audio_commit');
    expect(received).toEqual([{ sessionId: 'cr', size: 5 }]);
    await done;
    expect(agent.getHistory().map((m) => m.role)).toEqual(['user', 'assistant']);
  });
});

describe('client messages handled by the agent', () => {
  it('client_ready without capabilities publishes null; with them, as given', () => {
    const agent = make({ sessionId: 'cr' });
    const seen: unknown[] = [];
    agent.bus.subscribe('client.ready', (p) => seen.push(p));
    agent.clientReady(undefined);
    agent.clientReady({ mic: true });
    expect(seen).toEqual([
      { sessionId: 'cr', capabilities: null },
      { sessionId: 'cr', capabilities: { mic: true } },
    ]);
  });

  it('a video frame sent to a VoiceAgent is refused as unsupported_message naming video_frame', () => {
    const agent = make();
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    agent.clientFrame({} as never);
    expect(socket.of('error')).toEqual([
      {
        type: 'error',
        error: 'This agent takes no video; use a VideoAgent',
        code: 'unsupported_message',
        retryable: false,
        messageType: 'video_frame',
      },
    ]);
  });

  it('an answer to an unknown subagent question is an error message naming subagent_ui_response; the socket stays open', () => {
    const agent = make();
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    agent.clientSubagentAnswer({ requestId: 'nope', value: 'x' });
    expect(socket.of('error')).toEqual([
      expect.objectContaining({ code: 'ui_request_unknown', messageType: 'subagent_ui_response' }),
    ]);
    expect(agent.connected).toBe(true);
  });

  it('a thrown non-Colloquy error in a subagent answer is reported as ui_invalid_response', () => {
    const agent = make();
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    (agent.session.subagentUi as unknown as { respond: () => void }).respond = () => {
      throw new TypeError('odd');
    };
    agent.clientSubagentAnswer({ requestId: 'r', value: 'x' });
    expect(socket.of('error')).toEqual([
      expect.objectContaining({ code: 'ui_invalid_response', messageType: 'subagent_ui_response' }),
    ]);
  });

  it('answerSubagent throws the refusal to the caller', () => {
    const agent = make();
    expect(() => agent.answerSubagent({ requestId: 'nope', value: 'x' })).toThrow(
      expect.objectContaining({ code: 'ui_request_unknown' }),
    );
  });

  it('the socket closing publishes transport.disconnected and rejects waiting inputs as connection_closed', async () => {
    const agent = make({
      sessionId: 'dc',
      model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]),
    });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const seen: unknown[] = [];
    agent.bus.subscribe('transport.disconnected', (p) => seen.push(p));
    const started = new Promise<void>((resolve) => agent.bus.once('user.text', () => resolve()));
    const first = agent.sendText('one');
    const waiting = agent.sendText('two').catch((e: unknown) => e);
    await started;
    socket.peerClose(1001, 'going away');
    expect(seen).toEqual([{ sessionId: 'dc', transport: 'websocket' }]);
    expect(await waiting).toMatchObject({ code: 'connection_closed' });
    await expect(first).resolves.toBe('');
  });

  it('disconnect() closes the socket with 1000 disconnect and emits disconnected', () => {
    const agent = make();
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const events: string[] = [];
    agent.on('disconnected', () => events.push('disconnected'));
    expect(agent.connected).toBe(true);
    agent.disconnect();
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'disconnect' });
    expect(events).toEqual(['disconnected']);
    expect(agent.connected).toBe(false);
  });
});

describe('rejected client input: a warning or an error, and an error message', () => {
  it.each([
    ['empty_text is a warning', 'empty_text', undefined, 'warning', {}],
    [
      'input_queue_full is a warning',
      'input_queue_full',
      'transcript',
      'warning',
      { messageType: 'transcript' },
    ],
    [
      'bad base64 of an audio message is a warning',
      'invalid_base64',
      'audio',
      'warning',
      { messageType: 'audio' },
    ],
    [
      'bad base64 elsewhere is an error',
      'invalid_base64',
      'video_frame',
      'error',
      { messageType: 'video_frame' },
    ],
    ['any other code is an error', 'text_too_long', undefined, 'error', {}],
  ])('%s', (_name, code, messageType, kind, typed) => {
    const agent = make({ sessionId: 'rj' });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const bus: Array<[string, unknown]> = [];
    agent.bus.subscribe('error', (p) => bus.push(['error', { ...p, error: p.error.message }]));
    agent.bus.subscribe('warning', (p) => bus.push(['warning', p]));
    const error = new SessionStateError(code as never, `it was ${code}`);
    agent.rejectInput(error, messageType);
    expect(bus).toEqual([
      kind === 'warning'
        ? ['warning', { sessionId: 'rj', component: 'input', code, message: `it was ${code}` }]
        : ['error', { sessionId: 'rj', component: 'input', error: `it was ${code}`, severity: 'warn' }],
    ]);
    expect(socket.of('error')).toEqual([
      { type: 'error', error: `it was ${code}`, code, retryable: false, ...typed },
    ]);
  });
});

describe('client inputs queue behind each other', () => {
  it('a full queue refuses the next client input as an input_queue_full warning naming its message type', async () => {
    const agent = make({
      maxQueuedInputs: 1,
      model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]),
    });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    const warnings: unknown[] = [];
    agent.bus.subscribe('warning', (p) => warnings.push(p.code));
    agent.clientTranscript('one');
    agent.clientTranscript('two');
    expect(socket.of('error')).toEqual([
      {
        type: 'error',
        error: 'Too many inputs waiting (limit 1); this one was dropped',
        code: 'input_queue_full',
        retryable: true,
        messageType: 'transcript',
      },
    ]);
    expect(warnings).toEqual(['input_queue_full']);
  });

  it('the default queue holds 16 waiting inputs and refuses the 17th', async () => {
    const agent = make({ model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]) });
    const started = new Promise<void>((resolve) => agent.bus.once('user.text', () => resolve()));
    const outcomes = Array.from({ length: 17 }, (_, i) =>
      agent.sendText(`input ${i}`).catch((e: unknown) => e),
    );
    expect(await outcomes[16]).toMatchObject({
      code: 'input_queue_full',
      message: 'Too many inputs waiting (limit 16); this one was dropped',
    });
    await started;
    agent.destroy();
    const settled = await Promise.all(outcomes.slice(0, 16));
    expect(settled.map((e) => (typeof e === 'string' ? e : (e as { code: string }).code))).toEqual([
      '',
      ...Array.from({ length: 15 }, () => 'agent_destroyed'),
    ]);
  });

  it('an input from a client that ends in failure is logged at debug with its message type', async () => {
    const { logger, lines } = recordingLogger();
    const agent = make({
      logger,
      model: mockLanguageModel([{ parts: [{ text: 'slow' }], initialDelayMs: 10_000 }]),
    });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    agent.clientTranscript('one');
    agent.clientTranscript('two');
    socket.peerClose();
    await whenTrue(() => lines.some(([level]) => level === 'debug'));
    expect(lines.filter(([level]) => level === 'debug')).toContainEqual([
      'debug',
      'input from transcript ended: ConnectionClosedError: Connection closed',
    ]);
  });
});

describe('registerTools and history', () => {
  it('registered tools are offered to the model on the next turn, replacing same-named ones', async () => {
    const model = mockLanguageModel(['One.', 'Two.']);
    const agent = make({ model });
    const t = (description: string) => tool({ description, inputSchema: jsonSchema({ type: 'object' }) });
    agent.registerTools({ clock: t('first') });
    await agent.sendText('a');
    agent.registerTools({ clock: t('second'), map: t('map') });
    await agent.sendText('b');
    const offered = model.calls.map((c) =>
      (c.tools ?? []).map((tool) => `${tool.name}:${(tool as { description?: string }).description}`),
    );
    expect(offered).toEqual([['clock:first'], ['clock:second', 'map:map']]);
  });

  it('setHistory replaces the history; clearHistory empties it', () => {
    const agent = make();
    agent.setHistory([{ role: 'user', content: 'earlier' }]);
    expect(agent.getHistory()).toEqual([{ role: 'user', content: 'earlier' }]);
    agent.clearHistory();
    expect(agent.getHistory()).toEqual([]);
  });
});

describe('one lifetime for every call', () => {
  it('destroy() aborts every speech call in flight, not only the last one started', async () => {
    const speech = mockSpeechModel({ delayFor: () => 10_000 });
    const agent = make({ speechModel: speech.model });
    const outcomes = [
      agent.generateSpeechFromText('One.').catch((e: unknown) => e),
      agent.generateAndSendSpeechFull('Two.').catch((e: unknown) => e),
    ];
    await whenTrue(() => speech.calls.length === 2);
    agent.destroy();
    expect((await Promise.all(outcomes)).every((e) => e instanceof Error)).toBe(true);
    expect(speech.aborted.sort()).toEqual(['One.', 'Two.']);
  });
});
