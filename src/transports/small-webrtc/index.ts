export * from './peer.ts';
export * from './webrtc-transport.ts';
