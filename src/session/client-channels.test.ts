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
