export * from './agent-events.ts';
export * from './agent-session.ts';
export * from './encoded-speech.ts';
export * from './errors.ts';
export * from './frame-buffer.ts';
export * from './options.ts';
export * from './video-agent.ts';
export * from './voice-agent.ts';
