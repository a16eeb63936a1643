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
 *   node --import ./bench/loader/register.mjs bench/realtime.ts    this row alone
 */
import { silentLogger } from '../src/logger.ts';
import { OpenAIRealtimeModel } from '../src/providers/realtime/openai-realtime.ts';
import { VoiceSession } from '../src/session/voice-session.ts';
import { FakeOpenAIRealtimeServer } from '../src/testing/fake-openai-realtime-server.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import { type Summary, summarize } from './stats.ts';

export interface RealtimeBenchResult {
  turns: number;
  providerAudioToTransportMs: Summary;
  audioInToProviderUs: Summary;
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
    };
  } finally {
    await session.close();
    await server.close();
  }
}

export function printRealtime(r: RealtimeBenchResult): void {
  const row = (name: string, s: Summary, unit: string) =>
    `  ${name.padEnd(28)} p50 ${s.p50} ${unit}  p99 ${s.p99} ${unit}  max ${s.max} ${unit}  mean ${s.mean} ${unit}  (n=${s.n})`;
  process.stdout.write('\nRealtime speech-to-speech (OpenAI Realtime protocol, local fake server)\n');
  process.stdout.write(`${row('provider audio → transport', r.providerAudioToTransportMs, 'ms')}\n`);
  process.stdout.write(`${row('audio in → provider', r.audioInToProviderUs, 'µs')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runRealtimeBench({ turns: 20, frames: 2000 }).then(printRealtime, (err) => {
    console.error(err);
    process.exit(1);
  });
}
