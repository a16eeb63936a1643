export * from './peer.ts';
export * from './sdp-guard.ts';
export * from './webrtc-transport.ts';
