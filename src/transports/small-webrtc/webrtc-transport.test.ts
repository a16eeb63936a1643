/**
 * SmallWebRtcTransport between two wrtc peers on loopback; the "client" side does what
 * @pipecat-ai/small-webrtc-transport does (audio + video transceivers, `chat` channel, candidates
 * trickled after the answer, `ping:` keep-alives, `signalling` trackStatus).
 */
import wrtc from '@roamhq/wrtc';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../logger.ts';
import type { RtviTransportCloseReason } from '../../server/rtvi-transport.ts';
import { peak, tone, until } from '../../testing/signals.ts';
import { closePeerConnection } from '../close-peer-connection.ts';
import { SmallWebRtcPeer } from './peer.ts';
import { SmallWebRtcTransport } from './webrtc-transport.ts';

interface FakeClient {
  pc: RTCPeerConnection;
  chat: RTCDataChannel;
  /** JSON messages received on `chat`. */
  received: Array<Record<string, unknown>>;
  botAudio: Int16Array[];
  startMic(): void;
  close(): Promise<void>;
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/**
 * A Pipecat-like client connected to `server` (offer → answer → trickled candidates). Like the Pipecat
 * client (`disconnectOnBotDisconnect`, its default), it disconnects on `peerLeft` unless `stays`.
 */
async function connectClient(
  server: SmallWebRtcPeer,
  options: { stays?: boolean } = {},
): Promise<FakeClient> {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  const audio = pc.addTransceiver('audio', { direction: 'sendrecv' });
  await audio.sender.replaceTrack(track as MediaStreamTrack);
  pc.addTransceiver('video', { direction: 'sendrecv' });
  const chat = pc.createDataChannel('chat', { ordered: true });
  const candidates: RTCIceCandidate[] = [];
  pc.onicecandidate = (e) => {
    if (e.candidate) candidates.push(e.candidate);
  };
  const received: Array<Record<string, unknown>> = [];
  let client: FakeClient | undefined;
  chat.onmessage = (e) => {
    const message = JSON.parse(e.data as string);
    received.push(message);
    if (message.type === 'signalling' && message.message?.type === 'peerLeft' && !options.stays)
      setImmediate(() => void client?.close());
  };
  const botAudio: Int16Array[] = [];
  const sinks: Array<{ stop(): void }> = [];
  pc.ontrack = (e) => {
    if (e.track.kind !== 'audio') return;
    const sink = new wrtc.nonstandard.RTCAudioSink(e.track as never);
    sink.ondata = (d: { samples: Int16Array }) => botAudio.push(d.samples.slice());
    sinks.push(sink);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const answer = await server.createAnswer({ sdp: pc.localDescription!.sdp, type: 'offer' });
  await pc.setRemoteDescription(answer);
  await until('client candidates', () => (candidates.length > 0 ? true : undefined));
  await server.addIceCandidates(
    candidates.map((c) => ({ candidate: c.candidate, sdp_mid: c.sdpMid, sdp_mline_index: c.sdpMLineIndex })),
  );
  await until('chat open', () => (chat.readyState === 'open' ? true : undefined));
  let mic: ReturnType<typeof setInterval> | undefined;
  const frame = tone({ samples: 480, sampleRate: 48000, hz: 440 });
  client = {
    pc,
    chat,
    received,
    botAudio,
    startMic() {
      mic ??= setInterval(
        () =>
          source.onData({
            samples: frame,
            sampleRate: 48000,
            bitsPerSample: 16,
            channelCount: 1,
            numberOfFrames: 480,
          }),
        10,
      );
    },
    close() {
      if (mic) clearInterval(mic);
      mic = undefined;
      for (const sink of sinks.splice(0)) sink.stop();
      track.stop();
      return closePeerConnection(pc, [chat]);
    },
  };
  const connected = client;
  cleanups.push(() => connected.close());
  return connected;
}

describe('SmallWebRtcTransport (loopback, two wrtc peers)', () => {
  it('carries RTVI JSON both ways; pings and signalling are not RTVI; trackStatus is recorded', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer(), { logger });
    cleanups.push(() => transport.close());
    expect(transport.name).toBe('small-webrtc');
    const messages: unknown[] = [];
    // A throwing handler is reported once; it neither reaches wrtc's callback nor stops the others.
    transport.onMessage(() => {
      throw new Error('handler bug');
    });
    transport.onMessage((m) => messages.push(m));
    // Sent before the channel exists: queued, then delivered in order.
    transport.sendMessage({ label: 'rtvi-ai', type: 'server-message', data: { n: 1 } });
    const client = await connectClient(transport.peer);
    client.chat.send('ping: 1700000000000');
    client.chat.send(
      JSON.stringify({
        type: 'signalling',
        message: { type: 'trackStatus', receiver_index: 0, enabled: true },
      }),
    );
    client.chat.send(
      JSON.stringify({
        type: 'signalling',
        message: { type: 'trackStatus', receiver_index: 1, enabled: false },
      }),
    );
    client.chat.send(JSON.stringify({ label: 'rtvi-ai', type: 'client-ready', id: 'abcd1234', data: {} }));
    await until('client-ready', () => (messages.length ? true : undefined));
    expect(messages).toEqual([{ label: 'rtvi-ai', type: 'client-ready', id: 'abcd1234', data: {} }]);
    expect(transport.trackEnabled(0)).toBe(true);
    expect(transport.trackEnabled(1)).toBe(false);
    expect(transport.trackEnabled(2)).toBeUndefined();
    expect(warnings).toEqual([`small-webrtc ${transport.pcId}: message handler threw`]);
    transport.sendMessage({
      label: 'rtvi-ai',
      type: 'bot-ready',
      id: 'abcd1234',
      data: { version: '2.1.0' },
    });
    await until('bot-ready on the client', () => (client.received.length >= 2 ? true : undefined));
    expect(client.received).toEqual([
      { label: 'rtvi-ai', type: 'server-message', data: { n: 1 } },
      { label: 'rtvi-ai', type: 'bot-ready', id: 'abcd1234', data: { version: '2.1.0' } },
    ]);
  });

  it('delivers mic audio as 16 kHz frames and plays bot audio from a reused buffer; clearAudio drops it', async () => {
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer());
    cleanups.push(() => transport.close());
    const mic: Array<{ frame: Int16Array; rate: number }> = [];
    transport.onAudio((frame, rate) => mic.push({ frame: frame.slice(), rate }));
    const client = await connectClient(transport.peer);
    client.startMic();
    await until('mic audio with signal', () =>
      mic.length > 30 && mic.slice(-10).some((f) => peak(f.frame) > 1000) ? true : undefined,
    );
    expect(mic.every((f) => f.rate === 16000 && f.frame.length === 160)).toBe(true);

    // The caller reuses its buffer: the transport must have copied it before returning.
    const reused = new Int16Array(2400);
    const signal = tone({ samples: 24000, sampleRate: 24000, hz: 300 });
    for (let offset = 0; offset < signal.length; offset += reused.length) {
      reused.set(signal.subarray(offset, offset + reused.length));
      transport.sendAudio(reused, 24000);
    }
    reused.fill(0);
    expect(transport.peer.queuedMs).toBeGreaterThan(900);
    await until('bot audio with signal', () =>
      client.botAudio.some((f) => peak(f) > 1000) ? true : undefined,
    );
    transport.clearAudio();
    expect(transport.peer.queuedMs).toBe(0);
  });

