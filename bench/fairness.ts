/**
 * Fairness under floods: one well-behaved Pipecat WebSocket session (stream mode) speaks a long text
 * alone, then while another client floods the same server with mic audio (25× real time of loud
 * noise), `tts-speak` requests (100 at once), RTVI messages (1000 at once) or all three. Printed per
 * flood: the well-behaved session's audio rate (seconds of audio per wall second while it plays,
 * 1.0 = real time) and frames per second, the event-loop lag in the run, and how many utterances the
 * flooding mic produced (each one is a speech-recognition run). Once with the default limits, once
 * with the budgets opened up (what the budgets buy). Numbers only.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { silentLogger } from '../src/logger.ts';
import { DEMO_DIR, loadServerConfig } from '../src/server/config.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../src/server/server.ts';
import { decodeFrame, encodeFrame, encodeMessageFrame } from '../src/transports/pipecat-websocket/index.ts';
import { round } from './stats.ts';
import { spokenFrames } from './warmup.ts';

export type FloodKind = 'none' | 'mic' | 'mic-speech' | 'tts-speak' | 'messages' | 'all';

export interface FairnessRow {
  budgets: 'default' | 'open';
  flood: FloodKind;
  /** Seconds of the good session's audio per wall second while it played. */
  realtimeRatio: number;
  framesPerSecond: number;
  loopLagMs: { p50: number; p99: number; max: number };
  /** Mic frames the flooding client got onto its socket. */
  micFramesSent: number;
  /** Utterances the server heard in the flooding mic audio (each a recognition run). */
  floodUtterances: number;
}

/** About 5 s of speech: long enough for a rate, short enough for 14 measurements in a run. */
const TEXT =
  'This is the well behaved session, heard at its usual pace while another client floods the server.';
/** The warm-up before the rows (models load on first use): short, not measured. */
const WARM_UP_TEXT = 'Warming up.';

const OPEN_BUDGETS: StartServerOptions['limits'] = {
  micAudioSpeed: 100,
  wsFramesPerSecond: 100_000,
  wsBytesPerSecond: 256 * 1024 * 1024,
  rtviMessagesPerSecond: 100_000,
  rtviBytesPerSecond: 64 * 1024 * 1024,
  ttsSpeakQueue: 1000,
};

interface Client {
  ws: WebSocket;
  types: string[];
  onAudio?: (seconds: number) => void;
}

