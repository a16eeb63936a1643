import { describe, expect, it } from 'vitest';
import { ClientChannels, undeliverableReason } from './client-channels.ts';

describe('ClientChannels', () => {
  it('answers canDeliver per kind while channels are registered, and forgets them on unregister', () => {
    const channels = new ClientChannels();
    expect(channels.canDeliver('client.event')).toBe(false);
    const kinds: Array<'client.event' | 'gui'> = ['client.event'];
    const offWs = channels.register({ name: 'websocket', kinds });
    kinds.push('gui'); // the registry keeps its own copy
    const offLk = channels.register({ name: 'livekit', kinds: ['gui', 'ui.request'] });
    expect(channels.names('client.event')).toEqual(['websocket']);
    expect(channels.names('gui')).toEqual(['livekit']);
    expect(channels.canDeliver('ui.request')).toBe(true);
    offLk();
    offLk(); // idempotent
    expect(channels.canDeliver('gui')).toBe(false);
    expect(channels.names()).toEqual(['websocket']);
    offWs();
    expect(channels.size).toBe(0);
  });

  it('names a reason for each kind', () => {
    expect(undeliverableReason('client.event')).toBe('No connected client can receive client events');
    expect(undeliverableReason('gui')).toBe('No connected client can receive GUI updates');
    expect(undeliverableReason('ui.request')).toBe('No connected client can answer UI requests');
  });
});

describe('ClientChannels output reports', () => {
  it('outputSent goes to the one listener; a new listener replaces it, none drops the reports', () => {
    const channels = new ClientChannels();
    channels.outputSent('t0', 'handed'); // no listener yet: nothing to call
    const first: string[] = [];
    const second: string[] = [];
    channels.onOutput((turnId, stage) => first.push(`${turnId}:${stage}`));
    channels.outputSent('t1', 'handed');
    channels.outputSent('t1', 'written');
    channels.onOutput((turnId, stage) => second.push(`${turnId}:${stage}`));
    channels.outputSent('t2', 'handed');
    channels.onOutput(undefined);
    channels.outputSent('t3', 'written');
    expect(first).toEqual(['t1:handed', 't1:written']);
    expect(second).toEqual(['t2:handed']);
  });
});
