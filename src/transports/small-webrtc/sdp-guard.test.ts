/**
 * The SDP guard against real offers (made by wrtc, shaped like the Pipecat client's: audio, video,
 * `chat`) and the mutations that crash or confuse the native stack.
 */
import wrtc from '@roamhq/wrtc';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertSafeIceCandidate, assertSafeOfferSdp, SdpRefusedError } from './sdp-guard.ts';

let offer = '';
beforeAll(async () => {
  const pc = new wrtc.RTCPeerConnection() as RTCPeerConnection;
  pc.addTransceiver('audio', { direction: 'sendrecv' });
  pc.addTransceiver('video', { direction: 'sendrecv' });
  pc.createDataChannel('chat');
  offer = (await pc.createOffer()).sdp ?? '';
  pc.close();
});

function refusal(sdp: string): string {
  try {
    assertSafeOfferSdp(sdp);
  } catch (err) {
    expect(err).toBeInstanceOf(SdpRefusedError);
    expect((err as SdpRefusedError).code).toBe('sdp_refused');
    return (err as Error).message;
  }
  return 'accepted';
}

describe('assertSafeOfferSdp', () => {
  it('accepts the offer a Pipecat-shaped client makes (CRLF or LF line ends)', () => {
    expect(refusal(offer)).toBe('accepted');
    expect(refusal(offer.replace(/\r\n/g, '\n'))).toBe('accepted');
  });

  it.each([
    [
      'unknown media type (crashes wrtc)',
      (s: string) => s.replace('m=application', 'm=applicatiox'),
      /unsupported media line/,
    ],
    ['message media type', (s: string) => s.replace('m=video', 'm=message'), /unsupported media line/],
    [
      'unknown RTP profile',
      (s: string) => s.replace('m=audio 9 UDP/TLS/RTP/SAVPF', 'm=audio 9 UDP/TLS/RTP/SAVPX'),
      /unsupported audio protocol/,
    ],
    [
      'payload type out of range',
      (s: string) => s.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=audio 9 UDP/TLS/RTP/SAVPF 999'),
      /payload types/,
    ],
    ['port out of range', (s: string) => s.replace('m=audio 9 ', 'm=audio 99999 '), /port out of range/],
    ['data channel format', (s: string) => s.replace('webrtc-datachannel', 'evil'), /data channel format/],
    ['control characters', (s: string) => s.replace('s=-', 's=\u0000-'), /not an SDP line/],
    ['non-ASCII', (s: string) => s.replace('s=-', 's=é'), /not an SDP line/],
    ['unknown line type', (s: string) => s.replace('s=-', 'x=-'), /not an SDP line/],
    ['no v=0 first', (s: string) => s.replace('v=0', 'v=1'), /start with "v=0"/],
    ['no fingerprint', (s: string) => s.replace(/a=fingerprint:[^\r\n]*\r?\n/g, ''), /no DTLS fingerprint/],
    ['no ICE credentials', (s: string) => s.replace(/a=ice-pwd:[^\r\n]*\r?\n/g, ''), /no ICE credentials/],
    ['no media at all', (s: string) => s.slice(0, s.indexOf('m=audio')), /no media section/],
    ['an overlong line', (s: string) => s.replace('s=-', `s=${'x'.repeat(3000)}`), /longer than 2048/],
    ['too many lines', (s: string) => s + 'a=x\r\n'.repeat(1000), /more than 1000 lines|longer than/],
    [
      'too many media sections',
      (s: string) => s + s.slice(s.indexOf('m=audio')).repeat(3),
      /more than 8 media sections/,
    ],
  ])('refuses %s', (_what, mutate, reason) => {
    expect(refusal(mutate(offer))).toMatch(reason);
  });
});

describe('assertSafeIceCandidate', () => {
  it('accepts host, srflx and mDNS candidates and the end-of-candidates marker', () => {
    for (const c of [
      '',
      'candidate:1 1 udp 2122260223 192.168.1.4 54321 typ host generation 0 ufrag QFao network-id 1',
      'candidate:842163049 1 udp 1677729535 203.0.113.9 61000 typ srflx raddr 0.0.0.0 rport 0',
      'candidate:3 1 UDP 2122252543 4b1c9f7e-1d2a-4c53-9d7b-3a1f2e6c0b11.local 50123 typ host',
      'candidate:4 1 tcp 1518280447 ::1 9 typ host tcptype active',
    ]) {
      expect(() => assertSafeIceCandidate(c), c).not.toThrow();
    }
  });

  it.each([
    ['garbage', 'hello'],
    ['control characters', 'candidate:1 1 udp 1 127.0.0.1 9 typ host\u0000'],
    ['unknown type', 'candidate:1 1 udp 1 127.0.0.1 9 typ evil'],
    ['unknown transport', 'candidate:1 1 sctp 1 127.0.0.1 9 typ host'],
  ])('refuses %s', (_what, c) => {
    expect(() => assertSafeIceCandidate(c)).toThrow(SdpRefusedError);
  });
});
