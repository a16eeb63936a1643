/**
 * `RealtimeTurns` at unit level: provider events in by hand, the session's speech output real
 * (`SpeechOutput`, 24 kHz, 20 ms frames) on a hand-driven clock, so how much has played is exact;
 * the provider connection records what it is asked (`cancel`, `truncate ITEM MS`).
 */
import { EventBus } from '../../src/bus/event-bus.ts';
import type { EventMap } from '../../src/bus/events.ts';
import type { ColloquyError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Clock } from '../../src/pipeline/clock.ts';
import { SpeechOutput } from '../../src/pipeline/speech-output.ts';
import type { RealtimeConnection, RealtimeEvent } from '../../src/providers/realtime/types.ts';
import type { TtsModel } from '../../src/providers/types.ts';
import { ConversationHistory } from '../../src/session/history.ts';
import { LatencyTracker } from '../../src/session/latency.ts';
import { DEFAULT_MAX_AUDIO_AHEAD_MS, RealtimeTurns } from '../../src/session/realtime-turns.ts';
import { SPECIFICATION_VERSIONS } from '../../src/specification-version.ts';
import { EventRecorder } from '../../src/testing/recorder.ts';

/** Never asked: the model's audio is ready-made. */
const noTts: TtsModel = {
  specificationVersion: SPECIFICATION_VERSIONS.tts,
  provider: 'test',
  modelId: 'none',
  sampleRate: 24000,
  synthesize: () => {
    throw new Error('an audio response does not synthesise');
  },
};

/** A clock that moves only when the test says: playout writes its first frame at once, then waits. */
function handClock() {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void }> = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimeout: (handle) => {
      timers = timers.filter((t) => t !== handle);
    },
  };
  /** Runs every timer, in time order, until none is left (the audio queued has played). */
  const runAll = () => {
    for (let guard = 0; timers.length > 0 && guard < 10_000; guard++) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers.shift()!;
      now = Math.max(now, t.at);
      t.fn();
    }
  };
  return { clock, runAll };
}

/** `RealtimeTurns` of a session whose speech output is real (24 kHz, 20 ms frames) on a hand clock. */
export function realtimeTurnsUnit(
  maxAudioAheadMs = DEFAULT_MAX_AUDIO_AHEAD_MS,
  o: {
    /** Runs a tool call: whether its result went to the model (default: at once, true). */
    runTool?: (callId: string, name: string) => Promise<boolean>;
    /** A text-only session: no speech output. */
    textOnly?: boolean;
    /** A v1 connection without `say`. */
    noSay?: boolean;
  } = {},
) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const rec = new EventRecorder(bus);
  const { clock, runAll } = handClock();
  let frames = 0;
  const output = new SpeechOutput({
    bus,
    sessionId: 's1',
    tts: noTts,
    outputSampleRate: 24000,
    clock,
    sink: { write: () => void frames++ },
  });
  const provider: string[] = [];
  const conn = {
    open: true,
    cancelResponse: () => provider.push('cancel'),
    truncate: (itemId: string, ms: number) => provider.push(`truncate ${itemId} ${ms}`),
    sendText: (text: string) => provider.push(`text ${text}`),
    ...(o.noSay ? {} : { say: (text: string) => provider.push(`say ${text}`) }),
  } as unknown as RealtimeConnection;
  /** What the turns asked of the session, in order. */
  const host: string[] = [];
  const conversation = new ConversationHistory();
  const turns = new RealtimeTurns({
    bus,
    sessionId: 's1',
    conversation,
    latency: new LatencyTracker(bus, 's1'),
    modelId: () => 'fake',
    outputSampleRate: () => 24000,
    currentAgent: () => 'main',
    connection: () => conn,
    beginAudio: (turnId, signal) =>
      o.textOnly ? undefined : output.beginAudioResponse(turnId, signal, 24000),
    stopSpeech: (reason) => {
      host.push(`stopSpeech ${reason}`);
      output.interrupt(reason);
    },
    runTool: async (turnId, callId, name) => {
      host.push(`runTool ${turnId} ${callId} ${name}`);
      return o.runTool ? o.runTool(callId, name) : true;
    },
    cancelTools: (turnId, ids) => host.push(`cancelTools ${turnId} ${ids?.join(',') ?? '-'}`),
    onIdle: () => host.push('onIdle'),
    maxAudioAheadMs,
  });
  const send = (...events: RealtimeEvent[]) => {
    for (const e of events) turns.handle(e);
  };
  /** `ms` of the model's audio (24 kHz) for item `itemId`. */
  const audio = (itemId: string, ms: number): RealtimeEvent => ({
    type: 'audio',
    itemId,
    pcm: new Int16Array((24000 * ms) / 1000).fill(100),
  });
  const said = (text: string, final = false): RealtimeEvent => ({
    type: 'output-transcript',
    itemId: 'i1',
    text,
    final,
  });
  /** Plays what is queued; the turn's end then follows on the speech's promise. */
  const playOut = async () => {
    const ended = new Promise<void>((resolve) => {
      const off = bus.subscribe('turn.end', () => {
        off();
        resolve();
      });
    });
    runAll();
    await ended;
  };
  const warnings = () =>
    rec
      .payloads('error')
      .filter((p) => (p.error as ColloquyError).code === 'realtime_audio_ahead')
      .map((p) => ({
        component: p.component,
        severity: p.severity,
        retryable: (p.error as ColloquyError).retryable,
        details: (p.error as ColloquyError).details,
      }));
  return {
    bus,
    turns,
    host,
    rec,
    send,
    audio,
    said,
    provider,
    conversation,
    frames: () => frames,
    playOut,
    warnings,
    close: () => output.close(),
  };
}