  it('close() sends peerLeft before the connection goes down, without firing onClose', async () => {
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer());
    const closes: RtviTransportCloseReason[] = [];
    let disposed = 0;
    transport.onClose((r) => closes.push(r));
    transport.onDispose(() => disposed++);
    const client = await connectClient(transport.peer);
    transport.sendMessage({ label: 'rtvi-ai', type: 'server-message', data: { type: 'conversation-end' } });
    transport.close();
    expect(transport.closed).toBe(true);
    transport.sendMessage({ label: 'rtvi-ai', type: 'bot-ready' }); // dropped: the bot left
    await until('dispose', () => (disposed ? true : undefined));
    expect(client.received).toEqual([
      { label: 'rtvi-ai', type: 'server-message', data: { type: 'conversation-end' } },
      { type: 'signalling', message: { type: 'peerLeft' } },
    ]);
    expect(closes).toEqual([]);
    expect(disposed).toBe(1);
    expect(transport.peer.connectionState).toBe('closed');
  });

  it('the goodbye reaches the client behind a burst of large messages: the connection waits for it', async () => {
    // Everything below is handed to SCTP at once (`bufferedAmount` 0) long before the client has it;
    // a connection closed then loses the tail (here most of it, `peerLeft` included).
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer());
    let disposed = 0;
    transport.onDispose(() => disposed++);
    const client = await connectClient(transport.peer);
    const text = 'x'.repeat(16_000);
    for (let n = 0; n < 20; n++)
      transport.sendMessage({ label: 'rtvi-ai', type: 'server-message', data: { n, text } });
    transport.close();
    await until('dispose', () => (disposed ? true : undefined));
    expect(client.received.map((m) => (m.data as { n?: number } | undefined)?.n ?? m.type)).toEqual([
      ...Array.from({ length: 20 }, (_, n) => n),
      'signalling',
    ]);
    expect(client.received.at(-1)).toEqual({ type: 'signalling', message: { type: 'peerLeft' } });
  });

  it('a client that stays after peerLeft is let go after closeFlushTimeoutMs', async () => {
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer(), { closeFlushTimeoutMs: 300 });
    let disposed = 0;
    transport.onDispose(() => disposed++);
    const client = await connectClient(transport.peer, { stays: true });
    transport.close();
    await until('peerLeft', () => (client.received.length ? true : undefined));
    await until('dispose', () => (disposed ? true : undefined));
    expect(client.received).toEqual([{ type: 'signalling', message: { type: 'peerLeft' } }]);
    expect(transport.peer.connectionState).toBe('closed');
    await until('client channel closed', () => (client.chat.readyState === 'closed' ? true : undefined));
  });

  it('fires onClose("client_disconnected") once when the client closes, then disposes', async () => {
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer());
    const closes: RtviTransportCloseReason[] = [];
    let disposed = 0;
    transport.onClose((r) => closes.push(r));
    transport.onDispose(() => disposed++);
    const client = await connectClient(transport.peer);
    client.chat.close();
    client.close();
    await until('onClose', () => (closes.length ? true : undefined));
    expect(closes).toEqual(['client_disconnected']);
    expect(disposed).toBe(1);
    expect(transport.closed).toBe(true);
    transport.close(); // idempotent
    expect(closes).toEqual(['client_disconnected']);
  });

  it('drops a connection whose chat channel never opens (onClose "error")', async () => {
    const transport = new SmallWebRtcTransport(new SmallWebRtcPeer(), { connectTimeoutMs: 200 });
    const closes: RtviTransportCloseReason[] = [];
    transport.onClose((r) => closes.push(r));
    await until('onClose', () => (closes.length ? true : undefined));
    expect(closes).toEqual(['error']);
    expect(transport.closed).toBe(true);
  });

  it('replacePeer (restart_pc) moves the handlers to the new connection; the old one closes quietly', async () => {
    const first = new SmallWebRtcPeer({ pcId: 'pc-restart' });
    const transport = new SmallWebRtcTransport(first);
    cleanups.push(() => transport.close());
    const closes: RtviTransportCloseReason[] = [];
    const messages: unknown[] = [];
    const rates = new Set<number>();
    transport.onClose((r) => closes.push(r));
    transport.onMessage((m) => messages.push(m));
    transport.onAudio((_frame, rate) => rates.add(rate));
    const oldClient = await connectClient(first);
    oldClient.chat.send(JSON.stringify({ label: 'rtvi-ai', type: 'client-message', data: { t: 'a' } }));
    await until('first message', () => (messages.length === 1 ? true : undefined));

    const second = new SmallWebRtcPeer({ pcId: 'pc-restart' });
    const newClient = await connectClient(second);
    transport.replacePeer(second);
    expect(transport.peer).toBe(second);
    expect(transport.pcId).toBe('pc-restart');
    expect(first.connectionState).toBe('closed');
    oldClient.close();

    newClient.chat.send(JSON.stringify({ label: 'rtvi-ai', type: 'client-message', data: { t: 'b' } }));
    await until('second message', () => (messages.length === 2 ? true : undefined));
    expect(messages).toEqual([
      { label: 'rtvi-ai', type: 'client-message', data: { t: 'a' } },
      { label: 'rtvi-ai', type: 'client-message', data: { t: 'b' } },
    ]);
    newClient.startMic();
    await until('mic on the new connection', () => (rates.has(16000) ? true : undefined));
    transport.sendMessage({ label: 'rtvi-ai', type: 'server-message', data: { after: 'restart' } });
    await until('message on the new connection', () => (newClient.received.length ? true : undefined));
    expect(newClient.received).toEqual([
      { label: 'rtvi-ai', type: 'server-message', data: { after: 'restart' } },
    ]);
    expect(closes).toEqual([]);
  });
});
