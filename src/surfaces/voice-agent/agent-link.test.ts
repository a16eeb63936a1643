/**
 * `AgentLink` on its own: a fake agent that records every call, the link attached to the server end
 * of a real loopback `ws` pair. Each client message reaches the agent method it names with exactly
 * its arguments (a table); `audio_config` is acknowledged with its settled fields, or refused without
 * a transcription model; `audio_commit` hands over the buffered turn or ends a VAD turn; binary audio
 * goes to the session; the client's timing and round-trip pings; `session_init`; and the socket's
 * lifetime (connected, signal, a replaced socket, a closed one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { type MessageLog, openClient, startServer, until } from '../../../test/voice-agent/helpers.ts';
import { decodeWav } from '../../audio/wav.ts';
import { EventBus } from '../../bus/event-bus.ts';
import type { BusEvent, EventMap } from '../../bus/events.ts';
import type { ColloquyError } from '../../errors.ts';
import { silentLogger } from '../../logger.ts';
import {
  DEFAULT_PROTOCOL_LIMITS,
  PROTOCOL_VERSION,
  SUPPORTED_PCM_SAMPLE_RATES,
} from '../native-protocol/client-messages.ts';
import { AgentLink } from './agent-link.ts';
import { ConnectionClosedError } from './errors.ts';
import type { VoiceAgent } from './voice-agent.ts';

type Call = [string, ...unknown[]];

/** What the link uses of a `VoiceAgent`, recording each call. */
function fakeAgent(options: { streamedAudio?: boolean; realtime?: boolean } = {}) {
  const calls: Call[] = [];
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const events: BusEvent[] = [];
  bus.subscribeAll((e) => events.push(e));
  const agent = {
    bus,
    takesStreamedAudio: options.streamedAudio ?? true,
    onRealtimeModel: options.realtime ?? false,
    session: {
      sessionId: 's1',
      clientChannels: undefined,
      pushAudio: (pcm: Int16Array, sampleRate: number) => calls.push(['pushAudio', [...pcm], sampleRate]),
      commitAudioTurn: async () => {
        calls.push(['commitAudioTurn']);
      },
    },
    sessionInit: () => ({ sessionId: 's1-init', video: true }),
    responseExtras: () => ({}),
    reasonFor: (reason: string) => reason,
    onAttached: () => calls.push(['onAttached']),
    connectionClosed: (error: ColloquyError) => calls.push(['connectionClosed', error]),
    rejectInput: (error: ColloquyError, messageType?: string) =>
      calls.push(['rejectInput', error.code, error.message, error.details, messageType]),
    clientTranscript: (text: string, timing: unknown) => calls.push(['clientTranscript', text, timing]),
    clientRecording: (bytes: Uint8Array, messageType: string, timing: unknown) =>
      calls.push(['clientRecording', Buffer.from(bytes), messageType, timing]),
    clientInterrupt: (reason: string | undefined) => calls.push(['clientInterrupt', reason]),
    clientReady: (capabilities: unknown) => calls.push(['clientReady', capabilities]),
    clientFrame: (message: unknown) => calls.push(['clientFrame', message]),
    clientSubagentAnswer: (response: unknown) => calls.push(['clientSubagentAnswer', response]),
  };
  return { agent: agent as unknown as VoiceAgent, calls, events };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A link of a fake agent, attached to the server end of each socket a client opens. */
async function setup(options: Parameters<typeof fakeAgent>[0] = {}, maxAudioBytes = 1000) {
  const fake = fakeAgent(options);
  const link = new AgentLink(fake.agent, DEFAULT_PROTOCOL_LIMITS, maxAudioBytes);
  const serverSockets: WebSocket[] = [];
  /** Round-trip pings the link sent, counted as it sends them. */
  const pings: number[] = [];
  const server = await startServer((socket) => {
    serverSockets.push(socket);
    const ping = socket.ping.bind(socket);
    socket.ping = (...args: Parameters<WebSocket['ping']>) => {
      pings.push(pings.length + 1);
      ping(...args);
    };
    link.attach(socket);
  });
  cleanups.push(() => server.close());
  const open = async () => {
    const log = await openClient(server.url);
    cleanups.push(() => log.socket.terminate());
    await until(() => serverSockets.length > 0 && fake.calls.some((c) => c[0] === 'onAttached'));
    return { log, pings };
  };
  return { ...fake, link, open, serverSockets };
}

/** Sends `message`, then an `audio_config` whose ack (sent after whatever `message` caused) is awaited. */
async function sendThenSync(log: MessageLog, message: unknown): Promise<void> {
  const acks = log.of('audio_config_ack').length;
  if (Buffer.isBuffer(message)) log.socket.send(message);
  else log.send(message);
  log.send({ type: 'audio_config', sampleRate: 16000 });
  await until(() => log.of('audio_config_ack').length > acks);
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString('base64');

describe('AgentLink: client messages reach the agent', () => {
  it('each message type calls its agent method with exactly its arguments', async () => {
    const { open, calls } = await setup();
    const { log } = await open();
    const frame = {
      type: 'video_frame',
      sequence: 3,
      timestamp: 5,
      triggerReason: 'timer',
      image: { data: JPEG, format: 'jpeg', width: 2, height: 1 },
    };
    const cases: Array<[unknown, Call]> = [
      [{ type: 'transcript', text: 'hello' }, ['clientTranscript', 'hello', undefined]],
      [{ type: 'audio', data: 'AQID' }, ['clientRecording', Buffer.from([1, 2, 3]), 'audio', undefined]],
      [{ type: 'interrupt', reason: 'stop' }, ['clientInterrupt', 'stop']],
      [{ type: 'interrupt' }, ['clientInterrupt', undefined]],
      [{ type: 'client_ready', capabilities: { a: 1 } }, ['clientReady', { a: 1 }]],
      [frame, ['clientFrame', frame]],
      [
        { type: 'subagent_ui_response', requestId: 'r1', value: 'yes' },
        ['clientSubagentAnswer', { requestId: 'r1', value: 'yes' }],
      ],
      [
        { type: 'resume', handle: 'h' },
        [
          'rejectInput',
          'unsupported_message',
          'Send "resume" as the first message of a new socket',
          { messageType: 'resume' },
          undefined,
        ],
      ],
    ];
    for (const [message, call] of cases) {
      calls.length = 0;
      await sendThenSync(log, message);
      expect(calls, JSON.stringify(message)).toEqual([call]);
    }
  });

  it('audio_config is acknowledged with its settled fields; a realtime model always gets vad', async () => {
    for (const [realtime, vad] of [
      [false, false],
      [true, true],
    ] as const) {
      const { open } = await setup({ realtime });
      const { log } = await open();
      log.send({ type: 'audio_config', sampleRate: 24000, channels: 2, vad: false });
      await until(() => log.of('audio_config_ack').length > 0);
      expect(log.of('audio_config_ack'), `realtime ${realtime}`).toEqual([
        { type: 'audio_config_ack', sampleRate: 24000, channels: 2, encoding: 'pcm16le', vad },
      ]);
    }
  });

  it('audio_config without a transcription model is refused, and audio stays unconfigured', async () => {
    const { open, calls } = await setup({ streamedAudio: false });
    const { log } = await open();
    calls.length = 0;
    log.send({ type: 'audio_config', sampleRate: 16000 });
    log.socket.send(Buffer.alloc(4));
    log.send({ type: 'client_ready' });
    await until(() => calls.some((c) => c[0] === 'clientReady'));
    expect(calls.slice(0, 2)).toEqual([
      [
        'rejectInput',
        'no_transcription_model',
        'Streamed audio needs a transcriptionModel',
        { messageType: 'audio_config' },
        undefined,
      ],
      [
        'rejectInput',
        'audio_not_configured',
        expect.any(String),
        expect.objectContaining({ messageType: 'binary' }),
        'binary',
      ],
    ]);
    expect(log.of('audio_config_ack')).toEqual([]);
  });
});

describe('AgentLink: streamed audio', () => {
  it('with vad, binary audio goes to the session in 100 ms slices; audio_commit ends the VAD turn', async () => {
    const { open, calls } = await setup();
    const { log } = await open();
    calls.length = 0;
    log.send({ type: 'audio_config', sampleRate: 8000 });
    log.socket.send(Buffer.from(new Int16Array([1, 2, 3]).buffer));
    log.send({ type: 'audio_commit' });
    log.send({ type: 'client_ready' });
    await until(() => calls.some((c) => c[0] === 'clientReady'));
    expect(calls).toEqual([['pushAudio', [1, 2, 3], 8000], ['commitAudioTurn'], ['clientReady', undefined]]);
  });

  it('without vad, audio_commit hands the buffered turn over as a WAV recording; an empty one does nothing', async () => {
    const { open, calls } = await setup();
    const { log } = await open();
    log.send({ type: 'audio_config', sampleRate: 16000, vad: false });
    log.socket.send(Buffer.from(new Int16Array([7, -7]).buffer));
    log.send({ type: 'audio_commit' });
    log.send({ type: 'audio_commit' });
    log.send({ type: 'client_ready' });
    await until(() => calls.some((c) => c[0] === 'clientReady'));
    const recordings = calls.filter((c) => c[0] !== 'onAttached' && c[0] !== 'clientReady');
    expect(recordings.map((c) => [c[0], c[2], c[3]])).toEqual([
      ['clientRecording', 'audio_commit', undefined],
    ]);
    const wav = decodeWav(recordings[0]![1] as Uint8Array);
    expect([wav.sampleRate, [...wav.samples]]).toEqual([16000, [7, -7]]);
  });

  it('a commit before audio_config, and a bad binary frame, are refused with their codes', async () => {
    const { open, calls } = await setup();
    const { log } = await open();
    calls.length = 0;
    log.send({ type: 'audio_commit' });
    await sendThenSync(log, { type: 'client_ready' });
    log.socket.send(Buffer.alloc(3)); // odd: not PCM16
    log.send({ type: 'client_ready' });
    await until(() => calls.filter((c) => c[0] === 'clientReady').length === 2);
    const refused = calls.filter((c) => c[0] === 'rejectInput');
    expect(refused.map((c) => [c[1], c[3], c[4]])).toEqual([
      ['audio_not_configured', { messageType: 'audio_commit' }, undefined],
      ['invalid_audio_frame', expect.objectContaining({ messageType: 'binary' }), 'binary'],
    ]);
  });

  it('audio buffered on a socket that closed is not handed over on the next one', async () => {
    const { open, calls } = await setup();
    const first = await open();
    first.log.send({ type: 'audio_config', sampleRate: 16000, vad: false });
    await until(() => first.log.of('audio_config_ack').length > 0);
    first.log.socket.send(Buffer.from(new Int16Array([1, 1]).buffer));
    first.log.socket.close();
    await until(() => calls.some((c) => c[0] === 'connectionClosed'));
    const second = await open();
    second.log.send({ type: 'audio_commit' });
    second.log.send({ type: 'client_ready' });
    await until(() => calls.some((c) => c[0] === 'clientReady'));
    expect(calls.filter((c) => c[0] === 'clientRecording')).toEqual([]);
  });
});

describe('AgentLink: the client timing of stamped inputs', () => {
  it('a stamped input gets its timing and measures a new round trip; others do not', async () => {
    const { open, calls } = await setup();
    const { log, pings } = await open();
    // The first round trip is measured at attach: once the client got an answer sent after it, the
    // client's pong (sent by itself) is on its way before anything it sends next.
    await sendThenSync(log, { type: 'client_ready' });
    expect(pings).toHaveLength(1);
    calls.length = 0;
    await sendThenSync(log, { type: 'transcript', text: 'plain' });
    expect(pings).toHaveLength(1);
    const sentAt = Date.now();
    await sendThenSync(log, { type: 'transcript', text: 'stamped', timestamp: sentAt });
    expect(pings).toHaveLength(2);
    await sendThenSync(log, {
      type: 'video_frame',
      sequence: 1,
      timestamp: sentAt,
      triggerReason: 'timer',
      image: { data: JPEG, format: 'jpeg', width: 1, height: 1 },
    });
    await sendThenSync(log, { type: 'audio_commit' });
    expect(pings).toHaveLength(2);
    await sendThenSync(log, { type: 'audio', data: 'AQ==', timestamp: sentAt });
    expect(pings).toHaveLength(3);
    const transcripts = calls.filter((c) => c[0] === 'clientTranscript');
    expect(transcripts[0]).toEqual(['clientTranscript', 'plain', undefined]);
    const timing = transcripts[1]![2] as { sentAt: number; receivedAt: number };
    expect(timing).toEqual({ sentAt: expect.any(Number), receivedAt: expect.any(Number) });
    expect(timing.receivedAt).toBeGreaterThanOrEqual(timing.sentAt);
    const audio = calls.find((c) => c[0] === 'clientRecording')!;
    expect(audio[3]).toEqual({ sentAt: expect.any(Number), receivedAt: expect.any(Number) });
  });
});

describe('AgentLink: the socket', () => {
  it('session_init: the agent session, protocol version and capabilities', async () => {
    for (const streamedAudio of [true, false]) {
      const { link } = await setup({ streamedAudio });
      expect(link.sessionInitMessage()).toEqual({
        type: 'session_init',
        sessionId: 's1-init',
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {
          binaryAudio: streamedAudio,
          serverVad: streamedAudio,
          video: true,
          pcmSampleRates: SUPPORTED_PCM_SAMPLE_RATES,
        },
      });
    }
  });

  it('attach: transport.connected, onAttached; a close: its signal aborted, connectionClosed once', async () => {
    const { open, calls, events, link } = await setup();
    expect(link.connected).toBe(false);
    const idle = link.signal;
    expect(link.signal).toBe(idle);
    link.send({ type: 'session_init' } as never); // nothing attached: nothing to send to
    const { log } = await open();
    expect(link.connected).toBe(true);
    expect(events.filter((e) => e.type === 'transport.connected')).toEqual([
      { type: 'transport.connected', payload: { sessionId: 's1', transport: 'websocket' } },
    ]);
    const signal = link.signal;
    expect(signal).not.toBe(idle);
    expect(signal.aborted).toBe(false);
    log.socket.close();
    await until(() => calls.some((c) => c[0] === 'connectionClosed'));
    const closedCalls = calls.filter((c) => c[0] === 'connectionClosed');
    expect(closedCalls).toHaveLength(1);
    expect(closedCalls[0]![1]).toBeInstanceOf(ConnectionClosedError);
    expect(signal.reason).toBe(closedCalls[0]![1]);
    expect(link.connected).toBe(false);
    expect(idle.aborted).toBe(false);
  });

  it('a second socket replaces the first: the first ends at once (connectionClosed), closed 1000 "disconnect"', async () => {
    const { open, calls, link } = await setup();
    const first = await open();
    const closed = new Promise<[number, string]>((resolve) =>
      first.log.socket.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    const signal = link.signal;
    calls.length = 0;
    const second = await open();
    expect(await closed).toEqual([1000, 'disconnect']);
    expect(signal.aborted).toBe(true);
    await sendThenSync(second.log, { type: 'transcript', text: 'on the second' });
    // The first ended once, at the replacement (its socket's own close event changes nothing).
    expect(calls.map((c) => c[0])).toEqual(['connectionClosed', 'onAttached', 'clientTranscript']);
    expect(link.connected).toBe(true);
    link.close();
    await until(() => calls.some((c) => c[0] === 'connectionClosed'));
  });
});
