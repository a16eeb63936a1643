/**
 * `VoiceAgent` as a unit: its refusals (exact code and message), the limits it derives from its
 * options, the reasons it interrupts with, its counters, the events of its own methods, and what it
 * sends on a socket (an in-memory socket, `FakeWebSocket`). Every agent is made inside its test and
 * destroyed after it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWebSocket } from '../../../test/support/fake-ws.ts';
import { mockSpeechModel, mockTranscriptionModel } from '../../../test/voice-agent/helpers.ts';
import type { EventMap, InterruptReason } from '../../bus/events.ts';
import { SessionStateError } from '../../errors.ts';
import { type Logger, silentLogger } from '../../logger.ts';
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

function recordingLogger() {
  const lines: Array<[string, string]> = [];
  const logger: Logger = {
    debug: (m: string) => lines.push(['debug', m]),
    info: (m: string) => lines.push(['info', m]),
    warn: (m: string) => lines.push(['warn', m]),
    error: (m: string) => lines.push(['error', m]),
  } as Logger;
  return { logger, lines };
}

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
    ['a small audio limit keeps the 16 MiB message limit', { maxAudioInputSize: 1000 }, { maxAudioBytes: 1000 }],
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
    const agent = new LimitsProbe({ model: mockLanguageModel(['x']), logger: silentLogger }, { maxFrameBytes: 777 });
    agents.push(agent);
    expect(agent.derivedLimits).toEqual({ ...DEFAULT_PROTOCOL_LIMITS, maxFrameBytes: 777 });
  });

  it('a text message longer than maxTextLength is refused on the socket with its limit', () => {
    const agent = make({ maxTextLength: 5 });
    const socket = new FakeWebSocket();
    agent.handleSocket(socket.asSocket);
    socket.receive({ type: 'transcript', text: 'abcdef' });
    expect(socket.of('error')).toEqual([expect.objectContaining({ code: 'text_too_long', messageType: 'transcript' })]);
  });
});

describe('the session id', () => {
  it('is the sessionId option when given, a UUID otherwise', () => {
    expect(make({ sessionId: 'my-session' }).session.sessionId).toBe('my-session');
    expect(make().session.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('the sessionId option wins over the constructor default', () => {
    const agent = new VoiceAgent(
      { model: mockLanguageModel(['x']), logger: silentLogger, sessionId: 'opt' },
      { sessionId: 'dflt' },
    );
    agents.push(agent);
    expect(agent.session.sessionId).toBe('opt');
    const other = new VoiceAgent({ model: mockLanguageModel(['x']), logger: silentLogger }, { sessionId: 'dflt' });
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
  it.each([[''], ['   '], ['\n\t'], [42], [undefined]])('sendText(%j) is refused as empty_text', async (text) => {
    const agent = make();
    await expect(agent.sendText(text as string)).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'empty_text',
      message: 'Text input cannot be empty',
    });
  });
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
    ['interruptSpeech("client_request")', (a) => a.interruptSpeech('client_request'), ['client_request', 'client_request']],
    ['interruptSpeech("boss")', (a) => a.interruptSpeech('boss'), ['client_request', 'boss']],
    ['interruptCurrentResponse()', (a) => a.interruptCurrentResponse(), ['interrupted', 'interrupted']],
    ['interruptCurrentResponse("boss")', (a) => a.interruptCurrentResponse('boss'), ['client_request', 'boss']],
    ['clientInterrupt(undefined)', (a) => a.clientInterrupt(undefined), ['client_request', 'client_request']],
    ['clientInterrupt("stop")', (a) => a.clientInterrupt('stop'), ['client_request', 'stop']],
    ['clientInterrupt("user_speaking")', (a) => a.clientInterrupt('user_speaking'), ['user_speaking', 'user_speaking']],
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
  const failed = { ...queued, error: new SessionStateError('x', 'y') };
  const rows: Array<[string, Array<[keyof EventMap, unknown]>, number]> = [
    ['three queued', [['speech.chunk.queued', queued], ['speech.chunk.queued', queued], ['speech.chunk.queued', queued]], 3],
    ['two queued, one released', [['speech.chunk.queued', queued], ['speech.chunk.queued', queued], ['speech.chunk', released]], 1],
    ['two queued, one failed', [['speech.chunk.queued', queued], ['speech.chunk.queued', queued], ['speech.chunk.error', failed]], 1],
    ['a release with none queued stays at 0', [['speech.chunk', released], ['speech.chunk.queued', queued]], 1],
    ['a failure with none queued stays at 0', [['speech.chunk.error', failed], ['speech.chunk.queued', queued]], 1],
    [
      'an interruption drops them all',
      [['speech.chunk.queued', queued], ['speech.chunk.queued', queued], ['speech.interrupted', { ...turn, reason: 'interrupted', heardText: '' }]],
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
  const error = { sessionId: 's', component: 'input', error: new SessionStateError('x', 'it broke'), severity: 'warn' } as const;

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
    expect(lines).toEqual([['error', 'session close failed']]);
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
