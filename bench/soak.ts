/**
 * `npm run soak`: hundreds of sessions against one server on loopback, hostile clients mixed in,
 * for a bounded time (default 90 s; `--seconds N`). Reports RSS, event-loop lag, and the bot audio
 * frame rate of the well-behaved sessions (Pipecat WebSocket clients in stream mode asking for
 * speech). Hostile clients send deep JSON, garbage and oversized frames, flood `tts-speak`, never
 * send `client-ready`, stream huge `/connect` bodies, or join a LiveKit room, flood its signalling
 * and never read. Numbers only; it stops itself.
 * `npm run bench` runs it too, shorter (`runSoak`), and prints one row.
 */
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as proto from '@livekit/protocol';
import WebSocket from 'ws';
import { silentLogger } from '../src/logger.ts';
import { DEMO_DIR, loadServerConfig } from '../src/server/config.ts';
import { registerLiveKitRoutes } from '../src/server/livekit-routes.ts';
import { startServer } from '../src/server/server.ts';
import { mintLiveKitToken } from '../src/transports/livekit/access-token.ts';
import { decodeFrame, encodeFrame, encodeMessageFrame } from '../src/transports/pipecat-websocket/index.ts';

/** How long one session lives, ms. */
const SESSION_MS = 6000;
const LIVEKIT_KEYS = { apiKey: 'APIsoak', apiSecret: 'soak-secret-0123456789-0123456789' };
/** Deaf LiveKit clients whose join was accepted, in this run. */
let liveKitJoined = 0;

export interface SoakOptions {
  seconds: number;
  /** Sessions open at once (well-behaved + hostile). */
  concurrent: number;
  /** Share of hostile clients. */
  hostileShare: number;
}

export interface SoakResult {
  seconds: number;
  concurrent: number;
  sessions: number;
  wellBehaved: number;
  hostile: number;
  /** Hostile LiveKit clients that joined (flooded their signalling, never read). */
  liveKitDeaf: number;
  clientErrors: number;
  rssMB: { start: number; peak: number; end: number };
  heapUsedMB: { start: number; end: number };
  eventLoopLagMs: { p50: number; p99: number; max: number };
  botAudioFramesPerSecond: { sessions: number; p5: number; p50: number; min: number };
  /** Seconds of audio per wall second while speaking (1.0 = real time, below = starved). */
  botAudioRealtimeRatio: { p5: number; p50: number; min: number };
}

const ready = {
  label: 'rtvi-ai',
  type: 'client-ready',
  id: 'ready-01',
  data: { version: '2.1.0', about: { library: 'soak' } },
};
const deep = (n: number) => `${'{"a":'.repeat(n)}0${'}'.repeat(n)}`;

interface GoodStats {
  frames: number;
  /** Seconds of bot audio received. */
  audioS: number;
  firstFrameAt?: number;
  lastFrameAt?: number;
}

