/**
 * The data channels a SmallWebRTC client opens: every one is closed before the connection (never by
 * the connection's own close: wrtc can crash then), and at most MAX_CHANNELS are kept open.
 */
import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { until } from '../../testing/signals.ts';
import { closePeerConnection } from '../close-peer-connection.ts';
import { MAX_CHANNELS, SmallWebRtcPeer } from './peer.ts';

describe('SmallWebRtcPeer data channels', () => {
  it(`keeps at most ${MAX_CHANNELS} of the client's channels open and closes every one before the connection`, async () => {
    const server = new SmallWebRtcPeer();
    const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    const labels = ['chat', 'a', 'b', 'c', 'd', 'e'];
    const channels = labels.map((l) => pc.createDataChannel(l));
    const closedAt = new Map<string, number>();
    let seq = 0;
    for (const c of channels) c.addEventListener('close', () => closedAt.set(c.label, ++seq));
    const candidates: RTCIceCandidate[] = [];
    pc.onicecandidate = (e) => {
      if (e.candidate) candidates.push(e.candidate);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await pc.setRemoteDescription(
      await server.createAnswer({ sdp: pc.localDescription!.sdp, type: 'offer' }),
    );
    await until('client candidates', () => (candidates.length > 0 ? true : undefined));
    await server.addIceCandidates(
      candidates.map((c) => ({
        candidate: c.candidate,
        sdp_mid: c.sdpMid,
        sdp_mline_index: c.sdpMLineIndex,
      })),
    );
    // The two channels past the limit are closed by the server as they arrive.
    await until('channels past the limit closed', () => (closedAt.size === 2 ? true : undefined));
    expect(closedAt.size).toBe(labels.length - MAX_CHANNELS);
    expect(channels.filter((c) => c.readyState === 'open')).toHaveLength(MAX_CHANNELS);

    await server.close();
    expect(server.connectionState).toBe('closed');
    // Every channel is closed on both sides once the server has closed.
    await until('all channels closed', () => (closedAt.size === labels.length ? true : undefined));
    expect([...closedAt.keys()].sort()).toEqual([...labels].sort());
    await closePeerConnection(pc, channels);
  });
});
