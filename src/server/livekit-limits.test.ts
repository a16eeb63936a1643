/**
 * What one LiveKit client may cost the server, over real sockets on loopback (a raw `/rtc/v1`
 * WebSocket and a `@roamhq/wrtc` peer):
 *
 * | client                                   | bound                              | what happens                                          |
 * |------------------------------------------|------------------------------------|-------------------------------------------------------|
 * | never reads its signalling socket        | `limits.wsCloseBufferBytes`        | socket cut, one `livekit_signal_backlog`; room suspended, the client resumes |
 * | does not drain its data channel          | `limits.liveKitDataBufferBytes`    | data packets dropped and counted, one `livekit_data_backlog`; data flows again once drained |
 * | floods signal messages                   | `limits.liveKitSignalMessagesPerSecond` | messages dropped undecoded and counted, one `livekit_signal_rate`; the room answers afterwards |
 * | behaves like `livekit-client`            | the same budgets                   | nothing dropped, no error                              |
 */
import * as proto from '@livekit/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, until } from '../../test/e2e/helpers.ts';
import { joinParam, joinWithPeer, openSignal, type Signal } from '../../test/e2e/livekit-signal.ts';
import type { EventMap } from '../bus/events.ts';
import { mintLiveKitToken } from '../transports/livekit/access-token.ts';
import type { LiveKitRoom } from '../transports/livekit/room.ts';
import { type LiveKitRoutes, registerLiveKitRoutes } from './livekit-routes.ts';
import type { RunningServer } from './server.ts';

const keys = { apiKey: 'APIlimits', apiSecret: 'limits-secret-0123456789-0123456789' };
/** Small caps so that filling them takes a few MiB on loopback (the kernel's TCP buffers come first). */
const SIGNAL_BUFFER = 64 * 1024;
const DATA_BUFFER = 256 * 1024;

