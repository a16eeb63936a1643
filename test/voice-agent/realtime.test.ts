/**
 * VoiceAgent on a realtime speech-to-speech model, against the local fake provider servers (real
 * WebSockets on loopback, the providers' wire protocols): its events see a realtime turn exactly
 * like a cascade turn (seed 001's names, payloads and timing diagram), for typed text, streamed
 * microphone audio over the native WebSocket protocol, a tool, barge-in and `session.speak`.
 */
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../src/logger.ts';
import type { RealtimeModel } from '../../src/providers/realtime/types.ts';
import type { AgentEventMap } from '../../src/surfaces/voice-agent/options.ts';
import { VideoAgent } from '../../src/surfaces/voice-agent/video-agent.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { tone } from '../../src/testing/signals.ts';
import { closeAll, closeLater, FRAME, gemini, openai } from '../support/realtime-harness.ts';
import { mockSpeechModel, openClient, type Recorded, recordEvents, startServer, until } from './helpers.ts';

afterEach(closeAll);

const QUESTION = 'What is the weather in Paris?';
const ANSWER = 'It is sunny in Paris today. Enjoy the warm weather outside!';
const calls: Array<{ city: string }> = [];
const weatherTool = {
  getWeather: tool({
    description: 'Weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push({ city });
      return { city, temperature: 21 };
    },
  }),
};

function realtimeAgent(
  model: RealtimeModel,
  extra: Partial<ConstructorParameters<typeof VoiceAgent>[0]> = {},
) {
  const agent = new VoiceAgent({
    model: mockLanguageModel(['(the text model is not used by a realtime conversation)']),
    realtime: { model, reconnect: { initialDelayMs: 20 } },
    instructions: 'You are a weather assistant.',
    tools: weatherTool,
    logger: silentLogger,
    ...extra,
  });
  closeLater(() => agent.destroy());
  return agent;
}

const of = <N extends keyof AgentEventMap>(events: Recorded[], name: N) =>
  events.filter((e) => e.name === name).map((e) => e.args[0] as AgentEventMap[N][0]);