async function connect(origin: string): Promise<WebSocket> {
  const res = await fetch(`${origin}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: 'stream' }),
  });
  if (!res.ok) throw new Error(`connect ${res.status}`);
  const { ws_url } = (await res.json()) as { ws_url: string };
  const ws = new WebSocket(ws_url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

const send = (ws: WebSocket, message: unknown) =>
  ws.readyState === ws.OPEN && ws.send(encodeMessageFrame(message));
const speak = (ws: WebSocket, i: number) =>
  send(ws, {
    label: 'rtvi-ai',
    type: 'client-message',
    id: `s-${i}`,
    data: { t: 'tts-speak', d: { text: `Sentence number ${i} of the soak test.` } },
  });

/** A well-behaved client: ready, keeps two texts queued, counts bot audio frames. */
async function goodSession(origin: string, stats: GoodStats[]): Promise<void> {
  const ws = await connect(origin);
  const s: GoodStats = { frames: 0, audioS: 0 };
  stats.push(s);
  let n = 0;
  ws.on('message', (data) => {
    const decoded = decodeFrame(data as Buffer);
    if (!decoded.ok) return;
    if (decoded.frame.type === 'audio') {
      s.frames++;
      s.audioS +=
        decoded.frame.audio.length / 2 / (decoded.frame.sampleRate * (decoded.frame.numChannels || 1));
      s.lastFrameAt = performance.now();
      s.firstFrameAt ??= s.lastFrameAt;
    } else if (decoded.frame.type === 'message') {
      const m = JSON.parse(decoded.frame.data) as { type: string };
      if (m.type === 'bot-ready') {
        speak(ws, n++);
        speak(ws, n++);
      } else if (m.type === 'bot-tts-stopped') speak(ws, n++);
    }
  });
  send(ws, ready);
  await new Promise((r) => setTimeout(r, SESSION_MS));
  ws.close();
}

/** A hostile client: one of several attacks, then it goes away. */
async function hostileSession(origin: string, kind: number): Promise<void> {
  if (kind % 7 === 6) {
    await deafLiveKitClient(origin, kind);
    return;
  }
  if (kind % 7 === 5) {
    // A huge streamed /connect body: refused early.
    await new Promise<void>((resolve) => {
      const req = request(`${origin}/connect`, {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.on('error', () => resolve());
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 50 * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    return;
  }
  let ws: WebSocket;
  try {
    ws = await connect(origin);
  } catch {
    return;
  }
  ws.on('message', () => {});
  ws.on('error', () => {});
  switch (kind % 7) {
    case 0: // deep JSON
      send(ws, ready);
      for (let i = 0; i < 20; i++)
        ws.send(
          encodeFrame({
            type: 'message',
            data: `{"label":"rtvi-ai","type":"client-message","id":"d${i}","data":{"t":"x","d":${deep(6000)}}}`,
          }),
        );
      break;
    case 1: // garbage and oversized frames
      send(ws, ready);
      for (let i = 0; i < 50; i++)
        ws.send(Buffer.from(Array.from({ length: 200 }, () => Math.floor(Math.random() * 256))));
      ws.send(encodeFrame({ type: 'message', data: `"${'x'.repeat(1_100_000)}"` }));
      break;
    case 2: // tts-speak flood
      send(ws, ready);
      for (let i = 0; i < 200; i++) speak(ws, i);
      break;
    case 3: // never ready (the ready timeout closes it)
      break;
    case 4: // empty and odd audio frames
      send(ws, ready);
      for (let i = 0; i < 200; i++) {
        ws.send(
          encodeFrame({
            type: 'audio',
            id: 1n,
            name: 'mic',
            audio: new Uint8Array(i % 2 ? 0 : 321),
            sampleRate: 16000,
            numChannels: 1,
          }),
        );
      }
      break;
  }
  await new Promise((r) => setTimeout(r, SESSION_MS));
  ws.terminate();
}

/** A LiveKit client that joins a room, floods pings and never reads a byte of what comes back. */
async function deafLiveKitClient(origin: string, i: number): Promise<void> {
  const url = new URL('/rtc/v1', origin.replace(/^http/, 'ws'));
  url.searchParams.set(
    'access_token',
    mintLiveKitToken(LIVEKIT_KEYS, { identity: `deaf-${i}`, room: `soak-${i}` }),
  );
  const join = new proto.WrappedJoinRequest({
    joinRequest: new proto.JoinRequest({ metadata: 'soak' }).toBinary(),
    compression: proto.WrappedJoinRequest_Compression.NONE,
  });
  url.searchParams.set('join_request', Buffer.from(join.toBinary()).toString('base64url'));
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', () => resolve(false));
    ws.once('error', () => resolve(false));
  });
  if (!opened) return;
  liveKitJoined++;
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  for (let n = 0; n < 2000; n++) {
    ws.send(
      new proto.SignalRequest({
        message: { case: 'pingReq', value: new proto.Ping({ timestamp: BigInt(n) }) },
      }).toBinary(),
    );
  }
  await new Promise((r) => setTimeout(r, SESSION_MS));
  ws.terminate();
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { seconds: SECONDS, concurrent: CONCURRENT, hostileShare: HOSTILE_SHARE } = options;
  liveKitJoined = 0;
  const config = loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    COLLOQUY_STT: `pocketsphinx:${DEMO_DIR}/demo.jsgf`,
    COLLOQUY_TTS: 'espeak',
    COLLOQUY_VAD: 'energy',
  });
  const server = await startServer({
    config,
    logger: silentLogger,
    // LiveKit rooms too: deaf, flooding LiveKit clients are among the hostile ones.
    registerRoutes: (app, context) => {
      registerLiveKitRoutes(app, context, {
        keys: LIVEKIT_KEYS,
        room: { resumeWindowMs: 1000, iceTimeoutMs: 5000 },
      });
    },
    // Every soak client comes from 127.0.0.1: per-client limits would measure themselves.
    limits: {
      readyTimeoutMs: 3000,
      maxSessions: 200,
      maxSessionsPerClient: 200,
      connectsPerMinute: 1_000_000,
      connectBurst: 1_000_000,
    },
  });
  // Warm-up: the first session loads the models (seconds of blocking work), outside the numbers.
  const warm = await connect(server.url);
  await new Promise<void>((resolve) => {
    warm.on('message', (data) => {
      const d = decodeFrame(data as Buffer);
      if (d.ok && d.frame.type === 'audio') resolve();
      if (d.ok && d.frame.type === 'message' && d.frame.data.includes('"bot-ready"')) speak(warm, 0);
    });
    send(warm, ready);
  });
  warm.terminate();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const rssStart = process.memoryUsage().rss;
  const heapStart = process.memoryUsage().heapUsed;
  let rssPeak = rssStart;
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 250);
  const good: GoodStats[] = [];
  let started = 0;
  let hostile = 0;
  let failed = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const running = new Set<Promise<void>>();
  while (Date.now() < deadline) {
    while (running.size < CONCURRENT && Date.now() < deadline) {
      const bad = Math.random() < HOSTILE_SHARE;
      const p = (bad ? hostileSession(server.url, hostile++) : goodSession(server.url, good))
        .catch(() => {
          failed++;
        })
        .finally(() => running.delete(p));
      running.add(p);
      started++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.race(running);
  }
  await Promise.all(running);
  clearInterval(rssTimer);
  lag.disable();
  await server.close();
  const speaking = good.filter(
    (s) => s.firstFrameAt !== undefined && s.lastFrameAt! - s.firstFrameAt! > 1000,
  );
  const seconds = (s: GoodStats) => (s.lastFrameAt! - s.firstFrameAt!) / 1000;
  const rates = speaking.map((s) => (s.frames - 1) / seconds(s)).sort((a, b) => a - b);
  /** Seconds of audio per wall second while speaking (1.0 = real time, below = starved). */
  const realtime = speaking.map((s) => s.audioS / seconds(s)).sort((a, b) => a - b);
  const pct = (list: number[], p: number) =>
    list[Math.min(list.length - 1, Math.floor(p * list.length))] ?? 0;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const mb = (b: number) => Math.round(b / 1024 / 1024);
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return {
    seconds: SECONDS,
    concurrent: CONCURRENT,
    sessions: started,
    wellBehaved: good.length,
    hostile,
    liveKitDeaf: liveKitJoined,
    clientErrors: failed,
    rssMB: { start: mb(rssStart), peak: mb(rssPeak), end: mb(process.memoryUsage().rss) },
    heapUsedMB: { start: mb(heapStart), end: mb(process.memoryUsage().heapUsed) },
    eventLoopLagMs: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
    botAudioFramesPerSecond: {
      sessions: rates.length,
      p5: r2(pct(rates, 0.05)),
      p50: r2(pct(rates, 0.5)),
      min: r2(rates[0] ?? 0),
    },
    botAudioRealtimeRatio: {
      p5: r2(pct(realtime, 0.05)),
      p50: r2(pct(realtime, 0.5)),
      min: r2(realtime[0] ?? 0),
    },
  };
}

export function printSoak(r: SoakResult | undefined): void {
  if (!r) return;
  const lag = `${r.eventLoopLagMs.p50} / ${r.eventLoopLagMs.p99} / ${r.eventLoopLagMs.max}`;
  const audio = `${r.botAudioRealtimeRatio.p5} / ${r.botAudioRealtimeRatio.p50} / ${r.botAudioRealtimeRatio.min}`;
  process.stdout.write(
    `\nSoak — ${r.seconds} s, ${r.concurrent} sessions at a time, hostile clients mixed in (npm run soak for longer)\n` +
      '  sessions  good  hostile (LiveKit deaf)  RSS start → peak → end MB  growth MB  heap start → end MB  loop lag p50/p99/max ms  good audio/wall p5/p50/min\n' +
      `  ${String(r.sessions).padStart(8)}  ${String(r.wellBehaved).padStart(4)}  ${`${r.hostile} (${r.liveKitDeaf})`.padStart(22)}  ${`${r.rssMB.start} → ${r.rssMB.peak} → ${r.rssMB.end}`.padStart(25)}  ${String(r.rssMB.end - r.rssMB.start).padStart(9)}  ${`${r.heapUsedMB.start} → ${r.heapUsedMB.end}`.padStart(19)}  ${lag.padStart(23)}  ${audio.padStart(26)}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const options = {
    seconds: arg('seconds', 90),
    concurrent: arg('concurrent', 24),
    hostileShare: arg('hostile', 0.3),
  };
  console.log(
    `soak: ${options.seconds} s, ${options.concurrent} sessions at a time, ${Math.round(options.hostileShare * 100)}% hostile`,
  );
  // Bounded: sessions end SESSION_MS after the deadline; a minute more is a hang.
  setTimeout(
    () => {
      console.error('soak: hard time limit reached');
      process.exit(1);
    },
    (options.seconds + 60) * 1000,
  ).unref();
  runSoak(options).then(
    (report) => {
      console.log(JSON.stringify(report, null, 2));
      printSoak(report);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