async function connect(origin: string): Promise<Client> {
  const res = await fetch(`${origin}/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: 'stream' }),
  });
  const { ws_url } = (await res.json()) as { ws_url: string };
  const ws = new WebSocket(ws_url);
  const client: Client = { ws, types: [] };
  ws.on('message', (data) => {
    const d = decodeFrame(data as Buffer);
    if (!d.ok) return;
    if (d.frame.type === 'audio') {
      const f = d.frame;
      client.onAudio?.(f.audio.length / 2 / (f.sampleRate * (f.numChannels || 1)));
    } else if (d.frame.type === 'message') {
      client.types.push((JSON.parse(d.frame.data) as { type: string }).type);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (m: unknown) => ws.send(encodeMessageFrame(m));
  send({
    label: 'rtvi-ai',
    type: 'client-ready',
    id: 'ready-01',
    data: { version: '2.1.0', about: { library: 'bench' } },
  });
  await waitFor(() => client.types.includes('bot-ready'), 30_000).catch((e) => {
    throw new Error(`${e} ${client.types}`);
  });
  return client;
}

async function waitFor(probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error('fairness bench: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const message = (id: string, t: string, d?: unknown) =>
  encodeMessageFrame({ label: 'rtvi-ai', type: 'client-message', id, data: { t, d } });

const micFrame = (pcm: Int16Array) =>
  encodeFrame({
    type: 'audio',
    id: 1n,
    name: 'mic',
    audio: new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength),
    sampleRate: 16000,
    numChannels: 1,
  });

/** 20 ms of loud noise at 16 kHz as one Pipecat audio frame. */
function noiseFrames(): Uint8Array[] {
  const pcm = new Int16Array(320);
  let seed = 11;
  for (let i = 0; i < pcm.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pcm[i] = (seed % 16000) - 8000;
  }
  return [micFrame(pcm)];
}

/** A spoken question then 0.6 s of silence, as frames: each repetition is an utterance to recognise. */
async function speechFrames(): Promise<Uint8Array[]> {
  const spoken = (await spokenFrames('what time is breakfast')) ?? [];
  return [...spoken, ...Array.from({ length: 30 }, () => new Int16Array(320))].map(micFrame);
}

async function measure(
  server: RunningServer,
  good: Client,
  flood: FloodKind,
  budgets: FairnessRow['budgets'],
  speech: Uint8Array[],
  text = TEXT,
): Promise<FairnessRow> {
  const bad = flood === 'none' ? undefined : await connect(server.url);
  let micFramesSent = 0;
  let timer: NodeJS.Timeout | undefined;
  if (bad) {
    if (flood === 'tts-speak' || flood === 'all') {
      for (let i = 0; i < 100; i++)
        bad.ws.send(message(`t${i}`, 'tts-speak', { text: `Flood sentence ${i}.` }));
    }
    if (flood === 'messages' || flood === 'all') {
      for (let i = 0; i < 1000; i++) bad.ws.send(message(`p${i}`, 'ping'));
    }
    if (flood === 'mic' || flood === 'mic-speech' || flood === 'all') {
      const frames = flood === 'mic-speech' ? speech : noiseFrames();
      timer = setInterval(() => {
        if (bad.ws.readyState !== bad.ws.OPEN || bad.ws.bufferedAmount > 256 * 1024) return;
        for (let i = 0; i < 25; i++) bad.ws.send(frames[micFramesSent++ % frames.length]!);
      }, 20);
    }
  }
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let audioS = 0;
  let frames = 0;
  let first: number | undefined;
  let last = 0;
  good.onAudio = (seconds) => {
    audioS += seconds;
    frames++;
    last = performance.now();
    first ??= last;
  };
  const stopped = good.types.filter((t) => t === 'bot-stopped-speaking').length;
  good.ws.send(message(`g-${flood}-${budgets}`, 'tts-speak', { text }));
  try {
    await waitFor(() => good.types.filter((t) => t === 'bot-stopped-speaking').length > stopped, 120_000);
  } finally {
    if (timer) clearInterval(timer);
    lag.disable();
    good.onAudio = undefined;
  }
  const floodUtterances = bad?.types.filter((t) => t === 'user-stopped-speaking').length ?? 0;
  bad?.ws.terminate();
  const wall = first === undefined ? Number.NaN : (last - first) / 1000;
  const ms = (ns: number) => round(ns / 1e6, 1);
  return {
    budgets,
    flood,
    realtimeRatio: round(audioS / wall, 2),
    framesPerSecond: round((frames - 1) / wall, 1),
    loopLagMs: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
    micFramesSent,
    floodUtterances,
  };
}

export async function runFairness(options: { openBudgets: boolean }): Promise<FairnessRow[]> {
  const config = loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    COLLOQUY_STORE: 'memory',
    COLLOQUY_STT: `pocketsphinx:${DEMO_DIR}/demo.jsgf`,
    COLLOQUY_TTS: 'espeak',
    COLLOQUY_VAD: 'silero',
  });
  config.file = { ...config.file, greeting: undefined };
  const rows: FairnessRow[] = [];
  const speech = await speechFrames();
  const settings: Array<FairnessRow['budgets']> = options.openBudgets ? ['default', 'open'] : ['default'];
  for (const budgets of settings) {
    const server = await startServer({
      config,
      logger: silentLogger,
      ...(budgets === 'open' ? { limits: OPEN_BUDGETS } : {}),
    });
    try {
      const good = await connect(server.url);
      await measure(server, good, 'none', budgets, speech, WARM_UP_TEXT); // warm-up: models load on first use
      for (const flood of ['none', 'mic', 'mic-speech', 'tts-speak', 'messages', 'all'] as const) {
        rows.push(await measure(server, good, flood, budgets, speech));
      }
      good.ws.terminate();
    } finally {
      await server.close();
    }
  }
  return rows;
}

export function printFairness(rows: FairnessRow[]): void {
  process.stdout.write(
    '\nFairness — a well-behaved session speaking while another client floods the server\n' +
      '  budgets  flood      audio/wall  frames/s  loop lag p50/p99/max ms  mic frames sent  flood utterances\n',
  );
  for (const r of rows) {
    const lag = `${r.loopLagMs.p50} / ${r.loopLagMs.p99} / ${r.loopLagMs.max}`;
    process.stdout.write(
      `  ${r.budgets.padEnd(8)} ${r.flood.padEnd(10)} ${String(r.realtimeRatio).padStart(10)}  ${String(r.framesPerSecond).padStart(8)}  ${lag.padStart(23)}  ${String(r.micFramesSent).padStart(15)}  ${String(r.floodUtterances).padStart(16)}\n`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runFairness({ openBudgets: true }).then(
    (rows) => {
      printFairness(rows);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
