/**
 * Realtime speech-to-speech row: a VoiceSession on `OpenAIRealtimeModel` against the local fake
 * OpenAI Realtime server (loopback WebSocket), typed turns answered with audio.
 *
 * - provider audio → transport: the model's first audio received by Colloquy → first 20 ms frame
 *   written to the transport sink (`turn.latency` `backendToClientMs` of a realtime turn): parsing,
 *   decoding, resampling, queueing and the playout scheduler.
 * - audio in → provider: one `session.pushAudio(20 ms at 16 kHz)` call until the frame is on the
 *   socket (resampled to 24 kHz, base64, JSON, `ws.send`).
 *
 * - CPU per typed realtime turn, batches alternated in one run: a bare `VoiceSession` with no audio
 *   output (the floor: the model's protocol and the turn), one with a 24 kHz output sink (the audio
 *   paced and played out), and `VoiceAgent` (its events and audio chunks, no socket). Process CPU
 *   time / turns; the fake server runs in the same process and is in every row, so compare rows.
 *
 *   node --import ./bench/loader/register.mjs bench/realtime.ts    this row alone
 */
import { silentLogger } from '../src/logger.ts';
import { OpenAIRealtimeModel } from '../src/providers/realtime/openai-realtime.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { VoiceAgent } from '../src/surfaces/voice-agent/voice-agent.ts';
import { FakeOpenAIRealtimeServer } from '../src/testing/fake-openai-realtime-server.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { round, type Summary, summarize } from './stats.ts';

export interface RealtimeBenchResult {
  turns: number;
  providerAudioToTransportMs: Summary;
  audioInToProviderUs: Summary;
  agent: RealtimeAgentRows;
}

export interface RealtimeAgentRows {
  /** Typed turns measured per implementation. */
  turns: number;
  /** CPU per turn, bare VoiceSession on the realtime model, no audio output (the floor). */
  sessionCpuMsPerTurn: number;
  /** The same with a 24 kHz output sink: the model's audio paced and played out. */
  pacedSessionCpuMsPerTurn: number;
  /** CPU per turn, the same turn through VoiceAgent (its events, audio chunks included, emitted). */
  agentCpuMsPerTurn: number;
}

export async function runRealtimeBench(o: { turns: number; frames: number }): Promise<RealtimeBenchResult> {
  const server = await new FakeOpenAIRealtimeServer({
    speed: 1000,
    replies: Array.from({ length: o.turns }, () => ({ text: 'Hello there.', audioMs: 200 })),
  }).listen();
  const session = new VoiceSession({
    userId: 'bench',
    agents: [{ name: 'main', instructions: 'x' }],
    model: mockLanguageModel(['unused']),
    logger: silentLogger,
    realtime: {
      model: new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: server.apiKey, url: server.url }),
    },
    audio: { inputSampleRate: 16000, outputSampleRate: 24000, output: { write: () => {} } },
  });
  const overhead: number[] = [];
  session.eventBus.subscribe('turn.latency', (p) => {
    if (p.segments.backendToClientMs !== undefined) overhead.push(p.segments.backendToClientMs);
  });
  try {
    await session.start();
    for (let i = 0; i < o.turns; i++) await session.sendText(`turn ${i}`);
    // Quiet audio (below the fake's speech threshold): the cost of getting frames to the provider.
    const frame = new Int16Array(320).fill(40);
    const costs: number[] = [];
    for (let i = 0; i < o.frames; i++) {
      const t = performance.now();
      session.pushAudio(frame, 16000);
      costs.push((performance.now() - t) * 1000);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    return {
      turns: overhead.length,
      providerAudioToTransportMs: summarize(overhead),
      audioInToProviderUs: summarize(costs),
      agent: await runAgentRows(o.turns * 5),
    };
  } finally {
    await session.close();
    await server.close();
  }
}

const REPLY = { text: 'Hello there, how can I help?', audioMs: 40 };

/** Typed realtime turns on bare VoiceSessions and through VoiceAgent, batches alternated. */
async function runAgentRows(turns: number): Promise<RealtimeAgentRows> {
  const server = await new FakeOpenAIRealtimeServer({ speed: 1000 }).listen();
  const realtime = () => ({
    model: new OpenAIRealtimeModel({ model: 'gpt-realtime', apiKey: server.apiKey, url: server.url }),
  });
  const bare = (output: boolean) =>
    new VoiceSession({
      userId: 'bench',
      agents: [{ name: 'main', instructions: 'x' }],
      model: mockLanguageModel(['unused']),
      logger: silentLogger,
      realtime: realtime(),
      ...(output ? { audio: { outputSampleRate: 24000, output: { write: () => {} } } } : {}),
    });
  const silent = bare(false);
  const paced = bare(true);
  const agent = new VoiceAgent({
    model: mockLanguageModel(['unused']),
    realtime: realtime(),
    instructions: 'x',
    logger: silentLogger,
  });
  const paths: Array<(text: string) => Promise<unknown>> = [
    (t) => silent.sendText(t),
    (t) => paced.sendText(t),
    (t) => agent.sendText(t),
  ];
  const cpu = [0, 0, 0];
  const cpuOf = async (batch: number, turn: (text: string) => Promise<unknown>) => {
    server.reply(...Array.from({ length: batch }, () => REPLY));
    const t = process.cpuUsage();
    for (let i = 0; i < batch; i++) await turn(`turn ${i}`);
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  };
  try {
    await Promise.all([silent.start(), paced.start()]);
    // Warm every path (connection, JIT) before measuring.
    for (const path of paths) await cpuOf(5, path);
    const batch = 10;
    for (let done = 0; done < turns; done += batch) {
      for (let p = 0; p < paths.length; p++) cpu[p]! += await cpuOf(batch, paths[p]!);
    }
    const measured = Math.ceil(turns / batch) * batch;
    const perTurn = (ms: number) => round(ms / measured, 3);
    return {
      turns: measured,
      sessionCpuMsPerTurn: perTurn(cpu[0]!),
      pacedSessionCpuMsPerTurn: perTurn(cpu[1]!),
      agentCpuMsPerTurn: perTurn(cpu[2]!),
    };
  } finally {
    agent.destroy();
    await Promise.all([silent.close(), paced.close()]);
    await server.close();
  }
}

export function printRealtime(r: RealtimeBenchResult): void {
  const row = (name: string, s: Summary, unit: string) =>
    `  ${name.padEnd(28)} p50 ${s.p50} ${unit}  p99 ${s.p99} ${unit}  max ${s.max} ${unit}  mean ${s.mean} ${unit}  (n=${s.n})`;
  process.stdout.write('\nRealtime speech-to-speech (OpenAI Realtime protocol, local fake server)\n');
  process.stdout.write(`${row('provider audio → transport', r.providerAudioToTransportMs, 'ms')}\n`);
  process.stdout.write(`${row('audio in → provider', r.audioInToProviderUs, 'µs')}\n`);
  const a = r.agent;
  process.stdout.write(
    `  CPU per typed turn (n=${a.turns} each, alternated): VoiceSession, no output ${a.sessionCpuMsPerTurn} ms  ` +
      `VoiceSession, paced output ${a.pacedSessionCpuMsPerTurn} ms  VoiceAgent ${a.agentCpuMsPerTurn} ms\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runRealtimeBench({ turns: 20, frames: 2000 }).then(printRealtime, (err) => {
    console.error(err);
    process.exit(1);
  });
}