/** The shape of a payload: its keys and the kind of each value (what a listener can rely on). */
function shape(payload: unknown): string {
  if (payload === undefined) return 'none';
  if (payload instanceof Uint8Array) return 'Uint8Array';
  if (typeof payload !== 'object' || payload === null) return typeof payload;
  return Object.entries(payload as Record<string, unknown>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v instanceof Uint8Array ? 'Uint8Array' : typeof v}`)
    .join(',');
}

/** Every event name with the set of payload shapes it had. */
function shapes(events: Recorded[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of events) {
    out[e.name] ??= new Set();
    out[e.name]!.add(shape(e.args[0]));
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/** Index of the first / last event named `name` (that passes `test`). */
const first = (events: Recorded[], name: string, test: (p: unknown) => boolean = () => true) =>
  events.findIndex((e) => e.name === name && test(e.args[0]));
const last = (events: Recorded[], name: string) => events.findLastIndex((e) => e.name === name);

/** Checks a realtime run against the seed's Event Timing Diagram (1. user input … 4. response complete). */
function expectTimingDiagram(events: Recorded[], answer: string, withTool: boolean): void {
  const names = events.map((e) => e.name);
  expect(names[0]).toBe('text'); // 1. user input
  expect(events[0]!.args[0]).toMatchObject({ role: 'user' });
  if (withTool) {
    expect(first(events, 'chunk:tool_call')).toBeLessThan(first(events, 'tool_result')); // 2.
    expect(first(events, 'tool_result')).toBeLessThan(first(events, 'speech_start'));
  }
  // 3. speech: the first chunk is queued before speech starts; every chunk's audio before it completes.
  expect(first(events, 'speech_chunk_queued')).toBeLessThan(first(events, 'speech_start'));
  expect(first(events, 'speech_start')).toBeLessThan(first(events, 'audio_chunk'));
  expect(last(events, 'audio_chunk')).toBeLessThan(first(events, 'speech_complete'));
  expect(last(events, 'chunk:text_delta')).toBeLessThan(first(events, 'speech_complete'));
  // 4. response complete, last.
  expect(names.at(-1)).toBe('text');
  expect(events.at(-1)!.args[0]).toEqual({ role: 'assistant', text: answer });
  expect(of(events, 'speech_start')).toEqual([{ streaming: true }]);
  expect(of(events, 'speech_complete')).toEqual([{ streaming: true }]);
  expect(
    of(events, 'chunk:text_delta')
      .map((d) => d.text)
      .join(''),
  ).toBe(answer);
  // Each audio chunk was queued with the same id and text; together they carry the whole transcript.
  const queued = of(events, 'speech_chunk_queued');
  const chunks = of(events, 'audio_chunk');
  expect(chunks.map((c) => [c.chunkId, c.text])).toEqual(queued.map((q) => [q.id, q.text]));
  expect(chunks.map((c) => c.text).join('')).toBe(answer);
  for (const c of chunks) {
    expect(c.format).toBe('pcm16');
    expect(Buffer.from(c.data, 'base64')).toEqual(Buffer.from(c.uint8Array));
  }
}

const audioBytes = (events: Recorded[]) =>
  of(events, 'audio_chunk').reduce((n, c) => n + c.uint8Array.byteLength, 0);

/** The user speaks (a tone) for `ms`, then 400 ms of silence, into the agent's session. */
function speakInto(agent: VoiceAgent, ms: number): void {
  const speech = tone({ sampleRate: 16000, samples: (16000 * ms) / 1000 });
  for (let i = 0; i < speech.length; i += FRAME)
    agent.session.pushAudio(speech.subarray(i, i + FRAME), 16000);
  for (let i = 0; i < 20; i++) agent.session.pushAudio(new Int16Array(FRAME), 16000);
}

describe('VoiceAgent on a realtime model', () => {
  it('OpenAI Realtime: a typed turn with a tool walks the Event Timing Diagram with the cascade’s events and payload shapes', async () => {
    // The same exchange on the cascade (LLM → speech model), for the names and shapes to compare.
    const speech = mockSpeechModel();
    const cascade = new VoiceAgent({
      model: mockLanguageModel([[{ toolCall: { name: 'getWeather', args: { city: 'Paris' } } }], ANSWER]),
      speechModel: speech.model,
      outputFormat: 'mp3',
      tools: weatherTool,
      streamingSpeech: { minChunkSize: 10, maxChunkSize: 100 },
      logger: silentLogger,
    });
    closeLater(() => cascade.destroy());
    const cascadeEvents = recordEvents(cascade);
    expect(await cascade.sendText(QUESTION)).toBe(ANSWER);

    const { server, model } = await openai({
      replies: [{ toolCall: { name: 'getWeather', args: { city: 'Paris' } }, text: ANSWER, audioMs: 600 }],
    });
    const agent = realtimeAgent(model);
    const events = recordEvents(agent);
    calls.length = 0;

    const answer = await agent.sendText(QUESTION);

    expect(answer).toBe(ANSWER);
    expectTimingDiagram(events, ANSWER, true);
    expect(of(events, 'text')[0]).toEqual({ role: 'user', text: QUESTION });
    const [call] = of(events, 'chunk:tool_call');
    expect(of(events, 'chunk:tool_call')).toEqual([
      { toolName: 'getWeather', toolCallId: expect.any(String), input: { city: 'Paris' } },
    ]);
    expect(of(events, 'tool_result')).toEqual([
      { name: 'getWeather', toolCallId: call!.toolCallId, result: { city: 'Paris', temperature: 21 } },
    ]);
    expect(calls).toEqual([{ city: 'Paris' }]);
    // The model's whole answer as PCM16 at its 24 kHz: 600 ms × 24 samples × 2 bytes.
    expect(audioBytes(events)).toBe(600 * 24 * 2);
    // Same event names, same payload shapes as the cascade turn.
    expect(shapes(events)).toEqual(shapes(cascadeEvents));
    // The tool result went back to the model, which answered; history holds the exchange.
    expect(server.messages('conversation.item.create').map((m) => (m.item as { type: string }).type)).toEqual(
      ['message', 'function_call_output'],
    );
    expect(agent.getHistory().at(-1)).toEqual({ role: 'assistant', content: ANSWER });
  });

  it('Gemini Live: spoken input becomes transcription + user text, then the same speech and tool events', async () => {
    const { model } = await gemini({
      replies: [
        {
          userTranscript: QUESTION,
          toolCall: { name: 'getWeather', args: { city: 'Paris' } },
          text: ANSWER,
          audioMs: 500,
        },
      ],
    });
    const agent = realtimeAgent(model);
    const events = recordEvents(agent);
    await agent.session.start();
    speakInto(agent, 400);
    await new Promise<void>((resolve) => agent.once('text', () => agent.once('text', () => resolve())));

    expect(of(events, 'transcription')).toEqual([{ text: QUESTION }]);
    // The transcription comes first, as for a cascade turn transcribed by the STT model.
    const spoken = events.filter((e) => e.name !== 'transcription');
    expectTimingDiagram(spoken, ANSWER, true);
    expect(first(events, 'transcription')).toBeLessThan(first(events, 'text'));
    expect(of(events, 'text')[0]).toEqual({ role: 'user', text: QUESTION });
    expect(of(events, 'tool_result')).toEqual([
      { name: 'getWeather', toolCallId: expect.any(String), result: { city: 'Paris', temperature: 21 } },
    ]);
    expect(audioBytes(events)).toBe(500 * 24 * 2);
  });

  it('over the native WebSocket protocol: streamed PCM in, transcript and pcm16 audio_chunk out', async () => {
    const { model } = await openai({
      replies: [{ userTranscript: 'what time is it', text: 'It is noon.', audioMs: 300 }],
    });
    const agent = realtimeAgent(model, { tools: {} });
    const server = await startServer((socket) => agent.handleSocket(socket));
    closeLater(() => server.close());
    const log = await openClient(server.url);
    closeLater(() => log.socket.terminate());
    log.send({ type: 'client_ready', capabilities: {} });
    const init = await log.waitFor('session_init');
    expect(init.capabilities).toMatchObject({ binaryAudio: true, serverVad: true });
    // The model finds the turns itself: the effective config always has vad: true.
    log.send({ type: 'audio_config', sampleRate: 16000, vad: false });
    expect(await log.waitFor('audio_config_ack')).toMatchObject({ sampleRate: 16000, vad: true });
    const speech = tone({ sampleRate: 16000, samples: 16000 * 0.4 });
    for (let i = 0; i < speech.length; i += FRAME)
      log.socket.send(Buffer.from(speech.slice(i, i + FRAME).buffer));
    for (let i = 0; i < 20; i++) log.socket.send(Buffer.alloc(FRAME * 2));

    const complete = await log.waitFor('response_complete', () => true, 10_000);
    await log.waitFor('speech_stream_end');
    expect(complete).toMatchObject({ text: 'It is noon.' });
    expect(log.of('transcription_result')).toEqual([expect.objectContaining({ text: 'what time is it' })]);
    const chunks = log.of('audio_chunk');
    expect(chunks.length).toBeGreaterThan(0);
    for (const c of chunks) expect(c).toMatchObject({ format: 'pcm16', sampleRate: 24000 });
    expect(chunks.map((c) => c.text).join('')).toBe('It is noon.');
    expect(chunks.reduce((n, c) => n + Buffer.from(c.data as string, 'base64').byteLength, 0)).toBe(300 * 48);
    const order = log.types([
      'user_speech_start',
      'transcription_result',
      'speech_stream_start',
      'audio_chunk',
      'response_complete',
      'speech_stream_end', // last, as after a cascade turn
    ]);
    expect(order.filter((t, i) => t !== order[i - 1])).toEqual([
      'user_speech_start',
      'transcription_result',
      'speech_stream_start',
      'audio_chunk',
      'response_complete',
      'speech_stream_end', // last, as after a cascade turn
    ]);
  });

  it('barge-in: speech_interrupted {reason: "user_speaking"}, the item truncated within the audio sent, history keeps the heard words', async () => {
    const long = 'One two three four five six seven eight nine ten eleven twelve.';
    const { server, model } = await openai({
      replies: [
        { text: long, audioMs: 4000 },
        { text: 'Yes?', audioMs: 200 },
      ],
    });
    const agent = realtimeAgent(model, { tools: {} });
    // An earlier interruption with the application's own reason (nothing to cut): its reason is
    // reported for that interruption only, not for the barge-in below.
    agent.interruptSpeech('stop_now');
    const events = recordEvents(agent);
    const answer = agent.sendText('count for me');
    await new Promise<void>((resolve) => agent.session.eventBus.once('bot.speaking.start', () => resolve()));
    await new Promise<void>((resolve) => agent.session.eventBus.once('bot.tts.text', () => resolve()));

    speakInto(agent, 300);

    expect(await answer).not.toBe(long); // resolves with what was heard, as for a cascade turn
    const truncate = await server.waitFor('conversation.item.truncate');
    expect(of(events, 'speech_interrupted')).toEqual([{ reason: 'user_speaking' }]);
    const endMs = truncate.audio_end_ms as number;
    expect(Number.isInteger(endMs)).toBe(true);
    expect(endMs).toBeGreaterThan(0);
    expect(endMs).toBeLessThan(4000);
    // The provider was never told more was heard than was sent to the client.
    expect(endMs * 48).toBeLessThanOrEqual(audioBytes(events));
    // No `text` (assistant) for the cut response; history keeps a prefix of it.
    expect(of(events, 'text').filter((t) => t.role === 'assistant' && t.text === long)).toEqual([]);
    const kept = agent.getHistory().find((m) => m.role === 'assistant')!.content as string;
    expect(long.startsWith(kept)).toBe(true);
    expect(kept.length).toBeLessThan(long.length);
    // The user's turn that cut it in is answered (the cut response's late end does not end it).
    await until(() => of(events, 'text').some((t) => t.role === 'assistant' && t.text === 'Yes?'));
    expect(of(events, 'speech_interrupted')).toHaveLength(1);
  });

  it('session.speak: the model says it with the events of a cascade speak (no LLM text events)', async () => {
    const greeting = 'Welcome to the weather desk.';
    const cascade = new VoiceAgent({
      model: mockLanguageModel(['unused']),
      speechModel: mockSpeechModel().model,
      outputFormat: 'mp3',
      logger: silentLogger,
    });
    closeLater(() => cascade.destroy());
    const cascadeEvents = recordEvents(cascade);
    await cascade.session.speak(greeting);

    const { server, model } = await openai({ replies: [{ text: greeting, audioMs: 300 }] });
    const agent = realtimeAgent(model, { tools: {} });
    const events = recordEvents(agent);
    const result = await agent.session.speak(greeting);

    expect(result).toMatchObject({ text: greeting, interrupted: false });
    const names = events.map((e) => e.name);
    expect(names.slice(0, 3)).toEqual(['speech_chunk_queued', 'speech_start', 'audio_chunk']);
    expect(names.slice(-2)).toEqual(['speech_complete', 'text']);
    expect(new Set(names.slice(3, -2))).toEqual(new Set(['speech_chunk_queued', 'audio_chunk']));
    expect(events.at(-1)!.args[0]).toEqual({ role: 'assistant', text: greeting });
    expect(
      of(events, 'audio_chunk')
        .map((c) => c.text)
        .join(''),
    ).toBe(greeting);
    expect(audioBytes(events)).toBe(300 * 48);
    expect(shapes(events)).toEqual(shapes(cascadeEvents));
    // The model got the text to say, as its own turn.
    expect(server.messages('response.create')).toHaveLength(1);
  });

  it("turnDetection 'local': the agent's own VAD finds the user's turn and tells the model where it starts and ends", async () => {
    const { server, model } = await gemini({ replies: [{ text: 'Heard you.', audioMs: 200 }] });
    const agent = realtimeAgent(model, {
      realtime: { model, turnDetection: 'local', reconnect: { initialDelayMs: 20 } },
      tools: {},
    });
    const events = recordEvents(agent);
    await agent.session.start();
    speakInto(agent, 400);
    await until(() => of(events, 'text').some((t) => t.role === 'assistant'), 10_000);
    expect(server.setups[0]!.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    const kinds = server.messages('realtimeInput').map((m) => Object.keys(m.realtimeInput as object)[0]);
    expect(kinds.filter((k) => k !== 'audio')).toEqual(['activityStart', 'activityEnd']);
    expect(of(events, 'text').at(-1)).toEqual({ role: 'assistant', text: 'Heard you.' });
  });

  it("turnDetection 'local': speech found while the connection still opens is the first turn once it is open (activityStart, the held audio, activityEnd)", async () => {
    const { server, model } = await gemini({ replies: [{ text: 'Heard you.', audioMs: 200 }] });
    const agent = realtimeAgent(model, {
      realtime: { model, turnDetection: 'local', reconnect: { initialDelayMs: 20 } },
      tools: {},
    });
    const events = recordEvents(agent);
    speakInto(agent, 400); // no session.start() awaited: the user speaks at once
    await until(() => of(events, 'text').some((t) => t.role === 'assistant'), 10_000);
    const kinds = server.messages('realtimeInput').map((m) => Object.keys(m.realtimeInput as object)[0]);
    expect(kinds[0]).toBe('activityStart');
    expect(kinds.filter((k) => k !== 'audio')).toEqual(['activityStart', 'activityEnd']);
    expect(kinds.indexOf('activityEnd')).toBeGreaterThan(kinds.indexOf('audio'));
    expect(of(events, 'text').at(-1)).toEqual({ role: 'assistant', text: 'Heard you.' });
  });

  it('a VideoAgent refuses a realtime model with a typed error', async () => {
    const { model } = await openai();
    expect(() => new VideoAgent({ model: mockLanguageModel(['x']), realtime: { model } })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
