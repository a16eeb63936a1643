/**
 * closePeerConnection: the data channels close first and the connection only after each has fired
 * `close` (or after the timeout), so wrtc never frees a channel from two threads at once.
 */
import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { until } from '../testing/signals.ts';
import { type ClosableChannel, closePeerConnection } from './close-peer-connection.ts';

/** A channel and a connection that record what is done to them, in order. */
function recorded(state: string) {
  const log: string[] = [];
  const listeners: Array<() => void> = [];
  const channel: ClosableChannel & { fireClose(): void } = {
    readyState: state,
    close() {
      log.push('channel.close');
      (this as { readyState: string }).readyState = 'closing';
    },
    addEventListener: (_type, listener) => listeners.push(listener),
    fireClose() {
      (this as { readyState: string }).readyState = 'closed';
      for (const l of listeners) l();
    },
  };
  const pc = { close: () => log.push('pc.close') };
  return { log, channel, pc };
}

describe('closePeerConnection', () => {
  it('closes an open channel, and the connection only once the channel has fired close', async () => {
    const { log, channel, pc } = recorded('open');
    const done = closePeerConnection(pc, [channel], 60_000);
    expect(log).toEqual(['channel.close']);
    await Promise.resolve();
    expect(log).toEqual(['channel.close']);
    channel.fireClose();
    await done;
    expect(log).toEqual(['channel.close', 'pc.close']);
  });

  it('a channel already closing is not closed again; the connection waits for it', async () => {
    const { log, channel, pc } = recorded('closing');
    const done = closePeerConnection(pc, [channel], 60_000);
    expect(log).toEqual([]);
    channel.fireClose();
    await done;
    expect(log).toEqual(['pc.close']);
  });

  it('closed channels (or none): the connection closes at once', async () => {
    const { log, channel, pc } = recorded('closed');
    const done = closePeerConnection(pc, [channel]);
    expect(log).toEqual(['pc.close']);
    await done;
    const none = recorded('open');
    await closePeerConnection(none.pc, []);
    expect(none.log).toEqual(['pc.close']);
  });

  it('a channel whose close never comes: the connection closes after timeoutMs', async () => {
    const { log, channel, pc } = recorded('open');
    await closePeerConnection(pc, [channel], 20);
    expect(log).toEqual(['channel.close', 'pc.close']);
  });

  it('on real wrtc connections: the remote sees the channel close, and the connection ends closed', async () => {
    const a = new wrtc.RTCPeerConnection() as RTCPeerConnection;
    const b = new wrtc.RTCPeerConnection() as RTCPeerConnection;
    a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
    let remote: RTCDataChannel | undefined;
    b.ondatachannel = (e) => {
      remote = e.channel;
    };
    const chat = a.createDataChannel('chat');
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await until('remote channel open', () => (remote?.readyState === 'open' ? true : undefined));
    let remoteClosed = false;
    remote!.addEventListener('close', () => {
      remoteClosed = true;
    });
    await closePeerConnection(a, [chat as unknown as ClosableChannel]);
    expect(chat.readyState).toBe('closed');
    expect(a.connectionState).toBe('closed');
    await until('remote channel closed', () => (remoteClosed ? true : undefined));
    await closePeerConnection(b, [remote as unknown as ClosableChannel]);
    expect(b.connectionState).toBe('closed');
  });
});
