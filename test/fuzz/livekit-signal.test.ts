/**
 * Fuzz (fast-check, seeded) of LiveKit signalling on the server's `/rtc/v1` endpoint over a real
 * WebSocket: random bytes, mutated encodings of every request the server serves, and hostile JSON
 * text frames, in batches on fresh rooms. After each batch the room either answers a ping (it goes
 * on) or has ended with a typed reason and told the client with `leave`; the server never crashes,
 * and a room joined before the fuzzing still answers at the end. Then floods: bursts of hundreds of
 * served requests at once; each room drops what is over its signalling budget (counted, reported
 * once) and still answers afterwards.
 */
import * as proto from '@livekit/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveKitRoutes } from '../../src/server/livekit-routes.ts';
import { registerLiveKitRoutes } from '../../src/server/livekit-routes.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { mintLiveKitToken } from '../../src/transports/livekit/access-token.ts';
import type { LiveKitRoom } from '../../src/transports/livekit/room.ts';
import { startTestServer, until } from '../e2e/helpers.ts';
import { joinParam, openSignal, type Signal } from '../e2e/livekit-signal.ts';

const SEED = 20261130;
const keys = { apiKey: 'APIfuzz', apiSecret: 'fuzz-secret-0123456789-0123456789' };
/** Reasons a fuzzed room may end with: each a typed outcome, never a crash. */
const ENDINGS = ['client_left', 'protocol_error'];

const requests: proto.SignalRequest[] = [
  new proto.SignalRequest({
    message: { case: 'offer', value: new proto.SessionDescription({ type: 'offer', sdp: 'v=0\r\n', id: 3 }) },
  }),
  new proto.SignalRequest({
    message: {
      case: 'trickle',
      value: new proto.TrickleRequest({
        candidateInit: '{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}',
      }),
    },
  }),
  new proto.SignalRequest({
    message: {
      case: 'addTrack',
      value: new proto.AddTrackRequest({ cid: 'c1', name: 'mic', type: proto.TrackType.AUDIO }),
    },
  }),
  new proto.SignalRequest({
    message: { case: 'mute', value: new proto.MuteTrackRequest({ sid: 'TR_x', muted: true }) },
  }),
  new proto.SignalRequest({ message: { case: 'ping', value: 5n } }),
  new proto.SignalRequest({ message: { case: 'pingReq', value: new proto.Ping({ timestamp: 9n }) } }),
  new proto.SignalRequest({
    message: { case: 'updateMetadata', value: new proto.UpdateParticipantMetadata({ metadata: 'x' }) },
  }),
  new proto.SignalRequest({ message: { case: 'leave', value: new proto.LeaveRequest({}) } }),
];
const encoded = requests.map((r) => r.toBinary());

/** A byte-level mutation of a served request: flips, truncation, insertion. */
const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: encoded.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    fc.option(fc.nat()),
    fc.uint8Array({ maxLength: 40 }),
  )
  .map(([which, flips, cut, insert]) => {
    const bytes = Buffer.from(encoded[which]!);
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    const kept = cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
    return { binary: true, data: Buffer.concat([kept, insert]) };
  });

const hostileText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 20, max: 5000 }).map((n) => `${'{"offer":'.repeat(n)}0${'}'.repeat(n)}`),
);

const frames = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ binary: true, data: Buffer.from(b) })),
  },
  { weight: 4, arbitrary: mutated },
  { weight: 1, arbitrary: hostileText.map((t) => ({ binary: false, data: Buffer.from(t) })) },
);

