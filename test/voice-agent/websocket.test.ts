import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { simulateReadableStream } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocket as WebSocketClient } from 'ws';
import { silentLogger } from '../../src/logger.ts';
import { messageText } from '../../src/session/history.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import {
  type MessageLog,
  mockSpeechModel,
  mockTranscriptionModel,
  openClient,
  recordEvents,
  startServer,
  textOfAudio,
  until,
} from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server whose every connection gets a fresh agent (as in the seed), returning the agents made. */
async function serve(make: () => VoiceAgent) {
  const agents: VoiceAgent[] = [];
  const server = await startServer((socket) => {
    const agent = make();
    agents.push(agent);
    agent.handleSocket(socket);
    agent.on('disconnected', () => agent.destroy());
  });
  cleanups.push(() => {
    for (const a of agents) a.destroy();
    return server.close();
  });
  return { ...server, agents };
}

async function client(url: string): Promise<MessageLog> {
  const log = await openClient(url);
  cleanups.push(() => log.socket.terminate());
  return log;
}

/** Asserts `sub` appears in `all` in this order (other items may sit between). */
function expectSubsequence(all: string[], sub: string[]): void {
  let i = 0;
  for (const item of all) if (item === sub[i]) i++;
  expect(i, `expected [${sub.join(', ')}] in order within [${all.join(', ')}]`).toBe(sub.length);
}

