/**
 * SDP fixtures for route tests that need an offer but no client peer.
 */

/** A browser-like offer (audio, then the `chat` data channel), fixed so no client peer is needed. */
export const OFFER_SDP = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:v7N6',
  'a=ice-pwd:ykdf/YlU30l7SCOaMa2yKopo',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 01:D7:A4:C1:9C:EB:83:33:8B:4A:6E:FF:99:91:26:D1:04:FC:72:36:1E:71:69:FD:25:DB:1A:C4:C5:71:23:E3',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:v7N6',
  'a=ice-pwd:ykdf/YlU30l7SCOaMa2yKopo',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 01:D7:A4:C1:9C:EB:83:33:8B:4A:6E:FF:99:91:26:D1:04:FC:72:36:1E:71:69:FD:25:DB:1A:C4:C5:71:23:E3',
  'a=setup:actpass',
  'a=mid:1',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n');
