/**
 * Loopback between two wrtc peers: the "client" side does what @pipecat-ai/small-webrtc-transport does
 * (audio + video transceivers, `chat` channel, offer without candidates, candidates trickled afterwards
 * in Pipecat's PATCH shape, `ping:` keep-alives, `signalling` trackStatus).
 */
import wrtc from '@roamhq/wrtc';
import { afterAll, describe, expect, it } from 'vitest';
import { peak, tone, until } from '../../testing/signals.ts';
import { closePeerConnection } from '../close-peer-connection.ts';
import { type PipecatIceCandidate, SmallWebRtcPeer } from './peer.ts';

describe('SmallWebRtcPeer (loopback, two wrtc peers)', () => {
  const client = new wrtc.RTCPeerConnection();
  const server = new SmallWebRtcPeer({ pcId: 'pc-test' });
  const clientSource = new wrtc.nonstandard.RTCAudioSource();
  const clientTrack = clientSource.createTrack();
  let clientTimer: ReturnType<typeof setInterval> | undefined;

  let clientChat: RTCDataChannel | undefined;

  afterAll(async () => {
    if (clientTimer) clearInterval(clientTimer);
    clientTrack.stop();
    await Promise.all([server.close(), closePeerConnection(client, clientChat ? [clientChat] : [])]);
  });

  it('answers an offer without candidates, takes trickled candidates, connects, carries audio and chat', async () => {
    const audio = client.addTransceiver('audio', { direction: 'sendrecv' });
    await audio.sender.replaceTrack(clientTrack);
    client.addTransceiver('video', { direction: 'sendrecv' });
    const chat = client.createDataChannel('chat', { ordered: true });
    clientChat = chat;
    const trickled: PipecatIceCandidate[] = [];
    client.onicecandidate = (e: { candidate: RTCIceCandidate | null }) => {
      if (e.candidate) {
        trickled.push({
          candidate: e.candidate.candidate,
          sdp_mid: e.candidate.sdpMid,
          sdp_mline_index: e.candidate.sdpMLineIndex,
        });
      }
    };
    const botAudio: Int16Array[] = [];
    client.ontrack = (e: { track: MediaStreamTrack }) => {
      if (e.track.kind !== 'audio') return;
      const sink = new wrtc.nonstandard.RTCAudioSink(e.track as never);
      sink.ondata = (d: { samples: Int16Array }) => botAudio.push(d.samples.slice());
      setTimeout(() => sink.stop(), 8000);
    };
    const offer = await client.createOffer();
    await client.setLocalDescription(offer);

    const answer = await server.createAnswer({ sdp: offer.sdp!, type: 'offer' });
    expect(answer.type).toBe('answer');
    expect(answer.pc_id).toBe('pc-test');
    expect(answer.sdp).toMatch(/a=candidate:/); // all server candidates are in the answer
    expect(answer.sdp.split('m=')[1]).toMatch(/^audio .*\r\n[\s\S]*a=sendrecv/);
    await client.setRemoteDescription(answer);

    // Trickle, including a candidate the stack cannot use (TCP port 9), like the browser does.
    await until('client candidates', () => (trickled.length > 0 ? true : undefined));
    const added = await server.addIceCandidates([
      ...trickled,
      {
        candidate: 'candidate:1 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active',
        sdp_mid: '0',
        sdp_mline_index: 0,
      },
      { candidate: '', sdp_mid: '0', sdp_mline_index: 0 },
    ]);
    expect(added).toBeGreaterThanOrEqual(trickled.length);

    // chat: RTVI JSON both ways; pings and signalling are not RTVI messages.
    const received: unknown[] = [];
    const signalling: unknown[] = [];
    server.onMessage((m) => received.push(m));
    server.onSignalling((m) => signalling.push(m));
    const clientGot: unknown[] = [];
    chat.onmessage = (e: { data: string }) => clientGot.push(JSON.parse(e.data));
    server.sendMessage({ label: 'rtvi-ai', type: 'bot-ready', id: 'r1', data: { version: '2.1.0' } });
    await until('chat open', () => (chat.readyState === 'open' ? true : undefined));
    chat.send('ping: 1700000000000');
    chat.send(
      JSON.stringify({
        type: 'signalling',
        message: { type: 'trackStatus', receiver_index: 0, enabled: true },
      }),
    );
    chat.send(
      JSON.stringify({
        label: 'rtvi-ai',
        type: 'client-ready',
        id: 'r1',
        data: { version: '2.1.0', about: {} },
      }),
    );
    await until('client-ready on the server', () => (received.length ? true : undefined));
    expect(received).toEqual([
      { label: 'rtvi-ai', type: 'client-ready', id: 'r1', data: { version: '2.1.0', about: {} } },
    ]);
    expect(signalling).toEqual([{ type: 'trackStatus', receiver_index: 0, enabled: true }]);
    await until('bot-ready on the client', () => (clientGot.length ? true : undefined));
    expect(clientGot).toEqual([
      { label: 'rtvi-ai', type: 'bot-ready', id: 'r1', data: { version: '2.1.0' } },
    ]);
    expect(server.connectionState).toBe('connected');

    // Mic: 48 kHz tone from the client arrives as 16 kHz PCM16 in 10 ms pieces.
    const mic: Int16Array[] = [];
    server.onAudioFrame((pcm, rate) => {
      expect(rate).toBe(16000);
      mic.push(pcm);
    });
    const frame = tone({ samples: 480, sampleRate: 48000, hz: 440 });
    clientTimer = setInterval(
      () =>
        clientSource.onData({
          samples: frame,
          sampleRate: 48000,
          bitsPerSample: 16,
          channelCount: 1,
          numberOfFrames: 480,
        }),
      10,
    );
    await until('mic audio with signal', () =>
      mic.length > 30 && mic.slice(-10).some((f) => peak(f) > 1000) ? true : undefined,
    );
    expect(mic.every((f) => f.length === 160)).toBe(true);

    // Bot audio: 24 kHz PCM is paced out at 48 kHz and heard by the client.
    server.sendAudio(tone({ samples: 24000, sampleRate: 24000, hz: 300 }), 24000);
    expect(server.queuedMs).toBeGreaterThan(900);
    await until('bot audio with signal', () => (botAudio.some((f) => peak(f) > 1000) ? true : undefined));
    server.clearAudio();
    expect(server.queuedMs).toBe(0);
  }, 30_000);
});