describe('LiveKit: a client that does not read, or floods, costs a bounded amount', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  const cleanups: Array<() => void> = [];
  const token = (room: string) => mintLiveKitToken(keys, { identity: 'alice', room });
  const room = (name: string) => routes.room(name) as LiveKitRoom;
  const errorsOf = (name: string) => {
    const errors: Array<EventMap['error']> = [];
    routes.session(name)!.session.eventBus.subscribe('error', (p) => errors.push(p));
    return errors;
  };
  const ping = (signal: Signal, timestamp: bigint) =>
    signal.send(
      new proto.SignalRequest({ message: { case: 'pingReq', value: new proto.Ping({ timestamp }) } }),
    );
  const pongs = (signal: Signal) => signal.received.filter((m) => m.message.case === 'pongResp');
  const answered = (signal: Signal, timestamp: bigint) =>
    until(`pong ${timestamp}`, () =>
      pongs(signal).find((m) => (m.message.value as proto.Pong).lastPingTimestamp === timestamp),
    );
  const join = async (name: string, request = new proto.JoinRequest({})) => {
    const signal = await openSignal(server.url, {
      access_token: token(name),
      join_request: joinParam(request),
    });
    if (typeof signal === 'number') throw new Error(`join refused ${signal}`);
    cleanups.push(() => signal.ws.terminate());
    await signal.next('join');
    return signal;
  };

  beforeAll(async () => {
    server = await startTestServer({
      limits: {
        wsCloseBufferBytes: SIGNAL_BUFFER,
        wsAudioBufferBytes: 16 * 1024,
        liveKitDataBufferBytes: DATA_BUFFER,
      },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys,
          room: { iceTimeoutMs: 60_000, resumeWindowMs: 30_000 },
        });
      },
    });
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  afterAll(async () => {
    await routes?.closeAll();
    await server?.close();
  });

  it('never reads its signalling socket: the socket is cut past the cap, reported once, and the client resumes', async () => {
    const signal = await join('room-deaf');
    const errors = errorsOf('room-deaf');
    const session = routes.session('room-deaf')!;
    let ended: string | undefined;
    void session.closed.then((r) => {
      ended = r;
    });
    // The client stops reading: what the server sends piles up in the kernel, then in the server.
    (signal.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const pad = 'x'.repeat(128 * 1024);
    let sends = 0;
    // Agent updates keep coming (the agent's state changes on every turn); 300 of them are 38 MiB.
    for (; sends < 300 && room('room-deaf').roomState !== 'suspended'; sends++) {
      room('room-deaf').setAgentAttributes({ pad: `${sends}${pad}` });
      await new Promise((r) => setImmediate(r));
    }
    expect(sends).toBeLessThan(300);
    await until('suspended', () => (room('room-deaf').roomState === 'suspended' ? true : undefined));
    expect(room('room-deaf').signalBacklogs).toBe(1);
    // Later updates find no socket: nothing more is queued, and the problem was told once.
    for (let i = 0; i < 5; i++) room('room-deaf').setAgentAttributes({ pad: `late ${i}` });
    const backlog = errors.filter((e) => e.error.code === 'livekit_signal_backlog');
    expect(backlog).toHaveLength(1);
    expect(backlog[0]).toMatchObject({ component: 'livekit', severity: 'warn' });
    expect(backlog[0]!.error.message).toMatch(/did not read its signalling socket/);
    // As for any dropped socket: the session waits, and the client resumes with `reconnect=1`.
    expect(ended).toBeUndefined();
    const back = await openSignal(server.url, {
      access_token: token('room-deaf'),
      join_request: joinParam(
        new proto.JoinRequest({ reconnect: true, participantSid: room('room-deaf').userSid }),
      ),
    });
    if (typeof back === 'number') throw new Error(`resume refused ${back}`);
    cleanups.push(() => back.ws.terminate());
    await back.next('reconnect');
    ping(back, 7n);
    await answered(back, 7n);
    expect(room('room-deaf').roomState).not.toBe('suspended');
    expect(ended).toBeUndefined();
  });

  it('does not drain its data channel: packets past the cap are dropped and counted, reported once, and data flows again', async () => {
    const peer = await joinWithPeer(server.url, token('room-slow-data'));
    cleanups.push(() => peer.close());
    const errors = errorsOf('room-slow-data');
    const got: string[] = [];
    peer.reliable.onmessage = (event) => {
      const packet = proto.DataPacket.fromBinary(new Uint8Array(event.data as ArrayBuffer));
      if (packet.value.case === 'user') got.push(packet.value.value.topic ?? '');
    };
    // The page's channel is open on its side first; the server's side opens when the channel's
    // open message reaches it. Before that every packet is `unavailable`, not sent.
    await until('server side of the data channel open', () =>
      room('room-slow-data').canDeliverData ? true : undefined,
    );
    // The agent sends faster than the channel drains: 60 KiB packets in one go, until the cap
    // refuses some (the native SCTP stack takes a first share straight off the channel's buffer,
    // how much depends on how fast it sends on loopback), then 20 more; at most 400 (24 MB).
    const payload = new Uint8Array(60 * 1024);
    const results: boolean[] = [];
    let refusedAt = -1;
    while (results.length < 400 && (refusedAt < 0 || results.length < refusedAt + 20)) {
      const ok = room('room-slow-data').publishData(payload, { topic: 'bulk' });
      if (!ok && refusedAt < 0) refusedAt = results.length;
      results.push(ok);
    }
    const sent = results.filter(Boolean).length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(results.length);
    expect(room('room-slow-data').droppedData).toBe(results.length - sent);
    // Every packet accepted arrives; the dropped ones were never queued.
    await until('bulk delivered', () => (got.filter((t) => t === 'bulk').length === sent ? true : undefined));
    const backlog = errors.filter((e) => e.error.code === 'livekit_data_backlog');
    expect(backlog).toHaveLength(1);
    expect(backlog[0]).toMatchObject({ component: 'livekit', severity: 'warn' });
    // Drained: data goes through again, the room and its signalling are untouched.
    await until('drained', () =>
      room('room-slow-data').publishData(new Uint8Array(8), { topic: 'after' }) ? true : undefined,
    );
    await until('after delivered', () => (got.includes('after') ? true : undefined));
    expect(room('room-slow-data').roomState).toBe('connected');
    ping(peer.signal, 9n);
    await answered(peer.signal, 9n);
  });

  it('floods signal messages: those over the budget are dropped and counted, reported once, and the room answers after', async () => {
    const signal = await join('room-flood');
    const errors = errorsOf('room-flood');
    const FLOOD = 2000;
    for (let i = 0; i < FLOOD; i++) ping(signal, BigInt(i));
    // Each message was either answered or dropped (undecoded) and counted.
    await until('flood accounted for', () =>
      pongs(signal).length + room('room-flood').droppedSignals === FLOOD ? true : undefined,
    );
    expect(room('room-flood').droppedSignals).toBeGreaterThan(FLOOD / 2);
    const rate = errors.filter((e) => e.error.code === 'livekit_signal_rate');
    expect(rate).toHaveLength(1);
    expect(rate[0]).toMatchObject({ component: 'livekit', severity: 'warn' });
    expect(rate[0]!.error.message).toMatch(/50 messages and 256 KiB per second/);
    // The room goes on: once the budget is back, a ping is answered.
    await until(
      'answered after the flood',
      async () => {
        ping(signal, 100_000n);
        await new Promise((r) => setTimeout(r, 100));
        return pongs(signal).some((m) => (m.message.value as proto.Pong).lastPingTimestamp === 100_000n)
          ? true
          : undefined;
      },
      10_000,
    );
    expect(room('room-flood').roomState).not.toBe('closed');
    expect(errors.filter((e) => e.error.code === 'livekit_signal_rate')).toHaveLength(1);
  });

  it('a client that behaves like livekit-client (offer, trickle, pings) is untouched by the budget', async () => {
    const peer = await joinWithPeer(server.url, token('room-polite'));
    cleanups.push(() => peer.close());
    const errors = errorsOf('room-polite');
    for (let i = 0; i < 20; i++) {
      ping(peer.signal, BigInt(500 + i));
      await answered(peer.signal, BigInt(500 + i));
    }
    expect(room('room-polite').droppedSignals).toBe(0);
    expect(room('room-polite').droppedData).toBe(0);
    expect(room('room-polite').signalBacklogs).toBe(0);
    expect(errors).toEqual([]);
  });
});
