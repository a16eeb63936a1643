/**
 * Proves the browser harness: the bundled page with the real PipecatClient + WebSocketTransport, in
 * Debian Chromium with a fake microphone, against a minimal loopback bot written here (POST /connect,
 * then a `ws` socket speaking Pipecat protobuf frames). The bot answers `client-ready` with `bot-ready`
 * and projects bus events through RtviProjection, so the client's callbacks check our RTVI payloads.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { EventBus } from '../../src/bus/event-bus.ts';
import type { EventMap } from '../../src/bus/events.ts';
import { ColloquyError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import {
  parseClientMessage,
  type RtviClientMessage,
  RtviProjection,
  serverResponseMessage,
} from '../../src/surfaces/rtvi/index.ts';
import { until } from '../../src/testing/signals.ts';
import {
  decodeFrame,
  encodeMessageFrame,
  type PipecatAudioFrame,
} from '../../src/transports/pipecat-websocket/index.ts';
import { bundlePage, type StaticServer, servePage } from './bundle.ts';
import { type LaunchedChromium, launchChromium } from './chromium.ts';
import { makeFakeMicWav } from './fake-mic.ts';
import type { PageEvent, StartOptions, StartResult } from './page/index.ts';

interface MiniBot {
  origin: string;
  connectBodies: unknown[];
  audio: PipecatAudioFrame[];
  messages: RtviClientMessage[];
  bus: EventBus<EventMap>;
  close(): Promise<void>;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, PATCH, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
};

/** The smallest bot the real client accepts. */
async function startMiniBot(): Promise<MiniBot> {
  const bot: Omit<MiniBot, 'origin' | 'close'> = {
    connectBodies: [],
    audio: [],
    messages: [],
    bus: new EventBus<EventMap>({ logger: silentLogger }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'OPTIONS') return void res.writeHead(204, CORS).end();
    if (req.method !== 'POST' || req.url !== '/connect') return void res.writeHead(404, CORS).end();
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bot.connectBodies.push(JSON.parse(body || 'null'));
      const { port } = server.address() as AddressInfo;
      res
        .writeHead(200, { ...CORS, 'content-type': 'application/json' })
        .end(JSON.stringify({ ws_url: `ws://127.0.0.1:${port}/ws` }));
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/ws') return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws));
  });
  const onSocket = (ws: WebSocket) => {
    const projection = new RtviProjection(bot.bus, { send: (m) => ws.send(encodeMessageFrame(m)) });
    ws.on('close', () => projection.dispose());
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const decoded = decodeFrame(data as Buffer);
      if (!decoded.ok) throw decoded.error;
      const frame = decoded.frame;
      if (frame.type === 'audio') bot.audio.push({ ...frame, audio: frame.audio.slice() });
      if (frame.type !== 'message') return;
      const parsed = parseClientMessage(frame.data);
      if (!parsed.ok) throw parsed.error;
      const msg = parsed.message;
      bot.messages.push(msg);
      if (msg.type === 'client-ready') projection.botReady(msg.id, { library: 'harness' });
      if (msg.type === 'client-message' && msg.data.t === 'ping') {
        ws.send(encodeMessageFrame(serverResponseMessage(msg.id, 'ping', { pong: true })));
      }
    });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...bot,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('browser harness: real PipecatClient over the WebSocket transport', () => {
  let bot: MiniBot;
  let site: StaticServer;
  let browser: LaunchedChromium;

  const events = () => browser.page.evaluate(() => window.__events) as Promise<PageEvent[]>;
  const eventsNamed = async (name: string) => (await events()).filter((e) => e.name === name);
  const waitFor = (name: string, count = 1) =>
    until(`${count} × ${name}`, async () => {
      const found = await eventsNamed(name);
      return found.length >= count ? found : undefined;
    });

  beforeAll(async () => {
    const [mic, bundle] = await Promise.all([
      makeFakeMicWav({ text: 'Hello, I would like to book a table for two.' }),
      bundlePage(),
    ]);
    [bot, site] = await Promise.all([startMiniBot(), servePage(bundle)]);
    browser = await launchChromium({ wav: mic.path });
    await browser.page.goto(site.origin);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([bot?.close(), site?.close()]);
  });

  it('connects with startBotAndConnect and gets bot-ready with {version, about}', async () => {
    const options: StartOptions = {
      transport: 'websocket',
      endpoint: `${bot.origin}/connect`,
      requestData: { lead_id: 'L-1' },
    };
    const result = (await browser.page.evaluate((o) => window.__start(o), options)) as StartResult;
    expect(result, browser.logs.join('\n')).toEqual({
      ok: true,
      botReady: { version: '2.1.0', about: { library: 'harness' } },
    });
    expect(bot.connectBodies).toEqual([{ lead_id: 'L-1' }]);
    const [ready] = await waitFor('onBotReady');
    expect(ready.data).toEqual({ version: '2.1.0', about: { library: 'harness' } });
    const clientReady = bot.messages.find((m) => m.type === 'client-ready');
    expect(clientReady?.data).toMatchObject({
      version: '2.1.0',
      about: { library: '@pipecat-ai/client-js' },
    });
    expect(clientReady?.id).toMatch(/^[0-9a-f-]{8}$/);
    // The seed's custom bot-ready arrives on onServerMessage.
    const [custom] = await waitFor('onServerMessage');
    expect(custom.data).toEqual({
      type: 'bot-ready',
      data: { version: '2.1.0', about: { library: 'harness' } },
    });
  });

  it('streams the fake microphone as 16 kHz mono PCM16 protobuf audio frames', async () => {
    await until('1.5 s of mic audio', () => (bot.audio.length >= 94 ? true : undefined));
    for (const frame of bot.audio) {
      expect(frame).toMatchObject({ name: 'audio', sampleRate: 16000, numChannels: 1 });
      expect(frame.audio.length).toBe(512);
    }
    // Speech, not just the noise floor, went through: peak well above -70 dBFS.
    let peak = 0;
    for (const frame of bot.audio) {
      const view = new DataView(frame.audio.buffer, frame.audio.byteOffset, frame.audio.byteLength);
      for (let i = 0; i < view.byteLength; i += 2) peak = Math.max(peak, Math.abs(view.getInt16(i, true)));
    }
    expect(peak).toBeGreaterThan(1000);
  });

  it('delivers projected bus events to the client callbacks with the seed payloads', async () => {
    const S = 's1';
    const T = 't1';
    const at = Date.UTC(2025, 5, 1, 12, 0, 0);
    bot.bus.publish('session.start', { sessionId: S, userId: 'lead-L-1', agentName: 'main' });
    bot.bus.publish('user.speech.start', { sessionId: S, at });
    bot.bus.publish('transcription.interim', { sessionId: S, text: 'book a', at });
    bot.bus.publish('transcription.final', { sessionId: S, text: 'book a table', at });
    bot.bus.publish('llm.start', { sessionId: S, turnId: T, agentName: 'main' });
    bot.bus.publish('llm.text.delta', { sessionId: S, turnId: T, id: 'x', text: 'Sure' });
    bot.bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c1',
      name: 'book',
      args: { people: 2 },
      turnId: T,
    });
    bot.bus.publish('tool.result', {
      sessionId: S,
      toolCallId: 'c1',
      status: 'success',
      result: { ok: true },
      turnId: T,
    });
    bot.bus.publish('llm.end', { sessionId: S, turnId: T, outcome: 'finish' });
    bot.bus.publish('speech.start', { sessionId: S, turnId: T, streaming: true });
    bot.bus.publish('bot.speaking.start', { sessionId: S, turnId: T });
    bot.bus.publish('bot.tts.text', { sessionId: S, turnId: T, chunkId: 0, text: 'Sure, booked.' });
    bot.bus.publish('speech.complete', { sessionId: S, turnId: T, streaming: true });
    bot.bus.publish('bot.speaking.stop', { sessionId: S, turnId: T, interrupted: false });
    bot.bus.publish('turn.latency', {
      sessionId: S,
      turnId: T,
      kind: 'cascade',
      segments: { sttMs: 200, llmProcessingMs: 300, ttsMs: 100, totalE2EMs: 700 },
      marks: {},
    });
    bot.bus.publish('error', {
      sessionId: S,
      component: 'tts',
      error: new ColloquyError('tts_failed', 'TTS hiccup'),
      severity: 'error',
    });
    bot.bus.publish('session.close', { sessionId: S, reason: 'idle_timeout' });

    const messages = await until('conversation-end', async () => {
      const found = await eventsNamed('onServerMessage');
      return found.some((e) => (e.data as { type: string }).type === 'conversation-end') ? found : undefined;
    });
    expect(messages.map((e) => e.data)).toEqual([
      { type: 'bot-ready', data: { version: '2.1.0', about: { library: 'harness' } } },
      { type: 'conversation-start', data: {} },
      { type: 'pipeline-error', data: { processor: 'tts', error: 'tts failed (tts_failed)' } },
      { type: 'conversation-end', data: { reason: 'idle_timeout' } },
    ]);
    const one = async (name: string) => (await eventsNamed(name)).map((e) => e.data);
    expect(await one('onUserStartedSpeaking')).toHaveLength(1);
    expect(await one('onUserTranscript')).toEqual([
      { text: 'book a', final: false, timestamp: '2025-06-01T12:00:00.000Z', user_id: 'lead-L-1' },
      { text: 'book a table', final: true, timestamp: '2025-06-01T12:00:00.000Z', user_id: 'lead-L-1' },
    ]);
    expect(await one('onBotLlmText')).toEqual([{ text: 'Sure' }]);
    expect(await one('onLLMFunctionCallStarted')).toEqual([{ function_name: 'book' }]);
    expect(await one('onLLMFunctionCallInProgress')).toEqual([
      { tool_call_id: 'c1', function_name: 'book', arguments: { people: 2 } },
    ]);
    expect(await one('onLLMFunctionCallStopped')).toEqual([
      {
        tool_call_id: 'c1',
        function_name: 'book',
        arguments: { people: 2 },
        cancelled: false,
        result: { ok: true },
        transition_to: null,
      },
    ]);
    expect(await one('onBotTtsText')).toEqual([{ text: 'Sure, booked.' }]);
    expect(await one('onBotOutput')).toEqual([
      {
        text: 'Sure, booked.',
        spoken: true,
        aggregated_by: 'sentence',
        will_be_spoken: true,
        spoken_status: 'completed',
        segment_id: 0,
      },
    ]);
    expect((await one('onBotStartedSpeaking')).length).toBe(1);
    expect((await one('onBotStoppedSpeaking')).length).toBe(1);
    expect(await one('onMetrics')).toEqual([
      {
        processing: [
          { processor: 'stt', value: 0.2 },
          { processor: 'turn', value: 0.7 },
        ],
        ttfb: [
          { processor: 'llm', value: 0.3 },
          { processor: 'tts', value: 0.1 },
        ],
        stt_latency_ms: 200,
        llm_ttfb_ms: 300,
        tts_ttfb_ms: 100,
        total_latency_ms: 700,
      },
    ]);
    // A recoverable error is reported without disconnecting the client.
    expect(await one('onError')).toEqual([
      {
        label: 'rtvi-ai',
        type: 'error',
        data: { error: 'tts failed (tts_failed)', message: 'tts failed (tts_failed)', fatal: false },
      },
    ]);
    expect(await eventsNamed('onDisconnected')).toEqual([]);
  });

  it('carries client → server messages and request/response', async () => {
    await browser.page.evaluate(() => window.__send('tts-speak', { text: 'Hello there' }));
    const sent = await until('client-message', () =>
      bot.messages.find((m) => m.type === 'client-message' && m.data.t === 'tts-speak'),
    );
    expect(sent.data).toEqual({ t: 'tts-speak', d: { text: 'Hello there' } });
    const reply = await browser.page.evaluate(() => window.__request('ping', {}, 5000));
    expect(reply).toEqual({ pong: true });
  });
});
