/**
 * VoiceSession on a realtime model against the local fake provider servers (real WebSockets on
 * loopback), shared by the realtime session tests: start a fake, build a session on it, speak a
 * tone into it. Everything made here is closed by `closeAll()` (call it in `afterEach`).
 */
import type { AgentDefinition } from '../../src/agents/agent.ts';
import { silentLogger } from '../../src/logger.ts';
import { GeminiLiveModel, type GeminiLiveOptions } from '../../src/providers/realtime/gemini-live.ts';
import {
  OpenAIRealtimeModel,
  type OpenAIRealtimeOptions,
} from '../../src/providers/realtime/openai-realtime.ts';
import type { RealtimeModel } from '../../src/providers/realtime/types.ts';
import type { RealtimeOptions } from '../../src/session/realtime-config.ts';
import { VoiceSession } from '../../src/session/voice-session.ts';
import { FakeGeminiLiveServer } from '../../src/testing/fake-gemini-live-server.ts';
import { FakeOpenAIRealtimeServer } from '../../src/testing/fake-openai-realtime-server.ts';
import type { FakeRealtimeServerOptions } from '../../src/testing/fake-realtime-server.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';
import { tone } from '../../src/testing/signals.ts';

export const FRAME = 320; // 20 ms at 16 kHz

const open: Array<() => Promise<void> | void> = [];

/** Closes every session and fake server made since the last call (newest first). */
export async function closeAll(): Promise<void> {
  for (const c of open.splice(0).reverse()) await c();
}

export async function openai(
  options: FakeRealtimeServerOptions = {},
  model: Partial<OpenAIRealtimeOptions> = {},
): Promise<{ server: FakeOpenAIRealtimeServer; model: RealtimeModel }> {
  const server = await new FakeOpenAIRealtimeServer({ speed: 8, ...options }).listen();
  open.push(() => server.close());
  return {
    server,
    model: new OpenAIRealtimeModel({
      model: 'gpt-realtime',
      apiKey: server.apiKey,
      url: server.url,
      ...model,
    }),
  };
}

export async function gemini(
  options: FakeRealtimeServerOptions = {},
  model: Partial<GeminiLiveOptions> = {},
): Promise<{ server: FakeGeminiLiveServer; model: RealtimeModel }> {
  const server = await new FakeGeminiLiveServer({ speed: 8, ...options }).listen();
  open.push(() => server.close());
  return {
    server,
    model: new GeminiLiveModel({
      model: 'gemini-live-test',
      apiKey: server.apiKey,
      url: server.url,
      ...model,
    }),
  };
}

export interface Harness {
  session: VoiceSession;
  rec: EventRecorder;
  /** Frames written to the output, per turn. */
  frames: Map<string, number>;
  /** The user speaks (a tone) for `ms`, then 400 ms of silence. */
  speak(ms?: number): void;
}

export function harness(
  model: RealtimeModel,
  extra: { agents?: AgentDefinition[]; realtime?: Partial<RealtimeOptions> } = {},
): Harness {
  const frames = new Map<string, number>();
  const session = new VoiceSession({
    userId: 'u1',
    agents: extra.agents ?? [{ name: 'main', instructions: 'You are helpful.' }],
    model: mockLanguageModel(['unused']),
    logger: silentLogger,
    realtime: { model, reconnect: { initialDelayMs: 20 }, ...extra.realtime },
    audio: {
      inputSampleRate: 16000,
      outputSampleRate: 24000,
      output: { write: (_f, info) => frames.set(info.turnId, (frames.get(info.turnId) ?? 0) + 1) },
    },
  });
  const rec = new EventRecorder(session.eventBus);
  open.push(() => session.close());
  const speak = (ms = 400) => {
    const speech = tone({ sampleRate: 16000, samples: (16000 * ms) / 1000 });
    for (let i = 0; i < speech.length; i += FRAME) session.pushAudio(speech.subarray(i, i + FRAME), 16000);
    for (let i = 0; i < 20; i++) session.pushAudio(new Int16Array(FRAME), 16000);
  };
  return { session, rec, frames, speak };
}

/** Registers something else to close with the rest. */
export function closeLater(close: () => Promise<void> | void): void {
  open.push(close);
}