describe('WebSocket: handleSocket', () => {
  it('runs the seed "WebSocket Integration" example as written (mock models instead of openai)', async () => {
    const openai = Object.assign(() => mockLanguageModel(['Hello! How can I help you today?']), {
      transcription: () => mockTranscriptionModel(['hi']).model,
      speech: () => mockSpeechModel().model,
    });
    const agents: VoiceAgent[] = [];
    const server = await startServer((socket: WebSocket) => {
      const agent = new VoiceAgent({
        model: openai(),
        transcriptionModel: openai.transcription(),
        speechModel: openai.speech(),
        logger: silentLogger,
      });
      agents.push(agent);

      agent.handleSocket(socket);

      // Forward events to client
      agent.on('text', (data) => {
        socket.send(JSON.stringify({ type: 'text', ...data }));
      });

      agent.on('audio_chunk', ({ chunkId, data, format }) => {
        socket.send(JSON.stringify({ type: 'audio_chunk', chunkId, data, format }));
      });

      // Cleanup on disconnect
      agent.on('disconnected', () => {
        agent.destroy();
      });
    });
    cleanups.push(() => server.close());
    const log = await client(server.url);
    log.send({ type: 'transcript', text: 'Hi!' });
    await log.waitFor('text', (m) => m.role === 'assistant');
    expect(log.of('text')).toEqual([
      { type: 'text', role: 'user', text: 'Hi!' },
      { type: 'text', role: 'assistant', text: 'Hello! How can I help you today?' },
    ]);
    const fromApp = log.of('audio_chunk').filter((m) => m.turnId === undefined);
    expect(fromApp.map((m) => textOfAudio(m.data as string))).toEqual([
      'Hello!',
      'How can I help you today?',
    ]);
    expect(fromApp[0]).toEqual({
      type: 'audio_chunk',
      chunkId: expect.any(Number),
      data: expect.any(String),
      format: 'opus',
    });
    log.socket.close();
    await until(() => agents[0]!.destroyed);
  });

  it("response_complete lists the sources the model cited (the AI SDK's source parts)", async () => {
    const source = {
      type: 'source',
      sourceType: 'url',
      id: 'src-1',
      url: 'https://example.com/rooms',
      title: 'Rooms',
    } as const;
    const model = new MockLanguageModelV3({
      doStream: async () => ({
        stream: simulateReadableStream<LanguageModelV3StreamPart>({
          chunks: [
            { type: 'stream-start', warnings: [] },
            source,
            { type: 'text-start', id: 't1' },
            { type: 'text-delta', id: 't1', delta: 'See the rooms page.' },
            { type: 'text-end', id: 't1' },
            {
              type: 'finish',
              finishReason: { unified: 'stop', raw: 'stop' },
              usage: {
                inputTokens: { total: 5, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
                outputTokens: { total: 4, text: undefined, reasoning: undefined },
              },
            },
          ],
        }),
      }),
    });
    const { url } = await serve(() => new VoiceAgent({ model, logger: silentLogger }));
    const log = await client(url);
    log.send({ type: 'transcript', text: 'Where are the rooms?' });
    const done = await log.waitFor('response_complete');
    expect(done).toMatchObject({ text: 'See the rooms page.', sources: [source] });
  });

  it('sends the protocol messages of a turn in the documented order, with response_complete', async () => {
    const { url } = await serve(
      () =>
        new VoiceAgent({
          model: mockLanguageModel([
            {
              parts: [{ text: 'Hi there. This is the second sentence.' }],
              usage: {
                inputTokens: 12,
                outputTokens: 9,
                cacheReadTokens: 4,
                noCacheTokens: 8,
                textTokens: 9,
              },
            },
          ]),
          speechModel: mockSpeechModel().model,
          streamingSpeech: { minChunkSize: 5 },
          outputFormat: 'mp3',
          logger: silentLogger,
        }),
    );
    const log = await client(url);
    log.send({ type: 'transcript', text: 'hello' });
    await log.waitFor('speech_stream_end');
    const types = log.types();
    expectSubsequence(types, [
      'stream_start',
      'step_start',
      'text_start',
      'text_delta',
      'text_end',
      'step_finish',
      'stream_finish',
      'response_complete',
    ]);
    expectSubsequence(types, [
      'stream_start',
      'speech_stream_start',
      'audio_chunk',
      'audio_chunk',
      'speech_stream_end',
    ]);
    expect(types.filter((t) => t === 'speech_stream_start')).toHaveLength(1);
    expect(types.at(-1)).toBe('speech_stream_end');
    const turnId = log.of('stream_start')[0]!.turnId;
    expect(typeof turnId).toBe('string');
    expect(log.of('step_start')).toEqual([{ type: 'step_start', turnId, warnings: [] }]);
    expect(
      log
        .of('audio_chunk')
        .map((m) => [m.chunkId, m.text, m.format, textOfAudio(m.data as string), m.turnId]),
    ).toEqual([
      [0, 'Hi there.', 'mp3', 'Hi there.', turnId],
      [1, 'This is the second sentence.', 'mp3', 'This is the second sentence.', turnId],
    ]);
    // Token usage keeps the AI SDK's detail fields.
    expect(log.of('stream_finish')[0]?.usage).toEqual({
      inputTokens: 12,
      inputTokenDetails: { noCacheTokens: 8, cacheReadTokens: 4 },
      outputTokens: 9,
      outputTokenDetails: { textTokens: 9 },
      totalTokens: 21,
      cachedInputTokens: 4,
    });
    expect(log.of('response_complete')[0]).toEqual({
      type: 'response_complete',
      turnId,
      text: 'Hi there. This is the second sentence.',
      toolCalls: [],
      toolResults: [],
    });
  });

  it('barge-in: a new transcript cuts the response; the client learns what was heard', async () => {
    const speech = mockSpeechModel({ delayFor: (t) => (t.startsWith('One') ? 5 : 3000) });
    const { url, agents } = await serve(
      () =>
        new VoiceAgent({
          model: mockLanguageModel([
            {
              parts: [
                { text: 'One sentence first. Then a second one. ' },
                { delayMs: 3000 },
                { text: 'Never.' },
              ],
            },
            'Sure, stopping.',
          ]),
          speechModel: speech.model,
          streamingSpeech: { minChunkSize: 5 },
          logger: silentLogger,
        }),
    );
    const log = await client(url);
    log.send({ type: 'transcript', text: 'tell me a story' });
    await log.waitFor('audio_chunk');
    log.send({ type: 'transcript', text: 'stop' });
    await log.waitFor('response_complete', (m) => m.text === 'Sure, stopping.');
    const first = log.of('stream_start')[0]!.turnId;
    const cut = log.messages.filter((m) => m.turnId === first).map((m) => m.type);
    expectSubsequence(cut, ['speech_interrupted', 'stream_abort', 'response_complete', 'speech_stream_end']);
    expect(log.of('speech_interrupted')[0]).toMatchObject({
      reason: 'user_speaking',
      heardText: 'One sentence first.',
    });
    expect(log.of('stream_abort')).toEqual([
      { type: 'stream_abort', turnId: first, reason: 'user_speaking' },
    ]);
    expect(log.of('response_complete')[0]).toMatchObject({
      interrupted: true,
      spokenText: 'One sentence first.',
    });
    const history = agents[0]!.getHistory().map((m) => [m.role, messageText(m)]);
    expect(history.slice(0, 3)).toEqual([
      ['user', 'tell me a story'],
      ['assistant', 'One sentence first.'],
      ['user', 'stop'],
    ]);
  });

  it('a response under way when its socket closes is cut with the reason disconnected', async () => {
    const agent = new VoiceAgent({
      model: mockLanguageModel([
        { parts: [{ text: 'Once upon a time. ' }, { delayMs: 3000 }, { text: 'Never.' }] },
      ]),
      logger: silentLogger,
    });
    cleanups.push(() => agent.destroy());
    const bus = new EventRecorder(agent.bus);
    const server = await startServer((socket) => agent.handleSocket(socket));
    cleanups.push(() => server.close());
    const log = await client(server.url);
    log.send({ type: 'transcript', text: 'tell me a story' });
    await log.waitFor('stream_start');
    log.socket.close();
    const cut = await bus.waitFor('turn.interrupted', () => true, 20_000);
    expect(cut.reason).toBe('disconnected');
    // The socket's coming and going, on the bus, named as a WebSocket.
    const sessionId = agent.session.sessionId;
    expect(bus.payloads('transport.connected')).toEqual([{ sessionId, transport: 'websocket' }]);
    expect(bus.payloads('transport.disconnected')).toEqual([{ sessionId, transport: 'websocket' }]);
  });

  it('interrupt with the client reason, and client_ready → session_init + client_ready event', async () => {
    const { url, agents } = await serve(
      () =>
        new VoiceAgent({
          model: mockLanguageModel([
            { parts: [{ text: 'A long answer. ' }, { delayMs: 3000 }, { text: 'More.' }] },
          ]),
          speechModel: mockSpeechModel().model,
          streamingSpeech: { minChunkSize: 5 },
          logger: silentLogger,
        }),
    );
    const log = await client(url);
    await until(() => agents.length === 1);
    const events = recordEvents(agents[0]!);
    log.send({ type: 'client_ready', capabilities: { audio: true } });
    const init = await log.waitFor('session_init');
    expect(init).toMatchObject({ sessionId: agents[0]!.session.sessionId, protocolVersion: 1 });
    expect(events.find((e) => e.name === 'client_ready')?.args).toEqual([{ audio: true }]);
    log.send({ type: 'transcript', text: 'go' });
    await log.waitFor('audio_chunk');
    log.send({ type: 'interrupt', reason: 'user_clicked_stop' });
    const msg = await log.waitFor('speech_interrupted');
    expect(msg).toMatchObject({ reason: 'user_clicked_stop', heardText: 'A long answer.' });
    expect(events.find((e) => e.name === 'speech_interrupted')?.args).toEqual([
      { reason: 'user_clicked_stop' },
    ]);
  });

  it('barge-in by an audio message: the response is cut with the reason user_speaking', async () => {
    const speech = mockSpeechModel({ delayFor: (t) => (t.startsWith('One') ? 5 : 3000) });
    const { url } = await serve(
      () =>
        new VoiceAgent({
          model: mockLanguageModel([
            {
              parts: [
                { text: 'One sentence first. Then a second one. ' },
                { delayMs: 3000 },
                { text: 'Never.' },
              ],
            },
            'Sure, stopping.',
          ]),
          speechModel: speech.model,
          transcriptionModel: mockTranscriptionModel(['stop']).model,
          streamingSpeech: { minChunkSize: 5 },
          logger: silentLogger,
        }),
    );
    const log = await client(url);
    log.send({ type: 'transcript', text: 'tell me a story' });
    await log.waitFor('audio_chunk');
    log.send({
      type: 'audio',
      data: Buffer.from('fake webm bytes').toString('base64'),
      format: 'audio/webm',
    });
    await log.waitFor('response_complete', (m) => m.text === 'Sure, stopping.');
    const first = log.of('stream_start')[0]!.turnId;
    expect(log.of('stream_abort')).toEqual([
      { type: 'stream_abort', turnId: first, reason: 'user_speaking' },
    ]);
    expect(log.of('speech_interrupted')[0]).toMatchObject({ reason: 'user_speaking' });
  });

  it('audio message: transcription_result, then the turn', async () => {
    const { url } = await serve(
      () =>
        new VoiceAgent({
          model: mockLanguageModel(['You said hello.']),
          transcriptionModel: mockTranscriptionModel(['hello there']).model,
          logger: silentLogger,
        }),
    );
    const log = await client(url);
    log.send({
      type: 'audio',
      data: Buffer.from('fake webm bytes').toString('base64'),
      format: 'audio/webm',
    });
    await log.waitFor('response_complete');
    expectSubsequence(log.types(), ['transcription_result', 'stream_start', 'response_complete']);
    expect(log.of('transcription_result')[0]).toEqual({
      type: 'transcription_result',
      text: 'hello there',
      language: 'en',
    });
  });
});

describe('WebSocket: connect (client mode)', () => {
  it('dials the server, serves the protocol on that socket, and disconnect emits disconnected', async () => {
    const sockets: WebSocket[] = [];
    const server = await startServer((socket) => sockets.push(socket));
    cleanups.push(() => server.close());
    const agent = new VoiceAgent({
      model: mockLanguageModel(['Connected and answering.']),
      speechModel: mockSpeechModel().model,
      endpoint: server.url,
      logger: silentLogger,
    });
    cleanups.push(() => agent.destroy());
    const events = recordEvents(agent);
    await agent.connect();
    expect(agent.connected).toBe(true);
    expect(events.map((e) => e.name)).toEqual(['connected']);
    await until(() => sockets.length === 1);
    const { MessageLog } = await import('./helpers.ts');
    const log = new MessageLog(sockets[0]!);
    log.send({ type: 'transcript', text: 'hi' });
    await log.waitFor('speech_stream_end');
    expect(log.of('audio_chunk').map((m) => m.text)).toEqual(['Connected and answering.']);
    const closed = new Promise<[number, string]>((resolve) =>
      sockets[0]!.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    agent.disconnect();
    expect(await closed).toEqual([1000, 'disconnect']);
    expect(events.at(-1)?.name).toBe('disconnected');
    expect(agent.connected).toBe(false);
    await expect(agent.connect('ws://127.0.0.1:1')).rejects.toMatchObject({
      code: 'connect_failed',
      message: expect.stringContaining('Could not connect to ws://127.0.0.1:1: '),
      // The socket's own error, for a caller to tell a refused port from a DNS failure.
      cause: expect.objectContaining({ code: 'ECONNREFUSED' }),
    });
  });

  it('disconnect() closes a socket handed over while still connecting: it never opens', async () => {
    const server = await startServer(() => {});
    cleanups.push(() => server.close());
    const agent = new VoiceAgent({ model: mockLanguageModel(['Unheard.']), logger: silentLogger });
    cleanups.push(() => agent.destroy());
    agent.on('error', () => {}); // ws reports the aborted handshake as a socket error
    const socket = new WebSocketClient(server.url);
    cleanups.push(() => socket.terminate());
    let opened = false;
    socket.on('open', () => {
      opened = true;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    agent.handleSocket(socket);
    agent.disconnect();
    await closed;
    expect(opened).toBe(false);
    expect(socket.readyState).toBe(socket.CLOSED);
  });

  it('a socket already closed when handed to handleSocket: the agent is disconnected at once', async () => {
    const sockets: WebSocket[] = [];
    const server = await startServer((socket) => sockets.push(socket));
    cleanups.push(() => server.close());
    const log = await client(server.url);
    await until(() => sockets.length === 1);
    const closed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));
    log.socket.close();
    await closed;
    const agent = new VoiceAgent({ model: mockLanguageModel(['Unheard.']), logger: silentLogger });
    cleanups.push(() => agent.destroy());
    const disconnected = new Promise<void>((resolve) => agent.once('disconnected', () => resolve()));
    agent.handleSocket(sockets[0]!);
    await disconnected;
    expect(agent.connected).toBe(false);
  });

  it('a socket error reaches the agent as a transport warning, then the agent is disconnected', async () => {
    const server = await serve(
      () => new VoiceAgent({ model: mockLanguageModel(['Unheard.']), logger: silentLogger }),
    );
    const log = await client(server.url);
    await until(() => server.agents[0]?.connected === true);
    const agent = server.agents[0]!;
    const errors: unknown[] = [];
    agent.on('error', (e) => errors.push(e));
    const warnings: Array<{ component: string; severity: string; code: string }> = [];
    agent.bus.subscribe('error', (p) =>
      warnings.push({ component: p.component, severity: p.severity, code: p.error.code }),
    );
    const disconnected = new Promise<void>((resolve) => agent.once('disconnected', () => resolve()));
    log.socket.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false }); // a text frame that is not UTF-8
    await disconnected;
    expect(warnings).toEqual([{ component: 'transport', severity: 'warn', code: 'socket_error' }]);
    expect(errors).toMatchObject([
      { name: 'TransportError', message: 'WebSocket error: Invalid WebSocket frame: invalid UTF-8 sequence' },
    ]);
  });

  it('keeps a message the server sends right after the socket opens', async () => {
    // The server speaks first, in the same breath as the upgrade: the listener must already be there.
    const server = await startServer((socket) =>
      socket.send(JSON.stringify({ type: 'transcript', text: 'hello first' })),
    );
    cleanups.push(() => server.close());
    const agent = new VoiceAgent({ model: mockLanguageModel(['Hi there.']), logger: silentLogger });
    cleanups.push(() => agent.destroy());
    const texts: string[] = [];
    agent.on('text', (e) => texts.push(`${e.role}: ${e.text}`));
    await agent.connect(server.url);
    await until(() => texts.length === 2);
    expect(texts).toEqual(['user: hello first', 'assistant: Hi there.']);
  });
});