describe('fuzz: LiveKit signalling over /rtc/v1', () => {
  let server: RunningServer;
  let routes: LiveKitRoutes;
  const sockets: Signal[] = [];
  const join = async (room: string) => {
    const signal = await openSignal(server.url, {
      access_token: mintLiveKitToken(keys, { identity: 'fuzzer', room }),
      join_request: joinParam(new proto.JoinRequest({})),
    });
    if (typeof signal === 'number') throw new Error(`join refused ${signal}`);
    sockets.push(signal);
    await signal.next('join');
    return signal;
  };
  /** Sends a ping with `timestamp`; resolves true once its own pong came. */
  const pinged = async (signal: Signal, timestamp: bigint) => {
    signal.send(
      new proto.SignalRequest({ message: { case: 'pingReq', value: new proto.Ping({ timestamp }) } }),
    );
    await until(
      `pong ${timestamp}`,
      () =>
        signal.received.some(
          (m) =>
            m.message.case === 'pongResp' && (m.message.value as proto.Pong).lastPingTimestamp === timestamp,
        ) || undefined,
    );
    return true;
  };

  beforeAll(async () => {
    server = await startTestServer({
      limits: { connectBurst: 10_000, connectsPerMinute: 100_000, maxSessionsPerClient: 1000 },
      registerRoutes: (app, ctx) => {
        routes = registerLiveKitRoutes(app, ctx, {
          keys,
          room: { iceTimeoutMs: 120_000, resumeWindowMs: 200 },
        });
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await routes?.closeAll();
    await server?.close();
  });

  it('random, mutated and hostile JSON signalling: each room goes on or ends with a typed reason', async () => {
    const sentinel = await join('fuzz-sentinel');
    const heapBefore = process.memoryUsage().heapUsed;
    const batches = fc.sample(fc.array(frames, { minLength: 1, maxLength: 15 }), { seed: SEED, numRuns: 60 });
    let cases = 0;
    const outcomes = { goesOn: 0, ended: 0 };
    for (const [i, batch] of batches.entries()) {
      const room = `fuzz-${i}`;
      const signal = await join(room);
      const session = routes.session(room)!;
      let reason: string | undefined;
      void session.closed.then((r) => {
        reason = r;
      });
      for (const f of batch) signal.ws.send(f.data, { binary: f.binary });
      cases += batch.length;
      // A ping after the batch: answered when the room goes on; else it ended, with a typed reason.
      const answered = await Promise.race([
        pinged(signal, BigInt(1000 + i)).catch(() => false),
        signal.closed.then(() => false),
      ]);
      if (answered) {
        outcomes.goesOn++;
        signal.ws.terminate();
      } else {
        outcomes.ended++;
        await session.closed;
        expect(ENDINGS, `room ${i}`).toContain(reason);
        expect(signal.received.some((m) => m.message.case === 'leave')).toBe(true);
      }
    }
    expect(cases).toBeGreaterThan(300);
    expect(outcomes.goesOn).toBeGreaterThan(0);
    // The room joined before still answers; memory stayed bounded.
    expect(await pinged(sentinel, 42n)).toBe(true);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(96 * 1024 * 1024);
  }, 180_000);

  it('floods of served requests: over the budget dropped and counted, reported once, the room answers after', async () => {
    // Requests that leave a room open (no leave, no offer), with their mutations.
    const served = fc.oneof(
      fc.constantFrom(...encoded.filter((_, i) => ![0, 7].includes(i))),
      fc.bigInt({ min: 0n, max: 1n << 62n }).map((t) =>
        new proto.SignalRequest({
          message: { case: 'pingReq', value: new proto.Ping({ timestamp: t }) },
        }).toBinary(),
      ),
    );
    const floods = fc.sample(fc.array(served, { minLength: 150, maxLength: 800 }), {
      seed: SEED + 1,
      numRuns: 12,
    });
    for (const [i, flood] of floods.entries()) {
      const name = `flood-${i}`;
      const signal = await join(name);
      const rate: string[] = [];
      routes.session(name)!.session.eventBus.subscribe('error', (p) => {
        if (p.error.code === 'livekit_signal_rate') rate.push(p.error.message);
      });
      for (const bytes of flood) signal.ws.send(bytes);
      // Answered once the budget is back (a ping sent into an empty budget is itself dropped).
      let answered = false;
      for (let attempt = 0; !answered && attempt < 50; attempt++) {
        const timestamp = BigInt(-1 - attempt);
        signal.send(
          new proto.SignalRequest({ message: { case: 'pingReq', value: new proto.Ping({ timestamp }) } }),
        );
        answered = await until(
          `pong ${timestamp}`,
          () =>
            signal.received.some(
              (m) =>
                m.message.case === 'pongResp' &&
                (m.message.value as proto.Pong).lastPingTimestamp === timestamp,
            ) || undefined,
          200,
        ).catch(() => false);
      }
      expect(answered, `flood ${i} (${flood.length} messages)`).toBe(true);
      const room = routes.room(name) as LiveKitRoom;
      expect(room.roomState, `flood ${i}`).not.toBe('closed');
      expect(room.droppedSignals, `flood ${i}`).toBeGreaterThan(0);
      expect(rate, `flood ${i}`).toHaveLength(1);
      signal.ws.terminate();
    }
  }, 120_000);
});
